"""Small ffmpeg/ffprobe helpers with clear errors (the render stage's only way to touch media files)."""

from __future__ import annotations

import json
import subprocess

import numpy as np


class RenderError(RuntimeError):
    """A render or mux step that failed; the message carries the tool's own complaint."""


def run(args: list[str], what: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, capture_output=True, input=stdin)
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise RenderError(f"{what} failed: {' | '.join(tail)}")
    return proc


def probe(path: str) -> dict:
    """ffprobe's streams and format of a file, as JSON."""
    out = run(["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", path], f"ffprobe {path}")
    return json.loads(out.stdout)


def decode_audio(path: str, sample_rate: int, channels: int, duration_s: float | None = None) -> np.ndarray:
    """The first audio stream as float32 (n, channels), padded/trimmed to duration_s when given."""
    args = ["ffmpeg", "-v", "error", "-nostdin", "-i", path, "-map", "0:a:0", "-ac", str(channels), "-ar", str(sample_rate),
            "-f", "f32le", "-"]
    audio = np.frombuffer(run(args, f"decoding the audio of {path}").stdout, dtype=np.float32).reshape(-1, channels)
    if duration_s is not None:
        n = int(round(duration_s * sample_rate))
        audio = audio[:n] if len(audio) >= n else np.pad(audio, ((0, n - len(audio)), (0, 0)))
    return audio.copy()
