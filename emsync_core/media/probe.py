"""Probe a video container: what streams it has and the facts the rest of the pipeline needs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import BinaryIO

import av

from emsync_core.media.errors import MediaError


@dataclass(frozen=True)
class VideoProbe:
    """Container facts. `duration_s` is None when the container does not say (decode finds it)."""

    container: str
    duration_s: float | None
    width: int
    height: int
    fps: float
    video_codec: str
    rotation: int
    has_audio: bool
    audio_codec: str | None
    audio_sample_rate: int | None
    audio_channels: int | None


def open_container(source: str | BinaryIO) -> av.container.InputContainer:
    size = _size(source)
    if size == 0:
        raise MediaError("probe", "empty file (0 bytes)")
    try:
        return av.open(source, mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        from emsync_core.store.faults import is_environment_fault  # (faults imports media.errors)

        if is_environment_fault(exc):  # the storage or network failed while reading: not the file's fault
            raise
        raise MediaError("probe", f"not a readable media file: {exc}") from exc


def _size(source: str | BinaryIO) -> int | None:
    if isinstance(source, str):
        return os.path.getsize(source) if os.path.exists(source) else None
    size = getattr(source, "size", None)  # GCS blob readers know the object size
    if size is None and source.seekable():
        position = source.tell()
        size = source.seek(0, os.SEEK_END)
        source.seek(position)
    return size


# Still-image demuxers and codecs: a PNG renamed .mp4 opens as a one-frame "video"; it is not one.
IMAGE_CODECS = frozenset({"png", "apng", "bmp", "tiff", "webp", "gif", "jpegls", "jpeg2000", "qoi", "pam", "ppm", "pgm", "pbm"})


def _image_format(container: av.container.InputContainer, codec: str) -> str | None:
    """The image kind when the file is a still image (by demuxer or codec), else None."""
    name = container.format.name
    if name == "image2" or name.endswith("_pipe"):
        return name.removesuffix("_pipe")
    if codec in IMAGE_CODECS:
        return codec
    return None


def probe_container(container: av.container.InputContainer) -> VideoProbe:
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams}) or ["none"]
        raise MediaError("probe", f"no video stream (streams: {', '.join(kinds)})")
    video = container.streams.video[0]
    rate = video.average_rate or video.guessed_rate or video.base_rate
    fps = float(rate) if rate else 0.0
    image = _image_format(container, video.codec_context.name)
    if image is not None:
        raise MediaError("probe", f"not a video: a still image ({image})")
    if not video.width or not video.height:
        raise MediaError("probe", "video stream has no frame size")
    duration = None
    if container.duration:
        duration = container.duration / av.time_base
    elif video.duration and video.time_base:
        duration = float(video.duration * video.time_base)
    audio = container.streams.audio[0] if container.streams.audio else None
    return VideoProbe(
        container=container.format.name,
        duration_s=duration,
        width=video.width,
        height=video.height,
        fps=fps,
        video_codec=video.codec_context.name,
        rotation=0,
        has_audio=audio is not None,
        audio_codec=audio.codec_context.name if audio else None,
        audio_sample_rate=audio.codec_context.sample_rate if audio else None,
        audio_channels=audio.codec_context.channels if audio else None,
    )
