"""Scene-cut detection on a stream of downscaled frames (PySceneDetect's AdaptiveDetector), and the
method's greedy thinning so that kept cuts are at least `min_gap_s` apart."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
from scenedetect import AdaptiveDetector, FrameTimecode


@dataclass(frozen=True)
class CutSettings:
    adaptive_threshold: float = 3.0
    min_content_val: float = 15.0
    min_scene_len_s: float = 0.5
    window_width: int = 2
    min_gap_s: float = 4.0
    # A detection inside a steady brightness ramp is a fade (in from or out to black), not a cut: every
    # frame-to-frame change of mean luma (0-255) around it has the same sign and at least this size.
    fade_step_luma: float = 1.0


def thin_cuts(cuts_s: list[float], min_gap_s: float) -> list[float]:
    """Greedy, causal: keep a cut when it is >= min_gap_s after the last kept cut (or the video start)."""
    kept: list[float] = []
    last = 0.0
    for cut in sorted(cuts_s):
        if cut - last >= min_gap_s:
            kept.append(cut)
            last = cut
    return kept


@dataclass
class StreamingCutDetector:
    """Feed frames in presentation order; cuts come out `window_width` frames late (the detector's
    look-ahead), as times of the first frame of each new scene. Fades are not cuts."""

    fps: float
    settings: CutSettings = field(default_factory=CutSettings)
    raw_cuts_s: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._fps = self.fps if self.fps > 0 else 25.0
        self._detector = AdaptiveDetector(
            adaptive_threshold=self.settings.adaptive_threshold,
            min_scene_len=float(self.settings.min_scene_len_s),
            window_width=self.settings.window_width,
            min_content_val=self.settings.min_content_val,
        )
        self._recent_luma: deque[tuple[float, float]] = deque(maxlen=2 * self.settings.window_width + 3)

    @property
    def lag_s(self) -> float:
        """How long after a frame its cut decision is known."""
        return (self.settings.window_width + 1) / self._fps

    def _inside_fade(self) -> bool:
        steps = np.diff([luma for _, luma in self._recent_luma])
        if len(steps) < self._recent_luma.maxlen - 1:
            return False
        step = self.settings.fade_step_luma
        return bool((steps >= step).all() or (steps <= -step).all())

    def push(self, time_s: float, frame_bgr: np.ndarray) -> list[float]:
        self._recent_luma.append((time_s, float(frame_bgr.mean())))
        found = self._detector.process_frame(FrameTimecode(float(time_s), self._fps), frame_bgr)
        new = [tc.seconds for tc in found if tc.seconds > 0 and not self._inside_fade()]
        self.raw_cuts_s.extend(new)
        return new

    @property
    def thinned_cuts_s(self) -> list[float]:
        return thin_cuts(self.raw_cuts_s, self.settings.min_gap_s)
