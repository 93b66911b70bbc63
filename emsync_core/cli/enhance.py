"""`emsync enhance IN OUT`: restore the high band of band-limited audio; `emsync enhance-model ...`:
render the training audio, train a regime, and evaluate the regimes against each other."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer
from rich.console import Console

model_app = typer.Typer(help="Bandwidth-extension model: render data, train, evaluate.", no_args_is_help=True)

AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac", ".aiff", ".aif")


def _catalog_sources(catalog: str) -> list[str]:
    """Audio and video files of a folder (recursively), or the videos a glob or manifest names."""
    from emsync_core.store.catalog import VIDEO_EXTENSIONS, list_catalog_uris

    if os.path.isdir(catalog):
        return sorted(str(p) for p in Path(catalog).rglob("*")
                      if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS + VIDEO_EXTENSIONS)
    return list_catalog_uris(catalog)


def enhance(
    source: str = typer.Argument(..., help="An audio or video file, or a catalog (folder, glob, manifest)."),
    target: str = typer.Argument(..., help="Output file (.wav/.flac/.ogg) for a file; an output folder for a catalog."),
    model: Path = typer.Option(None, help="Model weights (default: the shipped random-filter model)."),
    force: bool = typer.Option(False, help="Enhance even when no band limit the model restores is found."),
) -> None:
    """Restore the high band of band-limited audio; audio without such a band limit is written unchanged.

    A file the enhancer cannot use is recorded with its reason and the others are still written (exit 1);
    a storage or permission fault is retried and, if it persists, recorded as a fault, not as the file's
    fault (exit 4: rerun once the cause is fixed)."""
    from emsync_core.cli.errors import EXIT_FAULT
    from emsync_core.enhance.apply import cached_model
    from emsync_core.enhance.checkpoint import DEFAULT_MODEL
    from emsync_core.enhance.files import FAULT_ATTEMPTS, FAULT_BACKOFF_S, EnhanceError, enhance_file
    from emsync_core.store.faults import EnvironmentFault, retrying

    console = Console(stderr=True)
    model = model or DEFAULT_MODEL
    try:
        cached_model(str(model))  # a missing or broken model is the run's problem, not each file's
    except (OSError, ValueError, RuntimeError) as exc:
        raise typer.BadParameter(f"model: {exc}") from exc
    single = os.path.isfile(source) and not source.lower().endswith((".csv", ".parquet"))
    if single:
        jobs = [(source, target)]
    else:
        try:
            sources = _catalog_sources(source)
        except (FileNotFoundError, ValueError) as exc:
            raise typer.BadParameter(str(exc)) from exc
        jobs = [(s, os.path.join(target, f"{Path(s).stem}.flac")) for s in sources]
        if not jobs:
            raise typer.BadParameter(f"{source}: no audio or video files found")
    results, kinds = [], []
    for i, (src, dst) in enumerate(jobs, 1):
        try:
            outcome = enhance_file(src, dst, model, force)
            results.append(outcome.to_dict())
            console.print(f"[{i}/{len(jobs)}] {src}: {outcome.note}"
                          + (f" (cut-off {outcome.band_limit.cutoff_hz:.0f} Hz)" if outcome.band_limit.cutoff_hz else "")
                          + f" -> {dst}")
            continue
        except EnhanceError as exc:  # the input's own fault
            kind, reason = "input", str(exc)
        except EnvironmentFault as exc:  # storage or permissions, after retries: not the file's fault
            kind, reason = "fault", str(exc)
        except Exception as exc:  # a bug met on one file must not stop the catalog; recorded with its class
            kind, reason = "error", f"{type(exc).__name__}: {exc}"
        kinds.append(kind)
        results.append({"source": src, "target": None, "failure": kind, "error": reason})
        console.print(f"[{i}/{len(jobs)}] [red]{kind}: {reason}[/red]")
    if not single:
        report = Path(target) / "enhance_report.json"
        for attempt in retrying(FAULT_ATTEMPTS, FAULT_BACKOFF_S):
            with attempt:
                report.parent.mkdir(parents=True, exist_ok=True)
                report.write_text(json.dumps(results, indent=2))
        faults = f", {kinds.count('fault')} stopped by storage faults (rerun)" if "fault" in kinds else ""
        console.print(f"{len(jobs) - len(kinds)} of {len(jobs)} files written{faults}; report: {report}")
    if "fault" in kinds:
        raise typer.Exit(code=EXIT_FAULT)
    if kinds:
        raise typer.Exit(code=1)


@model_app.command("data")
def data_cmd(
    midi: Path = typer.Option(Path("/work/shared/data/midi"), help="Root of the MIDI corpora."),
    clips: Path = typer.Option(Path("/work/shared/data/video"), help="Folder of real clips whose audio is also used."),
    cache: Path = typer.Option(None, help="Where the renders go (default $EMSYNC_ENHANCE_CACHE or the repository's .cache/enhance)."),
    per_corpus: int = typer.Option(28, help="Pieces drawn from each corpus."),
    shard: str = typer.Option("0/1", help="k/n: render every n-th piece from the k-th (run n processes)."),
) -> None:
    """Render the full-band training and test audio (split by piece) into the cache."""
    from emsync_core.enhance.data import DEFAULT_CACHE, build_cache

    k, n = (int(x) for x in shard.split("/"))
    clip_files = sorted(p for p in clips.iterdir() if p.is_file()) if clips.is_dir() else []
    counts = build_cache(midi, clip_files, cache or DEFAULT_CACHE, per_corpus, shard=(k, n),
                         progress=lambda s: typer.echo(s, err=True))
    typer.echo(json.dumps(counts))


@model_app.command("train")
def train_cmd(
    regime: str = typer.Argument(..., help="fixed: one low-pass for every example; random: a random filter per example."),
    out: Path = typer.Option(..., help="Where the safetensors go."),
    cache: Path = typer.Option(None, help="Rendered audio (default: as `data`)."),
    steps: int = typer.Option(2400, help="Optimizer steps (the same for both regimes)."),
    minutes: float = typer.Option(None, help="Optional wall-clock cap (the rate then anneals by steps or minutes, whichever "
                                  "is further); without it the run ends by --steps alone, the same for both regimes."),
    batch: int = typer.Option(16),
    seed: int = typer.Option(0),
    lr: float = typer.Option(1e-3, help="Peak learning rate (one cycle over the steps)."),
    init: Path = typer.Option(None, help="Continue from these weights."),
    high_band_weight: float = typer.Option(0.0, help="Weight of the high-band SNR gain (above each example's cut-off) in the loss."),
    threads: int = typer.Option(1, help="torch threads."),
) -> None:
    """Train one regime of the bandwidth-extension U-Net."""
    import torch

    from emsync_core.enhance.data import DEFAULT_CACHE
    from emsync_core.enhance.train import TrainSettings, train

    torch.set_num_threads(threads)
    facts = train(TrainSettings(regime=regime, steps=steps, minutes=minutes, batch=batch, seed=seed, lr=lr,
                                init=str(init) if init else None, high_band_weight=high_band_weight), cache or DEFAULT_CACHE,
                  out, progress=lambda s: typer.echo(s, err=True))
    typer.echo(json.dumps(facts))


@model_app.command("evaluate")
def evaluate_cmd(
    fixed: Path = typer.Option(None, help="The single-filter model."),
    random: Path = typer.Option(None, help="The random-filter model."),
    also: list[str] = typer.Option([], "--also", help="More models in the same run, as NAME=PATH (new weights beside the shipped ones)."),
    cache: Path = typer.Option(None, help="Rendered audio (default: as `data`)."),
    out: Path = typer.Option(Path(".bench/enhance_eval.json"), help="JSON report."),
    threads: int = typer.Option(1, help="torch threads."),
) -> None:
    """SNR gain and log-spectral distance per test filter, for both regimes and the baselines."""
    import torch

    from emsync_core.enhance.data import DEFAULT_CACHE
    from emsync_core.enhance.evaluate import evaluate, markdown_table

    models = {name: path for name, path in (("single-filter model", fixed), ("random-filter model", random)) if path}
    for item in also:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise typer.BadParameter(f"--also {item!r}: expected NAME=PATH")
        models[name] = Path(path)
    if not models:
        raise typer.BadParameter("no model to evaluate: give --fixed, --random or --also")
    torch.set_num_threads(threads)
    report = evaluate(models, cache or DEFAULT_CACHE, out,
                      progress=lambda s: typer.echo(s, err=True))
    typer.echo(markdown_table(report))
    typer.echo(json.dumps(report["detection"], indent=1))
