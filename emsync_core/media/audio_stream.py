"""Streaming audio: decode, downmix and resample to mono float32 chunks, and cut them into windows."""

from __future__ import annotations

from collections import deque
from typing import BinaryIO, Iterator

import av
import numpy as np

# Resampled samples come out in chunks of this many: one chunk per decoded frame (~1,000 samples) spent
# more on the resampler's filter-graph round trip and the array copy than on the resampling itself.
# The samples are the same to the bit however they are chunked.
RESAMPLED_CHUNK = 4096


def decode_mono(source: str | BinaryIO, sample_rate: int) -> Iterator[tuple[float, np.ndarray]]:
    """(start time in s, mono float32 samples) chunks of the first audio stream; the start is the first
    decoded frame's time on the first chunk, -1 on the others."""
    container = av.open(source, mode="r", metadata_errors="ignore")
    try:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate, frame_size=RESAMPLED_CHUNK)
        start: float | None = None
        for frame in container.decode(stream):
            if start is None:
                start = float(frame.time) if frame.time is not None else -1.0
            for out in resampler.resample(frame):
                yield start, out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                start = -1.0
        for out in resampler.resample(None):
            yield -1.0, out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
    finally:
        container.close()


class AudioWindower:
    """Hands out the samples of [start_s, end_s) windows in order, holding only what is not yet used.

    A decode error ends the audio: later windows get None and `error` says what happened, so a
    video with a broken audio track still gets its visual features.
    """

    def __init__(self, chunks: Iterator[tuple[float, np.ndarray]], sample_rate: int) -> None:
        self._chunks = chunks
        self._rate = sample_rate
        self._buffer: deque[np.ndarray] = deque()
        self._buffered = 0
        self._consumed = 0  # samples before the buffer's first one
        self._started = False
        self._exhausted = False
        self.error: str | None = None
        self.failed_at_s: float | None = None

    def _pull(self) -> bool:
        try:
            start, samples = next(self._chunks)
        except StopIteration:
            self._exhausted = True
            return False
        except (av.error.FFmpegError, ValueError) as exc:
            self._exhausted = True
            self.failed_at_s = (self._consumed + self._buffered) / self._rate
            self.error = f"audio decode failed at {self.failed_at_s:.2f} s: {exc}"
            return False
        if not self._started:
            self._started = True
            if start > 0:  # audio that starts late: silence until its first sample
                self._buffer.append(np.zeros(int(round(start * self._rate)), dtype=np.float32))
                self._buffered += len(self._buffer[-1])
        self._buffer.append(samples)
        self._buffered += len(samples)
        return True

    def window(self, start_s: float, end_s: float) -> np.ndarray | None:
        first = int(round(start_s * self._rate))
        last = int(round(end_s * self._rate))
        while self._consumed + self._buffered < last and not self._exhausted:
            self._pull()
        if self.error is not None and self.failed_at_s is not None and start_s >= self.failed_at_s:
            return None
        self._drop_before(first)
        data = np.concatenate(list(self._buffer)) if self._buffer else np.zeros(0, dtype=np.float32)
        piece = data[max(0, first - self._consumed) : max(0, last - self._consumed)]
        if len(piece) == 0:
            return None
        return piece

    def _drop_before(self, sample: int) -> None:
        while self._buffer and self._consumed + len(self._buffer[0]) <= sample:
            self._consumed += len(self._buffer[0])
            self._buffered -= len(self._buffer[0])
            self._buffer.popleft()
