"""`emsync extract`: the Beam job from a video catalog to cuts and feature Parquet."""

from __future__ import annotations

import typer

from emsync_core.features.registry import DEFAULT_BACKBONES


def extract(
    ctx: typer.Context,
    catalog: str = typer.Argument(..., help="A folder, a glob, a gs:// s3:// az:// prefix, or a manifest (.csv/.parquet of URIs)."),
    out: str = typer.Option(..., "--out", help="Output folder or object store prefix (gs://, s3://, az://)."),
    backbones: str = typer.Option(
        ",".join(DEFAULT_BACKBONES),
        help="Comma-separated registered names or module:Class of your own backbones.",
    ),
    window_s: float = typer.Option(2.0, help="Feature window length in seconds."),
    frames_per_window: int = typer.Option(1, help="Frames sampled per window for frame backbones."),
    min_cut_gap_s: float = typer.Option(4.0, help="Thinned cuts are at least this far apart (the method's 4 s)."),
    workers: int = typer.Option(0, help="DirectRunner direct_num_workers (0 = number of cores)."),
    max_failures: int = typer.Option(None, "--max-failures", min=0, help="Exit 3 when more inputs than this are bad (default: no limit; each is recorded)."),
) -> None:
    """Shard a catalog, detect scene cuts and extract features into Parquet (extra args go to Beam).

    Exit codes as `emsync score`: 0 complete (bad inputs recorded as dead letters), 3 more bad inputs than
    --max-failures, 4 a storage/network/permission fault stopped some videos (rerun them)."""
    from beam_jobs.extract_pipeline import ExtractOptions, run_extract
    from emsync_core.cli.errors import run_exit_code

    summary = run_extract(
        ExtractOptions(
            catalog=catalog,
            out=out,
            backbones=tuple(b.strip() for b in backbones.split(",") if b.strip()),
            window_s=window_s,
            frames_per_window=frames_per_window,
            min_cut_gap_s=min_cut_gap_s,
            workers=workers,
        ),
        beam_args=list(ctx.args),
    )
    raise typer.Exit(code=run_exit_code(summary, max_failures))
