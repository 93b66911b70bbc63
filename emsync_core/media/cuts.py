"""Scene-cut detection on a stream of downscaled frames (PySceneDetect's AdaptiveDetector), and the
method's greedy thinning so that kept cuts are at least `min_gap_s` apart."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np
from scenedetect.detectors import ContentDetector


@dataclass(frozen=True)
class CutSettings:
    adaptive_threshold: float = 3.0
    min_content_val: float = 15.0
    min_scene_len_s: float = 0.5
    window_width: int = 2
    min_gap_s: float = 4.0
    # A detection at the start of or inside a brightness ramp is a fade, not a cut: every frame-to-frame
    # change of mean luma (0-255) from the frame before it on has the same sign and at least this size.
    fade_step_luma: float = 1.0


def mean_value(image: np.ndarray) -> float:
    """`image.mean()` to the bit (an exact integer sum, one division), ~20x cheaper per detection frame."""
    return sum(cv2.sumElems(image)) / image.size


# PySceneDetect's ContentDetector weights (hue, saturation, luma, edges): with no weight on edges, the
# frame score is the weighted mean of the HSV planes' mean absolute change.
CONTENT_WEIGHTS = tuple(ContentDetector.DEFAULT_COMPONENT_WEIGHTS)


class AdaptiveContentDetector:
    """PySceneDetect's AdaptiveDetector (default weights), decision for decision, on float seconds.

    The library's per-frame bookkeeping (a FrameTimecode per frame, rational time arithmetic, a flash
    filter whose result the adaptive detector ignores, four int32 copies per plane distance) cost more
    than the colour conversion and the distances themselves. Here the three plane distances come from
    one absolute difference and one integer sum of the HSV frames: integer sums are exact, so every
    score and ratio is the library's to the bit (a test feeds both the same frames)."""

    def __init__(self, settings: CutSettings) -> None:
        self._settings = settings
        self._previous_hsv: np.ndarray | None = None
        self._scores: deque[tuple[float, float]] = deque(maxlen=2 * settings.window_width + 1)
        self._last_cut_s: float | None = None

    def _score(self, hsv: np.ndarray) -> float:
        if self._previous_hsv is None:
            return 0.0
        pixels = float(hsv.shape[0] * hsv.shape[1])
        hue, sat, lum, _ = cv2.sumElems(cv2.absdiff(hsv, self._previous_hsv))
        components = (hue / pixels, sat / pixels, lum / pixels, 0.0)
        return sum(c * w for c, w in zip(components, CONTENT_WEIGHTS)) / sum(abs(w) for w in CONTENT_WEIGHTS)

    def push(self, time_s: float, frame_bgr: np.ndarray) -> float | None:
        """The time of the cut this frame confirms (`window_width` frames back), else None."""
        hsv = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2HSV)
        score = self._score(hsv)
        self._previous_hsv = hsv
        if self._last_cut_s is None:
            self._last_cut_s = time_s
        self._scores.append((time_s, score))
        width = self._settings.window_width
        if len(self._scores) < 2 * width + 1:
            return None
        target_s, target_score = self._scores[width]
        average = sum(score for i, (_, score) in enumerate(self._scores) if i != width) / (2.0 * width)
        ratio = 0.0
        if abs(average) >= 0.00001:
            ratio = min(target_score / average, 255.0)
        elif target_score >= self._settings.min_content_val:
            ratio = 255.0
        strong = ratio >= self._settings.adaptive_threshold and target_score >= self._settings.min_content_val
        if strong and max(0.0, target_s - self._last_cut_s) >= self._settings.min_scene_len_s:
            self._last_cut_s = target_s
            return target_s
        return None


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

    FADE_STEP_SPREAD = 3.0  # a ramp's steps are within this factor of each other

    fps: float
    settings: CutSettings = field(default_factory=CutSettings)
    raw_cuts_s: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._fps = self.fps if self.fps > 0 else 25.0
        self._detector = AdaptiveContentDetector(self.settings)
        self._recent_luma: deque[tuple[float, float]] = deque(maxlen=2 * self.settings.window_width + 3)

    @property
    def lag_s(self) -> float:
        """How long after a frame its cut decision is known."""
        return (self.settings.window_width + 1) / self._fps

    def _is_fade(self, cut_s: float) -> bool:
        """From the frame before the cut on, brightness moves the same way by similar steps every frame
        (a hard cut is one big step, then the new scene holds)."""
        lumas = [luma for t, luma in self._recent_luma if t >= self._previous_time(cut_s) - 1e-9]
        steps = np.abs(np.diff(lumas)) * np.sign(lumas[-1] - lumas[0]) if len(lumas) > 2 else np.zeros(0)
        if len(steps) < 2 or (steps < self.settings.fade_step_luma).any():
            return False
        return bool(steps.max() <= self.FADE_STEP_SPREAD * steps.min())

    def _previous_time(self, cut_s: float) -> float:
        before = [t for t, _ in self._recent_luma if t < cut_s - 1e-9]
        return before[-1] if before else cut_s

    def push(self, time_s: float, frame_bgr: np.ndarray) -> list[float]:
        self._recent_luma.append((time_s, mean_value(frame_bgr)))
        found = self._detector.push(float(time_s), frame_bgr)
        new = [found] if found is not None and found > 0 and not self._is_fade(found) else []
        self.raw_cuts_s.extend(new)
        return new

    @property
    def thinned_cuts_s(self) -> list[float]:
        return thin_cuts(self.raw_cuts_s, self.settings.min_gap_s)
