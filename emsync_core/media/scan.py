"""One streaming pass over a video: every frame feeds the cut detector (downscaled); a few frames per
window and the window's audio go to the backbones. Nothing proportional to the video's length is
held in memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from time import process_time as now
from typing import BinaryIO, Callable, Iterator

import av
import cv2
import numpy as np
from av.video.reformatter import VideoReformatter

from emsync_core.features.base import Window
from emsync_core.media.audio_stream import AudioWindower, decode_mono
from emsync_core.media.cuts import CutSettings, StreamingCutDetector, mean_value
from emsync_core.media.errors import MediaError
from emsync_core.media.probe import VideoProbe, open_container, probe_container
from emsync_core.media.stage_clock import StageClock

Opener = Callable[[], "str | BinaryIO"]
# swscale's area averaging: 4-5x faster than its default bicubic for large downscales, and alias-free.
# Each output size has its own long-lived VideoReformatter: `VideoFrame.reformat` builds a fresh
# swscale context (filter tables included) on every call, which cost more than decoding the frame.
SCALER = "AREA"
# One decoder thread: a worker runs per core, so decoder threads would only compete with the other
# workers, and each frame thread holds its own reference frames (memory that grows with the core count).
DECODE_THREADS = 1


@dataclass(frozen=True)
class ScanSettings:
    # 2 s windows: MobileNet on one frame per 2 s keeps extraction near the decode floor on a CPU,
    # and every thinned scene (>= 4 s) still gets at least two windows.
    window_s: float = 2.0
    frames_per_window: int = 1
    feature_size: int = 480  # long side of the frames handed to backbones
    detect_width: int = 256  # width of the frames the cut detector sees
    audio_sample_rate: int = 16000
    cuts: CutSettings = field(default_factory=CutSettings)


@dataclass
class ScanReport:
    """What the pass learned about the whole video (complete once `windows()` is exhausted)."""

    probe: VideoProbe
    duration_s: float = 0.0
    n_frames: int = 0
    cuts_raw_s: list[float] = field(default_factory=list)
    cuts_s: list[float] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    damage: str | None = None  # set when the file is cut off or broken part-way: processed up to the damage


def _even(x: float) -> int:
    return max(2, int(round(x / 2)) * 2)


class VideoScan:
    """`windows()` yields Window records in time order; `report` is filled in as it goes."""

    def __init__(self, opener: Opener, settings: ScanSettings = ScanSettings()) -> None:
        self._opener = opener
        self.settings = settings
        self.rotation = 0
        self._detector: StreamingCutDetector | None = None
        self.clock = StageClock()
        self._container = open_container(opener())
        try:
            self.report = ScanReport(probe=probe_container(self._container))
        except MediaError:
            self._container.close()
            raise

    def close(self) -> None:
        self._container.close()

    def thinned_cuts_so_far(self) -> list[float]:
        """Thinned cuts known now; complete up to the last window yielded (the detector lag is waited for)."""
        return self._detector.thinned_cuts_s if self._detector else []

    def _audio(self) -> AudioWindower | None:
        if not self.report.probe.has_audio:
            return None
        return AudioWindower(decode_mono(self._opener(), self.settings.audio_sample_rate), self.settings.audio_sample_rate)

    def windows(self) -> Iterator[Window]:
        s, probe = self.settings, self.report.probe
        fps = probe.fps if probe.fps > 0 else 25.0
        stream = self._container.streams.video[0]
        stream.thread_count = DECODE_THREADS
        scale = s.detect_width / probe.width
        detect_size = (_even(probe.width * scale), _even(probe.height * scale))
        feat_scale = min(1.0, s.feature_size / max(probe.width, probe.height))
        feat_size = (_even(probe.width * feat_scale), _even(probe.height * feat_scale))
        detector = self._detector = StreamingCutDetector(fps, s.cuts)
        audio = self._audio()
        step = s.window_s / s.frames_per_window
        clock = self.clock
        detect_scaler, feature_scaler = VideoReformatter(), VideoReformatter()

        pending: list[Window] = []  # windows whose end (+ detector lag) has not been passed yet
        previous_gray: np.ndarray | None = None
        motion_sum, motion_n = 0.0, 0
        last_t = -1.0
        n = 0

        def open_window(index: int) -> Window:
            return Window(index=index, start_s=index * s.window_s, end_s=(index + 1) * s.window_s, sample_rate=s.audio_sample_rate)

        def finalize(window: Window, end_s: float) -> Window:
            nonlocal motion_sum, motion_n
            window.end_s = min(window.end_s, end_s)
            window.cuts_s = [c for c in detector.raw_cuts_s if window.start_s <= c < window.end_s]
            window.motion = motion_sum / motion_n if motion_n else 0.0
            motion_sum, motion_n = 0.0, 0
            started = now()
            window.audio = audio.window(window.start_s, window.end_s) if audio else None
            clock.add("audio decode", started)
            return window

        def take(window: Window, frame: av.VideoFrame, t: float) -> None:
            started = now()
            rgb = feature_scaler.reformat(frame, width=feat_size[0], height=feat_size[1], format="rgb24", interpolation=SCALER).to_ndarray()
            self.rotation = int(frame.rotation or 0) % 360
            if self.rotation:
                rgb = np.ascontiguousarray(np.rot90(rgb, k=self.rotation // 90))
            window.frames.append(rgb)
            window.frame_times_s.append(t)
            clock.add("feature frames", started)

        def fill_short_window(window: Window) -> None:
            """A window that ended before its sample time (a short tail, a low frame rate) gets its last frame."""
            if not window.frames and last_frame is not None and last_frame[1] >= window.start_s:
                take(window, *last_frame)

        last_frame: tuple[av.VideoFrame, float] | None = None
        current = open_window(0)
        next_sample = step / 2
        frames = self._container.decode(stream)
        try:
            while True:
                started = now()
                frame = next(frames, None)
                if frame is None:
                    break
                started = clock.add("decode", started)
                t = float(frame.time) if frame.time is not None else last_t + 1.0 / fps
                if t <= last_t:  # broken or repeated timestamps: keep time moving forward
                    t = last_t + 1.0 / fps
                last_t = t
                n += 1
                small = detect_scaler.reformat(frame, width=detect_size[0], height=detect_size[1], format="bgr24", interpolation=SCALER).to_ndarray()
                started = clock.add("scale and convert", started)
                detector.push(t, small)
                started = clock.add("cut detection", started)
                gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
                if previous_gray is not None:
                    motion_sum += mean_value(cv2.absdiff(gray, previous_gray)) / 255.0
                    motion_n += 1
                previous_gray = gray
                clock.add("motion", started)
                while t >= current.end_s:
                    fill_short_window(current)
                    pending.append(current)
                    current = open_window(current.index + 1)
                    next_sample = current.start_s + step / 2
                if t >= next_sample and len(current.frames) < s.frames_per_window:
                    take(current, frame, t)
                    next_sample += step
                last_frame = (frame, t)
                while pending and t >= pending[0].end_s + detector.lag_s:
                    yield finalize(pending.pop(0), float("inf"))
        except av.error.FFmpegError as exc:
            if n == 0:
                raise MediaError("decode", f"no decodable video frames: {exc}") from exc
            self.report.damage = f"decoding stopped at {last_t:.2f} s after {n} frames: {exc}"
            self.report.warnings.append(self.report.damage)
        if n == 0:
            raise MediaError("decode", "no decodable video frames")

        duration = last_t + 1.0 / fps
        self.report.duration_s = duration
        self.report.n_frames = n
        if probe.duration_s and duration < 0.9 * probe.duration_s - 0.5:
            cut = f"cut off: decoded {duration:.2f} s of the {probe.duration_s:.2f} s the container states"
            self.report.damage = cut if self.report.damage is None else f"{cut} ({self.report.damage})"
            self.report.warnings.append(cut)
        # The last window reaches the end of the last frame, even past its nominal end: a tail shorter
        # than a frame interval holds no frame start to open a window of its own.
        tail = [w for w in [*pending, current] if w.start_s < duration]
        for window in tail:
            if window is tail[-1]:
                window.end_s = duration
            fill_short_window(window)
            yield finalize(window, duration)
        self.report.cuts_raw_s = list(detector.raw_cuts_s)
        self.report.cuts_s = detector.thinned_cuts_s
        if audio is not None and audio.error:
            self.report.warnings.append(audio.error)
