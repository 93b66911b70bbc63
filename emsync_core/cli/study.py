"""`emsync study create|serve|report`: A/B listening studies over the archive's soundtracks."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="A/B listening studies: create, serve the rating page, report.", no_args_is_help=True)
console = Console()
DB_OPTION = typer.Option(..., "--db", envvar="EMSYNC_DB_URL", help="Database URL (sqlite:///... or postgresql+psycopg://...).")


@app.command("create")
def create(
    name: str = typer.Argument(..., help="Unique study name."),
    db: str = DB_OPTION,
    arm: list[str] = typer.Option(..., "--arm", help="LABEL=model:VERSION, LABEL=run:RUN_ID or LABEL=audio:DIR (repeat, >= 2)."),
    video: list[str] = typer.Option(None, "--video", help="Video ids (repeat; default: every video all arms cover)."),
    criteria: str = typer.Option("richness,emotion,timing,overall", help="Comma-separated keys, or key:question (key!:question = match criterion)."),
    mode: str = typer.Option("choice", help="choice (A / B / no difference) or scale (1..scale-max per soundtrack)."),
    scale_max: int = typer.Option(5, help="Top of the rating scale in scale mode."),
    allow_same: bool = typer.Option(True, "--allow-same/--forced-choice", help="Offer 'no difference' in choice mode."),
    require_full_play: bool = typer.Option(True, "--require-full-play/--no-require-full-play", help="Answers unlock after both soundtracks played to the end."),
    ratings_per_pair: int = typer.Option(4, help="Target ratings per (video, arm pair)."),
    participants: int = typer.Option(10, help="Participants (one token each)."),
    identical_checks: int = typer.Option(1, help="Identical-pair attention checks per participant."),
    mismatch_checks: int = typer.Option(1, help="Mismatched-soundtrack attention checks per participant."),
    max_failed_checks: int = typer.Option(0, help="Participants failing more checks than this are excluded."),
    seed: int = typer.Option(0, help="Design seed (the same seed gives the same design)."),
    title: str = typer.Option("Which soundtrack fits the video better?", help="Page title."),
    instructions: str = typer.Option(
        "Watch the video with soundtrack A and with soundtrack B, then answer each question.", help="Shown above the items."),
    media_dir: str = typer.Option("study_media", help="Where imported and check media are written."),
    tokens_out: str = typer.Option("", help="CSV of participant links (default: <media-dir>/<name>/tokens.csv)."),
    base_url: str = typer.Option("http://127.0.0.1:8000", help="Server address used in the links."),
) -> None:
    """Pick arms, videos and criteria; build a balanced design; write participants and their links."""
    from emsync_core.db.engine import open_database
    from emsync_core.media.errors import MediaError
    from emsync_core.study.create import ArmSpec, CriterionSpec, StudyCreateError, StudyRequest, create_study
    from emsync_core.study.design import DesignError

    try:
        request = StudyRequest(
            name=name, title=title, instructions=instructions, arms=tuple(ArmSpec.parse(a) for a in arm),
            criteria=tuple(CriterionSpec.parse(c.strip(), mode) for c in criteria.split(",") if c.strip()),
            media_dir=media_dir, video_ids=tuple(video or ()), mode=mode, scale_max=scale_max, allow_same=allow_same,
            require_full_play=require_full_play, ratings_per_pair=ratings_per_pair, participants=participants,
            identical_checks=identical_checks, mismatch_checks=mismatch_checks, max_failed_checks=max_failed_checks,
            seed=seed,
        )
        sessions = open_database(db)
        with console.status("building media and design...") as status, sessions.begin() as session:
            created = create_study(session, request, progress=lambda msg: status.update(msg))
    except (StudyCreateError, DesignError, MediaError) as exc:
        console.print(f"[red]cannot create the study:[/red] {exc}")
        raise typer.Exit(code=2) from None
    path = Path(tokens_out or Path(media_dir) / name / "tokens.csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # links are credentials: owner-only
    with os.fdopen(fd, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["participant", "token", "link"])
        for label, token in created.tokens:
            writer.writerow([label, token, f"{base_url.rstrip('/')}/study/{token}"])
    table = Table(title=f"study {created.name} (id {created.study_id})")
    for col in ("videos", "participants", "items", "media files", "skipped"):
        table.add_column(col)
    table.add_row(str(len(created.videos)), str(len(created.tokens)), str(created.n_items), str(created.n_media),
                  str(len(created.skipped)))
    console.print(table)
    for vid, reason in created.skipped:
        console.print(f"[yellow]left out[/yellow] {vid}: {reason}")
    console.print(f"participant links (keep private): {path}")


@app.command("serve")
def serve_cmd(
    db: str = DB_OPTION,
    host: str = typer.Option("127.0.0.1", help="Address the HTTP proxy listens on."),
    port: int = typer.Option(8000, help="Port."),
) -> None:
    """Serve the rating page with Ray Serve until Ctrl-C (the archive API is `emsync api serve`)."""
    from ray_serve.app import serve_until_stopped

    serve_until_stopped(db, host, port, "emsync", "study", None, lambda url: console.print(
        f"serving on {url} (participants open {url}/study/<token>); Ctrl-C stops"))


@app.command("report")
def report_cmd(
    name: str = typer.Argument(..., help="Study name."),
    db: str = DB_OPTION,
    out: str = typer.Option("study_report", help="Folder for report.html, report.json and win_rates.png."),
) -> None:
    """Win rates with CIs, sign tests (Bradley-Terry for > 2 arms) per criterion and listener group."""
    from emsync_core.db.engine import open_database
    from emsync_core.study.report import analyse, write_report

    sessions = open_database(db)
    with sessions() as session:
        try:
            report = analyse(session, name)
        except LookupError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(code=2) from None
    write_report(report, out)
    table = Table(title=f"{report.title}: {report.n_completed}/{report.n_invited} completed, {len(report.excluded)} excluded")
    for col in ("criterion", "group", "pair", "wins", "losses", "ties", "win rate [95% CI]", "p (Holm)"):
        table.add_column(col)
    for r in report.results:
        for p in r.pairs:
            rate = "n/a" if p.win_rate_a is None else f"{p.win_rate_a:.2f} [{p.ci_low:.2f}, {p.ci_high:.2f}]"
            table.add_row(r.criterion, r.group, f"{p.arm_a} vs {p.arm_b}", str(p.wins_a), str(p.wins_b), str(p.ties),
                          rate, "" if p.p_holm is None else f"{p.p_holm:.3g}")
    console.print(table)
    for participant, reasons in report.excluded.items():
        console.print(f"[yellow]excluded[/yellow] {participant}: {'; '.join(reasons)}")
    console.print(f"report: {report.files['html']}")
