"""Probing, streaming decode and scene-cut detection of video files."""
