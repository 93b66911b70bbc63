"""`emsync study create|serve|report|simulate`: A/B listening studies over the archive's soundtracks."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from emsync_core.study.page_texts import DEFAULT_CONSENT, DEFAULT_LISTENING_NOTE

app = typer.Typer(help="A/B listening studies: create, serve the rating page, report, simulate.", no_args_is_help=True)
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
    require_full_play: bool = typer.Option(True, "--require-full-play/--no-require-full-play", help="Answers are taken only once both soundtracks have been played through (checked by the server)."),
    ratings_per_pair: int = typer.Option(4, help="Target ratings per (video, arm pair)."),
    participants: int = typer.Option(10, help="Participants (one token each)."),
    identical_checks: int = typer.Option(1, help="Identical-pair attention checks per participant."),
    mismatch_checks: int = typer.Option(1, help="Mismatched-soundtrack attention checks per participant."),
    max_failed_checks: int = typer.Option(0, help="Participants failing more checks than this are excluded."),
    seed: int = typer.Option(0, help="Design seed (the same seed gives the same design)."),
    title: str = typer.Option("Which soundtrack fits the video better?", help="Page title."),
    instructions: str = typer.Option(
        "Watch the video with soundtrack A and with soundtrack B, then answer each question.", help="Shown above the items."),
    consent: str = typer.Option(DEFAULT_CONSENT, help="What taking part means, shown before the first video."),
    listening_note: str = typer.Option(DEFAULT_LISTENING_NOTE, help="How to listen, shown before the first video."),
    media_dir: str = typer.Option("study_media", help="Where the study's media are written (a padded copy of every soundtrack, imported and check media)."),
    tokens_out: str = typer.Option("", help="CSV of participant links (default: <media-dir>/<name>/tokens.csv)."),
    base_url: str = typer.Option(
        "http://127.0.0.1:8000",
        help="The address participants open, written into every link: `study serve`'s http://HOST:PORT, or your proxy's https:// address."),
) -> None:
    """Pick arms, videos and criteria; build a balanced design; write participants and their links."""
    from emsync_core.db.engine import open_database
    from emsync_core.media.errors import MediaError
    from emsync_core.study.create import ArmSpec, CriterionSpec, StudyCreateError, StudyRequest, create_study
    from emsync_core.study.design import DesignError
    from emsync_core.study.links import BaseUrlError, link, normalise_base_url

    try:
        base_url = normalise_base_url(base_url)
        request = StudyRequest(
            name=name, title=title, instructions=instructions, arms=tuple(ArmSpec.parse(a) for a in arm),
            criteria=tuple(CriterionSpec.parse(c.strip(), mode) for c in criteria.split(",") if c.strip()),
            media_dir=media_dir, video_ids=tuple(video or ()), mode=mode, scale_max=scale_max, allow_same=allow_same,
            require_full_play=require_full_play, ratings_per_pair=ratings_per_pair, participants=participants,
            identical_checks=identical_checks, mismatch_checks=mismatch_checks, max_failed_checks=max_failed_checks,
            seed=seed, consent_text=consent.strip(), listening_note=listening_note.strip(), base_url=base_url,
        )
        sessions = open_database(db)
        with console.status("building media and design...") as status, sessions.begin() as session:
            created = create_study(session, request, progress=lambda msg: status.update(msg))
    except (StudyCreateError, DesignError, MediaError, BaseUrlError) as exc:
        console.print(f"[red]cannot create the study:[/red] {exc}")
        raise typer.Exit(code=2) from None
    path = Path(tokens_out or Path(media_dir) / name / "tokens.csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # links are credentials: owner-only
    with os.fdopen(fd, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["participant", "token", "link"])
        for label, token in created.tokens:
            writer.writerow([label, token, link(base_url, token)])
    table = Table(title=f"study {created.name} (id {created.study_id})")
    for col in ("videos", "participants", "items", "media files", "skipped"):
        table.add_column(col)
    table.add_row(str(len(created.videos)), str(len(created.tokens)), str(created.n_items), str(created.n_media),
                  str(len(created.skipped)))
    console.print(table)
    for vid, reason in created.skipped:
        console.print(f"[yellow]left out[/yellow] {vid}: {reason}")
    console.print(f"participant links (keep private): {path}")
    console.print(f"the links open {base_url}/study/<token>: serve there (see docs/STUDIES.md, 'Links and the server address')")


@app.command("serve")
def serve_cmd(
    db: str = DB_OPTION,
    host: str = typer.Option("127.0.0.1", help="Address the HTTP proxy listens on."),
    port: int = typer.Option(8000, help="Port."),
) -> None:
    """Serve the rating page with Ray Serve until Ctrl-C (the archive API is `emsync api serve`)."""
    from ray_serve.app import serve_until_stopped

    def announce(url: str) -> None:
        console.print(f"serving on {url} (participants open {url}/study/<token>); Ctrl-C stops")
        _warn_link_mismatches(db, host, port)

    serve_until_stopped(db, host, port, "emsync", "study", None, announce)


def _warn_link_mismatches(db: str, host: str, port: int) -> None:
    """Say which studies' links would not reach this server (both local addresses, different ports)."""
    from sqlalchemy import select

    from emsync_core.db.engine import open_database
    from emsync_core.db.study_models import Study
    from emsync_core.study.links import serving_mismatch

    with open_database(db)() as session:
        for name, base_url in session.execute(select(Study.name, Study.base_url).order_by(Study.id)):
            problem = serving_mismatch(base_url, host, port)
            if problem:
                console.print(f"[yellow]study {name}:[/yellow] {problem}; serve with the links' port, or recreate "
                              "the study with a matching --base-url")


