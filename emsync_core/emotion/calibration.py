"""Calibrating valence/arousal so predictions use the range, keeping their order.

A head trained for squared error shrinks toward the label mean, so its V/A crowd the middle and the
music hardly changes between scenes. Quantile mapping fixes the spread without touching the ranking:
the k-th quantile of the validation predictions is sent to the k-th quantile of the validation labels,
linearly in between, and the ends of [-1, 1] to themselves, so the map is monotone (order kept).
The map is fitted on the validation split and stored in the checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_KNOTS = 21  # quantiles 0, 5, ..., 100 %
MIN_LABELLED = 20  # fewer labelled validation clips than this: no map (identity)
_GAP = 1e-6  # knots must rise strictly for np.interp to stay monotone


@dataclass(frozen=True)
class QuantileMap:
    """Per dimension (valence, arousal): prediction knots and the label values they map to."""

    source: tuple[tuple[float, ...], tuple[float, ...]]
    target: tuple[tuple[float, ...], tuple[float, ...]]

    def apply(self, va: np.ndarray) -> np.ndarray:
        """(..., 2) V/A in [-1, 1] -> calibrated (..., 2); non-decreasing in each dimension."""
        va = np.asarray(va, dtype=np.float64)
        out = np.empty_like(va)
        for d in range(2):
            out[..., d] = np.interp(va[..., d], self.source[d], self.target[d])
        return out

    def to_dict(self) -> dict:
        return {"kind": "quantile", "source": [list(s) for s in self.source], "target": [list(t) for t in self.target]}

    @classmethod
    def from_dict(cls, data: dict) -> QuantileMap:
        if data.get("kind") != "quantile":
            raise ValueError(f"unknown calibration kind {data.get('kind')!r}")
        return cls(tuple(tuple(map(float, s)) for s in data["source"]), tuple(tuple(map(float, t)) for t in data["target"]))


def _knots(pred: np.ndarray, truth: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    qs = np.linspace(0, 100, N_KNOTS)
    src, dst = np.percentile(pred, qs), np.percentile(truth, qs)
    src = np.concatenate([[-1.0], src, [1.0]])
    dst = np.concatenate([[-1.0], dst, [1.0]])
    for i in range(1, len(src)):  # strictly rising sources, non-decreasing targets
        src[i] = max(src[i], src[i - 1] + _GAP)
        dst[i] = max(dst[i], dst[i - 1])
    return tuple(np.round(src, 6)), tuple(np.round(np.clip(dst, -1, 1), 6))


def fit_quantile_map(pred: np.ndarray, truth: np.ndarray) -> QuantileMap | None:
    """Fit on (N, 2) predictions against (N, 2) labels (NaN where unlabelled); None with too few labels."""
    parts = []
    for d in range(2):
        ok = ~np.isnan(truth[:, d])
        if ok.sum() < MIN_LABELLED:
            return None
        parts.append(_knots(pred[ok, d], truth[ok, d]))
    return QuantileMap((parts[0][0], parts[1][0]), (parts[0][1], parts[1][1]))
