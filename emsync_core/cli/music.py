"""`emsync music ...`: train the generator, generate a soundtrack MIDI, evaluate a checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from emsync_core.cli.options import given
from emsync_core.music.ensemble import ENSEMBLE_HELP

app = typer.Typer(help="Music generator: train, generate, eval.", no_args_is_help=True)


def parse_scene(text: str) -> tuple[float, float, float]:
    """'V,A' (from 0 s) or 'START:V,A' -> (start_s, valence, arousal)."""
    start, _, va = text.rpartition(":")
    v, a = (float(x) for x in va.split(","))
    return float(start or 0.0), v, a


@app.command("train")
def train_cmd(
    preset: str = typer.Option("small", help="Model size preset: small, reference, tiny."),
    minutes: float = typer.Option(55.0, help="Wall-clock training budget."),
    max_steps: int = typer.Option(None, help="Also stop after this many optimiser steps."),
    out: Path = typer.Option(None, help="Checkpoint path (default: the shipped small checkpoint)."),
    cache: Path = typer.Option(None, help="Tokenised dataset .npz (built when missing)."),
    rebuild_cache: bool = typer.Option(False, help="Re-tokenise the MIDI sources."),
    music21_limit: int = typer.Option(150, help="How many music21 corpus works to include."),
    nesmdb_stride: int = typer.Option(4, help="Keep every n-th NES-MDB tune."),
    batch: int = typer.Option(8),
    lr: float = typer.Option(1e-3),
    threads: int = typer.Option(2, help="torch threads (at most the free cores)."),
    bf16: bool = typer.Option(True, help="bfloat16 autocast (fast on CPUs with AVX-512 BF16 and on GPUs)."),
    save_every_min: float = typer.Option(5.0),
    log: Path = typer.Option(None, help="JSON-lines training log."),
    init: Path = typer.Option(None, help="Continue from this checkpoint's weights (e.g. the shipped one)."),
    labelled_weight: float = typer.Option(5.0, help="Token-share multiplier of the valence-labelled pieces."),
    start_share: float = typer.Option(0.0, help="Share of training windows that open their piece."),
    device: str = typer.Option("cpu", help="cpu, or cuda on an accelerator (the dataset is tokenised on the CPU first)."),
    shard_mib: float = typer.Option(None, help="Write the checkpoint as a folder of safetensors parts of at most this many MiB."),
    tokenise_only: bool = typer.Option(False, help="Only build the tokenised cache (on the CPU, before an accelerator run)."),
) -> None:
    """Tokenise the sources (cached) and train until the time budget is spent."""
    from emsync_core.music.checkpoint import SHIPPED_CHECKPOINT
    from emsync_core.music.dataprep import build_cache
    from emsync_core.music.paths import DEFAULT_CACHE
    from emsync_core.music.sources import all_specs
    from emsync_core.music.train import TrainSettings, train

    cache = cache or DEFAULT_CACHE
    if rebuild_cache or not cache.exists():
        build_cache(all_specs(music21_limit=music21_limit, nesmdb_stride=nesmdb_stride), cache)
    if tokenise_only:
        typer.echo(f"tokenised cache: {cache}")
        return
    settings = TrainSettings(
        preset=preset, minutes=minutes, max_steps=max_steps, batch=batch, lr=lr, threads=threads, save_every_min=save_every_min,
        init=str(init) if init else None, bf16=bf16, labelled_weight=labelled_weight, start_share=start_share,
        device=device, shard_mib=shard_mib,
    )
    record = train(cache, out or SHIPPED_CHECKPOINT, settings, log)
    typer.echo(
        f"trained {record['steps']} steps ({record['tokens_seen']} tokens) in {record['train_seconds']} s; "
        f"val loss {record['val_loss']}, val accuracy {record['val_accuracy']}"
    )


@app.command("generate")
def generate_cmd(
    duration: float = typer.Option(..., help="Seconds of music."),
    va: list[str] = typer.Option(["0.5,0.5"], help="Scene emotion 'V,A' or 'START:V,A' (repeat per scene)."),
    cuts: str = typer.Option("", help="Comma-separated cut times in seconds."),
    seed: int = typer.Option(0),
    out: Path = typer.Option(Path("out.mid")),
    checkpoint: str = typer.Option(None, help="Checkpoint (default: shipped small)."),
    temperature: float = typer.Option(None, help="Sampling temperature (default 1.35, the method's)."),
    top_p: float = typer.Option(None, help="Nucleus top-p (default 0.8)."),
    guidance: float = typer.Option(None, help="Valence guidance (classifier-free; 1 = off; default: the sampling default)."),
    cues: float = typer.Option(None, help="Strength of the sampler's valence cues (mode, register, articulation; 0 = off; default 1)."),
    threads: int = typer.Option(1, help="torch threads (more threads than free cores slows generation down)."),
    ensemble: str = typer.Option(None, help=ENSEMBLE_HELP),
) -> None:
    """Write one soundtrack MIDI following the scenes' V/A and changing harmony on the cuts."""
    import torch

    from emsync_core.music import GenerationRequest, SamplingSettings, SceneCondition, load_generator
    from emsync_core.music.heard import soundtrack_stats

    torch.set_num_threads(threads)

    scenes = tuple(sorted((SceneCondition(*parse_scene(s)) for s in va), key=lambda s: s.start_s))
    cut_list = tuple(float(c) for c in cuts.split(",") if c.strip())
    sampling = SamplingSettings(
        **given(temperature=temperature, top_p=top_p, valence_guidance=guidance, valence_cues=cues, ensemble=ensemble)
    )
    req = GenerationRequest(out.stem, duration, scenes, cut_list, seed, sampling)
    try:
        res = load_generator(checkpoint).generate([req])[0]
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(res.midi_bytes)
    typer.echo(json.dumps({
        "out": str(out), "tokens": res.n_tokens, "seconds": res.seconds, "chord_onsets_s": res.chord_onsets_s,
        "ensemble": sampling.ensemble, "heard": soundtrack_stats(res.midi_bytes, cut_list, duration).as_dict(),
        "model_version": res.model_version, "model_sha256": res.model_sha256,
    }))


