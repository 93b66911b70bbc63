"""Real inputs for the emotion backbones: espeak-ng speech, lavfi sources, frames of the shared clips."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

from emsync_core.features.base import VideoInfo, Window

RATE = 16000


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def spoken(tmp: Path, text: str, lead_s: float = 2.0, tail_s: float = 2.0) -> np.ndarray:
    """espeak-ng saying `text`, at 16 kHz mono, between stretches of exact silence."""
    raw = tmp / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(raw), text], check=True)
    ffmpeg("-i", str(raw), "-ar", str(RATE), "-ac", "1", str(tmp / "speech16.wav"))
    audio, _ = sf.read(tmp / "speech16.wav", dtype="float32")
    return np.concatenate([np.zeros(int(lead_s * RATE), np.float32), audio, np.zeros(int(tail_s * RATE), np.float32)])


def lavfi_audio(tmp: Path, source: str, seconds: float) -> np.ndarray:
    out = tmp / "lavfi.wav"
    ffmpeg("-f", "lavfi", "-i", source, "-t", str(seconds), "-ar", str(RATE), "-ac", "1", str(out))
    return sf.read(out, dtype="float32")[0]


def file_audio(tmp: Path, video: Path) -> np.ndarray:
    out = tmp / "track.wav"
    ffmpeg("-i", str(video), "-vn", "-ar", str(RATE), "-ac", "1", str(out))
    return sf.read(out, dtype="float32")[0]


def frame_at(video: Path, t: float) -> np.ndarray:
    """One RGB frame at `t` seconds, decoded by ffmpeg."""
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0", str(video)],
        check=True, capture_output=True, text=True,
    )
    w, h = (int(x) for x in probe.stdout.strip().split(",")[:2])
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", str(t), "-i", str(video), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True, capture_output=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(h, w, 3).copy()


def lavfi_frame(source: str, w: int = 320, h: int = 240) -> np.ndarray:
    """The first frame of a lavfi video source (e.g. "testsrc", "color=c=gray") at w x h."""
    sized = f"{source}:size={w}x{h}" if "=" in source else f"{source}=size={w}x{h}"
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", sized, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True, capture_output=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(h, w, 3).copy()


def audio_windows(audio: np.ndarray | None, seconds: float, window_s: float = 1.0) -> list[Window]:
    """Consecutive windows carrying the audio (or no audio at all)."""
    n = int(np.ceil(seconds / window_s))
    out = []
    for i in range(n):
        chunk = None if audio is None else audio[int(i * window_s * RATE) : int((i + 1) * window_s * RATE)]
        out.append(Window(index=i, start_s=i * window_s, end_s=(i + 1) * window_s, audio=chunk, sample_rate=RATE))
    return out


def video_info(duration_s: float, has_audio: bool = True) -> VideoInfo:
    return VideoInfo(video_id="t", uri="test", duration_s=duration_s, fps=25.0, has_audio=has_audio, audio_sample_rate=RATE)
