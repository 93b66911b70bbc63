"""One scene's emotion: the one type from the classifier through the plan to the database (no torch here)."""

from __future__ import annotations

from dataclasses import dataclass

from emsync_core.emotion.ekman import EKMAN


@dataclass(frozen=True)
class SceneEmotion:
    """How one scene feels: Ekman probabilities, valence/arousal in [-1, 1] and a 0-1 confidence."""

    scene_index: int
    start_s: float
    end_s: float
    probs: dict[str, float]
    valence: float
    arousal: float
    confidence: float
    modalities: tuple[str, ...] = ()  # backbones that had evidence in this scene

    @property
    def dominant(self) -> str:
        return max(EKMAN, key=lambda k: self.probs.get(k, 0.0))
