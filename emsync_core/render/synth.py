"""MIDI -> stereo audio with FluidSynth and the General MIDI soundfont (Debian fluid-soundfont-gm)."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import soundfile as sf

from emsync_core.render.ffmpeg import RenderError, run

DEFAULT_SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"


def synthesize(midi_bytes: bytes, sample_rate: int = 44100, soundfont: str = DEFAULT_SOUNDFONT) -> np.ndarray:
    """Float32 (n, 2) audio of the MIDI; the fluidsynth CLI renders faster than real time and in stereo."""
    if not os.path.exists(soundfont):
        raise RenderError(f"soundfont {soundfont} not found (install fluid-soundfont-gm or pass --soundfont)")
    with tempfile.TemporaryDirectory(prefix="emsync-synth-") as tmp:
        mid, wav = os.path.join(tmp, "in.mid"), os.path.join(tmp, "out.wav")
        with open(mid, "wb") as fh:
            fh.write(midi_bytes)
        run(["fluidsynth", "-q", "-n", "-i", "-g", "0.6", "-r", str(sample_rate), "-T", "wav", "-O", "float",
             "-F", wav, soundfont, mid], "fluidsynth")
        audio, sr = sf.read(wav, dtype="float32", always_2d=True)
    if sr != sample_rate:
        raise RenderError(f"fluidsynth wrote {sr} Hz instead of {sample_rate} Hz")
    return audio
