"""Exact synthetic media made with ffmpeg's lavfi sources, for tests that need known content."""

from __future__ import annotations

import subprocess
from pathlib import Path

# Sources that differ strongly from each other, so every join between two of them is a real cut.
SCENE_SOURCES = (
    "testsrc=size={w}x{h}:rate={r}",
    "color=c=0xC02020:size={w}x{h}:rate={r}",
    "smptebars=size={w}x{h}:rate={r}",
    "mandelbrot=size={w}x{h}:rate={r}",
    "color=c=0x2040D0:size={w}x{h}:rate={r}",
    "rgbtestsrc=size={w}x{h}:rate={r}",
)


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def video_with_cuts(
    path: Path,
    scene_frames: list[int],
    fps: str = "25",
    size: tuple[int, int] = (320, 240),
    audio: str | None = "sine=frequency=440",
    extra: tuple[str, ...] = (),
) -> Path:
    """Scenes of exactly `scene_frames[i]` frames each; cuts at the cumulative frame counts."""
    w, h = size
    inputs: list[str] = []
    for i, frames in enumerate(scene_frames):
        source = SCENE_SOURCES[i % len(SCENE_SOURCES)].format(w=w, h=h, r=fps)
        inputs += ["-f", "lavfi", "-i", f"{source},trim=end_frame={frames},setpts=PTS-STARTPTS"]
    n = len(scene_frames)
    graph = "".join(f"[{i}:v]" for i in range(n)) + f"concat=n={n}:v=1:a=0,format=yuv420p[v]"
    args = [*inputs, "-filter_complex", graph, "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", "-r", fps]
    if audio:
        from fractions import Fraction

        seconds = float(sum(scene_frames) / Fraction(fps))
        args = [*inputs, "-f", "lavfi", "-t", f"{seconds:.3f}", "-i", audio, "-filter_complex", graph, "-map", "[v]", "-map", f"{n}:a", "-c:v", "libx264", "-preset", "ultrafast", "-r", fps, "-c:a", "aac"]
    ffmpeg(*args, *extra, str(path))
    return path


def cut_times(scene_frames: list[int], fps: float) -> list[float]:
    total, cuts = 0, []
    for frames in scene_frames[:-1]:
        total += frames
        cuts.append(total / fps)
    return cuts
