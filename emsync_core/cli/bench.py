"""`emsync bench ...`: benchmarks that print a table and write JSON (never run as tests)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Benchmarks: print a table and write JSON.", no_args_is_help=True)


@app.command("extract")
def bench_extract(
    videos: list[str] = typer.Argument(None, help="Video files (default: the shared clips and the bundled sample)."),
    out: str = typer.Option(".bench/extract", help="Where the job writes and the JSON report goes."),
    workers: int = typer.Option(0, help="Beam direct_num_workers (0 = cores)."),
    long_repeats: int = typer.Option(4, help="How many clips to concatenate for the long-input memory check."),
) -> None:
    """Extraction speed against the ffmpeg decode floor, and peak memory per worker."""
    from emsync_core.bench.extract_bench import run_extract_bench

    run_extract_bench(videos or [], out, workers, long_repeats)


@app.command("music")
def bench_music(
    checkpoint: str = typer.Option(None, help="Checkpoint (default: the shipped small one)."),
    out: str = typer.Option(".bench", help="Where music.json goes."),
    tokens: int = typer.Option(0, help="Tokens per sequence (0 = context + 128, so the full-window loop runs full windows)."),
    music_s: float = typer.Option(60.0, help="Seconds of music for the real-time and CPU-per-minute figures."),
    threads: int = typer.Option(1, help="torch threads (1 = one CPU core)."),
) -> None:
    """Tokens/s with the KV cache vs the full-window loop (batch 1 and 8), CPU-s per music minute, peak memory."""
    from emsync_core.bench.music_bench import run_music_bench

    run_music_bench(checkpoint, out, tokens, music_s, threads)
