"""The thesis' two measures: signal-to-noise ratio against the clean signal, and log-spectral distance."""

from __future__ import annotations

import numpy as np
from scipy import signal

LSD_NPERSEG = 2048


def snr_db(clean: np.ndarray, estimate: np.ndarray) -> float:
    noise = float(np.sum((clean - estimate) ** 2))
    return 10 * np.log10(float(np.sum(clean ** 2)) / max(noise, 1e-20))


def log_spectral_distance(clean: np.ndarray, estimate: np.ndarray) -> float:
    """Mean over frames of the RMS (over frequency) difference of log10 power spectra (lower is better)."""
    _, _, ref = signal.stft(clean, nperseg=LSD_NPERSEG)
    _, _, est = signal.stft(estimate, nperseg=LSD_NPERSEG)
    diff = np.log10(np.abs(ref) ** 2 + 1e-10) - np.log10(np.abs(est) ** 2 + 1e-10)
    return float(np.mean(np.sqrt(np.mean(diff ** 2, axis=0))))
