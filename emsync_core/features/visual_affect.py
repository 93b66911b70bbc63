"""Low-level visual affect descriptors per window: cheap, interpretable, known to track arousal/valence
(brightness and saturation with valence; motion, cut rate and contrast with arousal)."""

from __future__ import annotations

import cv2
import numpy as np

from emsync_core.features.base import Resources, Vector, VideoInfo, Window, WindowwiseBackbone
from emsync_core.features.registry import register

VISUAL_AFFECT_FIELDS = ("brightness", "saturation", "colourfulness", "contrast", "motion_energy", "cut_density")


def _colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Suesstrunk (2003) colourfulness metric, scaled to about 0-1."""
    r, g, b = (rgb[..., i].astype(np.float32) for i in range(3))
    rg = r - g
    yb = 0.5 * (r + g) - b
    std = np.hypot(rg.std(), yb.std())
    mean = np.hypot(rg.mean(), yb.mean())
    return float((std + 0.3 * mean) / 255.0)


def frame_descriptors(rgb: np.ndarray) -> tuple[float, float, float, float]:
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    return (
        float(hsv[..., 2].mean() / 255.0),
        float(hsv[..., 1].mean() / 255.0),
        _colourfulness(rgb),
        float(gray.std()),
    )


@register
class VisualAffectBackbone(WindowwiseBackbone):
    """brightness, saturation, colourfulness, contrast (frame means), motion energy, cuts per second."""

    name = "visual_affect"
    version = "1"
    dim = len(VISUAL_AFFECT_FIELDS)
    inputs = frozenset({"frames", "motion", "cuts"})
    resources = Resources(cpus=0.25, memory_mb=32)
    description = "brightness, saturation, colourfulness, contrast, motion energy, cut density"

    def embed(self, window: Window, video: VideoInfo) -> Vector:
        if not window.frames:
            return None
        per_frame = np.array([frame_descriptors(f) for f in window.frames], dtype=np.float32).mean(axis=0)
        cut_density = len(window.cuts_s) / max(window.duration_s, 1e-3)
        return np.concatenate([per_frame, np.array([window.motion, cut_density], dtype=np.float32)])
