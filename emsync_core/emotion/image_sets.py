"""Public labelled image sets (Emotion6, OASIS) turned into feature tables and a labels file.

Each image becomes a one-window "video" whose features come from the same frozen backbones the
extraction job runs on video frames, so the visual and face pathways are trained on exactly the
vectors they will see at inference. Splits are fixed by a seeded, class-stratified shuffle.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from emsync_core.emotion.ekman import EKMAN
from emsync_core.emotion.features_io import image_table
from emsync_core.features.base import VideoInfo, Window, WindowwiseBackbone

EMOTION6_COLUMNS = (*EKMAN, "neutral")


@dataclass(frozen=True)
class LabelledImage:
    """One image with whatever labels its set provides (V/A already on [-1, 1])."""

    video_id: str
    path: Path
    votes: tuple[float, ...] | None  # anger..surprise, neutral (Emotion6 only)
    valence: float
    arousal: float
    split: str


def _split(n: int, seed: int, test: float, val: float) -> list[str]:
    order = np.random.default_rng(seed).permutation(n)
    n_test, n_val = round(n * test), round(n * val)
    splits = ["train"] * n
    for rank, i in enumerate(order):
        splits[i] = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
    return splits


def load_emotion6(root: Path, seed: int = 6, test: float = 0.2, val: float = 0.1) -> list[LabelledImage]:
    """Emotion6 (Peng et al., CVPR 2015): vote shares over 6 emotions + neutral, V/A on 1-9."""
    rows = list(csv.reader((root / "ground_truth.txt").read_text().splitlines()[1:], delimiter="\t"))
    by_class: dict[str, list[list[str]]] = {}
    for row in rows:
        if row:
            by_class.setdefault(row[0].split("/")[0], []).append(row)
    images = []
    for offset, (folder, members) in enumerate(sorted(by_class.items())):
        members.sort(key=lambda r: int(Path(r[0]).stem))
        for row, split in zip(members, _split(len(members), seed + offset, test, val)):
            votes = tuple(float(x) for x in row[3:10])
            images.append(
                LabelledImage(
                    video_id=f"emotion6/{row[0].rsplit('.', 1)[0]}",
                    path=root / "images" / row[0],
                    votes=votes,
                    valence=(float(row[1]) - 5.0) / 4.0,
                    arousal=(float(row[2]) - 5.0) / 4.0,
                    split=split,
                )
            )
    return images


def load_oasis(root: Path, seed: int = 7, test: float = 0.2, val: float = 0.1) -> list[LabelledImage]:
    """OASIS (Kurdi et al. 2017): normative valence and arousal on 1-7; no category labels."""
    with open(root / "OASIS.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh)]
    splits = _split(len(rows), seed, test, val)
    return [
        LabelledImage(
            video_id=f"oasis/{r['']}",
            path=root / "images" / f"{r['Theme'].strip()}.jpg",
            votes=None,
            valence=(float(r["Valence_mean"]) - 4.0) / 3.0,
            arousal=(float(r["Arousal_mean"]) - 4.0) / 3.0,
            split=split,
        )
        for r, split in zip(rows, splits)
    ]


def write_labels(images: list[LabelledImage], path: Path) -> None:
    """The labels CSV that `emsync emotion train` reads (distribution columns empty for OASIS)."""
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["video_id", "label", *EMOTION6_COLUMNS, "valence", "arousal", "split"])
        for im in images:
            votes = [f"{v:.6f}" for v in im.votes] if im.votes else [""] * len(EMOTION6_COLUMNS)
            label = im.video_id.split("/")[1] if im.votes else ""  # Emotion6's folder is its class
            writer.writerow([im.video_id, label, *votes, f"{im.valence:.6f}", f"{im.arousal:.6f}", im.split])


def _embed_still(backbone, images: list[np.ndarray]) -> list[np.ndarray | None]:
    """A backbone's vectors for still images: its batch path, or one motionless 1 s window each."""
    if hasattr(backbone, "embed_images"):
        return list(backbone.embed_images(images))
    video = VideoInfo(video_id="image", uri="", duration_s=1.0, fps=1.0, has_audio=False, audio_sample_rate=16000)
    return [backbone.embed(Window(index=0, start_s=0.0, end_s=1.0, frames=[im], frame_times_s=[0.0]), video) for im in images]


def featurize(images: list[LabelledImage], backbone_names: tuple[str, ...], out_path: Path, progress=None) -> None:
    """Run the backbones' `embed_images` over the images (batches of 32) into one feature Parquet."""
    import cv2

    from emsync_core.features.registry import resolve

    backbones = [resolve(name)() for name in backbone_names]
    for backbone in backbones:
        if not (hasattr(backbone, "embed_images") or isinstance(backbone, WindowwiseBackbone)):
            raise TypeError(f"backbone {backbone.name} is neither window-wise nor has embed_images(images)")
        backbone.load()
    features: dict[str, list[np.ndarray | None]] = {b.name: [] for b in backbones}
    kept: list[str] = []
    for start in range(0, len(images), 32):
        batch = images[start : start + 32]
        rgb, ids = [], []
        for im in batch:
            bgr = cv2.imread(str(im.path))
            if bgr is None:
                raise FileNotFoundError(f"cannot read image {im.path}")
            rgb.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            ids.append(im.video_id)
        for backbone in backbones:
            features[backbone.name].extend(_embed_still(backbone, rgb))
        kept.extend(ids)
        if progress is not None:
            progress(len(batch))
    pq.write_table(image_table(kept, features, [b.spec() for b in backbones]), out_path)
