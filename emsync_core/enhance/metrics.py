"""The thesis' two measures: signal-to-noise ratio against the clean signal, and log-spectral distance."""

from __future__ import annotations

import numpy as np
from scipy import signal

LSD_NPERSEG = 2048


def snr_db(clean: np.ndarray, estimate: np.ndarray) -> float:
    noise = float(np.sum((clean - estimate) ** 2))
    return 10 * np.log10(float(np.sum(clean ** 2)) / max(noise, 1e-20))


def band_snr_db(clean: np.ndarray, estimate: np.ndarray, low_hz: float, sample_rate: int) -> float:
    """SNR counted only above `low_hz`: how well the band a low-pass removed is restored, apart from
    what a method does to the passband (where most of the full-band SNR is won or lost)."""
    freqs = np.fft.rfftfreq(len(clean), 1 / sample_rate)
    ref, est = np.fft.rfft(clean)[freqs >= low_hz], np.fft.rfft(estimate)[freqs >= low_hz]
    return 10 * np.log10(max(float(np.sum(np.abs(ref) ** 2)), 1e-20) / max(float(np.sum(np.abs(ref - est) ** 2)), 1e-20))


def log_spectral_distance(clean: np.ndarray, estimate: np.ndarray) -> float:
    """Mean over frames of the RMS (over frequency) difference of log10 power spectra (lower is better)."""
    _, _, ref = signal.stft(clean, nperseg=LSD_NPERSEG)
    _, _, est = signal.stft(estimate, nperseg=LSD_NPERSEG)
    diff = np.log10(np.abs(ref) ** 2 + 1e-10) - np.log10(np.abs(est) ** 2 + 1e-10)
    return float(np.mean(np.sqrt(np.mean(diff ** 2, axis=0))))
