"""MIDI -> stereo audio with FluidSynth in-process and the General MIDI soundfont (Debian fluid-soundfont-gm).

The 148 MB soundfont is loaded once per process (a Ray worker renders many videos); each render gets a
fresh synthesizer (cheap) that shares it, so no reverb, chorus or voice state carries over from the last
video and the same MIDI always gives the same samples. FluidSynth's own MIDI player drives it with
sample-clock timing, as the fluidsynth program does, without a process start and a soundfont load each time.
"""

from __future__ import annotations

import ctypes
import os
import threading
from functools import lru_cache

import numpy as np

from emsync_core.render.ffmpeg import RenderError

DEFAULT_SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
GAIN = 0.6
MIDI_CHANNELS = 16
BLOCK = 4096  # samples per write while the player runs
TAIL_LIMIT_S = 4.0  # at most this much release and reverb after the last MIDI event
SILENCE = 1e-4  # -80 dBFS: the tail ends here
_LOG_WARN = 2  # FluidSynth's log levels: 0 panic, 1 error, 2 warning

_V = ctypes.c_void_p


def _bind(lib: ctypes.CDLL) -> None:
    """Argument types of the few C functions pyfluidsynth does not wrap (64-bit pointers must not be truncated)."""
    lib.new_fluid_synth.restype, lib.new_fluid_synth.argtypes = _V, [_V]
    lib.delete_fluid_synth.argtypes = [_V]
    lib.fluid_synth_get_sfont.restype, lib.fluid_synth_get_sfont.argtypes = _V, [_V, ctypes.c_uint]
    lib.fluid_synth_add_sfont.argtypes = lib.fluid_synth_remove_sfont.argtypes = [_V, _V]
    lib.fluid_synth_program_reset.argtypes = [_V]
    lib.fluid_synth_write_float.argtypes = [_V, ctypes.c_int, _V, ctypes.c_int, ctypes.c_int, _V, ctypes.c_int, ctypes.c_int]
    lib.fluid_player_add_mem.argtypes = [_V, _V, ctypes.c_size_t]
    lib.fluid_set_log_function.argtypes = [ctypes.c_int, _V, _V]


class _SoundfontHost:
    """Holds the loaded soundfont (inside a synthesizer that never plays) and lends it to per-render synths."""

    def __init__(self, soundfont: str, sample_rate: int) -> None:
        import fluidsynth

        self.fl, self.lib = fluidsynth, fluidsynth._fl
        _bind(self.lib)
        self.lib.fluid_set_log_function(_LOG_WARN, None, None)  # "no preset" until the font is attached: noise
        self.host = fluidsynth.Synth(gain=GAIN, samplerate=float(sample_rate), channels=MIDI_CHANNELS,
                                     **{"player.timing-source": "sample"})
        if self.host.sfload(soundfont) == -1:
            raise RenderError(f"FluidSynth could not load the soundfont {soundfont}")
        self.sfont = self.lib.fluid_synth_get_sfont(self.host.synth, 0)
        self.sample_rate = sample_rate
        self.lock = threading.Lock()  # one render at a time shares the font

    def _write(self, synth: int, n: int) -> np.ndarray:
        out = np.zeros((n, 2), dtype=np.float32)  # interleaved stereo: left at offset 0, right at 4 bytes, stride 2
        ptr = out.ctypes.data
        if self.lib.fluid_synth_write_float(synth, n, ptr, 0, 2, ptr + 4, 1, 2) != 0:
            raise RenderError("FluidSynth failed while rendering")
        return out

    def render(self, midi_bytes: bytes) -> np.ndarray:
        fl, lib = self.fl, self.lib
        with self.lock:
            synth = lib.new_fluid_synth(self.host.settings)
            lib.fluid_synth_add_sfont(synth, self.sfont)
            lib.fluid_synth_program_reset(synth)
            player = fl.new_fluid_player(synth)
            try:
                buf = ctypes.create_string_buffer(midi_bytes, len(midi_bytes))
                if lib.fluid_player_add_mem(player, buf, len(midi_bytes)) != 0 or fl.fluid_player_play(player) != 0:
                    raise RenderError("FluidSynth could not read the MIDI")
                blocks = []
                while fl.fluid_player_get_status(player) == fl.FLUID_PLAYER_PLAYING:
                    blocks.append(self._write(synth, BLOCK))
                for _ in range(int(TAIL_LIMIT_S * self.sample_rate / BLOCK)):  # the release and reverb tail
                    blocks.append(self._write(synth, BLOCK))
                    if np.abs(blocks[-1]).max() < SILENCE:
                        break
            finally:
                fl.delete_fluid_player(player)
                lib.fluid_synth_remove_sfont(synth, self.sfont)  # the font outlives this synth
                lib.delete_fluid_synth(synth)
        return np.concatenate(blocks)


@lru_cache(maxsize=4)
def _host(soundfont: str, sample_rate: int) -> _SoundfontHost:
    return _SoundfontHost(soundfont, sample_rate)


def synthesize(midi_bytes: bytes, sample_rate: int, soundfont: str = DEFAULT_SOUNDFONT) -> np.ndarray:
    """Float32 (n, 2) audio of the MIDI: the notes plus their release tail."""
    if not os.path.exists(soundfont):
        raise RenderError(f"soundfont {soundfont} not found (install fluid-soundfont-gm or pass --soundfont)")
    return _host(soundfont, sample_rate).render(midi_bytes)
