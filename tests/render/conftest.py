"""Real media for render tests: a lavfi test pattern with an espeak-ng voice, and a chord MIDI."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pretty_midi
import pytest

from emsync_core.render.midi import dump

SPEECH_AT_S = 2.0


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args], check=True)


@pytest.fixture(scope="session")
def media_dir():
    """Our own temp folder: pytest's numbered dirs get pruned by other users' pytest sessions."""
    folder = Path(tempfile.mkdtemp(prefix="emsync-render-test-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


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
