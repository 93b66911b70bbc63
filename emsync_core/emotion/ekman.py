"""Ekman-6 classes and their valence/arousal (Russell and Mehrabian 1977, METHOD.md section 4)."""

from __future__ import annotations

import numpy as np

EKMAN = ("anger", "disgust", "fear", "joy", "sadness", "surprise")
# FER-2013 class order (fer's model) mapped onto Ekman names; "neutral" has no Ekman class.
FER_TO_EKMAN = {"angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "joy", "sad": "sadness", "surprise": "surprise"}

# (V mean, V std, A mean, A std) on Russell and Mehrabian's scale.
RUSSELL_MEHRABIAN = {
    "anger": (-0.51, 0.20, 0.59, 0.29),
    "disgust": (-0.60, 0.20, 0.35, 0.41),
    "fear": (-0.64, 0.20, 0.60, 0.32),
    "joy": (0.76, 0.22, 0.48, 0.26),
    "sadness": (-0.63, 0.23, -0.27, 0.34),
    "surprise": (0.40, 0.30, 0.67, 0.27),
}
TARGET_SPAN = 0.8


def _rescale(means: np.ndarray, stds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Affine map so the six means span exactly [-0.8, 0.8]; stds scale by the same factor."""
    lo, hi = means.min(), means.max()
    factor = 2 * TARGET_SPAN / (hi - lo)
    return (means - lo) * factor - TARGET_SPAN, stds * factor


_table = np.array([RUSSELL_MEHRABIAN[e] for e in EKMAN])
VALENCE_MEAN, VALENCE_STD = _rescale(_table[:, 0], _table[:, 1])
AROUSAL_MEAN, AROUSAL_STD = _rescale(_table[:, 2], _table[:, 3])


def ekman_to_va(probs: np.ndarray) -> np.ndarray:
    """Expected (V, A) under Ekman probabilities (..., 6) -> (..., 2), clipped to [-1, 1]."""
    probs = np.asarray(probs, dtype=np.float64)
    va = np.stack([probs @ VALENCE_MEAN, probs @ AROUSAL_MEAN], axis=-1)
    return np.clip(va, -1.0, 1.0)


def sample_va(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The stochastic mode: pick an emotion by p, draw (V, A) from its Gaussian, clip to [-1, 1]."""
    k = rng.choice(len(EKMAN), p=np.asarray(probs, dtype=np.float64) / np.sum(probs))
    return np.clip([rng.normal(VALENCE_MEAN[k], VALENCE_STD[k]), rng.normal(AROUSAL_MEAN[k], AROUSAL_STD[k])], -1.0, 1.0)
