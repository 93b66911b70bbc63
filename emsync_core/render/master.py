"""Mastering: a pedalboard chain, loudness normalised to a stated LUFS target, trimmed with a fade-out.

Default target -16 LUFS integrated (the common streaming level, e.g. Apple Music/YouTube region);
use -23 for EBU R128 broadcast. A final look-ahead peak limiter keeps peaks under -1 dBFS, so the measured
loudness can end slightly under the target on very dynamic music; the measured value is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyloudnorm
from pedalboard import Compressor, HighpassFilter, LowShelfFilter, Pedalboard, PeakFilter, Reverb
from scipy.ndimage import minimum_filter1d, uniform_filter1d

DEFAULT_LUFS = -16.0
FADE_OUT_S = 3.0


@dataclass(frozen=True)
class MasterSettings:
    target_lufs: float = DEFAULT_LUFS
    ceiling_db: float = -1.0
    fade_out_s: float = FADE_OUT_S
    reverb: float = 0.12


def _chain(settings: MasterSettings) -> Pedalboard:
    return Pedalboard([
        HighpassFilter(cutoff_frequency_hz=35.0),
        LowShelfFilter(cutoff_frequency_hz=120.0, gain_db=1.5),
        PeakFilter(cutoff_frequency_hz=3000.0, gain_db=1.0, q=0.8),
        Compressor(threshold_db=-20.0, ratio=2.5, attack_ms=15.0, release_ms=200.0),
        Reverb(room_size=0.35, wet_level=settings.reverb, dry_level=1.0 - settings.reverb / 2),
    ])


def loudness(audio: np.ndarray, sample_rate: int) -> float | None:
    """Integrated loudness (ITU-R BS.1770) in LUFS, None for silence or clips under 0.4 s."""
    if len(audio) < int(0.4 * sample_rate) or not np.any(audio):
        return None
    value = pyloudnorm.Meter(sample_rate).integrated_loudness(audio)
    return None if not np.isfinite(value) else float(value)


def fit_length(audio: np.ndarray, sample_rate: int, duration_s: float, fade_out_s: float) -> np.ndarray:
    """Trim or pad to exactly duration_s, with a linear fade over the last fade_out_s seconds."""
    n = int(round(duration_s * sample_rate))
    audio = audio[:n] if len(audio) >= n else np.pad(audio, ((0, n - len(audio)), (0, 0)))
    fade = min(int(fade_out_s * sample_rate), n)
    if fade:
        audio = audio.copy()
        audio[n - fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
    return audio


def limit(audio: np.ndarray, sample_rate: int, ceiling_db: float, lookahead_ms: float = 5.0) -> np.ndarray:
    """Look-ahead peak limiter: the gain needed to keep every sample under the ceiling, spread smoothly."""
    ceiling = 10 ** (ceiling_db / 20)
    peak = np.abs(audio).max(axis=1)
    need = np.minimum(1.0, ceiling / np.maximum(peak, 1e-12))
    width = max(1, int(lookahead_ms * sample_rate / 1000))
    gain = uniform_filter1d(minimum_filter1d(need, size=2 * width + 1), size=width)
    return (audio * np.minimum(gain, need)[:, None]).astype(np.float32)


def master(audio: np.ndarray, sample_rate: int, duration_s: float, settings: MasterSettings = MasterSettings()) -> tuple[np.ndarray, float | None]:
    """Chain, fit to the video with the fade, loudness-normalise, limit; returns the audio and its measured LUFS."""
    # pedalboard takes (channels, samples)
    processed = _chain(settings)(np.ascontiguousarray(audio.T, dtype=np.float32), sample_rate).T
    processed = fit_length(processed, sample_rate, duration_s, settings.fade_out_s)
    measured = loudness(processed, sample_rate)
    if measured is not None:
        processed = processed * np.float32(10 ** ((settings.target_lufs - measured) / 20))
    processed = np.clip(limit(processed, sample_rate, settings.ceiling_db), -1.0, 1.0).astype(np.float32)
    return processed, loudness(processed, sample_rate)