@app.command("eval")
def eval_cmd(
    checkpoint: str = typer.Option(None, help="Checkpoint (default: shipped small)."),
    cache: Path = typer.Option(None, help="Tokenised dataset (for held-out pieces)."),
    out: Path = typer.Option(Path(".bench/music_eval.json")),
    cut_requests: int = typer.Option(16),
    arousal_seeds: int = typer.Option(4),
    valence_pairs: int = typer.Option(12),
    scene_pairs: int = typer.Option(6),
    real_pieces: int = typer.Option(40),
    guidance: float = typer.Option(None, help="Valence guidance for every request (1 = off; default: the sampling default)."),
    cues: float = typer.Option(None, help="Valence-cue strength for every request (0 = off; default: the sampling default)."),
    sweep: str = typer.Option("", help="Only sweep one sampling setting on selection seeds, e.g. valence_cues=0,0.5,1,1.5."),
) -> None:
    """Cut alignment, arousal/valence control, per-scene following, musicality, held-out accuracy.

    With --sweep, only the valence pairs are generated, for each value, on seeds kept apart from the
    evaluation's (the way the defaults of valence guidance and cues are chosen)."""
    from emsync_core.music import load_generator
    from emsync_core.music.evaluate import EvalSettings, run_eval
    from emsync_core.music.paths import DEFAULT_CACHE

    settings = EvalSettings(
        cut_requests=cut_requests, arousal_seeds=arousal_seeds, valence_pairs=valence_pairs,
        scene_pairs=scene_pairs, real_pieces=real_pieces,
        **given(valence_guidance=guidance, valence_cues=cues),
    )
    if sweep:
        from emsync_core.music.evaluate import print_sweep, sampling_sweep

        name, _, values = sweep.partition("=")
        rows = sampling_sweep(load_generator(checkpoint), settings, name, [float(w) for w in values.split(",")])
        print_sweep(rows, name)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_name(out.stem + "_sweep.json").write_text(json.dumps(rows, indent=2))
        return
    run_eval(load_generator(checkpoint), cache or DEFAULT_CACHE, settings, out)
