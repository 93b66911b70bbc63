"""Music affect of the original audio: `vibenet` (ONNX, GPL-3) valence, energy and five more.

vibenet predicts Spotify-style audio features from a mel spectrogram of several seconds, so a session
gathers `context_s` of audio (bounded), predicts once, and gives every window of that chunk the same
vector. Where there is no music (near silence, or vibenet says spoken word without a music bed) the windows
are a recorded absence (None): a talk's "valence" is not a soundtrack's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from emsync_core.features.base import Backbone, BackboneSession, Resources, Vector, VideoInfo, Window
from emsync_core.features.registry import register
from emsync_core.features.speech import to_16k

VIBENET_LABELS = ("acousticness", "danceability", "energy", "instrumentalness", "liveness", "speechiness", "valence")
SILENCE_DBFS = -50.0
# Spotify's reading of its features: speechiness < 0.33 is music (sung or not); above it, only a
# clearly instrumental bed (instrumentalness >= 0.5) under the talk still counts as music.
MUSIC_SPEECHINESS = 0.33
MUSIC_INSTRUMENTALNESS = 0.5
MIN_CHUNK_S = 2.0


def music_vector(model, audio_16k: np.ndarray) -> Vector:
    """vibenet's 7 outputs (VIBENET_LABELS order) for a 16 kHz chunk, or None where it is not music."""
    rms = float(np.sqrt(np.mean(np.square(audio_16k, dtype=np.float64)))) if audio_16k.size else 0.0
    if rms <= 10 ** (SILENCE_DBFS / 20):
        return None
    result = model.predict(audio_16k, sr=16000)[0].to_dict()
    vector = np.array([result[k] for k in VIBENET_LABELS], dtype=np.float32)
    is_music = result["speechiness"] < MUSIC_SPEECHINESS or result["instrumentalness"] >= MUSIC_INSTRUMENTALNESS
    return vector if is_music else None


def _hz_to_slaney_mel(hz: np.ndarray) -> np.ndarray:
    linear = hz / (200.0 / 3)
    log = 15.0 + np.log(np.maximum(hz, 1e-12) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log, linear)


def _slaney_mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return np.where(mel >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0)), mel * (200.0 / 3))


@lru_cache(maxsize=8)
def slaney_mel_filters(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """librosa.filters.mel's default (Slaney scale and area norm), float32, in numpy alone: librosa's
    own import pulls in numba, ~65 MB per worker for one small matrix vibenet builds once."""
    fft_hz = np.fft.rfftfreq(n_fft, 1.0 / sr)
    mel_hz = _slaney_mel_to_hz(np.linspace(*_hz_to_slaney_mel(np.array([fmin, fmax], dtype=np.float64)), n_mels + 2))
    ramps = np.subtract.outer(mel_hz, fft_hz)
    widths = np.diff(mel_hz)
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper)) * (2.0 / (mel_hz[2:] - mel_hz[:-2]))[:, None]
    return weights.astype(np.float32)


def load_single_threaded_vibenet():
    """vibenet's EfficientNet on one ONNX Runtime thread.

    vibenet builds single-thread session options but does not pass them on, so its session spins a
    thread per core: twice the CPU per prediction for the same outputs. The model is built here with
    the options it meant to use, and its mel filter bank comes from `slaney_mel_filters` (the same
    matrix, without librosa's numba import). ORT's memory arena is kept: a chunk is at most about
    `context_s` long, so the arena stops at one prediction's buffers (~30 MB), while without it each
    prediction's buffers, above the worker's pinned mmap threshold, were mapped and faulted in anew
    (~3,700 page faults, +20 % CPU per prediction).
    """
    from importlib import resources

    import onnxruntime as ort
    import vibenet.core
    from vibenet.backends import EfficientNetModel

    vibenet.core._cached_mel = slaney_mel_filters

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    model = EfficientNetModel.__new__(EfficientNetModel)
    with resources.as_file(resources.files("vibenet.artifacts") / "efficientnet_model.onnx") as path:
        model.ort_sess = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return model


@dataclass
class MusicAffectSession(BackboneSession):
    model: object
    context_s: float
    held: list[int] = field(default_factory=list)
    audio: list[np.ndarray] = field(default_factory=list)
    held_s: float = 0.0

    def push(self, window: Window) -> list[tuple[int, Vector]]:
        if window.audio is None or window.audio.size == 0:
            return self._flush() + [(window.index, None)]
        self.held.append(window.index)
        self.audio.append(to_16k(window.audio, window.sample_rate))
        self.held_s += window.duration_s
        return self._flush() if self.held_s >= self.context_s else []

    def finish(self) -> list[tuple[int, Vector]]:
        return self._flush()

    def _flush(self) -> list[tuple[int, Vector]]:
        if not self.held:
            return []
        audio = np.concatenate(self.audio)
        if audio.size < MIN_CHUNK_S * 16000:  # too short for vibenet's receptive field: loop it
            audio = np.resize(audio, int(MIN_CHUNK_S * 16000)) if audio.size else audio
        vector = music_vector(self.model, audio)
        out = [(i, vector) for i in self.held]
        self.held, self.audio, self.held_s = [], [], 0.0
        return out


@register
class MusicAffectBackbone(Backbone):
    """vibenet on the original soundtrack, one prediction per `context_s` chunk."""

    name = "music_affect"
    version = "vibenet-0.1.0-effnet"
    dim = len(VIBENET_LABELS)
    inputs = frozenset({"audio"})
    resources = Resources(cpus=1.0, memory_mb=200)
    description = "vibenet 0.1.0 (GPL-3): acousticness, danceability, energy, instrumentalness, liveness, speechiness, valence"

    def __init__(self, context_s: float = 10.0) -> None:
        self.context_s = context_s
        self._model = None

    def load(self) -> None:
        if self._model is None:
            self._model = load_single_threaded_vibenet()

    def start(self, video: VideoInfo) -> MusicAffectSession:
        self.load()
        return MusicAffectSession(self._model, self.context_s)
