"""The plain baseline: fold the octave under the cut-off up above it, quieter, with the input's phase.

A crude form of spectral band replication, as low-bitrate codecs do; it needs the cut-off, which it takes
from the detector like the product does.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from emsync_core.enhance.filters import SAMPLE_RATE

NPERSEG = 1024
COPY_GAIN_DB = -12.0  # the copied band sits this far under its source, as music's highs roll off


def spectral_copy(limited: np.ndarray, cutoff_hz: float, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    _, _, spec = signal.stft(limited, fs=sample_rate, nperseg=NPERSEG)
    bin_hz = sample_rate / NPERSEG
    cut = int(round(cutoff_hz / bin_hz))
    width = max(1, cut // 2)
    out = spec.copy()
    gain = 10 ** (COPY_GAIN_DB / 20)
    for target in range(cut, spec.shape[0], width):
        span = min(width, spec.shape[0] - target)
        out[target:target + span] += gain * spec[cut - width:cut - width + span]
        gain *= 10 ** (COPY_GAIN_DB / 20)
    _, restored = signal.istft(out, fs=sample_rate, nperseg=NPERSEG)
    return restored[: len(limited)].astype(np.float32)
