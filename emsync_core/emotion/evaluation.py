"""Scoring a checkpoint on labelled clips, optionally with pathways switched off (the ablation)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from emsync_core.emotion.checkpoint import EmotionCheckpoint
from emsync_core.emotion.dataset import Example
from emsync_core.emotion.ekman import EKMAN, FER_TO_EKMAN, ekman_to_va
from emsync_core.emotion.metrics import EmotionMetrics, evaluate
from emsync_core.emotion.train import predict
from emsync_core.features.faces import FER_CLASSES

FER_TO_EKMAN_INDEX = [FER_CLASSES.index(f) for f in FER_TO_EKMAN]  # FER columns in EKMAN order


def without(examples: list[Example], modalities: tuple[str, ...], drop: set[str]) -> list[Example]:
    """The same clips with the named modalities marked absent everywhere."""
    keep = [name not in drop for name in modalities]
    return [replace(e, masks=tuple(m if k else np.zeros_like(m) for m, k in zip(e.masks, keep))) for e in examples]


def predict_clips(checkpoint: EmotionCheckpoint, examples: list[Example]) -> tuple[np.ndarray, np.ndarray]:
    """Ekman probabilities and the final V/A (the checkpoint's mix of direct and Ekman-mapped, calibrated)."""
    probs, direct = predict(checkpoint.head, examples)
    return probs, checkpoint.va(probs, direct)


def score(examples: list[Example], probs: np.ndarray, va: np.ndarray) -> EmotionMetrics:
    labels = [e.label.label if e.label else None for e in examples]
    dists = [e.label.distribution if e.label else None for e in examples]
    va_true = np.array([(e.label.valence, e.label.arousal) if e.label else (np.nan, np.nan) for e in examples], dtype=float)
    return evaluate(probs, va, labels, dists, va_true.reshape(-1, 2))


def evaluate_checkpoint(checkpoint: EmotionCheckpoint, examples: list[Example], drop: set[str] = frozenset()) -> EmotionMetrics:
    modalities = checkpoint.head.config.modalities
    unknown = set(drop) - set(modalities)
    if unknown:
        raise ValueError(f"cannot drop {sorted(unknown)}: the model's modalities are {list(modalities)}")
    clips = without(examples, modalities, set(drop)) if drop else examples
    return score(clips, *predict_clips(checkpoint, clips))


def fer_prior(examples: list[Example], modalities: tuple[str, ...]) -> tuple[list[Example], np.ndarray, np.ndarray]:
    """The untrained face pathway: FER-2013 probabilities (neutral left out, renormalised), on clips with a face."""
    if "faces" not in modalities:
        return [], np.zeros((0, 6)), np.zeros((0, 2))
    i = modalities.index("faces")
    kept, probs = [], []
    for e in examples:
        if e.masks[i].any():
            fer = e.values[i][e.masks[i]][:, : len(FER_CLASSES)].mean(axis=0)[FER_TO_EKMAN_INDEX]
            kept.append(e)
            probs.append(fer / max(fer.sum(), 1e-9))
    probs_arr = np.array(probs).reshape(-1, len(EKMAN))
    return kept, probs_arr, ekman_to_va(probs_arr)
