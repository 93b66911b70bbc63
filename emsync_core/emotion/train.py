"""Training the fusion head on labelled clips (customer videos or the public image sets).

Loss: soft cross-entropy to the label distribution (a hard label is one-hot), plus `label_weight`
times cross-entropy to the clip's class where one is given (Emotion6's folder: its votes are often
split, and the soft target alone never puts anger on top), plus MSE on whatever of valence/arousal
is labelled. Modalities are dropped at random per clip (never all), so the head
learns to answer with any subset, which is what archive footage gives it. The best epoch on the
validation split is kept; the weight that mixes the direct V/A regression with the Ekman-mapped V/A
is then chosen on the validation split too, and the valence/arousal calibration (an increasing map:
quantile mapping or a linear stretch, whichever cross-validates better inside the validation split) is
fitted there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from emsync_core.emotion.calibration import FITS, Calibration, choose_calibration
from emsync_core.emotion.checkpoint import EmotionCheckpoint
from emsync_core.emotion.dataset import Example, collate, hard_labels, targets
from emsync_core.emotion.ekman import ekman_to_va
from emsync_core.emotion.fusion import FusionConfig, FusionHead


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 80
    batch_size: int = 64
    lr: float = 1e-4
    weight_decay: float = 1e-2
    va_weight: float = 1.0
    label_weight: float = 0.0  # weight of cross-entropy to the hard class label
    modality_dropout: float = 0.3
    seed: int = 0
    patience: int = 10
    calibration: str = "auto"  # auto (cross-validated choice), quantile, stretch or none


@dataclass
class TrainReport:
    epochs_run: int
    best_epoch: int
    best_val_loss: float
    seconds: float
    n_train: int
    n_val: int
    va_mix: float
    calibration: Calibration | None = None
    calibration_scores: dict[str, float] = field(default_factory=dict)  # cross-validated RMSE per kind
    history: list[dict] = field(default_factory=list)


def _normalisation(head: FusionHead, examples: list[Example]) -> None:
    for i in range(len(head.config.modalities)):
        rows = [e.values[i][e.masks[i]] for e in examples if e.masks[i].any()]
        if rows:
            stacked = torch.from_numpy(np.concatenate(rows))
            head.set_normalisation(i, stacked.mean(dim=0), stacked.std(dim=0) if len(stacked) > 1 else torch.ones(stacked.shape[1]))


def _drop_modalities(masks: list[torch.Tensor], p: float, generator: torch.Generator) -> list[torch.Tensor]:
    """Hide whole modalities of a clip with probability p, keeping at least one that is present."""
    if len(masks) < 2 or p <= 0:
        return masks
    present = torch.stack([m.any(dim=1) for m in masks], dim=1)  # (B, M)
    keep = torch.rand(present.shape, generator=generator) >= p
    lost = ~(keep & present).any(dim=1)
    keep[lost] = True  # never leave a clip with nothing
    return [m & keep[:, i : i + 1] for i, m in enumerate(masks)]


def loss_terms(logits: torch.Tensor, va: torch.Tensor, dist: torch.Tensor, has: torch.Tensor, va_target: torch.Tensor,
               label: torch.Tensor | None = None, label_weight: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """(soft cross-entropy over clips with a distribution [+ weighted hard-label cross-entropy], MSE over
    labelled V/A entries)."""
    ce = -(dist * torch.log_softmax(logits, dim=1)).sum(dim=1)
    ce = (ce * has).sum() / has.sum().clamp(min=1)
    if label is not None and label_weight > 0 and (label >= 0).any():
        ce = ce + label_weight * torch.nn.functional.cross_entropy(logits, label, ignore_index=-1)
    labelled = ~torch.isnan(va_target)
    mse = ((va - torch.nan_to_num(va_target)) ** 2 * labelled).sum() / labelled.sum().clamp(min=1)
    return ce, mse


def predict(head: FusionHead, examples: list[Example], batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(Ekman probabilities (N, 6), direct V/A (N, 2)) in evaluation mode."""
    head.eval()
    probs, vas = [], []
    with torch.inference_mode():
        for start in range(0, len(examples), batch_size):
            values, masks = collate(examples[start : start + batch_size])
            logits, va = head(values, masks)
            probs.append(torch.softmax(logits, dim=1).numpy())
            vas.append(va.numpy())
    return np.concatenate(probs), np.concatenate(vas)


def _evaluate_loss(head: FusionHead, examples: list[Example], settings: TrainSettings) -> float:
    if not examples:
        return float("nan")
    head.eval()
    with torch.inference_mode():
        values, masks = collate(examples)
        dist, has, va_target = targets(examples)
        logits, va = head(values, masks)
        ce, mse = loss_terms(logits, va, dist, has, va_target, hard_labels(examples), settings.label_weight)
    return float(ce + settings.va_weight * mse)


