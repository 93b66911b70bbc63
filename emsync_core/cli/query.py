"""`emsync query`: soundtracks, scenes, runs and failures from the database, as a table or JSON."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Look up soundtracks by video / emotion / V-A range / run / model version.", no_args_is_help=True)

DbOption = typer.Option(None, "--db", envvar="EMSYNC_DB_URL", help="Database URL (default sqlite:///<out>/emsync.db).")
LimitOption = typer.Option(100, "--limit", min=1, max=100_000, help="At most this many rows.")
OutOption = typer.Option(".", "--out", help="The output folder whose emsync.db to read (when no --db).")
JsonOption = typer.Option(False, "--json", help="Print JSON instead of a table.")


def _sessions(db: str | None, out: str):
    """Read an existing database as it is: a query never creates nor migrates one."""
    from pathlib import Path

    from sqlalchemy.orm import sessionmaker

    from emsync_core.db.engine import open_existing

    return sessionmaker(open_existing(db or f"sqlite:///{Path(out).resolve() / 'emsync.db'}"))


def _show(rows: list[dict], columns: tuple[str, ...], as_json: bool, title: str) -> None:
    if as_json:
        typer.echo(json.dumps(rows, indent=1, default=str))
        return
    table = Table(title=f"{title} ({len(rows)})")
    key_width = max((len(str(r[columns[0]])) for r in rows), default=0)
    for c in columns:  # the key column (an id to copy into the next command) is never cut short
        table.add_column(c, min_width=key_width if c == columns[0] else None, no_wrap=c == columns[0])
    for r in rows:
        table.add_row(*[f"{r[c]:.3f}" if isinstance(r[c], float) else str(r[c]) for c in columns])
    Console().print(table)


def _range(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        lo, hi = (float(x) for x in text.split(":"))
    except ValueError:
        raise typer.BadParameter(f"a range looks like LOW:HIGH, e.g. 0.2:1, not {text!r}")
    return lo, hi


@app.command("soundtracks")
def soundtracks(video: str = typer.Option(None, help="Video id (prefix)."), run: str = typer.Option(None, help="Run id (prefix)."),
                model_version: str = typer.Option(None, help="Generator or classifier version."),
                db: str = DbOption, out: str = OutOption, as_json: bool = JsonOption, limit: int = LimitOption) -> None:
    """Soundtracks, newest first."""
    from emsync_core.db import queries

    with _sessions(db, out)() as s:
        rows = queries.soundtracks(s, video_id=video, run_id=run, model_version=model_version, limit=limit)
    _show(rows, ("id", "video_id", "seed", "regenerated_scene", "generator_version", "n_cuts", "n_cuts_matched", "video_uri"),
          as_json, "soundtracks")


@app.command("scenes")
def scenes(video: str = typer.Option(None, help="Video id (prefix)."),
           emotion: str = typer.Option(None, help="Dominant emotion: anger, disgust, fear, joy, sadness, surprise."),
           min_prob: float = typer.Option(0.0, help="Minimum probability of that emotion."),
           valence: str = typer.Option(None, help="Valence range LOW:HIGH in [-1, 1]."),
           arousal: str = typer.Option(None, help="Arousal range LOW:HIGH in [-1, 1]."),
           model_version: str = typer.Option(None, help="Classifier version."),
           db: str = DbOption, out: str = OutOption, as_json: bool = JsonOption, limit: int = LimitOption) -> None:
    """Scenes by emotion or valence/arousal range."""
    from emsync_core.db import queries

    with _sessions(db, out)() as s:
        try:
            rows = queries.scenes(s, video_id=video, emotion=emotion, min_prob=min_prob, valence=_range(valence),
                                  arousal=_range(arousal), model_version=model_version, limit=limit)
        except ValueError as exc:
            raise typer.BadParameter(str(exc))
    _show(rows, ("video_id", "scene_index", "start_s", "end_s", "dominant", "probability", "valence", "arousal", "uri"),
          as_json, "scenes")


@app.command("runs")
def runs(run: str = typer.Option(None, help="Run id (prefix)."), db: str = DbOption, out: str = OutOption,
         as_json: bool = JsonOption, limit: int = LimitOption) -> None:
    """Runs, newest first, with counts and timings."""
    from emsync_core.db import queries

    with _sessions(db, out)() as s:
        rows = queries.runs(s, run_id=run, limit=limit)
    if not as_json:
        shown = queries.differing_settings([r["config"] for r in rows])
        rows = [{**r, "settings": ", ".join(f"{k}={v}" for k, v in sorted(d.items()))} for r, d in zip(rows, shown)]
    title = "runs (settings: where the runs listed differ; --json for all)" if len(rows) > 1 else "runs"
    _show(rows, ("run_id", "status", "n_videos", "n_soundtracks", "n_failures", "video_seconds", "started_at", "settings"), as_json, title)


@app.command("failures")
def failures(run: str = typer.Option(None, help="Run id (prefix)."), all_: bool = typer.Option(False, "--all", help="Include resolved."),
             db: str = DbOption, out: str = OutOption, as_json: bool = JsonOption, limit: int = LimitOption) -> None:
    """Inputs that failed, with the stage and the reason."""
    from emsync_core.db import queries

    with _sessions(db, out)() as s:
        rows = queries.failures(s, run_id=run, unresolved_only=not all_, limit=limit)
    _show(rows, ("uri", "stage", "error_class", "message", "attempts"), as_json, "failures")


@app.command("videos")
def videos(video: str = typer.Option(None, help="Video id (prefix)."), db: str = DbOption, out: str = OutOption,
           as_json: bool = JsonOption, limit: int = LimitOption) -> None:
    """Videos with their status and cuts."""
    from emsync_core.db import queries

    with _sessions(db, out)() as s:
        rows = queries.videos(s, video_id=video, limit=limit)
    _show(rows, ("video_id", "status", "duration_s", "cuts_s", "damage", "uri"), as_json, "videos")
