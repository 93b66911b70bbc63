"""Calibrating valence/arousal so predictions use the range, keeping their order.

A head trained for squared error shrinks toward the label mean, so its V/A crowd the middle and the
music hardly changes between scenes. Two increasing maps fix the spread without touching the ranking,
both fitted on the validation split and stored in the checkpoint:

- quantile mapping: the k-th quantile of the validation predictions goes to the k-th quantile of the
  validation labels, linearly in between, the ends of [-1, 1] to themselves (21 knots per dimension);
- a linear stretch: predictions are re-centred on the labels' mean and scaled by the ratio of the
  labels' std to the predictions' std (2 numbers per dimension), clipped to [-1, 1].

`choose_calibration` picks between them by cross-validation inside the validation split.
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


@dataclass(frozen=True)
class LinearStretch:
    """Per dimension (valence, arousal): v -> target_mean + (v - source_mean) * scale, clipped to [-1, 1]."""

    source_mean: tuple[float, float]
    target_mean: tuple[float, float]
    scale: tuple[float, float]

    def apply(self, va: np.ndarray) -> np.ndarray:
        va = np.asarray(va, dtype=np.float64)
        out = np.asarray(self.target_mean) + (va - np.asarray(self.source_mean)) * np.asarray(self.scale)
        return np.clip(out, -1.0, 1.0)

    def to_dict(self) -> dict:
        return {"kind": "stretch", "source_mean": list(self.source_mean), "target_mean": list(self.target_mean),
                "scale": list(self.scale)}

    @classmethod
    def from_dict(cls, data: dict) -> LinearStretch:
        return cls(*(tuple(map(float, data[k])) for k in ("source_mean", "target_mean", "scale")))


Calibration = QuantileMap | LinearStretch
KINDS = {"quantile": QuantileMap, "stretch": LinearStretch}


def calibration_from_dict(data: dict) -> Calibration:
    if data.get("kind") not in KINDS:
        raise ValueError(f"unknown calibration kind {data.get('kind')!r}")
    return KINDS[data["kind"]].from_dict(data)


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


def fit_linear_stretch(pred: np.ndarray, truth: np.ndarray) -> LinearStretch | None:
    """Fit on (N, 2) predictions against (N, 2) labels (NaN where unlabelled); None with too few labels."""
    stats = []
    for d in range(2):
        ok = ~np.isnan(truth[:, d])
        if ok.sum() < MIN_LABELLED:
            return None
        p, t = pred[ok, d], truth[ok, d]
        stats.append((float(p.mean()), float(t.mean()), float(t.std() / max(p.std(), 1e-6))))
    return LinearStretch(*(tuple(round(s[i], 6) for s in stats) for i in range(3)))


FITS = {"quantile": fit_quantile_map, "stretch": fit_linear_stretch}
FOLDS = 5


def cross_validated_rmse(pred: np.ndarray, truth: np.ndarray, kind: str, seed: int = 0) -> float:
    """RMSE of `kind` fitted on 4/5 of the (validation) clips and applied to the other fifth, all folds."""
    folds = np.random.default_rng(seed).permutation(len(pred)) % FOLDS
    errors = []
    for k in range(FOLDS):
        fit = FITS[kind](pred[folds != k], truth[folds != k])
        if fit is None:
            return float("inf")
        errors.append(fit.apply(pred[folds == k]) - truth[folds == k])
    err = np.concatenate(errors)
    return float(np.sqrt(np.nanmean(err**2)))


def choose_calibration(pred: np.ndarray, truth: np.ndarray) -> tuple[Calibration | None, dict[str, float]]:
    """The kind with the lower cross-validated RMSE, refitted on all of `pred`; with the RMSE of each."""
    scores = {kind: cross_validated_rmse(pred, truth, kind) for kind in FITS}
    best = min(scores, key=scores.get)
    return FITS[best](pred, truth), scores
