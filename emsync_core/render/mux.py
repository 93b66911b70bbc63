"""Put the new audio beside the video stream, copied bit for bit (ffmpeg -c:v copy), never re-encoded."""

from __future__ import annotations

from emsync_core.render.ffmpeg import run


def mux(video_path: str, audio_path: str, out_path: str, *, audio_bitrate: str = "192k") -> None:
    """Write out_path (an .mp4/.mkv temp name the caller renames) with video 0:v:0 copied and AAC audio."""
    container = ["-f", "matroska"] if out_path.endswith(".mkv") else ["-movflags", "+faststart", "-f", "mp4"]
    run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", video_path, "-i", audio_path, "-map", "0:v:0", "-map", "1:a:0",
         "-c:v", "copy", "-c:a", "aac", "-b:a", audio_bitrate, *container, out_path], f"muxing {video_path}")
