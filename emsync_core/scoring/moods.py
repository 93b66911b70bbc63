"""The moods a soundtrack follows, from the classifier's scene verdicts: optional per-catalog
normalisation, then the scoring brief (emsync_core/brief/mix.py). One function, used both where the
chunks are planned and where the soundtrack is finished, so the two always agree.

Per-catalog normalisation (opt-in): the scenes of one archive are spread relative to each other.
Each of valence and arousal is standardised over every scene of the catalog and rescaled to
NORMALISED_STD around the catalog's own mean (an affine, increasing map: order kept, the archive's
overall mood kept). NORMALISED_STD is the spread of the labelled validation images' V/A.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Sequence

import numpy as np

from emsync_core.brief.mix import apply_brief
from emsync_core.brief.parse import Brief
from emsync_core.emotion.scene import SceneEmotion
from emsync_core.scoring.plan import SceneMood, moods_from_verdicts

NORMALISED_STD = (0.45, 0.25)  # Emotion6 + OASIS validation labels: valence std 0.45, arousal 0.25
MIN_STD = 1e-3


@dataclass(frozen=True)
class CatalogNorm:
    """The catalog's scene V/A mean and spread, fitted over all its scenes (recorded with the run)."""

    mean: tuple[float, float]
    std: tuple[float, float]
    n_scenes: int

    def apply(self, valence: float, arousal: float) -> tuple[float, float]:
        out = [m + (x - m) / max(s, MIN_STD) * t for x, m, s, t in zip((valence, arousal), self.mean, self.std, NORMALISED_STD)]
        return float(np.clip(out[0], -1, 1)), float(np.clip(out[1], -1, 1))

    def to_dict(self) -> dict:
        return {**asdict(self), "target_std": list(NORMALISED_STD)}


def fit_catalog_norm(scene_va: list[tuple[float, float]]) -> CatalogNorm:
    va = np.asarray(scene_va, dtype=float).reshape(-1, 2)
    if len(va) == 0:
        raise ValueError("no scenes to normalise over")
    return CatalogNorm(tuple(va.mean(axis=0).round(6)), tuple(va.std(axis=0).round(6)), len(va))


@dataclass(frozen=True)
class MoodSettings:
    brief: Brief | None = None
    rule: str = "centre"
    norm: CatalogNorm | None = None


def scene_moods(verdicts: Sequence[SceneEmotion], settings: MoodSettings = MoodSettings()) -> tuple[SceneMood, ...]:
    """The classifier's scene emotions -> the moods to score (catalog normalisation, then the brief)."""
    moods = moods_from_verdicts(verdicts)
    if settings.norm is not None:
        moods = tuple(replace(m, **dict(zip(("valence", "arousal"), settings.norm.apply(m.valence, m.arousal))))
                      for m in moods)
    if settings.brief is not None:
        confidence = {int(v.scene_index): float(v.confidence) for v in verdicts}
        moods = apply_brief(moods, settings.brief, settings.rule, confidence)
    return moods
