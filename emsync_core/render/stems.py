"""The music alone for editors: a 48 kHz 24-bit Broadcast WAV whose time reference is the video's start
timecode, so a DAW or an NLE drops it at the right place on the timeline."""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np

from emsync_core.render.ffmpeg import run

_TIMECODE = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2})([:;.,])(\d{2,3})$")


def timecode_seconds(timecode: str, frame_rate: Fraction) -> float | None:
    """Seconds since midnight of an SMPTE timecode (";" or "," marks drop-frame, as at 29.97 fps);
    None when it cannot be read."""
    m = _TIMECODE.match(timecode.strip())
    if not m or frame_rate <= 0:
        return None
    h, mi, s, sep, f = int(m[1]), int(m[2]), int(m[3]), m[4], int(m[5])
    nominal = round(frame_rate)
    frames = ((h * 60 + mi) * 60 + s) * nominal + f
    if sep in ";,":  # drop-frame: frame numbers 0 and 1 (x2 at 59.94) are skipped each minute but every tenth
        drop = 2 * max(1, nominal // 30)
        minutes = h * 60 + mi
        frames -= drop * (minutes - minutes // 10)
    return float(frames / frame_rate)


def write_bwf(path: str, audio: np.ndarray, sample_rate: int, start_s: float | None) -> None:
    """24-bit WAV (RF64 when over 4 GiB) with a bext chunk whose time reference is start_s in samples."""
    reference = ["-write_bext", "1", "-metadata", f"time_reference={round(start_s * sample_rate)}"] if start_s else []
    pcm = np.ascontiguousarray(audio, dtype="<f4").tobytes()
    run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "f32le", "-ar", str(sample_rate), "-ac", str(audio.shape[1]),
         "-i", "pipe:0", "-c:a", "pcm_s24le", "-rf64", "auto", *reference, "-f", "wav", path], "writing the WAV stem",
        stdin=pcm)
