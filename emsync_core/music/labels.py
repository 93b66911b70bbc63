"""Arousal scaling as in the method: drop 1.5 IQR outliers, then min-max to [-1, 1]."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class MinMaxScaler:
    """Maps raw note density (notes/s per group) to [-1, 1]; fitted on the training split."""

    lo: float
    hi: float

    @classmethod
    def fit(cls, values: np.ndarray) -> MinMaxScaler:
        v = np.asarray(values, dtype=np.float64)
        v = v[np.isfinite(v)]
        q1, q3 = np.percentile(v, [25, 75])
        kept = v[(v >= q1 - 1.5 * (q3 - q1)) & (v <= q3 + 1.5 * (q3 - q1))]
        return cls(float(kept.min()), float(kept.max()))

    def scale(self, raw: np.ndarray) -> np.ndarray:
        return np.clip(2 * (np.asarray(raw, dtype=np.float64) - self.lo) / (self.hi - self.lo) - 1, -1, 1)

    def unscale(self, value: float) -> float:
        return self.lo + (value + 1) / 2 * (self.hi - self.lo)

    def to_dict(self) -> dict:
        return asdict(self)
