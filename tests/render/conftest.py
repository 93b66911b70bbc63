"""Real media for render tests: a lavfi test pattern with an espeak-ng voice, and a chord MIDI."""

from __future__ import annotations

import functools
import subprocess

import pretty_midi
import pytest

from emsync_core.render.midi import dump
from tests.folders import own_temp_folder

SPEECH_AT_S = 2.0


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args], check=True)


@pytest.fixture(scope="session")
def media_dir():
    """Our own temp folder: pytest's numbered dirs get pruned by other users' pytest sessions."""
    with own_temp_folder("render") as folder:
        yield folder


@pytest.fixture(scope="session")
def speech_video(media_dir):
    """8 s 320x240 H.264 test pattern; an English voice (espeak-ng) from 2 s, silence elsewhere."""
    d = media_dir
    wav = d / "speech.wav"
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(wav),
                    "Hello, this is a test of the archive soundtrack. The music should go quiet while I speak."], check=True)
    out = d / "speech.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=8", "-i", str(wav),
           "-filter_complex", f"[1:a]adelay={int(SPEECH_AT_S * 1000)}:all=1,apad,atrim=0:8[a]", "-map", "0:v", "-map", "[a]",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-t", "8", str(out))
    return str(out)


@pytest.fixture(scope="session")
def silent_video(media_dir):
    """6 s VP9 WebM without audio (checks copying a non-H.264 stream into MP4)."""
    out = media_dir / "plain.webm"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=24:duration=6", "-c:v", "libvpx-vp9", "-deadline", "realtime",
           "-b:v", "200k", str(out))
    return str(out)


def chord_midi(seconds: float = 12.0, chord_every_s: float = 2.0) -> bytes:
    """Piano triads every chord_every_s and a bass line: stands in for generated music (real notes)."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    piano, bass = pretty_midi.Instrument(0, name="piano"), pretty_midi.Instrument(33, name="bass")
    roots = [60, 65, 67, 57]
    t, i = 0.0, 0
    while t < seconds:
        r = roots[i % len(roots)]
        for p in (r, r + 4, r + 7):
            piano.notes.append(pretty_midi.Note(100, p, t, t + chord_every_s))
        bass.notes.append(pretty_midi.Note(90, r - 24, t, t + chord_every_s))
        t += chord_every_s
        i += 1
    pm.instruments += [piano, bass]
    return dump(pm)


@pytest.fixture
def midi_bytes():
    return chord_midi()


RICH_TIMECODE = "01:00:00:00"


@pytest.fixture(scope="session")
def rich_video(media_dir):
    """make(ext): 6 s H.264 with two audio tracks (English tone, French commentary at 44.1 kHz), an English
    subtitle track, two chapters, a title and a 01:00:00:00 start timecode: what an archive master carries."""
    return lambda ext: _rich_video(media_dir, ext)


@functools.cache
def _rich_video(d: Path, ext: str) -> str:
    srt = d / "subs.srt"
    srt.write_text("1\n00:00:00,500 --> 00:00:02,000\nHello there\n\n2\n00:00:03,000 --> 00:00:05,000\nSecond line\n")
    meta = d / "chapters.txt"
    meta.write_text(";FFMETADATA1\ntitle=Rich source\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=3000\ntitle=Opening\n"
                    "[CHAPTER]\nTIMEBASE=1/1000\nSTART=3000\nEND=6000\ntitle=Ending\n")
    out = d / f"rich.{ext}"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=6",
           "-f", "lavfi", "-i", "sine=frequency=440:duration=6:sample_rate=48000",
           "-f", "lavfi", "-i", "sine=frequency=660:duration=6:sample_rate=44100", "-i", str(srt), "-i", str(meta),
           "-map", "0:v", "-map", "1:a", "-map", "2:a", "-map", "3:s", "-map_metadata", "4", "-map_chapters", "4",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
           "-c:s", "srt" if ext == "mkv" else "mov_text", "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fra",
           "-metadata:s:s:0", "language=eng", "-timecode", RICH_TIMECODE, str(out))
    return str(out)
