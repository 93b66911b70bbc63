"""`emsync bench extract`: the extraction job against the decode floor (`ffmpeg -i X -f null -` of the
same files, same run), throughput, and peak memory per worker on a short and a long input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from emsync_core.store import uri as store

SHARED_VIDEO = Path(__file__).resolve().parents[3] / "shared" / "data" / "video"
SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "big_buck_bunny_0_30.webm"
BENCH_CLIPS = ("big_buck_bunny_0_30.webm", "bikes.mp4", "chaplin.mp4", "fire2.mp4", "smpte-2997.mp4", "video_with_failing_audio.mp4")

_PEAK_RSS_PROBE = """
import json, resource, sys
from emsync_core.features.extract_video import ExtractSettings, OutputLayout, VideoFeatureExtractor
from emsync_core.store.catalog import resolve_ref
import torch
torch.set_num_threads(1)
extractor = VideoFeatureExtractor(ExtractSettings())
extractor.setup()
loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
outcome = extractor.run(resolve_ref(sys.argv[1]), OutputLayout(sys.argv[2]))
print(json.dumps({"status": outcome.status, "duration_s": outcome.record.get("duration_s"),
                  "rss_after_load_mb": loaded, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _default_videos() -> list[str]:
    if SHARED_VIDEO.is_dir():
        return [str(SHARED_VIDEO / name) for name in BENCH_CLIPS]
    return [str(SAMPLE)]


def decode_floor_s(videos: list[str]) -> float:
    started = time.perf_counter()
    for video in videos:
        subprocess.run(["ffmpeg", "-v", "error", "-i", video, "-f", "null", "-"], check=False)
    return time.perf_counter() - started


def concatenated(video: str, repeats: int, folder: Path) -> str:
    listing = folder.parent / "concat.txt"
    listing.write_text("".join(f"file '{video}'\n" for _ in range(repeats)))
    target = folder / f"long_x{repeats}{Path(video).suffix}"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(target)], check=True)
    return str(target)


def peak_memory(video: str, out: str) -> dict:
    result = subprocess.run([sys.executable, "-c", _PEAK_RSS_PROBE, video, out], check=True, capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_extract_bench(videos: list[str], out: str, workers: int, long_repeats: int) -> dict:
    from beam_jobs.extract_pipeline import ExtractOptions, run_extract

    console = Console()
    videos = videos or _default_videos()
    work = Path(tempfile.mkdtemp(prefix="emsync-bench-"))
    catalog = work / "catalog"
    catalog.mkdir()
    for video in videos:
        shutil.copy(video, catalog / Path(video).name)
    long_video = concatenated(videos[0], long_repeats, catalog)
    job_videos = [str(p) for p in sorted(catalog.iterdir())]

    floor = decode_floor_s(job_videos)
    summary = run_extract(ExtractOptions(catalog=str(catalog), out=str(work / "job"), workers=workers, show_progress=False))
    job_s = summary.wall_s
    frames = summary.frames
    windows = sum(r["n_windows"] for r in summary.ok)
    n_backbones = len(summary.ok[0]["backbones"]) if summary.ok else 0
    extract_s = sum(r["seconds"] for r in summary.ok)

    short_mem = peak_memory(videos[0], str(work / "mem_short"))
    long_mem = peak_memory(long_video, str(work / "mem_long"))

    report = {
        "videos": len(job_videos),
        "video_seconds": round(summary.video_seconds, 2),
        "decode_floor_s": round(floor, 2),
        "job_wall_s": round(job_s, 2),
        "job_over_decode_floor": round(job_s / floor, 2) if floor else None,
        "extract_worker_s_sum": round(extract_s, 2),
        "worker_over_decode_floor": round(extract_s / floor, 2) if floor else None,
        "frames_decoded_per_s": round(frames / job_s, 1),
        "windows_per_s": round(windows / job_s, 2),
        "feature_vectors_per_s": round(windows * n_backbones / job_s, 2),
        "realtime_factor": round(summary.video_seconds / job_s, 2),
        "peak_rss_mb_per_worker": max((r["peak_rss_mb"] for r in summary.ok), default=None),
        "long_input": {
            "short_s": short_mem["duration_s"],
            "long_s": long_mem["duration_s"],
            "short_peak_rss_mb": round(short_mem["peak_rss_mb"], 1),
            "long_peak_rss_mb": round(long_mem["peak_rss_mb"], 1),
            "long_over_short_rss": round(long_mem["peak_rss_mb"] / short_mem["peak_rss_mb"], 3),
        },
        "failed": [r["uri"] for r in summary.failed],
    }
    table = Table(title="emsync bench extract")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in report.items():
        if key == "long_input":
            for k, v in value.items():
                table.add_row(f"long input: {k}", str(v))
        else:
            table.add_row(key, str(value))
    console.print(table)
    store.write_bytes_atomic(str(Path(out) / "extract_bench.json"), json.dumps(report, indent=1).encode())
    console.print(f"JSON written to {Path(out) / 'extract_bench.json'}")
    shutil.rmtree(work, ignore_errors=True)
    return report
