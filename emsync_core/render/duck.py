"""Mix the music under a video's own audio, ducking it where there is speech (sidechain by VAD spans)."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d


def duck_gain(n_samples: int, sample_rate: int, spans: list[tuple[float, float]], *, duck_db: float = -14.0,
              ramp_s: float = 0.25) -> np.ndarray:
    """Per-sample gain: 1 outside speech, 10^(duck_db/20) inside, with smooth ramps of ramp_s."""
    gain = np.ones(n_samples, dtype=np.float32)
    low = np.float32(10 ** (duck_db / 20))
    for start, end in spans:
        gain[max(0, int(start * sample_rate)):min(n_samples, int(end * sample_rate))] = low
    width = max(1, int(ramp_s * sample_rate))
    return uniform_filter1d(gain, size=width, mode="nearest") if spans else gain


def mix_under(music: np.ndarray, original: np.ndarray, gain: np.ndarray, *, music_db: float = -6.0) -> np.ndarray:
    """original + music * gain * music level (the caller's true-peak limiter keeps the sum in range)."""
    n = min(len(music), len(original), len(gain))
    return (original[:n] + music[:n] * (gain[:n, None] * np.float32(10 ** (music_db / 20)))).astype(np.float32)
