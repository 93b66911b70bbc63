"""Is this audio band-limited, and where? A steep fall of the long-term spectrum that nothing rises above.

Music rolls off gently (a few dB per octave); a low-pass leaves a cliff of tens of dB within half an
octave and almost nothing above it. The spectrum is accumulated block by block, so memory stays flat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from emsync_core.enhance.filters import CUTOFF_RANGE_HZ, SAMPLE_RATE

NPERSEG = 4096
MIN_SAMPLES = NPERSEG * 2  # below this the spectrum is too noisy to judge
CLIFF_DB = 20.0  # fall from [0.8 f, f] to [1.2 f, 1.45 f] that marks a low-pass
CUTOFF_FALL_DB = 10.0
SILENT_DB = -100.0  # long-term level (dB re full scale) under which audio counts as silent
RANGE_SLACK_HZ = 1000.0  # cut-offs this close to the trained range are still enhanced


@dataclass(frozen=True)
class BandLimit:
    """What the spectrum says; recorded with every enhanced (or not enhanced) soundtrack."""

    verdict: str  # "band-limited", "full-band", "silent" or "too-short"
    cutoff_hz: float | None  # the cliff's frequency when band-limited
    cliff_db: float  # the largest fall found

    @property
    def restorable(self) -> bool:
        """A band limit the model was trained to restore."""
        return (self.verdict == "band-limited" and self.cutoff_hz is not None
                and CUTOFF_RANGE_HZ[0] - RANGE_SLACK_HZ <= self.cutoff_hz <= CUTOFF_RANGE_HZ[1] + RANGE_SLACK_HZ)

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "cutoff_hz": None if self.cutoff_hz is None else round(self.cutoff_hz, 1),
                "cliff_db": round(self.cliff_db, 1), "restorable": self.restorable}


class SpectrumAccumulator:
    """Mean power spectrum of a mono stream fed in blocks of any size."""

    def __init__(self, sample_rate: int = SAMPLE_RATE) -> None:
        self.sample_rate = sample_rate
        self.power = np.zeros(NPERSEG // 2 + 1)
        self.frames = 0
        self.samples = 0
        self._tail = np.zeros(0, dtype=np.float32)

    def add(self, mono: np.ndarray) -> None:
        self.samples += len(mono)
        data = np.concatenate([self._tail, mono.astype(np.float32)])
        usable = (len(data) // NPERSEG) * NPERSEG
        if usable:
            frames = data[:usable].reshape(-1, NPERSEG) * signal.get_window("hann", NPERSEG).astype(np.float32)
            self.power += (np.abs(np.fft.rfft(frames, axis=1)) ** 2).sum(axis=0)
            self.frames += len(frames)
        self._tail = data[usable:]

    def result(self) -> BandLimit:
        if self.samples < MIN_SAMPLES or self.frames == 0:
            return BandLimit("too-short", None, 0.0)
        mean = self.power / self.frames / (NPERSEG * 0.375 * NPERSEG / 4)
        if 10 * np.log10(mean.sum() + 1e-30) < SILENT_DB:
            return BandLimit("silent", None, 0.0)
        return find_cliff(np.fft.rfftfreq(NPERSEG, 1 / self.sample_rate), 10 * np.log10(mean + 1e-20))


def _band_mean(cum: np.ndarray, freqs: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Mean level between lo and hi (arrays of Hz) from a cumulative sum, one value per pair."""
    a = np.searchsorted(freqs, lo)
    b = np.maximum(np.searchsorted(freqs, hi, side="right"), a + 1)
    return (cum[b] - cum[a]) / (b - a)


def find_cliff(freqs: np.ndarray, level_db: np.ndarray) -> BandLimit:
    """The steepest half-octave fall between 2 kHz and Nyquist; band-limited if it passes CLIFF_DB.

    The cut-off is placed where the level first falls CUTOFF_FALL_DB under the band just below the cliff:
    a rough placement (10-20 % high on gentle filters), enough to tell which band limits the model restores.
    """
    nyquist = freqs[-1]
    cum = np.concatenate([[0.0], np.cumsum(level_db)])
    cand = np.arange(2000.0, nyquist / 1.2, 50.0)
    drop = _band_mean(cum, freqs, 0.8 * cand, cand) - _band_mean(cum, freqs, 1.2 * cand, np.minimum(1.45 * cand, nyquist))
    best = int(np.argmax(drop))
    best_f, best_drop = float(cand[best]), float(drop[best])
    if best_drop < CLIFF_DB:
        return BandLimit("full-band", None, best_drop)
    passband = float(_band_mean(cum, freqs, np.array([0.6 * best_f]), np.array([0.8 * best_f]))[0])
    smooth = np.convolve(level_db, np.ones(5) / 5, mode="same")
    under = np.nonzero((freqs >= 0.8 * best_f) & (smooth < passband - CUTOFF_FALL_DB))[0]
    cutoff = float(freqs[under[0]]) if len(under) else best_f
    return BandLimit("band-limited", cutoff, best_drop)


def detect_band_limit(mono: np.ndarray, sample_rate: int = SAMPLE_RATE) -> BandLimit:
    acc = SpectrumAccumulator(sample_rate)
    acc.add(mono)
    return acc.result()
