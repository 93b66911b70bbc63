"""Audio loudness and spectral descriptors per window (NULL when the video has no audio)."""

from __future__ import annotations

import numpy as np
import pyloudnorm

from emsync_core.features.base import Resources, Vector, VideoInfo, Window, WindowwiseBackbone
from emsync_core.features.registry import register

AUDIO_AFFECT_FIELDS = (
    "loudness_lufs",
    "rms_db",
    "spectral_centroid_hz",
    "spectral_rolloff_hz",
    "spectral_flatness",
    "zero_crossing_rate",
    "spectral_flux",
    "silence_share",
)
SILENCE_LUFS = -70.0
_FRAME = 1024


def _spectral(audio: np.ndarray, sample_rate: int) -> tuple[float, float, float, float, float]:
    """Mean centroid, 85 % rolloff, flatness, flux and share of silent frames over STFT frames."""
    n = len(audio) // _FRAME
    if n == 0:
        return 0.0, 0.0, 0.0, 0.0, 1.0
    frames = audio[: n * _FRAME].reshape(n, _FRAME) * np.hanning(_FRAME).astype(np.float32)
    mag = np.abs(np.fft.rfft(frames, axis=1)) + 1e-10
    freqs = np.fft.rfftfreq(_FRAME, 1.0 / sample_rate)
    power = mag.sum(axis=1)
    centroid = (mag * freqs).sum(axis=1) / power
    cumulative = np.cumsum(mag, axis=1)
    rolloff = freqs[np.argmax(cumulative >= 0.85 * cumulative[:, -1:], axis=1)]
    flatness = np.exp(np.log(mag).mean(axis=1)) / mag.mean(axis=1)
    flux = np.sqrt((np.diff(mag, axis=0) ** 2).sum(axis=1)).mean() if n > 1 else 0.0
    frame_rms = np.sqrt((frames**2).mean(axis=1))
    silent = float((frame_rms < 1e-3).mean())
    return float(centroid.mean()), float(rolloff.mean()), float(flatness.mean()), float(flux), silent


@register
class AudioAffectBackbone(WindowwiseBackbone):
    """EBU R128 loudness (pyloudnorm), RMS, spectral centroid/rolloff/flatness/flux, ZCR, silence share."""

    name = "audio_affect"
    version = "1"
    dim = len(AUDIO_AFFECT_FIELDS)
    inputs = frozenset({"audio"})
    resources = Resources(cpus=0.25, memory_mb=32)
    description = "loudness and spectral descriptors of the original audio"

    def embed(self, window: Window, video: VideoInfo) -> Vector:
        audio = window.audio
        if audio is None or len(audio) == 0:
            return None
        rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
        rms_db = 20 * np.log10(max(rms, 1e-7))
        # pyloudnorm's gating needs >= 400 ms; shorter tails get the RMS level instead.
        if len(audio) >= 0.4 * window.sample_rate and rms > 1e-6:
            loudness = pyloudnorm.Meter(window.sample_rate).integrated_loudness(audio.astype(np.float64))
            loudness = max(float(loudness), SILENCE_LUFS)
        else:
            loudness = max(rms_db, SILENCE_LUFS)
        zcr = float(np.mean(np.abs(np.diff(np.signbit(audio).astype(np.int8))))) if len(audio) > 1 else 0.0
        centroid, rolloff, flatness, flux, silent = _spectral(audio, window.sample_rate)
        return np.array([loudness, rms_db, centroid, rolloff, flatness, zcr, flux, silent], dtype=np.float32)
