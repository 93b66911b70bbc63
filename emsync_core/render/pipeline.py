"""One video's render stage: MIDI -> audio -> master -> (duck under speech) -> mux, and the plot beside
it on a thread (the mux waits on ffmpeg, so the plot costs no wall time); committed whole.

Everything runs at 48 kHz. The source's audio is decoded once: the mix and voice detection (16 kHz,
resampled from the same samples) read it. Every file is written under a temporary name first and
renamed only when all of them are done, so a crash leaves either no new outputs or a complete set
(the caller writes the DB row after this).
"""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from emsync_core.render import midi as midi_tools
from emsync_core.render.duck import duck_gain, mix_under
from emsync_core.render.ffmpeg import RenderError, decode_audio
from emsync_core.render.master import MasterSettings, limit, master
from emsync_core.render.mux import mux
from emsync_core.render.plot import trajectory_png
from emsync_core.render.source import SAMPLE_RATE, describe
from emsync_core.render.stems import write_bwf
from emsync_core.render.synth import DEFAULT_SOUNDFONT, synthesize
from emsync_core.render.vad import VAD_SAMPLE_RATE, speech_spans
from emsync_core.store import uri as store

MUX_MODES = ("replace", "duck", "add")
# AAC encoding overshoots the true peak (1 to 1.5 dB measured on short tones): the muxed track is limited
# this much lower (the FLAC and WAV stems meet the ceiling exactly)
ENCODER_HEADROOM_DB = 1.0


@dataclass(frozen=True)
class RenderSettings:
    # replace: music only (as the reference); duck: music under the original audio; add: the music as an
    # extra track beside the untouched original audio tracks
    mux_mode: str = "duck"
    master: MasterSettings = MasterSettings()
    duck_db: float = -14.0
    music_under_db: float = -6.0
    soundfont: str = DEFAULT_SOUNDFONT
    enhance_audio: bool = False  # restore the original audio's high band when its spectrum shows a band limit

    def as_dict(self) -> dict:
        # enhance_audio only when on, so soundtracks made without it keep their variant keys
        return {**({"enhance_audio": True} if self.enhance_audio else {}), "mux_mode": self.mux_mode,
                "target_lufs": self.master.target_lufs, "ceiling_db": self.master.ceiling_dbtp,
                "peak": "true peak (dBTP, 4x oversampled)",
                "fade_out_s": self.master.fade_out_s, "reverb": self.master.reverb, "duck_db": self.duck_db,
                "music_under_db": self.music_under_db, "soundfont": os.path.basename(self.soundfont),
                "sample_rate": SAMPLE_RATE, "vad": "silero_vad_v6.onnx (faster-whisper)"}


@dataclass(frozen=True)
class RenderJob:
    video_uri: str
    midi_bytes: bytes
    duration_s: float
    cuts_s: tuple[float, ...]
    chord_onsets_s: tuple[float, ...]
    conditions: tuple[dict, ...]  # per scene: start_s, end_s, valence, arousal
    out_prefix: str  # e.g. OUT/soundtracks/<video_id>/<variant>; suffixes are added
    title: str = ""