@app.command("report")
def report_cmd(
    name: str = typer.Argument(..., help="Study name."),
    db: str = DB_OPTION,
    out: str = typer.Option("study_report", help="Folder for report.html, report.json and win_rates.png."),
    exclude_fast: bool = typer.Option(False, "--exclude-fast", help="Leave out participants flagged for answering faster than the videos play."),
) -> None:
    """Verdicts, win rates with listener-level intervals and tests (Holm over all), per criterion and listener group."""
    from emsync_core.db.engine import open_database
    from emsync_core.study.report import analyse, write_report

    sessions = open_database(db)
    with sessions() as session:
        try:
            report = analyse(session, name, exclude_fast=exclude_fast)
        except LookupError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(code=2) from None
    write_report(report, out)
    table = Table(title=f"{report.title}: {report.n_completed}/{report.n_invited} completed, {len(report.excluded)} excluded")
    for col in ("criterion", "group", "pair", "listeners", "wins", "losses", "ties", "win rate [95% CI]",
                f"p (Holm over {report.n_tests})"):
        table.add_column(col)
    for r in report.results:
        for p in r.pairs:
            rate = "n/a" if p.win_rate_a is None else f"{p.win_rate_a:.2f} [{p.ci_low:.2f}, {p.ci_high:.2f}]"
            table.add_row(r.criterion, r.group, f"{p.arm_a} vs {p.arm_b}", str(p.n_listeners), str(p.wins_a),
                          str(p.wins_b), str(p.ties), rate, "" if p.p_holm is None else f"{p.p_holm:.3g}")
    console.print(table)
    for a in report.arm_details:
        versions = ", ".join(a.generator_versions) or "external audio"
        shown = ", ".join(f"{k}={v}" for k, v in a.differs.items()) if len(a.settings) == 1 else f"{len(a.settings)} settings"
        console.print(f"arm [bold]{a.label}[/bold] = {a.source}: generator {versions}; runs {', '.join(a.runs) or '-'}; "
                      f"{shown or 'same settings as the other arms'} (all in report.html)")
    for participant, reasons in report.excluded.items():
        console.print(f"[yellow]excluded[/yellow] {participant}: {'; '.join(reasons)}")
    for participant, reason in report.fast.items():
        left = "left out" if report.fast_excluded else "kept; --exclude-fast leaves out"
        console.print(f"[yellow]fast[/yellow] {participant}: {reason} ({left})")
    for line in report.verdicts:
        console.print(f"verdict: {line}")
    console.print(f"report: {report.files['html']}")


def _floats(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise typer.BadParameter(f"a comma-separated list of numbers, e.g. 0,0.1,0.2, not {text!r}") from None


@app.command("simulate")
def simulate_cmd(
    listeners: int = typer.Option(10, help="Listeners per simulated study."),
    items: int = typer.Option(20, help="Rated pairs per listener."),
    sd: str = typer.Option("0,0.1,0.2", help="Listener lean spreads to try (comma-separated; chance units)."),
    effect: str = typer.Option("0,0.1,0.2", help="Population effects to try (0.1 = arm A wins 60 % of the time)."),
    studies: int = typer.Option(2000, help="Simulated studies per setting."),
    seed: int = typer.Option(0, help="Random seed."),
    json_out: str = typer.Option("", "--json", help="Also write the results here as JSON."),
) -> None:
    """False positive rate, power and interval coverage of the report's test on studies with a known truth."""
    import json
    from dataclasses import asdict

    from emsync_core.study.simulate import SimSetting, simulate

    results = []
    for s in _floats(sd):
        for e in _floats(effect):
            setting = SimSetting(listeners=listeners, items=items, sd=s, effect=e, studies=studies, seed=seed)
            results.append(simulate(setting))
            r = results[-1]
            console.log(f"sd {s:g}, effect {e:g}: listener test rejects {r.rejection_rate:.3f}, "
                        f"pooled sign test {r.rejection_rate_pooled_sign_test:.3f}")
    table = Table(title=f"{studies} simulated studies per row: {listeners} listeners x {items} items, alpha 0.05")
    for col in ("listener sd", "effect", "true win rate", "rate", "listener test (report)", "pooled sign test (old)",
                "95 % interval coverage"):
        table.add_column(col)
    for r in results:
        table.add_row(f"{r.setting.sd:g}", f"{r.setting.effect:g}", f"{r.true_win_rate:.3f}",
                      "false positives" if r.setting.effect == 0 else "power",
                      f"{r.rejection_rate:.3f}", f"{r.rejection_rate_pooled_sign_test:.3f}", f"{r.interval_coverage:.3f}")
    console.print(table)
    if json_out:
        Path(json_out).write_text(json.dumps([asdict(r) for r in results], indent=2))
        console.print(f"results: {json_out}")
