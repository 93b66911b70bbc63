"""What the render needs to know of a source video, read once with ffprobe: its audio tracks, subtitle
codecs and start timecode."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from emsync_core.render.ffmpeg import probe
from emsync_core.render.stems import timecode_seconds

SAMPLE_RATE = 48000  # video audio, and what broadcasters and platforms ingest


@dataclass(frozen=True)
class SourceStreams:
    n_audio: int
    subtitle_codecs: tuple[str, ...]
    start_timecode: str | None  # SMPTE, as the container states it
    start_s: float | None  # the timecode in seconds since midnight


def _frame_rate(stream: dict) -> Fraction:
    for key in ("r_frame_rate", "avg_frame_rate"):
        try:
            rate = Fraction(stream.get(key) or "0/1")
        except (ValueError, ZeroDivisionError):
            continue
        if rate > 0:
            return rate
    return Fraction(0)


def describe(path: str) -> SourceStreams:
    info = probe(path)
    streams = info.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), {})
    timecode = next((value for owner in (info.get("format", {}), video, *streams)  # MKV: TIMECODE on the format
                     for key, value in owner.get("tags", {}).items() if key.lower() == "timecode"), None)
    return SourceStreams(
        n_audio=sum(s.get("codec_type") == "audio" for s in streams),
        subtitle_codecs=tuple(s.get("codec_name", "") for s in streams if s.get("codec_type") == "subtitle"),
        start_timecode=timecode, start_s=timecode_seconds(timecode, _frame_rate(video)) if timecode else None)
