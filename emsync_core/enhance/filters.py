"""Low-pass filters that band-limit clean audio: the training corruption and the evaluation's test filters.

Filters run causally (sosfilt), as an analogue chain or a codec would: their passband phase and ripple are
part of what a network trained on one filter learns, which is why it fails on another.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

SAMPLE_RATE = 44100  # the model's rate; other rates are resampled to it
THESIS_CUTOFF_HZ = 11025.0  # the thesis' band limit (a quarter of 44.1 kHz)
CUTOFF_RANGE_HZ = (6000.0, 12000.0)  # random cut-offs in training; the band limits the product enhances
FAMILIES = ("cheby1", "bessel", "ellip", "butter")


@dataclass(frozen=True)
class FilterSpec:
    """One low-pass: family, order, cut-off."""

    family: str
    order: int
    cutoff_hz: float

    @property
    def label(self) -> str:
        return f"{self.family}-{self.order}@{self.cutoff_hz / 1000:.2f}k"

    def sos(self, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
        wn = self.cutoff_hz / (sample_rate / 2)
        if self.family == "cheby1":
            return signal.cheby1(self.order, 1.0, wn, output="sos")
        if self.family == "ellip":
            return signal.ellip(self.order, 1.0, 60.0, wn, output="sos")
        if self.family == "bessel":
            return signal.bessel(self.order, wn, output="sos", norm="mag")
        if self.family == "butter":
            return signal.butter(self.order, wn, output="sos")
        raise ValueError(f"unknown filter family {self.family!r} (one of {', '.join(FAMILIES)})")

    def apply(self, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
        """Filter along the first axis (samples), as float32."""
        return signal.sosfilt(self.sos(sample_rate), audio, axis=0).astype(np.float32)


# The single-filter regime trains on this one filter only.
FIXED_FILTER = FilterSpec("cheby1", 8, THESIS_CUTOFF_HZ)

# The random-filter regime draws a family, then one of its orders, at a random cut-off (the method's set:
# Chebyshev-I 6-12, Bessel 6/12, elliptic 6/12). Odd orders matter: an even-order Chebyshev-I or elliptic
# low-pass sits 1 dB (its ripple) under unity at DC, an odd-order one and a Bessel at unity. With only even
# orders three draws in four lowered the whole passband by 1 dB, and the model learned to raise every
# input's passband by ~0.9 dB, which costs several dB of SNR on Butterworth and Bessel filters.
TRAIN_ORDERS: dict[str, tuple[int, ...]] = {"cheby1": tuple(range(6, 13)), "bessel": (6, 12), "ellip": (6, 12)}

# The evaluation table's filters at the thesis' cut-off: the fixed training filter, orders and families the
# single-filter model never saw, and Butterworth-6, which neither regime trained on.
TEST_FILTERS: tuple[FilterSpec, ...] = (
    FIXED_FILTER,
    FilterSpec("cheby1", 4, THESIS_CUTOFF_HZ),
    FilterSpec("bessel", 8, THESIS_CUTOFF_HZ),
    FilterSpec("ellip", 8, THESIS_CUTOFF_HZ),
    FilterSpec("butter", 6, THESIS_CUTOFF_HZ),
    FilterSpec("butter", 6, 8000.0),
)


def random_filter(rng: np.random.Generator) -> FilterSpec:
    family = list(TRAIN_ORDERS)[rng.integers(len(TRAIN_ORDERS))]
    orders = TRAIN_ORDERS[family]
    return FilterSpec(family, orders[rng.integers(len(orders))], float(rng.uniform(*CUTOFF_RANGE_HZ)))
