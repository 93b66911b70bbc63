"""The labels file for training and evaluation: one row per video id.

CSV columns: `video_id`; then any of `label` (an Ekman class name: the class scored for accuracy),
the distribution columns (the soft training target; a label alone is a one-hot target)
`anger..surprise` (shares or counts; an extra `neutral` column is read and left out of the 6-way
target), `valence` and `arousal` (already on [-1, 1]), and `split` (train/val/test). A row may carry
only V/A (OASIS) or only a class; missing targets are masked out of the loss.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emsync_core.emotion.ekman import EKMAN


class LabelsError(ValueError):
    """A labels file that cannot be used."""


@dataclass(frozen=True)
class VideoLabel:
    video_id: str
    distribution: np.ndarray | None  # (6,) summing to 1 over Ekman classes
    label: int | None  # index into EKMAN: the `label` column, else the distribution's argmax
    valence: float  # NaN when absent
    arousal: float
    split: str


def _float(text: str | None) -> float:
    if text is None or not text.strip():
        return math.nan
    return float(text)


def read_labels(path: str | Path) -> dict[str, VideoLabel]:
    """Parse and check a labels CSV; errors name the row."""
    labels: dict[str, VideoLabel] = {}
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or "video_id" not in reader.fieldnames:
            raise LabelsError(f"{path}: a labels CSV needs a video_id column")
        for line, row in enumerate(reader, start=2):
            try:
                labels[row["video_id"]] = _parse(row)
            except (ValueError, KeyError) as exc:
                raise LabelsError(f"{path}:{line}: {exc}") from exc
    if not labels:
        raise LabelsError(f"{path}: no rows")
    return labels


def _parse(row: dict[str, str]) -> VideoLabel:
    distribution, label = None, None
    if (row.get("label") or "").strip():
        name = row["label"].strip().lower()
        if name not in EKMAN:
            raise ValueError(f"label {name!r} is not one of {', '.join(EKMAN)}")
        label = EKMAN.index(name)
    if any((row.get(e) or "").strip() for e in EKMAN):
        shares = np.nan_to_num(np.array([_float(row.get(e)) for e in EKMAN]), nan=0.0)
        if (shares < 0).any():
            raise ValueError("negative class share")
        distribution = shares / shares.sum() if shares.sum() > 0 else None
    if distribution is None and label is not None:
        distribution = np.eye(len(EKMAN))[label]
    if label is None and distribution is not None:
        label = int(np.argmax(distribution))
    valence, arousal = _float(row.get("valence")), _float(row.get("arousal"))
    for value in (valence, arousal):
        if not math.isnan(value) and not -1.0 <= value <= 1.0:
            raise ValueError(f"valence/arousal {value} outside [-1, 1]")
    split = (row.get("split") or "train").strip() or "train"
    return VideoLabel(row["video_id"], distribution, label, valence, arousal, split)