def choose_va_mix(head: FusionHead, examples: list[Example]) -> float:
    """Weight w of the direct regression in V/A = w * direct + (1 - w) * Ekman-mapped, by validation RMSE."""
    labelled = [e for e in examples if e.label is not None and not np.isnan([e.label.valence, e.label.arousal]).any()]
    if not labelled:
        return 0.5
    probs, direct = predict(head, labelled)
    mapped = ekman_to_va(probs)
    truth = np.array([(e.label.valence, e.label.arousal) for e in labelled])
    grid = np.linspace(0.0, 1.0, 11)
    rmse = [np.sqrt(np.mean((w * direct + (1 - w) * mapped - truth) ** 2)) for w in grid]
    return float(grid[int(np.argmin(rmse))])


def fit_calibration(head: FusionHead, va_mix: float, examples: list[Example],
                    kind: str = "auto") -> tuple[Calibration | None, dict[str, float]]:
    """An increasing map from the mixed V/A predictions to the labels of `examples` (the validation split):
    `kind`, or with "auto" the kind of lower cross-validated RMSE; with the RMSE of each kind."""
    labelled = [e for e in examples if e.label is not None]
    if not labelled or kind == "none":
        return None, {}
    probs, direct = predict(head, labelled)
    mixed = va_mix * direct + (1 - va_mix) * ekman_to_va(probs)
    truth = np.array([(e.label.valence, e.label.arousal) for e in labelled], dtype=float)
    if kind == "auto":
        return choose_calibration(mixed, truth)
    if kind not in FITS:
        raise ValueError(f"unknown calibration {kind!r}: auto, none or one of {sorted(FITS)}")
    return FITS[kind](mixed, truth), {}


def train(
    train_set: list[Example],
    val_set: list[Example],
    config: FusionConfig,
    settings: TrainSettings,
    on_epoch: Callable[[dict], None] | None = None,
) -> tuple[FusionHead, TrainReport]:
    """Fit a fresh head; returns the best-validation weights and a report."""
    if not train_set:
        raise ValueError("no labelled training clips matched the feature tables")
    torch.manual_seed(settings.seed)
    generator = torch.Generator().manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    head = FusionHead(config)
    _normalisation(head, train_set)
    optimiser = torch.optim.AdamW(head.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    started = time.perf_counter()
    best = (float("inf"), 0, {k: v.clone() for k, v in head.state_dict().items()})
    history: list[dict] = []
    epoch = 0
    for epoch in range(1, settings.epochs + 1):
        head.train()
        order = rng.permutation(len(train_set))
        total = 0.0
        for start in range(0, len(order), settings.batch_size):
            batch = [train_set[i] for i in order[start : start + settings.batch_size]]
            values, masks = collate(batch)
            masks = _drop_modalities(masks, settings.modality_dropout, generator)
            dist, has, va_target = targets(batch)
            logits, va = head(values, masks)
            ce, mse = loss_terms(logits, va, dist, has, va_target, hard_labels(batch), settings.label_weight)
            loss = ce + settings.va_weight * mse
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(head.parameters(), 1.0)
            optimiser.step()
            total += float(loss.detach()) * len(batch)
        val_loss = _evaluate_loss(head, val_set, settings) if val_set else total / len(train_set)
        record = {"epoch": epoch, "train_loss": total / len(train_set), "val_loss": val_loss}
        history.append(record)
        if on_epoch:
            on_epoch(record)
        if val_loss < best[0]:
            best = (val_loss, epoch, {k: v.clone() for k, v in head.state_dict().items()})
        elif epoch - best[1] >= settings.patience:
            break
    head.load_state_dict(best[2])
    head.eval()
    mix = choose_va_mix(head, val_set or train_set)
    calibration, scores = fit_calibration(head, mix, val_set or train_set, settings.calibration)
    report = TrainReport(epoch, best[1], best[0], time.perf_counter() - started, len(train_set), len(val_set), mix, calibration,
                         scores, history)
    return head, report


def to_checkpoint(head: FusionHead, report: TrainReport, version: str, provenance: dict) -> EmotionCheckpoint:
    return EmotionCheckpoint(head=head, va_mix=report.va_mix, version=version, calibration=report.calibration, provenance={**provenance, "training": {
        "epochs_run": report.epochs_run, "best_epoch": report.best_epoch, "best_val_loss": report.best_val_loss,
        "seconds": round(report.seconds, 1), "n_train": report.n_train, "n_val": report.n_val,
        "calibration_cv_rmse": report.calibration_scores}})
