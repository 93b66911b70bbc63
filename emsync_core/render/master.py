"""Mastering: a pedalboard chain, loudness normalised to a stated LUFS target, trimmed with a fade-out.

Default target -16 LUFS integrated (the common streaming level, e.g. Apple Music/YouTube region);
use -23 for EBU R128 broadcast. A final look-ahead limiter keeps the true peak (ITU-R BS.1770: the peak
of the signal 4x oversampled, i.e. between the samples too) under the ceiling: -1 dBTP, or -2 dBTP at
-23 LUFS as EBU R128 deliveries ask. The measured loudness can end slightly under the target on very
dynamic music; the measured value is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyloudnorm
from pedalboard import Compressor, HighpassFilter, LowShelfFilter, Pedalboard, PeakFilter, Reverb
from scipy.ndimage import convolve1d, minimum_filter1d, uniform_filter1d
from scipy.signal import firwin

DEFAULT_LUFS = -16.0
BROADCAST_LUFS = -23.0
FADE_OUT_S = 3.0
OVERSAMPLE = 4  # BS.1770-4 true peak at 48 kHz


def default_ceiling_dbtp(target_lufs: float) -> float:
    """-1 dBTP for streaming levels, -2 dBTP at broadcast level (EBU R128 deliveries)."""
    return -2.0 if target_lufs <= BROADCAST_LUFS else -1.0


@dataclass(frozen=True)
class MasterSettings:
    target_lufs: float = DEFAULT_LUFS
    ceiling_db: float | None = None  # true-peak ceiling in dBTP; None: default_ceiling_dbtp(target_lufs)
    fade_out_s: float = FADE_OUT_S
    reverb: float = 0.12

    @property
    def ceiling_dbtp(self) -> float:
        return default_ceiling_dbtp(self.target_lufs) if self.ceiling_db is None else self.ceiling_db


def _chain(settings: MasterSettings) -> Pedalboard:
    return Pedalboard([
        HighpassFilter(cutoff_frequency_hz=35.0),
        LowShelfFilter(cutoff_frequency_hz=120.0, gain_db=1.5),
        PeakFilter(cutoff_frequency_hz=3000.0, gain_db=1.0, q=0.8),
        Compressor(threshold_db=-20.0, ratio=2.5, attack_ms=15.0, release_ms=200.0),
        Reverb(room_size=0.35, wet_level=settings.reverb, dry_level=1.0 - settings.reverb / 2),
    ])


def loudness(audio: np.ndarray, sample_rate: int) -> float | None:
    """Integrated loudness (ITU-R BS.1770) in LUFS, None for silence or clips under 0.4 s."""
    if len(audio) < int(0.4 * sample_rate) or not np.any(audio):
        return None
    value = pyloudnorm.Meter(sample_rate).integrated_loudness(audio)
    return None if not np.isfinite(value) else float(value)


def fit_length(audio: np.ndarray, sample_rate: int, duration_s: float, fade_out_s: float) -> np.ndarray:
    """Trim or pad to exactly duration_s, with a linear fade over the last fade_out_s seconds."""
    n = int(round(duration_s * sample_rate))
    audio = audio[:n] if len(audio) >= n else np.pad(audio, ((0, n - len(audio)), (0, 0)))
    fade = min(int(fade_out_s * sample_rate), n)
    if fade:
        audio = audio.copy()
        audio[n - fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
    return audio


# a 48-tap interpolation low-pass (12 taps per phase, as BS.1770's), split into its 4 polyphase branches
_PHASES = (OVERSAMPLE * firwin(48, 1.0 / OVERSAMPLE, window=("kaiser", 5.0))).astype(np.float32).reshape(-1, OVERSAMPLE).T


def _true_peak_envelope(audio: np.ndarray) -> np.ndarray:
    """Per input sample, the largest magnitude of the 4x oversampled signal there (all channels): each
    polyphase branch gives one of the 4 interpolated points between two samples."""
    channels = np.ascontiguousarray(audio.T, dtype=np.float32)  # (channels, n): reductions run along rows
    envelope = np.zeros(len(audio), dtype=np.float32)
    for phase in _PHASES:
        for interpolated in np.abs(convolve1d(channels, phase[::-1], axis=1, mode="constant")):
            np.maximum(envelope, interpolated, out=envelope)
    return envelope


def true_peak_db(audio: np.ndarray) -> float:
    """True peak in dBTP (4x oversampled, as BS.1770 and ffmpeg's ebur128 meter measure it)."""
    peak = float(_true_peak_envelope(audio).max(initial=0.0)) if len(audio) else 0.0
    return 20 * np.log10(max(peak, 1e-12))


def limit(audio: np.ndarray, sample_rate: int, ceiling_dbtp: float, lookahead_ms: float = 5.0) -> np.ndarray:
    """Look-ahead true-peak limiter: the gain that keeps the oversampled peaks under the ceiling, spread
    smoothly; the oversampling filter rings across gain changes, so it checks and tightens until it holds."""
    width = max(1, int(lookahead_ms * sample_rate / 1000))
    out, target = audio.astype(np.float32), 10 ** (ceiling_dbtp / 20)
    for _ in range(4):
        peak = _true_peak_envelope(out)
        if peak.max(initial=0.0) <= 10 ** (ceiling_dbtp / 20):
            return out
        need = np.minimum(1.0, target / np.maximum(peak, 1e-12))
        gain = uniform_filter1d(minimum_filter1d(need, size=2 * width + 1), size=width)
        out = (out * np.minimum(gain, need)[:, None]).astype(np.float32)
        target *= 0.995  # a little headroom for the next pass
    excess = 10 ** ((true_peak_db(out) - ceiling_dbtp) / 20)
    return (out / np.float32(max(1.0, excess * 1.001))).astype(np.float32)


def master(audio: np.ndarray, sample_rate: int, duration_s: float, settings: MasterSettings = MasterSettings()) -> tuple[np.ndarray, float | None]:
    """Chain, fit to the video with the fade, loudness-normalise, limit; returns the audio and its measured LUFS."""
    # pedalboard takes (channels, samples)
    processed = _chain(settings)(np.ascontiguousarray(audio.T, dtype=np.float32), sample_rate).T
    processed = fit_length(processed, sample_rate, duration_s, settings.fade_out_s)
    measured = loudness(processed, sample_rate)
    if measured is not None:
        processed = processed * np.float32(10 ** ((settings.target_lufs - measured) / 20))
    processed = limit(processed, sample_rate, settings.ceiling_dbtp)
    return processed, loudness(processed, sample_rate)
