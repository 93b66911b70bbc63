"""`emsync bench ...`: benchmarks that print a table and write JSON (never run as tests)."""

from __future__ import annotations

import typer

from emsync_core.scoring.models import DEFAULT_CLASSIFIER

app = typer.Typer(help="Benchmarks: print a table and write JSON.", no_args_is_help=True)


@app.command("extract")
def bench_extract(
    videos: list[str] = typer.Argument(None, help="Video files (default: the shared clips and the bundled sample)."),
    out: str = typer.Option(".bench/extract", help="Where the workers write and the JSON report goes."),
    long_minutes: int = typer.Option(10, help="Length of the long 1080p input for the memory-is-flat check."),
    frames_per_window: int = typer.Option(None, help="Frames per window for the frame backbone (default: the extraction's)."),
) -> None:
    """Worker CPU per stage against the one-core ffmpeg decode floor, and peak memory per worker."""
    from emsync_core.bench.extract_bench import run_extract_bench

    run_extract_bench(videos or [], out, long_minutes, frames_per_window)


@app.command("music")
def bench_music(
    checkpoint: str = typer.Option(None, help="Checkpoint (default: the shipped small one)."),
    out: str = typer.Option(".bench", help="Where music.json goes."),
    music_s: float = typer.Option(60.0, help="Seconds of music for the real-time and CPU-per-minute figures."),
    whole_s: float = typer.Option(30.0, help="Seconds of music of the whole request timed with both loops."),
    threads: int = typer.Option(1, help="torch threads (1 = one CPU core)."),
    reference: bool = typer.Option(True, help="Also time the reference-size preset (untrained weights), batch 1."),
) -> None:
    """Tokens/s with the KV cache vs the full-window loop (steady state at batch 1 and 8, and a whole
    request), CPU-s per music minute, real-time factor, peak memory."""
    from emsync_core.bench.music_bench import run_music_bench

    run_music_bench(checkpoint, out, music_s, whole_s, threads, reference)


@app.command("emotion")
def bench_emotion(
    videos: list[str] = typer.Argument(None, help="Video files (default: Big Buck Bunny, chaplin.mp4, bikes.mp4)."),
    backbones: str = typer.Option("", help="Comma-separated backbones (default: the six emotion backbones)."),
    frames_per_window: int = typer.Option(1, help="Frames sampled per 1 s window."),
    out: str = typer.Option(".bench", help="Where emotion_bench.json goes."),
) -> None:
    """CPU cost of each emotion backbone per sampled frame and per minute of video, beside the decode floor."""
    from emsync_core.bench.emotion_bench import run_emotion_bench

    run_emotion_bench(videos or [], [b for b in backbones.split(",") if b], frames_per_window, out)


@app.command("score")
def bench_score(
    videos: list[str] = typer.Argument(None, help="Video files (default: the shared clips)."),
    out: str = typer.Option(".bench/score", help="Where the job writes and the JSON report goes."),
    num_cpus: int = typer.Option(None, help="CPUs for the local Ray (default: all)."),
    classifier: str = typer.Option(None, help="Classifier checkpoint (default: the shipped one)."),
    generator: str = typer.Option(None, help="Generator checkpoint (default: the shipped one)."),
    classifier_loader: str = typer.Option(DEFAULT_CLASSIFIER, help="module:function of the classifier."),
    copies: int = typer.Option(1, help="Distinct copies of each video in the catalog (a catalog of many short clips)."),
    nodes: int = typer.Option(0, help="Score on a local Ray cluster of this many nodes (and of 1, the baseline) instead."),
    baseline: bool = typer.Option(False, "--baseline", help="First run the sequential job (extract all, then score) on the same catalog, as the baseline."),
) -> None:
    """Seconds per minute of video for each stage of `emsync score` and the whole job (extraction and
    scoring overlapped); generation/video ratio."""
    from emsync_core.bench.score_bench import run_score_bench
    from emsync_core.scoring.models import ModelSpec

    if nodes:
        from emsync_core.bench.cluster_bench import run_cluster_bench

        extra = [f"--{k.replace('_', '-')}={v}" for k, v in (("classifier", classifier), ("generator", generator)) if v]
        run_cluster_bench(videos or [], out, nodes, num_cpus or 2, [*extra, f"--classifier-loader={classifier_loader}"])
        return

    models = ModelSpec(classifier=classifier_loader, classifier_checkpoint=classifier, generator_checkpoint=generator)
    run_score_bench(videos or [], out, {"num_cpus": num_cpus, "models": models}, copies, baseline)


@app.command("enhance")
def bench_enhance(
    out: str = typer.Option(".bench", help="Where enhance.json goes."),
    seconds: float = typer.Option(30.0, help="Length of the short input."),
    long_factor: int = typer.Option(8, help="The long input is this many times longer (memory must stay flat)."),
    channels: int = typer.Option(2, help="Channels of the input."),
) -> None:
    """`emsync enhance` speed per core against the pass-through floor, and peak memory at two lengths."""
    from emsync_core.bench.enhance_bench import run_enhance_bench

    run_enhance_bench(out, seconds, long_factor, channels)
