"""`emsync score`: extract (Beam) -> score (Ray) -> record (DB) for a catalog, or regenerate one scene."""

from __future__ import annotations

import typer

from emsync_core.cli.options import given
from emsync_core.features.extract_plan import EXTRACT_ENGINES
from emsync_core.features.registry import DEFAULT_BACKBONES
from rich.console import Console


def score(
    ctx: typer.Context,
    catalog: str = typer.Argument(None, help="A folder, a glob, a gs:// s3:// az:// prefix or a manifest (.csv/.parquet of URIs)."),
    out: str = typer.Option(..., "--out", help="Output folder (features, soundtracks, emsync.db)."),
    db: str = typer.Option(None, "--db", envvar="EMSYNC_DB_URL", help="Database URL (default sqlite:///<out>/emsync.db)."),
    address: str = typer.Option(None, "--address", help="An existing Ray cluster (default: start a local Ray)."),
    num_cpus: int = typer.Option(None, help="CPUs for the local Ray (default: all)."),
    seed: int = typer.Option(0, "--seed", help="Base seed (with --video/--scene: the new seed of that scene)."),
    video: str = typer.Option(None, "--video", help="Regenerate: the video id (or a unique prefix)."),
    scene: int = typer.Option(None, "--scene", help="Regenerate: the scene index whose music is replaced."),
    mux: str = typer.Option("duck", help="replace: music replaces the audio; duck: mixed under it, ducked under speech."),
    lufs: float = typer.Option(-16.0, help="Loudness target in LUFS (-16 streaming, -23 EBU R128 broadcast)."),
    max_chunk_s: float = typer.Option(120.0, help="Long videos are generated in chunks of at most this many seconds."),
    temperature: float = typer.Option(1.35, help="Sampling temperature (the method's 1.35)."),
    top_p: float = typer.Option(0.6, help="Nucleus top-p (the method's 0.6)."),
    guidance: float = typer.Option(None, help="Valence guidance (classifier-free; 1 = off; default: the generator's default)."),
    cues: float = typer.Option(None, help="Strength of the sampler's valence cues (mode, register, articulation; 0 = off; default 1)."),
    generate_batch: int = typer.Option(8, help="Requests per generator batch."),
    classify_actors: int = typer.Option(1, help="Classifier actors."),
    generate_actors: int = typer.Option(1, help="Generator actors."),
    actor_cpus: float = typer.Option(0.5, help="CPUs per actor (fractional on small machines)."),
    generator_gpus: float = typer.Option(0.0, help="GPUs per generator actor (on a GPU cluster)."),
    backbones: str = typer.Option(",".join(DEFAULT_BACKBONES), help="Extraction backbones (registered names or module:Class)."),
    window_s: float = typer.Option(2.0, help="Feature window length in seconds (as `emsync extract`)."),
    classifier: str = typer.Option(None, help="Classifier checkpoint (default: the shipped one)."),
    generator: str = typer.Option(None, help="Generator checkpoint (default: the shipped one)."),
    classifier_loader: str = typer.Option("emsync_core.emotion:load_classifier", help="module:function loading your own classifier."),
    generator_loader: str = typer.Option("emsync_core.music:load_generator", help="module:function loading your own generator."),
    workers: int = typer.Option(0, help="Beam workers for the extraction (0 = cores)."),
    extract_engine: str = typer.Option(
        "auto", help="auto: Beam locally or when Beam options name a --runner, Ray tasks on an --address cluster; beam; ray."),
) -> None:
    """Give every video of a catalog a soundtrack; rerunning resumes and duplicates nothing (extra args go to Beam)."""
    from emsync_core.music import SamplingSettings
    from emsync_core.render.master import MasterSettings
    from emsync_core.render.pipeline import MUX_MODES, RenderSettings
    from emsync_core.scoring.models import ModelSpec

    console = Console(stderr=True)
    if mux not in MUX_MODES:
        raise typer.BadParameter(f"--mux must be one of {MUX_MODES}")
    if extract_engine not in EXTRACT_ENGINES:
        raise typer.BadParameter(f"--extract-engine must be one of {EXTRACT_ENGINES}")
    models = ModelSpec(classifier=classifier_loader, classifier_checkpoint=classifier, generator=generator_loader,
                       generator_checkpoint=generator)
    if video is not None or scene is not None:
        if video is None or scene is None:
            raise typer.BadParameter("regenerating needs both --video and --scene (and --seed)")
        _regenerate(console, out, db, video, scene, seed, models)
        return
    if not catalog:
        raise typer.BadParameter("give a CATALOG (or --video/--scene/--seed to regenerate one scene)")
    from emsync_core.scoring.report import print_summary
    from ray_serve.score_pipeline import ScoreOptions, run_score

    options = ScoreOptions(
        catalog=catalog, out=out, db=db, address=address, num_cpus=num_cpus, seed=seed,
        sampling=SamplingSettings(temperature=temperature, top_p=top_p, **given(valence_guidance=guidance, valence_cues=cues)),
        max_chunk_s=max_chunk_s,
        render=RenderSettings(mux_mode=mux, master=MasterSettings(target_lufs=lufs)), models=models,
        generate_batch=generate_batch, classify_actors=classify_actors, generate_actors=generate_actors,
        actor_cpus=actor_cpus, generator_gpus=generator_gpus,
        backbones=tuple(b.strip() for b in backbones.split(",") if b.strip()), window_s=window_s, extract_workers=workers,
        extract_engine=extract_engine, beam_args=tuple(ctx.args))
    summary = run_score(options)
    print_summary(summary, console)
    raise typer.Exit(code=0 if summary.complete else 1)


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
