"""Evaluation numbers: top-1 accuracy, macro-F1, confusion matrix, KL to vote distributions, V/A r and RMSE."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import pearsonr

from emsync_core.emotion.ekman import EKMAN


@dataclass(frozen=True)
class EmotionMetrics:
    n_class: int
    accuracy: float
    macro_f1: float
    confusion: list[list[int]]  # rows: true class, columns: predicted (EKMAN order)
    kl_divergence: float  # mean KL(vote distribution || predicted), 6 classes
    n_va: int
    valence_r: float
    valence_rmse: float
    arousal_r: float
    arousal_rmse: float

    def to_dict(self) -> dict:
        return asdict(self)


def _f1(confusion: np.ndarray) -> float:
    scores = []
    for k in range(confusion.shape[0]):
        tp = confusion[k, k]
        precision = tp / max(confusion[:, k].sum(), 1)
        recall = tp / max(confusion[k, :].sum(), 1)
        scores.append(0.0 if tp == 0 else 2 * precision * recall / (precision + recall))
    return float(np.mean(scores))


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or np.ptp(a) < 1e-9 or np.ptp(b) < 1e-9:
        return float("nan")
    return float(pearsonr(a, b).statistic)


def evaluate(
    probs: np.ndarray, va: np.ndarray, labels: list[int | None], distributions: list[np.ndarray | None], va_true: np.ndarray
) -> EmotionMetrics:
    """probs (N, 6), va (N, 2) predictions against labels/distributions/V-A (NaN where unlabelled)."""
    has_label = np.array([lab is not None for lab in labels])
    confusion = np.zeros((len(EKMAN), len(EKMAN)), int)
    for lab, p in zip(labels, probs):
        if lab is not None:
            confusion[lab, int(np.argmax(p))] += 1
    n_class = int(has_label.sum())
    with_dist = [(d, p) for d, p in zip(distributions, probs) if d is not None]
    kl = (
        float(np.mean([np.sum(np.where(d > 0, d * np.log(np.clip(d, 1e-12, 1) / np.clip(p, 1e-12, 1)), 0.0)) for d, p in with_dist]))
        if with_dist
        else float("nan")
    )
    ok = ~np.isnan(va_true).any(axis=1)
    v_true, a_true, v, a = va_true[ok, 0], va_true[ok, 1], va[ok, 0], va[ok, 1]
    rmse = lambda x, y: float(np.sqrt(np.mean((x - y) ** 2))) if len(x) else float("nan")  # noqa: E731
    return EmotionMetrics(
        n_class=n_class,
        accuracy=float(np.trace(confusion) / n_class) if n_class else float("nan"),
        macro_f1=_f1(confusion) if n_class else float("nan"),
        confusion=confusion.tolist(),
        kl_divergence=kl,
        n_va=int(ok.sum()),
        valence_r=_correlation(v, v_true),
        valence_rmse=rmse(v, v_true),
        arousal_r=_correlation(a, a_true),
        arousal_rmse=rmse(a, a_true),
    )
