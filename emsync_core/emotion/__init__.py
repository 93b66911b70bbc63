"""Fusion emotion classifier, Ekman <-> valence/arousal mapping, training, per-scene emotion.

The contract the Ray stage calls: `load_classifier().classify(features_table) -> list[SceneEmotion]`.
"""

from emsync_core.emotion.classifier import EmotionClassifier, SceneEmotion, load_classifier

__all__ = ["EmotionClassifier", "SceneEmotion", "load_classifier"]
