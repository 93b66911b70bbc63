"""Labelled videos as padded, masked modality tensors for the fusion head."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import torch

from emsync_core.emotion.features_io import modality, read_videos
from emsync_core.emotion.labels import VideoLabel

MAX_STEPS = 32  # windows per clip fed to the head; longer clips are sampled evenly (the reference: 16 frames)


@dataclass(frozen=True)
class Example:
    """One clip: per modality (T, d) values and (T,) masks, with its label."""

    video_id: str
    values: tuple[np.ndarray, ...]
    masks: tuple[np.ndarray, ...]
    label: VideoLabel | None


def example_from_table(video_id: str, table: pa.Table, modalities: tuple[str, ...], dims: tuple[int, ...], label: VideoLabel | None = None) -> Example:
    """Cut one clip's (or scene's) windows into modality arrays; a wrong-size column is an error."""
    n = table.num_rows
    steps = np.unique(np.linspace(0, n - 1, min(n, MAX_STEPS)).round().astype(int)) if n else np.zeros(0, int)
    values, masks = [], []
    for name, dim in zip(modalities, dims):
        m = modality(table, name)
        if m.values.shape[1] == 0:
            values.append(np.zeros((len(steps), dim), np.float32))
            masks.append(np.zeros(len(steps), bool))
            continue
        if m.values.shape[1] != dim:
            raise ValueError(f"{video_id}: feat_{name} has {m.values.shape[1]} dims, the model expects {dim}")
        values.append(m.values[steps])
        masks.append(m.present[steps])
    return Example(video_id, tuple(values), tuple(masks), label)


def load_examples(location: str, labels: dict[str, VideoLabel], modalities: tuple[str, ...], dims: tuple[int, ...]) -> list[Example]:
    """Labelled clips found in the feature Parquet at `location` (unlabelled clips are skipped)."""
    return [
        example_from_table(video_id, table, modalities, dims, labels[video_id])
        for video_id, table in read_videos(location, only=set(labels))
    ]


def collate(examples: list[Example]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Pad to the longest clip: values (B, T, d) per modality and masks (B, T) (padding is absent)."""
    longest = max(1, max(len(e.masks[0]) for e in examples))
    values, masks = [], []
    for i in range(len(examples[0].values)):
        v = np.zeros((len(examples), longest, examples[0].values[i].shape[1]), np.float32)
        m = np.zeros((len(examples), longest), bool)
        for b, e in enumerate(examples):
            t = len(e.masks[i])
            v[b, :t], m[b, :t] = e.values[i], e.masks[i]
        values.append(torch.from_numpy(v))
        masks.append(torch.from_numpy(m))
    return values, masks


def targets(examples: list[Example]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(distributions (B, 6), has-distribution (B,), V/A (B, 2) with NaN where absent)."""
    dist = np.zeros((len(examples), 6), np.float32)
    has = np.zeros(len(examples), bool)
    va = np.full((len(examples), 2), np.nan, np.float32)
    for b, e in enumerate(examples):
        if e.label is None:
            continue
        if e.label.distribution is not None:
            dist[b], has[b] = e.label.distribution, True
        va[b] = (e.label.valence, e.label.arousal)
    return torch.from_numpy(dist), torch.from_numpy(has), torch.from_numpy(va)


def hard_labels(examples: list[Example]) -> torch.Tensor:
    """(B,) class index of each clip's `label`, -1 where it has none."""
    return torch.tensor([e.label.label if e.label is not None and e.label.label is not None else -1 for e in examples],
                        dtype=torch.long)
