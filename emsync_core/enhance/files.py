"""Enhance audio files (or a video's audio) in a stream: decode with ffmpeg, run in windows, write with
soundfile. Two passes: the first measures the band limit, the second enhances; memory stays flat.

Two kinds of failure are kept apart: input the enhancer cannot use (EnhanceError, never retried) and a
fault of the machine - a read or write that failed, a permission, a full disk - which is retried with
backoff and, if it persists, raised as an EnvironmentFault that does not blame the file.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf

from emsync_core.enhance.apply import StreamEnhancer, cached_model
from emsync_core.enhance.checkpoint import DEFAULT_MODEL
from emsync_core.enhance.detect import MIN_SAMPLES, BandLimit, SpectrumAccumulator
from emsync_core.enhance.filters import SAMPLE_RATE
from emsync_core.store.faults import ENVIRONMENT_ERRNOS, EnvironmentFault, is_environment_fault, retrying

BLOCK = 1 << 16  # frames decoded per read
LFE_CHANNEL = 3  # ffmpeg's 5.1 order: FL FR FC LFE BL BR; the LFE is band-limited on purpose
MAX_CHANNELS = 8
OUTPUT_SUFFIXES = (".wav", ".flac", ".ogg")
FAULT_ATTEMPTS = 3  # tries of a file under storage / permission faults
FAULT_BACKOFF_S = 1.0


class EnhanceError(ValueError):
    """Input the enhancer cannot use; the message says why."""


@dataclass(frozen=True)
class FileOutcome:
    source: str
    target: str
    band_limit: BandLimit
    enhanced: bool
    channels: int
    source_rate: int
    seconds: float
    note: str

    def to_dict(self) -> dict:
        return {"source": self.source, "target": self.target, **self.band_limit.to_dict(), "enhanced": self.enhanced,
                "channels": self.channels, "source_rate": self.source_rate, "seconds": round(self.seconds, 3),
                "note": self.note}


def _tool_failure(path: str, complaint: str, blame: str) -> Exception:
    """The machine's OSError when ffmpeg's complaint names one (it prints the C library's own text for
    it: "Input/output error", "Permission denied"...), so it is retried; otherwise the input's error."""
    for code in sorted(ENVIRONMENT_ERRNOS):
        if os.strerror(code) in complaint:
            return OSError(code, os.strerror(code), path)
    return EnhanceError(f"{path}: {blame}")


def _audio_stream(path: str) -> dict:
    from emsync_core.render.ffmpeg import RenderError, probe

    try:
        mode = os.stat(path).st_mode  # any other OSError (a permission, a failing disk) is the machine's
    except FileNotFoundError:
        raise EnhanceError(f"{path}: no such file") from None
    if not stat.S_ISREG(mode):
        raise EnhanceError(f"{path}: not a file")
    try:
        streams = probe(path).get("streams", [])
    except RenderError as exc:
        raise _tool_failure(path, str(exc), "not a media file ffmpeg can read") from exc
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    if not audio:
        raise EnhanceError(f"{path}: has no audio stream")
    return audio[0]


