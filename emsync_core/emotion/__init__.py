"""Fusion emotion classifier, Ekman <-> valence/arousal mapping, training, per-scene emotion."""