@dataclass(frozen=True)
class RenderResult:
    midi_uri: str
    audio_uri: str  # FLAC; the same music as a Broadcast WAV stem beside it (wav_uri)
    wav_uri: str
    video_uri: str
    plot_uri: str
    midi_sha256: str
    audio_sha256: str
    video_sha256: str
    loudness_lufs: float | None
    mux_mode: str  # what was done: duck falls back to replace without original audio
    speech_spans: list[tuple[float, float]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # wall seconds per step
    cpu_s: float = 0.0  # CPU seconds of the whole render, ffmpeg included
    enhancement: dict | None = None  # with enhance_audio: the band-limit verdict, cut-off and whether it was enhanced


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children (ffmpeg): the render's cost on a busy machine,
    where wall time mostly measures the neighbours."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _local_video(uri: str, tmp: str) -> str:
    if not store.is_remote(uri):
        return uri
    local = os.path.join(tmp, "input" + Path(uri).suffix)
    with store.open_read(uri) as src, open(local, "wb") as dst:
        shutil.copyfileobj(src, dst, 8 << 20)
    return local


def _mix(video: str, music: np.ndarray, job: RenderJob, settings: RenderSettings,
         t: dict[str, float]) -> tuple[np.ndarray, list, dict | None]:
    """The music ducked under the source's own audio (decoded once; voice detection reads the same samples),
    that audio first restored when asked and band-limited."""
    original, enhancement = decode_audio(video, SAMPLE_RATE, 2, job.duration_s), None
    if settings.enhance_audio:
        from emsync_core.enhance.apply import enhance_if_band_limited

        original, outcome = enhance_if_band_limited(original, SAMPLE_RATE)
        enhancement = outcome.to_dict()
        t["enhance"] = time.perf_counter()
    spans = speech_spans(resample_poly(original.mean(axis=1), VAD_SAMPLE_RATE, SAMPLE_RATE).astype(np.float32))
    mixed = mix_under(music, original, duck_gain(len(music), SAMPLE_RATE, spans, duck_db=settings.duck_db),
                      music_db=settings.music_under_db)
    return mixed, spans, enhancement


def render(job: RenderJob, settings: RenderSettings = RenderSettings()) -> RenderResult:
    if settings.mux_mode not in MUX_MODES:
        raise ValueError(f"mux mode must be one of {MUX_MODES}")
    if job.duration_s <= 0:
        raise RenderError(f"video duration {job.duration_s} s is not positive")
    t, cpu0 = {"t0": time.perf_counter()}, _cpu_s()
    with tempfile.TemporaryDirectory(prefix="emsync-render-") as tmp, ThreadPoolExecutor(1) as plotter:
        plot = plotter.submit(trajectory_png, list(job.conditions), list(job.cuts_s), list(job.chord_onsets_s),
                              job.duration_s, job.title)
        video = _local_video(job.video_uri, tmp)
        source = describe(video)
        pm = midi_tools.load(job.midi_bytes)
        midi_bytes = midi_tools.with_cut_markers(midi_tools.dump(midi_tools.with_bar_tempo_map(pm, midi_tools.bar_times(pm))),
                                                 list(job.cuts_s))
        music = synthesize(midi_bytes, SAMPLE_RATE, settings.soundfont)
        t["synth"] = time.perf_counter()
        music, lufs = master(music, SAMPLE_RATE, job.duration_s, settings.master)
        t["master"] = time.perf_counter()
        mode, spans, track, enhancement = settings.mux_mode, [], music, None
        if mode == "duck" and source.n_audio:
            track, spans, enhancement = _mix(video, music, job, settings, t)
        elif mode != "replace" and not source.n_audio:
            mode = "replace"  # nothing to duck under or to add beside
        t["mix"] = time.perf_counter()
        files = {"mid": os.path.join(tmp, "s.mid"), "flac": os.path.join(tmp, "s.flac"), "wav": os.path.join(tmp, "s.wav"),
                 "png": os.path.join(tmp, "s.png"), "mix": os.path.join(tmp, "mix.wav")}
        Path(files["mid"]).write_bytes(midi_bytes)
        sf.write(files["flac"], music, SAMPLE_RATE, subtype="PCM_24")
        write_bwf(files["wav"], music, SAMPLE_RATE, source.start_s)
        track = limit(track, SAMPLE_RATE, settings.master.ceiling_dbtp - ENCODER_HEADROOM_DB)
        sf.write(files["mix"], track, SAMPLE_RATE, subtype="FLOAT")
        t["stems"] = time.perf_counter()
        muxed = mux(video, files["mix"], os.path.join(tmp, "s"), mode, source)
        ext = muxed.rsplit(".", 1)[1]
        files[ext] = muxed
        t["mux"] = time.perf_counter()
        Path(files["png"]).write_bytes(plot.result())
        t["plot"] = time.perf_counter()
        targets = {k: f"{job.out_prefix}.{k}" for k in ("mid", "flac", "wav", "png", ext)}
        sums = {k: _sha256(files[k]) for k in targets}
        for key, target in targets.items():  # the commit: renames (or uploads) only after everything exists
            staged = target if store.is_remote(target) else store.scratch_path_for(target, f".{key}")
            if store.is_remote(target):
                store.put_file_atomic(files[key], target)
            else:
                shutil.move(files[key], staged)
                store.put_file_atomic(staged, target)
    names = ["synth", "master", *(["enhance"] if "enhance" in t else []), "mix", "stems", "mux", "plot"]
    prev, timings = t["t0"], {}
    for name in names:
        timings[f"{name}_s"] = round(t[name] - prev, 4)
        prev = t[name]

    return RenderResult(midi_uri=targets["mid"], audio_uri=targets["flac"], wav_uri=targets["wav"], video_uri=targets[ext],
                        plot_uri=targets["png"], midi_sha256=sums["mid"], audio_sha256=sums["flac"], video_sha256=sums[ext],
                        loudness_lufs=lufs, mux_mode=mode, speech_spans=spans, timings=timings, enhancement=enhancement,
                        cpu_s=round(_cpu_s() - cpu0, 4))
