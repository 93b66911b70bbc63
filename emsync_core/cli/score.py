"""`emsync score`: extract (Beam) -> score (Ray) -> record (DB) for a catalog, or regenerate one scene."""

from __future__ import annotations

import typer

from emsync_core.cli.options import given
from emsync_core.features.extract_plan import EXTRACT_ENGINES
from emsync_core.features.registry import DEFAULT_BACKBONES
from emsync_core.music import SamplingSettings
from emsync_core.music.ensemble import ENSEMBLE_HELP
from emsync_core.render.master import DEFAULT_LUFS
from emsync_core.scoring.models import DEFAULT_CLASSIFIER, DEFAULT_GENERATOR
from emsync_core.scoring.options import ScoreOptions
from rich.console import Console


def score(
    ctx: typer.Context,
    catalog: str = typer.Argument(None, help="A folder, a glob, a gs:// s3:// az:// prefix or a manifest (.csv/.parquet of URIs)."),
    out: str = typer.Option(..., "--out", help="Output folder (features, soundtracks, emsync.db)."),
    db: str = typer.Option(None, "--db", envvar="EMSYNC_DB_URL", help="Database URL (default sqlite:///<out>/emsync.db; env EMSYNC_DB_URL keeps a password off the command line)."),
    address: str = typer.Option(None, "--address", help="An existing Ray cluster (default: start a local Ray)."),
    num_cpus: int = typer.Option(None, help="CPUs for the local Ray (default: all)."),
    seed: int = typer.Option(0, "--seed", help="Base seed (with --video/--scene: the new seed of that scene)."),
    video: str = typer.Option(None, "--video", help="Regenerate: the video id (or a unique prefix)."),
    scene: int = typer.Option(None, "--scene", help="Regenerate: the scene index whose music is replaced."),
    mux: str = typer.Option("duck", help="replace: music replaces the first audio track; duck: mixed under it, ducked under speech; "
                                          "add: music as an extra track beside the untouched originals."),
    lufs: float = typer.Option(DEFAULT_LUFS, help="Loudness target in LUFS (-16 streaming, -23 EBU R128 broadcast); the true-peak "
                                         "ceiling is -1 dBTP, -2 dBTP at -23 LUFS and below."),
    max_chunk_s: float = typer.Option(ScoreOptions.max_chunk_s, help="Long videos are generated in chunks of at most this many seconds."),
    temperature: float = typer.Option(None, help=f"Sampling temperature (default: the method's {SamplingSettings.temperature})."),
    top_p: float = typer.Option(None, help=f"Nucleus top-p (default {SamplingSettings.top_p}; the method's 0.6 leaves little tonal variety)."),
    guidance: float = typer.Option(None, help="Valence guidance (classifier-free; 1 = off; default: the generator's default)."),
    cues: float = typer.Option(None, help="Strength of the sampler's valence cues (mode, register, articulation; 0 = off; default 1)."),
    ensemble: str = typer.Option(None, help=ENSEMBLE_HELP),
    generate_batch: int = typer.Option(ScoreOptions.generate_batch, help="Requests per generator batch."),
    classify_actors: int = typer.Option(ScoreOptions.classify_actors, help="Classifier actors."),
    generate_actors: int = typer.Option(ScoreOptions.generate_actors, help="Generator actors."),
    actor_cpus: float = typer.Option(ScoreOptions.actor_cpus, help="CPUs per actor (fractional on small machines)."),
    generator_gpus: float = typer.Option(0.0, help="GPUs per generator actor (on a GPU cluster)."),
    backbones: str = typer.Option(",".join(DEFAULT_BACKBONES), help="Extraction backbones (registered names or module:Class)."),
    window_s: float = typer.Option(ScoreOptions.window_s, help="Feature window length in seconds (as `emsync extract`)."),
    classifier: str = typer.Option(None, help="Classifier checkpoint (default: the shipped one)."),
    generator: str = typer.Option(None, help="Generator checkpoint (default: the shipped one)."),
    classifier_loader: str = typer.Option(DEFAULT_CLASSIFIER, help="module:function loading your own classifier."),
    generator_loader: str = typer.Option(DEFAULT_GENERATOR, help="module:function loading your own generator."),
    workers: int = typer.Option(0, help="Beam workers for the extraction (0 = cores)."),
    brief: str = typer.Option("", "--brief", help='A scoring brief: mood, ensemble, mode and tempo words ("tense, orchestral, minor key"); docs/BRIEF.md.'),
    brief_rule: str = typer.Option("centre", help="centre: the brief sets the centre, each video's scenes move around it; replace: every scene takes the brief."),
    normalise_catalog: bool = typer.Option(False, "--normalise-catalog", help="Spread scene valence/arousal relative to the catalog's other scenes (recorded with the run)."),
    moods: str = typer.Option(None, "--moods", help="Per-scene mood overrides (CSV or JSON, see docs/BRIEF.md): re-scores only the scenes they change."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Extract again the inputs with a dead letter (after fixing them)."),
    max_failures: int = typer.Option(None, "--max-failures", min=0, help="Exit 3 when more inputs than this are bad (default: no limit; each is recorded)."),
    summary_json: str = typer.Option(None, "--summary-json", help="Also write the run's summary as JSON to this file ('-' = stdout)."),
    wait: float = typer.Option(0.0, "--wait", min=0, help="Seconds to wait for another live run of the same catalog and configuration (default: exit 5 at once)."),
    enhance_audio: bool = typer.Option(False, "--enhance-audio", help="Restore the original audio's high band when it is band-limited (duck mode)."),
    overlap: bool = typer.Option(True, "--overlap/--no-overlap", help="Score each video as soon as its features are complete, while the rest are extracted (--no-overlap: extract the whole catalog first)."),
    extract_engine: str = typer.Option(
        "auto", help="auto: Beam locally or when Beam options name a --runner, Ray tasks on an --address cluster; beam; ray."),
) -> None:
    """Give every video of a catalog a soundtrack; rerunning resumes and duplicates nothing (extra args go to Beam).

    Exit codes: 0 complete (bad inputs recorded, within --max-failures); 1 crashed; 2 wrong arguments or
    catalog; 3 more bad inputs than --max-failures; 4 database, storage or network fault (nothing marked
    bad: rerun); 5 another live run holds this catalog and configuration."""
    from emsync_core.render.master import MasterSettings
    from emsync_core.render.pipeline import MUX_MODES, RenderSettings
    from emsync_core.scoring.models import ModelSpec

    console = Console(stderr=True)
    if mux not in MUX_MODES:
        raise typer.BadParameter(f"--mux must be one of {MUX_MODES}")
    if ensemble is not None:
        from emsync_core.music.ensemble import parse_ensemble

        try:
            parse_ensemble(ensemble)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    if extract_engine not in EXTRACT_ENGINES:
        raise typer.BadParameter(f"--extract-engine must be one of {EXTRACT_ENGINES}")
    models = ModelSpec(classifier=classifier_loader, classifier_checkpoint=classifier, generator=generator_loader,
                       generator_checkpoint=generator)
    if moods is not None:
        _apply_moods(console, out, db, moods, models)
        return
    if brief:
        from emsync_core.brief import BriefError, parse_brief

        try:
            parse_brief(brief)
        except BriefError as exc:
            raise typer.BadParameter(str(exc), param_hint="--brief") from None
    if brief_rule not in ("centre", "replace"):
        raise typer.BadParameter("--brief-rule must be centre or replace")
    if video is not None or scene is not None:
        if video is None or scene is None:
            raise typer.BadParameter("regenerating needs both --video and --scene (and --seed)")
        _regenerate(console, out, db, video, scene, seed, models)
        return
    if not catalog:
        raise typer.BadParameter("give a CATALOG (or --video/--scene/--seed to regenerate one scene)")
    if enhance_audio and mux != "duck":
        raise typer.BadParameter("--enhance-audio applies to --mux duck only: the other modes leave the original audio as it is")
    from emsync_core.cli.errors import run_exit_code
    from emsync_core.scoring.report import print_summary
    from ray_serve.score_pipeline import run_score

    options = ScoreOptions(
        catalog=catalog, out=out, db=db, address=address, num_cpus=num_cpus, seed=seed,
        sampling=SamplingSettings(**given(temperature=temperature, top_p=top_p, valence_guidance=guidance, valence_cues=cues, ensemble=ensemble)),
        max_chunk_s=max_chunk_s,
        render=RenderSettings(mux_mode=mux, master=MasterSettings(target_lufs=lufs), enhance_audio=enhance_audio), models=models,
        generate_batch=generate_batch, classify_actors=classify_actors, generate_actors=generate_actors,
        actor_cpus=actor_cpus, generator_gpus=generator_gpus,
        backbones=tuple(b.strip() for b in backbones.split(",") if b.strip()), window_s=window_s, extract_workers=workers,
        brief=brief, brief_rule=brief_rule, normalise_catalog=normalise_catalog,
        retry_failed=retry_failed, lease_wait_s=wait, overlap=overlap, extract_engine=extract_engine, beam_args=tuple(ctx.args))
    summary = run_score(options)
    print_summary(summary, console)
    code = run_exit_code(summary, max_failures)
    if summary_json:
        write_summary_json(summary, code, summary_json)
    raise typer.Exit(code=code)


def write_summary_json(summary, code: int, target: str) -> None:
    import json
    from pathlib import Path

    text = json.dumps({**summary.as_json(), "exit_code": code}, indent=1)
    if target == "-":
        typer.echo(text)
    else:
        Path(target).write_text(text + "\n")


def _regenerate(console: Console, out: str, db: str | None, video: str, scene: int, seed: int, models) -> None:
    from emsync_core.db.engine import default_url
    from emsync_core.scoring.regenerate import RegenerateError, regenerate_scene

    try:
        record, row_id = regenerate_scene(db or default_url(out), out, video, scene, seed, models)
    except RegenerateError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(code=2)
    if record is None:
        console.print(f"already made: soundtrack {row_id} is scene {scene} with seed {seed}")
        return
    console.print(f"soundtrack {row_id}: scene {scene} regenerated with seed {seed} -> {record.video_uri}")


def _apply_moods(console: Console, out: str, db: str | None, path: str, models) -> None:
    from emsync_core.db.engine import default_url
    from emsync_core.scoring.overrides import OverrideError, read_overrides
    from emsync_core.scoring.regenerate import apply_overrides

    try:
        outcomes = apply_overrides(db or default_url(out), out, read_overrides(path), models)
    except OverrideError as exc:
        console.print(f"[red]{exc}[/red] (nothing was applied)")
        raise typer.Exit(code=2)
    for o in outcomes:
        if not o.changed_scenes:
            console.print(f"{o.video_id}: no scene mood changed; soundtrack {o.soundtrack_id} stays")
        else:
            made = "new soundtrack" if o.new else "already made: soundtrack"
            console.print(f"{o.video_id}: scenes {o.changed_scenes} re-scored -> {made} {o.soundtrack_id}")
