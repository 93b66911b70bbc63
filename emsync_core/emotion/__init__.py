"""Fusion emotion classifier, Ekman <-> valence/arousal mapping, training, per-scene emotion.

The contract the Ray stage calls: `load_classifier().classify(features_table) -> list[SceneEmotion]`.
The classifier (torch) loads on first use, so the light parts (SceneEmotion, EKMAN) import cheaply.
"""

from emsync_core.emotion.scene import SceneEmotion

__all__ = ["EmotionClassifier", "SceneEmotion", "load_classifier"]


def __getattr__(name: str):
    if name in ("EmotionClassifier", "load_classifier"):
        from emsync_core.emotion import classifier

        return getattr(classifier, name)
    raise AttributeError(name)
