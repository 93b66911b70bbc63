"""Put the soundtrack into a copy of the source: every stream the source has is copied bit for bit
(video, other audio tracks, subtitles, chapters, metadata, timecode); only the new track is encoded.

Modes: replace and duck put the new track first, in place of the source's first audio track; add keeps
every original audio track untouched and appends the music as an extra, labelled, non-default track.
MOV, MP4 and MKV sources keep their container and WebM becomes MKV (its superset: AAC is not allowed in
WebM); anything else (AVI...) becomes MP4, or Matroska when MP4 cannot hold one of its streams (e.g.
Theora, bitmap subtitles).
"""

from __future__ import annotations

from pathlib import Path

from emsync_core.render.ffmpeg import RenderError, run
from emsync_core.render.source import SAMPLE_RATE, SourceStreams

MUSIC_TRACK_TITLE = "EMSYNC score"
MUSIC_LANGUAGE = "zxx"  # ISO 639-2: no linguistic content
AUDIO_BITRATE = "192k"
CONTAINERS = {".mov": ("mov", "mov"), ".mp4": ("mp4", "mp4"), ".m4v": ("mp4", "mp4"), ".mkv": ("mkv", "matroska"),
              ".webm": ("mkv", "matroska")}  # WebM is Matroska: every stream fits, in one pass
MP4_TEXT_SUBTITLES = {"subrip", "ass", "ssa", "webvtt", "text", "mov_text"}


def _args(video: str, audio: str, out: str, mode: str, src: SourceStreams, muxer: str) -> list[str]:
    if mode == "add":
        maps, music = ["-map", "0:v", "-map", "0:a?", "-map", "1:a"], src.n_audio
        disposition = ["-disposition:a:%d" % music, "0"]
    else:
        maps, music = ["-map", "0:v", "-map", "1:a", "-map", "0:a?", "-map", "-0:a:0?"], 0
        disposition = ["-disposition:a:0", "default"]
    subtitles = ["-map", "0:s?"] + (["-map", "0:t?"] if muxer == "matroska" else [])  # t: fonts for styled subtitles
    text_to_mp4 = ["-c:s", "mov_text"] if muxer != "matroska" and any(c != "mov_text" for c in src.subtitle_codecs) else []
    container = ["-f", muxer] + (["-movflags", "+faststart"] if muxer != "matroska" else [])
    return ["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", video, "-i", audio, *maps, *subtitles,
            "-map_metadata", "0", "-map_chapters", "0", "-c", "copy", *text_to_mp4,
            f"-c:a:{music}", "aac", f"-b:a:{music}", AUDIO_BITRATE, f"-ar:a:{music}", str(SAMPLE_RATE),
            f"-metadata:s:a:{music}", f"title={MUSIC_TRACK_TITLE}", f"-metadata:s:a:{music}", f"handler_name={MUSIC_TRACK_TITLE}",
            f"-metadata:s:a:{music}", f"language={MUSIC_LANGUAGE}", *disposition, *container, out]


def mux(video_path: str, audio_path: str, out_stem: str, mode: str, src: SourceStreams) -> str:
    """Write out_stem + the container's extension; returns the path written."""
    container, muxer = CONTAINERS.get(Path(video_path).suffix.lower(), ("mp4", "mp4"))
    if src.subtitle_codecs and not set(src.subtitle_codecs) <= MP4_TEXT_SUBTITLES:
        container, muxer = "mkv", "matroska"
    try:
        run(_args(video_path, audio_path, f"{out_stem}.{container}", mode, src, muxer), f"muxing {video_path}")
        return f"{out_stem}.{container}"
    except RenderError:  # a codec MP4/MOV cannot hold: Matroska holds anything, still copied
        if container == "mkv":
            raise
        run(_args(video_path, audio_path, f"{out_stem}.mkv", mode, src, "matroska"), f"muxing {video_path}")
        return f"{out_stem}.mkv"
