"""The backbone protocol: how a frozen pretrained model (or a descriptor) turns windows into vectors.

A backbone is loaded once per worker (`load`), then `start` gives a per-video session that is fed the
video's windows in order and returns one vector (or None: a recorded absence, e.g. no face, no speech)
per window. Sessions may hold results back (speech needs context) but must return every window by
`finish`, and must keep bounded state so memory does not grow with video length.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np


@dataclass(frozen=True)
class Resources:
    """What one loaded instance needs; Beam/Ray adapters turn this into resource requests."""

    cpus: float = 1.0
    gpus: float = 0.0
    memory_mb: int = 256


@dataclass(frozen=True)
class VideoInfo:
    """What a backbone may know about the whole video before its windows arrive."""

    video_id: str
    uri: str
    duration_s: float
    fps: float
    has_audio: bool
    audio_sample_rate: int


@dataclass
class Window:
    """One time window [start_s, end_s) of a video with the inputs backbones read.

    frames: RGB uint8 arrays (H, W, 3), sampled within the window, long side <= the decoder's
    `feature_size`; motion: mean absolute luma change per frame pair over the window (0-1, from
    the downscaled detection frames); audio: mono float32 in [-1, 1] at `sample_rate`, or None
    when the video has no audio; cuts_s: raw scene cuts inside the window; crops: the frames' 224 px
    centre crops, made by the first frame CNN that needs them and reused by the others.
    """

    index: int
    start_s: float
    end_s: float
    frames: list[np.ndarray] = field(default_factory=list)
    frame_times_s: list[float] = field(default_factory=list)
    motion: float = 0.0
    audio: np.ndarray | None = None
    sample_rate: int = 16000
    cuts_s: list[float] = field(default_factory=list)
    crops: np.ndarray | None = None

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


Vector = np.ndarray | None


class BackboneSession(ABC):
    """Per-video state of a backbone."""

    @abstractmethod
    def push(self, window: Window) -> list[tuple[int, Vector]]:
        """Feed the next window; return the (window index, vector) pairs that are ready."""

    def finish(self) -> list[tuple[int, Vector]]:
        """Return whatever is still held back at the end of the video."""
        return []

    def annotations(self) -> dict | None:
        """JSON-ready per-video data worth keeping beside the vectors (a transcript), or None."""
        return None


class Backbone(ABC):
    """A frozen feature extractor. Subclasses set the class attributes and register themselves."""

    name: ClassVar[str]
    version: ClassVar[str]
    dim: ClassVar[int]
    inputs: ClassVar[frozenset[str]]  # subset of {"frames", "audio", "motion", "cuts"}
    resources: ClassVar[Resources] = Resources()
    description: ClassVar[str] = ""

    def load(self) -> None:
        """Load weights; called once per worker before the first video."""

    @abstractmethod
    def start(self, video: VideoInfo) -> BackboneSession:
        """Begin one video."""

    @classmethod
    def spec(cls) -> dict[str, object]:
        """The facts written into Parquet metadata and run records."""
        return {
            "name": cls.name,
            "version": cls.version,
            "dim": cls.dim,
            "inputs": sorted(cls.inputs),
            "resources": {"cpus": cls.resources.cpus, "gpus": cls.resources.gpus, "memory_mb": cls.resources.memory_mb},
        }


class WindowwiseBackbone(Backbone):
    """A backbone whose vector depends on one window alone: implement `embed`."""

    @abstractmethod
    def embed(self, window: Window, video: VideoInfo) -> Vector:
        """The window's vector, or None for a recorded absence."""

    def start(self, video: VideoInfo) -> BackboneSession:
        return _WindowwiseSession(self, video)


class _WindowwiseSession(BackboneSession):
    def __init__(self, backbone: WindowwiseBackbone, video: VideoInfo) -> None:
        self._backbone = backbone
        self._video = video

    def push(self, window: Window) -> list[tuple[int, Vector]]:
        return [(window.index, self._backbone.embed(window, self._video))]
