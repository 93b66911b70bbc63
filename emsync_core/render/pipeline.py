"""One video's render stage: MIDI -> audio -> master -> (duck under speech) -> mux -> plot, committed whole.

Every file is written under a temporary name first and renamed only when all of them are done, so a
crash leaves either no new outputs or a complete set (the caller writes the DB row after this).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from emsync_core.render import midi as midi_tools
from emsync_core.render.duck import duck_gain, mix_under
from emsync_core.render.ffmpeg import RenderError, decode_audio, has_audio
from emsync_core.render.master import MasterSettings, master
from emsync_core.render.mux import mux
from emsync_core.render.plot import trajectory_png
from emsync_core.render.synth import DEFAULT_SOUNDFONT, synthesize
from emsync_core.render.vad import speech_spans
from emsync_core.store import uri as store

MUX_MODES = ("replace", "duck")
SAMPLE_RATE = 44100


@dataclass(frozen=True)
class RenderSettings:
    mux_mode: str = "duck"  # replace: music only (as the reference); duck: music under the original audio
    master: MasterSettings = MasterSettings()
    duck_db: float = -14.0
    music_under_db: float = -6.0
    soundfont: str = DEFAULT_SOUNDFONT

    def as_dict(self) -> dict:
        return {"mux_mode": self.mux_mode, "target_lufs": self.master.target_lufs, "ceiling_db": self.master.ceiling_db,
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
    audio_uri: str
    video_uri: str
    plot_uri: str
    midi_sha256: str
    audio_sha256: str
    video_sha256: str
    loudness_lufs: float | None
    mux_mode: str  # what was done: duck falls back to replace without original audio
    speech_spans: list[tuple[float, float]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


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


def render(job: RenderJob, settings: RenderSettings = RenderSettings()) -> RenderResult:
    if settings.mux_mode not in MUX_MODES:
        raise ValueError(f"mux mode must be one of {MUX_MODES}")
    if job.duration_s <= 0:
        raise RenderError(f"video duration {job.duration_s} s is not positive")
    t = {"t0": time.perf_counter()}
    with tempfile.TemporaryDirectory(prefix="emsync-render-") as tmp:
        video = _local_video(job.video_uri, tmp)
        midi_bytes = midi_tools.with_cut_markers(job.midi_bytes, list(job.cuts_s))
        music = synthesize(midi_bytes, SAMPLE_RATE, settings.soundfont)
        t["synth"] = time.perf_counter()
        music, lufs = master(music, SAMPLE_RATE, job.duration_s, settings.master)
        t["master"] = time.perf_counter()
        mode, spans, track = settings.mux_mode, [], music
        if mode == "duck" and has_audio(video):
            original = decode_audio(video, SAMPLE_RATE, 2, job.duration_s)
            spans = speech_spans(decode_audio(video, 16000, 1, job.duration_s)[:, 0])
            track = mix_under(music, original, duck_gain(len(music), SAMPLE_RATE, spans, duck_db=settings.duck_db),
                              music_db=settings.music_under_db)
        elif mode == "duck":
            mode = "replace"
        t["mix"] = time.perf_counter()
        files = {"mid": os.path.join(tmp, "s.mid"), "flac": os.path.join(tmp, "s.flac"), "png": os.path.join(tmp, "s.png"),
                 "mix": os.path.join(tmp, "mix.wav"), "mp4": os.path.join(tmp, "s.mp4")}
        Path(files["mid"]).write_bytes(midi_bytes)
        sf.write(files["flac"], music, SAMPLE_RATE, subtype="PCM_24")
        sf.write(files["mix"], np.asarray(track, dtype=np.float32), SAMPLE_RATE, subtype="FLOAT")
        try:
            mux(video, files["mix"], files["mp4"])
            ext = "mp4"
        except RenderError:  # a codec MP4 cannot hold (e.g. Theora): Matroska holds anything, still copied
            files["mkv"] = os.path.join(tmp, "s.mkv")
            mux(video, files["mix"], files["mkv"])
            ext = "mkv"
        t["mux"] = time.perf_counter()
        Path(files["png"]).write_bytes(trajectory_png(list(job.conditions), list(job.cuts_s), list(job.chord_onsets_s),
                                                      job.duration_s, job.title))
        t["plot"] = time.perf_counter()
        targets = {k: f"{job.out_prefix}.{k}" for k in ("mid", "flac", "png", ext)}
        sums = {k: _sha256(files[k]) for k in targets}
        for key, target in targets.items():  # the commit: renames (or uploads) only after everything exists
            staged = target if store.is_remote(target) else store.scratch_path_for(target, f".{key}")
            if store.is_remote(target):
                store.put_file_atomic(files[key], target)
            else:
                shutil.move(files[key], staged)
                store.put_file_atomic(staged, target)
    names = ["synth", "master", "mix", "mux", "plot"]
    prev, timings = t["t0"], {}
    for name in names:
        timings[f"{name}_s"] = round(t[name] - prev, 4)
        prev = t[name]
    return RenderResult(midi_uri=targets["mid"], audio_uri=targets["flac"], video_uri=targets[ext], plot_uri=targets["png"],
                        midi_sha256=sums["mid"], audio_sha256=sums["flac"], video_sha256=sums[ext], loudness_lufs=lufs,
                        mux_mode=mode, speech_spans=spans, timings=timings)