def decode_blocks(path: str, channels: int) -> Iterator[np.ndarray]:
    """(frames, channels) float32 blocks at SAMPLE_RATE from the first audio stream."""
    proc = subprocess.Popen(["ffmpeg", "-v", "error", "-nostdin", "-i", path, "-map", "0:a:0", "-ac", str(channels),
                             "-ar", str(SAMPLE_RATE), "-f", "f32le", "-"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    frame_bytes = 4 * channels
    leftover = b""
    try:
        while chunk := proc.stdout.read(BLOCK * frame_bytes):
            chunk = leftover + chunk
            whole = len(chunk) // frame_bytes * frame_bytes
            leftover = chunk[whole:]
            if whole:
                yield np.frombuffer(chunk[:whole], dtype=np.float32).reshape(-1, channels)
    finally:
        proc.stdout.close()
        err = proc.stderr.read().decode(errors="replace").strip()
        proc.stderr.close()
        if proc.wait() != 0:
            raise _tool_failure(path, err, f"decoding failed ({err.splitlines()[-1] if err else 'ffmpeg error'})")


def _measure(path: str, channels: int, skip: list[int]) -> tuple[BandLimit, int]:
    keep = [c for c in range(channels) if c not in skip]
    acc = SpectrumAccumulator(SAMPLE_RATE)
    for block in decode_blocks(path, channels):
        acc.add(block[:, keep].mean(axis=1))
    return acc.result(), acc.samples


class _Sink:
    """The output file as soundfile sees it. libsndfile's callbacks swallow Python exceptions (a full
    disk becomes a short write and an assertion), so the first OSError is kept here to be raised."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh, self.error = fh, None

    def _guarded(self, call, *args) -> int:
        if self.error is None:
            try:
                return call(*args)
            except OSError as exc:
                self.error = exc
        return 0

    def write(self, data: bytes) -> int:
        return self._guarded(self.fh.write, data)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._guarded(self.fh.seek, offset, whence)

    def tell(self) -> int:
        return self._guarded(self.fh.tell)

    def __getattr__(self, name: str):
        return getattr(self.fh, name)


def write_stream(source: str, target: str, channels: int, enhancer: StreamEnhancer | None) -> None:
    """Decode `source`, run it through `enhancer` (or not), write `target` under a temporary name first."""
    partial = f"{target}.partial{Path(target).suffix}"
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(partial, "wb") as fh:
            sink = _Sink(fh)
            try:
                with sf.SoundFile(sink, "w", SAMPLE_RATE, channels, format=Path(target).suffix[1:].upper()) as out:
                    for block in decode_blocks(source, channels):
                        out.write(np.clip(enhancer.feed(block) if enhancer else block, -1.0, 1.0))
                    if enhancer:
                        out.write(np.clip(enhancer.finish(), -1.0, 1.0))
            except Exception:
                if sink.error is not None:
                    raise sink.error from None
                raise
            if sink.error is not None:
                raise sink.error
        os.replace(partial, target)
    finally:
        if os.path.lexists(partial):
            os.remove(partial)


def _note(found: BandLimit, enhanced: bool) -> str:
    if enhanced:
        return "enhanced" if found.restorable else "enhanced (forced)"
    if found.verdict == "band-limited":
        return f"band limit at {found.cutoff_hz:.0f} Hz is outside what the model restores: written unchanged"
    return "silent: written unchanged" if found.verdict == "silent" else "no band limit found: written unchanged"


def enhance_file(source: str, target: str, model_path: Path | str = DEFAULT_MODEL, force: bool = False,
                 attempts: int = FAULT_ATTEMPTS, backoff_s: float = FAULT_BACKOFF_S) -> FileOutcome:
    """Write `target` (wav/flac/ogg at 44.1 kHz, same channels); enhanced only for a band limit the model
    restores, or any audio with `force`. Too-short input is refused; silence is written as it is.

    Raises EnhanceError for input it cannot use, EnvironmentFault when a storage or permission fault
    outlasts `attempts` tries."""
    if Path(target).suffix.lower() not in OUTPUT_SUFFIXES:
        raise EnhanceError(f"{target}: the output must end in one of {', '.join(OUTPUT_SUFFIXES)}")
    try:
        return retrying(attempts, backoff_s)(_enhance_once, source, target, model_path, force)
    except Exception as exc:
        if is_environment_fault(exc) and not isinstance(exc, EnvironmentFault):
            raise EnvironmentFault(f"{source} (after {attempts} tries)", exc) from exc
        raise


def _enhance_once(source: str, target: str, model_path: Path | str, force: bool) -> FileOutcome:
    stream = _audio_stream(source)
    channels, source_rate = int(stream.get("channels") or 0), int(stream.get("sample_rate") or 0)
    if not 1 <= channels <= MAX_CHANNELS:
        raise EnhanceError(f"{source}: {channels} audio channels (1 to {MAX_CHANNELS} are supported)")
    skip = [LFE_CHANNEL] if channels == 6 else []
    found, samples = _measure(source, channels, skip)
    if samples < MIN_SAMPLES:
        raise EnhanceError(f"{source}: {samples / SAMPLE_RATE:.3f} s of audio is too short to measure its band limit "
                           f"(at least {MIN_SAMPLES / SAMPLE_RATE:.2f} s)")
    run_model = force and found.verdict != "silent" or found.restorable
    note = _note(found, run_model)
    enhancer = StreamEnhancer(cached_model(str(model_path)), channels, skip) if run_model else None
    write_stream(source, target, channels, enhancer)
    return FileOutcome(source, target, found, run_model, channels, source_rate, samples / SAMPLE_RATE, note)
