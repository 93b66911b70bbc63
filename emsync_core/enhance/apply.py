"""Run the model over audio of any length in fixed-size windows, so memory does not grow with length.

Each window carries CONTEXT samples of audio on both sides that are thrown away after the model, more
than the network's receptive field, so the joined output equals one pass over the whole signal.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from emsync_core.enhance.checkpoint import DEFAULT_MODEL, load_model
from emsync_core.enhance.detect import BandLimit, SpectrumAccumulator
from emsync_core.enhance.filters import SAMPLE_RATE
from emsync_core.enhance.model import BandwidthUNet

CONTEXT = 2048  # > the U-Net's receptive field on either side
WINDOW = 32768  # samples per model call and channel (~0.74 s)
HOP = WINDOW - 2 * CONTEXT


@functools.lru_cache(maxsize=4)
def cached_model(path: str = str(DEFAULT_MODEL)) -> BandwidthUNet:
    return load_model(path)[0]


class StreamEnhancer:
    """Feed (samples, channels) blocks, get enhanced blocks back; `finish` flushes the tail.

    Channels in `passthrough` (a 5.1 file's LFE) are delayed with the others but not changed.
    """

    def __init__(self, model: BandwidthUNet, channels: int, passthrough: Iterable[int] = ()) -> None:
        if WINDOW % model.config.hop or CONTEXT % model.config.hop:
            raise ValueError("window and context must be multiples of the model's hop")
        self.model, self.channels = model, channels
        self.passthrough = sorted(set(passthrough))
        self.pending = np.zeros((CONTEXT, channels), dtype=np.float32)  # silence before the start

    def _run(self, window: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            out = self.model(torch.from_numpy(np.ascontiguousarray(window.T))).numpy().T
        out = out[CONTEXT:len(window) - CONTEXT].copy()
        out[:, self.passthrough] = window[CONTEXT:len(window) - CONTEXT][:, self.passthrough]
        return out

    def feed(self, block: np.ndarray) -> np.ndarray:
        self.pending = np.concatenate([self.pending, block.astype(np.float32, copy=False)])
        outs = []
        while len(self.pending) >= WINDOW:
            outs.append(self._run(self.pending[:WINDOW]))
            self.pending = self.pending[HOP:]
        return np.concatenate(outs) if outs else np.zeros((0, self.channels), dtype=np.float32)

    def finish(self) -> np.ndarray:
        remaining = len(self.pending) - CONTEXT
        if remaining <= 0:
            return np.zeros((0, self.channels), dtype=np.float32)
        hop = self.model.config.hop
        padded = -(-remaining // hop) * hop + 2 * CONTEXT
        window = np.zeros((padded, self.channels), dtype=np.float32)
        window[:len(self.pending)] = self.pending
        self.pending = self.pending[:CONTEXT]
        return self._run(window)[:remaining]


def enhance_array(model: BandwidthUNet, audio: np.ndarray, passthrough: Iterable[int] = ()) -> np.ndarray:
    """Enhance a (samples,) or (samples, channels) float array at SAMPLE_RATE; same shape back."""
    mono = audio.ndim == 1
    frames = audio[:, None] if mono else audio
    stream = StreamEnhancer(model, frames.shape[1], passthrough)
    parts = [stream.feed(frames[i:i + HOP]) for i in range(0, len(frames), HOP)]
    out = np.concatenate(parts + [stream.finish()])
    return out[:, 0] if mono else out


def detect_array(audio: np.ndarray, skip: Iterable[int] = ()) -> BandLimit:
    """The band limit of the mixdown of all channels but `skip`."""
    frames = audio[:, None] if audio.ndim == 1 else audio
    keep = [c for c in range(frames.shape[1]) if c not in set(skip)] or [0]
    acc = SpectrumAccumulator(SAMPLE_RATE)
    acc.add(frames[:, keep].mean(axis=1))
    return acc.result()


@dataclass(frozen=True)
class EnhanceOutcome:
    """What the opt-in score stage did with a video's original audio; recorded with the soundtrack."""

    band_limit: BandLimit
    enhanced: bool
    model: str

    def to_dict(self) -> dict:
        return {**self.band_limit.to_dict(), "enhanced": self.enhanced, "model": self.model}


def enhance_if_band_limited(audio: np.ndarray, rate: int = SAMPLE_RATE,
                            model_path: Path | str = DEFAULT_MODEL) -> tuple[np.ndarray, EnhanceOutcome]:
    """Enhance only when the spectrum shows a band limit the model restores; otherwise the audio as it was.
    Audio at another rate is judged and enhanced at the model's rate and brought back to its own."""
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(rate, SAMPLE_RATE)
    at_model = audio if rate == SAMPLE_RATE else resample_poly(audio, SAMPLE_RATE // g, rate // g, axis=0)
    found = detect_array(at_model)
    if not found.restorable:
        return audio, EnhanceOutcome(found, False, Path(model_path).name)
    out = enhance_array(cached_model(str(model_path)), at_model)
    if rate != SAMPLE_RATE:
        out = resample_poly(out, rate // g, SAMPLE_RATE // g, axis=0)[: len(audio)]
    return np.clip(out, -1.0, 1.0).astype(audio.dtype), EnhanceOutcome(found, True, Path(model_path).name)
