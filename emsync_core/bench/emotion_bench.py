"""`emsync bench emotion`: what each emotion backbone costs per frame and per minute of video.

Each clip is decoded once (the decode + cut pass is timed as the floor), its windows are kept in
memory (short clips only), then every backbone runs over the same windows alone, timed in CPU and
wall seconds, so one backbone's number does not include another's.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from emsync_core.bench.extract_bench import SHARED_VIDEO
from emsync_core.features.base import VideoInfo
from emsync_core.features.registry import resolve
from emsync_core.media.scan import ScanSettings, VideoScan
from emsync_core.store import uri as store

BENCH_BACKBONES = ("mobilenet_v2", "visual_affect", "audio_affect", "faces", "speech", "music_affect")
BENCH_CLIPS = ("big_buck_bunny_0_30.webm", "chaplin.mp4", "bikes.mp4")


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def run_emotion_bench(videos: list[str], backbones: list[str], frames_per_window: int, out: str) -> dict:
    """Time decode and each backbone on each clip; print a table and write `out`/emotion_bench.json."""
    import torch

    torch.set_num_threads(1)
    console = Console()
    videos = videos or [str(SHARED_VIDEO / c) for c in BENCH_CLIPS if (SHARED_VIDEO / c).exists()]
    names = backbones or list(BENCH_BACKBONES)
    loaded = {}
    for name in names:
        backbone = resolve(name)()
        wall, cpu = _clock()
        backbone.load()
        loaded[name] = (backbone, time.perf_counter() - wall, time.process_time() - cpu)
    totals = {n: {"wall_s": 0.0, "cpu_s": 0.0} for n in ["decode", *names]}
    minutes = frames = 0.0
    with console.status("benchmarking") as status:
        for video in videos:
            status.update(f"decoding {Path(video).name}")
            wall, cpu = _clock()
            scan = VideoScan(lambda v=video: store.open_read(v), ScanSettings(frames_per_window=frames_per_window))
            try:
                windows = list(scan.windows())
                probe = scan.report.probe
            finally:
                scan.close()
            totals["decode"]["wall_s"] += time.perf_counter() - wall
            totals["decode"]["cpu_s"] += time.process_time() - cpu
            duration = scan.report.duration_s
            minutes += duration / 60
            frames += sum(len(w.frames) for w in windows)
            info = VideoInfo(Path(video).stem, video, duration, probe.fps, probe.has_audio, 16000)
            for name in names:
                status.update(f"{name} on {Path(video).name}")
                backbone = loaded[name][0]
                wall, cpu = _clock()
                session = backbone.start(info)
                for window in windows:
                    session.push(window)
                session.finish()
                totals[name]["wall_s"] += time.perf_counter() - wall
                totals[name]["cpu_s"] += time.process_time() - cpu
    table = Table(title=f"emotion backbones: {len(videos)} clips, {minutes:.2f} min of video, {int(frames)} sampled frames")
    for col in ("stage", "load s", "CPU s / min video", "CPU ms / sampled frame", "wall s / min video"):
        table.add_column(col)
    rows = {}
    for name, t in totals.items():
        load_s = loaded[name][1] if name in loaded else 0.0
        rows[name] = {
            "load_s": round(load_s, 2),
            "cpu_s_per_min": round(t["cpu_s"] / minutes, 2),
            "cpu_ms_per_frame": round(1000 * t["cpu_s"] / max(frames, 1), 1),
            "wall_s_per_min": round(t["wall_s"] / minutes, 2),
        }
        table.add_row(name, f"{load_s:.1f}", f"{rows[name]['cpu_s_per_min']:.2f}", f"{rows[name]['cpu_ms_per_frame']:.1f}", f"{rows[name]['wall_s_per_min']:.2f}")
    console.print(table)
    console.print("decode = decode + cut detection + window assembly (the floor the backbones add to); speech costs more where people talk")
    report = {"videos": videos, "minutes": minutes, "frames": frames, "frames_per_window": frames_per_window, "stages": rows}
    Path(out).mkdir(parents=True, exist_ok=True)
    (Path(out) / "emotion_bench.json").write_text(json.dumps(report, indent=2))
    return report
