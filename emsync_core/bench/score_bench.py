"""`emsync bench score`: seconds per minute of video for each stage of `emsync score` and the whole job.

Runs the real job (extract -> classify -> generate -> render -> record) on a fresh output folder, then
divides each stage's time by the minutes of video. Stage times inside Ray are summed over workers
(CPU-seconds of work); the whole-job figure is wall time. Also reports generation time / video time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from emsync_core.scoring.report import STAGES

SHARED_CLIPS = ("big_buck_bunny_0_30.webm", "bikes.mp4", "chaplin.mp4")
SHARED_DIR = Path("/work/shared/data/video")


def _distinct_copy(video: str, target: Path, k: int) -> None:
    """The video remuxed (streams copied) with a comment that makes its bytes, so its content key, new:
    an archive of many short clips without the extraction's cache recognising them."""
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", video, "-map", "0", "-c", "copy",
                    "-metadata", f"comment=emsync bench copy {k}", str(target)], check=True)


def _catalog(videos: list[str], folder: Path, copies: int) -> Path:
    """A fresh catalog folder of links to the videos (the shared clips by default), plus copies-1
    distinct copies of each."""
    if not videos:
        videos = [str(SHARED_DIR / name) for name in SHARED_CLIPS if (SHARED_DIR / name).exists()]
    if not videos:
        raise SystemExit("no videos given and /work/shared/data/video is absent")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for v in videos:
        os.symlink(os.path.abspath(v), folder / Path(v).name)
        for k in range(1, copies):
            _distinct_copy(v, folder / f"{Path(v).stem}.copy{k}{Path(v).suffix}", k)
    return folder


def _render_steps(scored: list) -> dict[str, float]:
    """The render stage's own steps (synth, master, mix, stems, mux, plot), summed over the videos."""
    steps: dict[str, float] = {}
    for record in scored:
        for key, seconds in (record.timings or {}).items():
            steps[key.removesuffix("_s")] = steps.get(key.removesuffix("_s"), 0.0) + seconds
    return {k: round(v, 3) for k, v in steps.items()}


def _one_job(catalog: Path, run_out: Path, options_kwargs: dict, overlap: bool, label: str) -> dict:
    """One whole `emsync score` job on a fresh output folder and a fresh Ray: its report and table."""
    from emsync_core.scoring.options import ScoreOptions
    from ray_serve.score_pipeline import run_score, stop_ray

    load_before = os.getloadavg()
    try:
        summary = run_score(ScoreOptions(catalog=str(catalog), out=str(run_out), overlap=overlap, **options_kwargs))
    finally:
        stop_ray()  # the next job starts its own, as a user's would
    minutes = summary.video_seconds / 60 or float("nan")
    stage_s = {k.removesuffix("_s"): summary.timings.get(k, 0.0) for k in STAGES}
    total_stage = sum(stage_s.values()) or float("nan")
    report = {
        "mode": label, "overlap": overlap,
        "videos": len(summary.scored), "failures": [f"{f.uri}: {f.stage} {f.error_class}" for f in summary.failed],
        "video_seconds": summary.video_seconds, "wall_s": summary.wall_s,
        "ray_init_s": summary.timings.get("ray_init_s", 0.0), "score_wall_s": summary.timings.get("score_wall_s", 0.0),
        "stages": {k: {"seconds": v, "s_per_video_minute": v / minutes, "share": v / total_stage} for k, v in stage_s.items()},
        "whole_job_s_per_video_minute": summary.wall_s / minutes,
        "real_time_factor": summary.video_seconds / summary.wall_s if summary.wall_s else None,
        "render_s_per_video_second": stage_s["render"] / summary.video_seconds if summary.video_seconds else None,
        "render_steps_s": _render_steps(summary.scored),
        "render_cpu_s_per_video_second": (sum(r.render.get("cpu_s", 0.0) for r in summary.scored) / summary.video_seconds
                                          if summary.video_seconds else None),
        "load_average_before": load_before, "load_average": os.getloadavg(),
        "generation_to_video_ratio": stage_s["generate"] / summary.video_seconds if summary.video_seconds else None,
        "models": {"generator": summary.scored[0].generator_version if summary.scored else None,
                   "classifier": summary.scored[0].classifier_version if summary.scored else None},
        "cpus": os.cpu_count(),
    }
    table = Table(title=f"emsync bench score ({label}): {report['videos']} videos, {summary.video_seconds / 60:.2f} min of video")
    for column in ("stage", "seconds", "s per video minute", "share"):
        table.add_column(column)
    for name, row in report["stages"].items():
        table.add_row(name, f"{row['seconds']:.1f}", f"{row['s_per_video_minute']:.1f}", f"{100 * row['share']:.0f} %")
    for name, key in (("  ray start (wall)", "ray_init_s"), ("  scoring stages (wall, incl. actor start-up)", "score_wall_s")):
        table.add_row(name, f"{report[key]:.1f}", f"{report[key] / minutes:.1f}", "")
    table.add_row("whole job (wall)", f"{summary.wall_s:.1f}", f"{report['whole_job_s_per_video_minute']:.1f}", "")
    Console().print(table)
    Console().print(f"{label}: whole job {report['real_time_factor'] or 0:.2f}x real time; render: "
                    f"{report['render_s_per_video_second'] or 0:.3f} s (wall) and "
                    f"{report['render_cpu_s_per_video_second'] or 0:.3f} CPU-s per video second; load average "
                    f"{load_before[0]:.1f} before, {report['load_average'][0]:.1f} after; render steps (wall): "
                    + ", ".join(f"{k} {v:.1f} s" for k, v in report["render_steps_s"].items()))
    ratio = report["generation_to_video_ratio"]
    Console().print(f"generation time / video duration: {ratio:.2f}" if ratio is not None else "no video scored")
    shutil.rmtree(run_out / "features", ignore_errors=True)  # keep the soundtracks, drop the bulky features
    return report


def run_score_bench(videos: list[str], out: str, options_kwargs: dict, copies: int = 1, baseline: bool = False) -> dict:
    """The whole job (overlapped extraction and scoring); with `baseline`, first the sequential job
    (extract everything, then score) on the same catalog, so the two compare under the same load."""
    root = Path(out)
    stamp = int(time.time())
    catalog = _catalog(videos, root / "catalog", copies)
    runs = [_one_job(catalog, root / f"run-{stamp}-sequential", options_kwargs, False, "sequential")] if baseline else []
    runs.append(_one_job(catalog, root / f"run-{stamp}-overlapped", options_kwargs, True, "overlapped"))
    report = {**runs[-1], "runs": runs}
    if baseline and runs[0]["wall_s"] and runs[1]["wall_s"]:
        report["speedup_vs_sequential"] = runs[0]["wall_s"] / runs[1]["wall_s"]
        Console().print(f"overlapped vs sequential (same catalog, same invocation): {report['speedup_vs_sequential']:.2f}x faster")
    (root / "score_bench.json").write_text(json.dumps(report, indent=1))
    return report
