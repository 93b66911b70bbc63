"""`emsync bench extract`: one extraction worker per input against the decode floor (`ffmpeg -threads 1
-i X -f null -` of the same file, same run), in CPU seconds so both sides are per core, with a per-stage
breakdown and peak memory. Inputs: the shared clips plus generated 720p and 1080p H.264 files of one
minute and a long 1080p file (cached outside the repository) for the memory-is-flat-in-length check."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from emsync_core.media.scan import ScanSettings
from emsync_core.paths import REPO_ROOT, user_cache
from emsync_core.store import uri as store

SHARED_VIDEO = Path(__file__).resolve().parents[3] / "shared" / "data" / "video"
SAMPLE = REPO_ROOT / "samples" / "big_buck_bunny_0_30.webm"
BENCH_CLIPS = ("big_buck_bunny_0_30.webm", "bikes.mp4", "chaplin.mp4", "fire2.mp4", "smpte-2997.mp4", "video_with_failing_audio.mp4")
CACHE = user_cache() / "bench"
SHORT_S = 60
AIM_OVER_FLOOR = 2.0
AIM_LONG_OVER_SHORT_RSS = 1.10
AIM_PEAK_RSS_MB = 600.0
FRAME_STAGES = ("decode", "scale and convert", "cut detection", "motion")

_WORKER = """
import json, resource, sys, time
from emsync_core.features.extract_video import ExtractSettings, OutputLayout, VideoFeatureExtractor
from emsync_core.media.scan import ScanSettings
from emsync_core.store.catalog import resolve_ref
extractor = VideoFeatureExtractor(ExtractSettings(scan=ScanSettings(frames_per_window=int(sys.argv[3]))))
extractor.setup()
loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
started = time.process_time()
outcome = extractor.run(resolve_ref(sys.argv[1]), OutputLayout(sys.argv[2]))
r = outcome.record
print(json.dumps({"status": outcome.status, "cpu_s": time.process_time() - started, "duration_s": r.get("duration_s"),
                  "n_frames": r.get("n_frames"), "n_windows": r.get("n_windows"), "stage_s": r.get("stage_s", {}),
                  "rss_after_load_mb": loaded, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _log(message: str) -> None:
    print(f"[bench extract {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def generated_inputs(long_minutes: int) -> list[Path]:
    """720p and 1080p H.264 + AAC of one minute, and a 1080p one of `long_minutes` (stream copies of the
    minute), made once from the bundled sample and kept in the cache folder."""
    CACHE.mkdir(parents=True, exist_ok=True)
    made = []
    for height in (720, 1080):
        target = CACHE / f"h264_{height}p_{SHORT_S}s.mp4"
        if not target.exists():
            _log(f"encoding {target.name} (once; cached)")
            draft = target.with_suffix(".draft.mp4")
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(SAMPLE), "-t", str(SHORT_S),
                            "-vf", f"scale=-2:{height}", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                            "-c:a", "aac", "-b:a", "128k", str(draft)], check=True)
            draft.rename(target)
        made.append(target)
    long_target = CACHE / f"h264_1080p_{long_minutes * 60}s.mp4"
    if not long_target.exists():
        listing = CACHE / "concat.txt"
        listing.write_text("".join(f"file '{made[-1]}'\n" for _ in range(long_minutes * 60 // SHORT_S)))
        draft = long_target.with_suffix(".draft.mp4")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(draft)], check=True)
        draft.rename(long_target)
    return [*made, long_target]


def decode_floor_cpu_s(video: str) -> float:
    """CPU seconds of ffmpeg decoding every stream of the file on one thread."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(["ffmpeg", "-v", "error", "-threads", "1", "-i", video, "-f", "null", "-"], check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def worker_run(video: str, out: str, frames_per_window: int) -> dict:
    """One fresh worker process (backbones loaded, then one video), so peak memory is this video's."""
    result = subprocess.run([sys.executable, "-c", _WORKER, video, out, str(frames_per_window)], check=True, capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _resolution(path: str) -> str:
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=height", "-of", "default=nw=1:nk=1", path],
                           capture_output=True, text=True, check=True)
    return f"{probe.stdout.split()[0]}p"


def _ratio(runs: list[dict]) -> float | None:
    floor = sum(r["floor_cpu_s"] for r in runs)
    return round(sum(r["cpu_s"] for r in runs) / floor, 2) if floor else None


def run_extract_bench(videos: list[str], out: str, long_minutes: int, frames_per_window: int | None = None) -> dict:
    console = Console(width=max(Console().width, 200))  # the stage table is wide; logs are not terminals
    frames_per_window = frames_per_window or ScanSettings().frames_per_window
    shared = videos or ([str(SHARED_VIDEO / n) for n in BENCH_CLIPS] if SHARED_VIDEO.is_dir() else [str(SAMPLE)])
    inputs = [*shared, *(str(p) for p in generated_inputs(long_minutes))]
    scratch = Path(out) / "runs"
    runs = []
    for video in inputs:
        _log(f"{Path(video).name}: decode floor, then one worker")
        floor = decode_floor_cpu_s(video)
        run = worker_run(video, str(scratch), frames_per_window)
        if run["status"] != "ok":
            raise RuntimeError(f"extraction of {video} failed; see {scratch}/dead_letter")
        runs.append({"video": Path(video).name, "resolution": _resolution(video), "floor_cpu_s": round(floor, 3), **run,
                     "over_floor": round(run["cpu_s"] / floor, 2) if floor else None})
    for run in runs:
        stages, n_frames, n_windows = run["stage_s"], max(run["n_frames"], 1), max(run["n_windows"], 1)
        run["ms_per_frame"] = {k: round(1000 * v / n_frames, 3) for k, v in stages.items() if k in FRAME_STAGES}
        run["ms_per_window"] = {k: round(1000 * v / n_windows, 2) for k, v in stages.items() if k not in FRAME_STAGES}

    short_name, long_name = f"h264_1080p_{SHORT_S}s.mp4", f"h264_1080p_{long_minutes * 60}s.mp4"
    by_name = {r["video"]: r for r in runs}
    long_over_short = round(by_name[long_name]["peak_rss_mb"] / by_name[short_name]["peak_rss_mb"], 3)
    peak = max(r["peak_rss_mb"] for r in runs)
    ratios = {
        "shared clips": _ratio([r for r in runs if r["video"] in {Path(v).name for v in shared}]),
        "720p": _ratio([r for r in runs if r["resolution"] == "720p"]),
        "1080p": _ratio([r for r in runs if r["resolution"] == "1080p"]),
    }
    report = {
        "frames_per_window": frames_per_window,
        "worker_cpu_over_decode_floor": ratios,
        "aim_over_floor": AIM_OVER_FLOOR,
        "peak_rss_mb_per_worker": round(peak, 1),
        "aim_peak_rss_mb": AIM_PEAK_RSS_MB,
        "long_over_short_peak_rss": long_over_short,
        "aim_long_over_short_peak_rss": AIM_LONG_OVER_SHORT_RSS,
        "met": {
            "speed": all(v is not None and v <= AIM_OVER_FLOOR for k, v in ratios.items() if k != "shared clips"),
            "memory_flat": long_over_short <= AIM_LONG_OVER_SHORT_RSS,
            "memory_peak": peak <= AIM_PEAK_RSS_MB,
        },
        "runs": runs,
    }
    _print(console, report)
    store.write_bytes_atomic(str(Path(out) / "extract_bench.json"), json.dumps(report, indent=1).encode())
    console.print(f"JSON written to {Path(out) / 'extract_bench.json'}")
    return report


def _print(console: Console, report: dict) -> None:
    runs = report["runs"]
    stages = list(dict.fromkeys(k for r in runs for k in r["stage_s"]))
    table = Table(title=f"emsync bench extract: CPU seconds per stage, one worker, {report['frames_per_window']} frame(s) per window")
    for column in ["video", "res", "frames", "windows", *stages, "worker", "ffmpeg 1 core", "ratio", "peak MB"]:
        table.add_column(column, justify="left" if column == "video" else "right")
    for r in runs:
        table.add_row(r["video"], r["resolution"], str(r["n_frames"]), str(r["n_windows"]),
                      *(f"{r['stage_s'].get(s, 0.0):.2f}" for s in stages),
                      f"{r['cpu_s']:.2f}", f"{r['floor_cpu_s']:.2f}", f"{r['over_floor']:.2f}", f"{r['peak_rss_mb']:.0f}")
    console.print(table)
    summary = Table(title="aims")
    summary.add_column("measure")
    summary.add_column("value", justify="right")
    summary.add_column("aim", justify="right")
    for group, ratio in report["worker_cpu_over_decode_floor"].items():
        summary.add_row(f"worker CPU / decode floor, {group}", str(ratio), "" if group == "shared clips" else f"<= {AIM_OVER_FLOOR}")
    summary.add_row("peak RSS per worker (MB)", str(report["peak_rss_mb_per_worker"]), f"<= {AIM_PEAK_RSS_MB:.0f}")
    summary.add_row("peak RSS long / one-minute 1080p", str(report["long_over_short_peak_rss"]), f"<= {AIM_LONG_OVER_SHORT_RSS}")
    console.print(summary)
