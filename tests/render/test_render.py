"""Rendering on real media: FluidSynth, mastering to the LUFS target, fade, ducking under speech, mux."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pretty_midi
import pytest
import soundfile as sf

from emsync_core.render import midi as midi_tools
from emsync_core.render.duck import duck_gain, mix_under
from emsync_core.render.ffmpeg import RenderError, decode_audio
from emsync_core.render.master import MasterSettings, loudness, master
from emsync_core.render.pipeline import RenderJob, RenderSettings, render
from emsync_core.render.synth import TAIL_LIMIT_S, synthesize
from emsync_core.render.vad import VAD_SAMPLE_RATE, speech_spans
from emsync_core.render.source import SAMPLE_RATE as SR
from tests.render.conftest import SPEECH_AT_S, chord_midi


def video_md5(path: str) -> str:
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-map", "0:v:0", "-c", "copy", "-f", "md5", "-"],
                         capture_output=True, check=True, text=True).stdout
    return out.strip()


def stream_durations(path: str) -> dict[str, float]:
    info = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", path],
                                     capture_output=True, check=True).stdout)
    out = {}
    for s in info["streams"]:
        dur = s.get("duration") or s.get("tags", {}).get("DURATION")
        if dur and ":" in str(dur):
            h, m, sec = str(dur).split(":")
            dur = int(h) * 3600 + int(m) * 60 + float(sec)
        out[s["codec_type"]] = float(dur if dur else info["format"]["duration"])
    return out


def _job(video, midi, tmp_path, duration, cuts=(4.0,)):
    return RenderJob(video_uri=video, midi_bytes=midi, duration_s=duration, cuts_s=tuple(cuts), chord_onsets_s=(0.0, 4.0),
                     conditions=({"start_s": 0.0, "end_s": 4.0, "valence": 0.5, "arousal": 0.2},
                                 {"start_s": 4.0, "end_s": duration, "valence": -0.4, "arousal": 0.6}),
                     out_prefix=str(tmp_path / "out" / "v" / "variant"))


def test_fluidsynth_renders_stereo_music_the_same_every_time(midi_bytes):
    audio = synthesize(midi_bytes, SR)
    assert audio.ndim == 2 and audio.shape[1] == 2
    assert 11.5 < len(audio) / SR < 12.0 + TAIL_LIMIT_S + 0.1  # 12 s of notes plus the release tail
    assert np.sqrt(np.mean(audio ** 2)) > 1e-3
    synthesize(chord_midi(5.0, 0.5), SR)  # another video in between: no state may carry over
    assert np.array_equal(synthesize(midi_bytes, SR), audio)


def test_master_hits_the_loudness_target_and_fades_out(midi_bytes):
    raw = synthesize(midi_bytes, SR)
    for target in (-16.0, -23.0):
        out, lufs = master(raw, SR, 7.5, MasterSettings(target_lufs=target))
        assert len(out) == round(7.5 * SR)
        assert abs(lufs - loudness(out, SR)) < 1e-6
        assert abs(lufs - target) < 1.5, (target, lufs)
        assert np.abs(out).max() <= 1.0
        assert np.abs(out[-200:]).max() < 0.02 * np.abs(out[: SR * 4]).max()  # faded to silence


def test_replace_mode_copies_the_video_and_matches_its_length(speech_video, midi_bytes, tmp_path):
    res = render(_job(speech_video, midi_bytes, tmp_path, 8.0), RenderSettings(mux_mode="replace"))
    assert res.mux_mode == "replace" and res.video_uri.endswith(".mp4")
    assert video_md5(res.video_uri) == video_md5(speech_video)
    durs = stream_durations(res.video_uri)
    assert abs(durs["audio"] - durs["video"]) < 0.1
    assert midi_tools.cut_markers(open(res.midi_uri, "rb").read()) == pytest.approx([4.0], abs=1e-3)
    flac, sr = sf.read(res.audio_uri)
    assert abs(len(flac) / sr - 8.0) < 1e-3 and abs(res.loudness_lufs + 16.0) < 1.5
    assert open(res.plot_uri, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in (tmp_path / "out" / "v").iterdir() if p.name.startswith(".")]  # no temp files left


def test_vad_finds_the_espeak_voice_and_ducking_lowers_music_under_it(speech_video, midi_bytes):
    voice = decode_audio(speech_video, VAD_SAMPLE_RATE, 1, 8.0)[:, 0]
    spans = speech_spans(voice)
    assert spans and spans[0][0] == pytest.approx(SPEECH_AT_S, abs=0.4)
    assert all(e > s for s, e in spans) and spans[-1][1] > 4.0
    original = decode_audio(speech_video, SR, 2, 8.0)
    music, _ = master(synthesize(midi_bytes, SR), SR, 8.0)
    gain = duck_gain(len(music), SR, spans, duck_db=-14.0)
    mixed = mix_under(music, original, gain, music_db=-6.0)
    music_part = mixed - original  # exact: no limiting happens at these levels
    def rms_db(x):
        return 20 * np.log10(np.sqrt(np.mean(x ** 2)) + 1e-12)
    s0, s1 = spans[0][0] + 0.5, min(spans[0][1], 7.0) - 0.5
    under = rms_db(music_part[int(s0 * SR):int(s1 * SR)]) - rms_db(music[int(s0 * SR):int(s1 * SR)])
    before = rms_db(music_part[: int(1.5 * SR)]) - rms_db(music[: int(1.5 * SR)])
    assert before == pytest.approx(-6.0, abs=0.5)
    assert under < before - 12.0


def test_duck_mode_end_to_end_and_no_audio_falls_back_to_replace(speech_video, silent_video, midi_bytes, tmp_path):
    res = render(_job(speech_video, midi_bytes, tmp_path, 8.0), RenderSettings(mux_mode="duck"))
    assert res.mux_mode == "duck" and res.speech_spans
    assert video_md5(res.video_uri) == video_md5(speech_video)
    res2 = render(_job(silent_video, chord_midi(4.0), tmp_path / "b", 6.0), RenderSettings(mux_mode="duck"))
    assert res2.mux_mode == "replace"
    assert video_md5(res2.video_uri) == video_md5(silent_video)
    durs = stream_durations(res2.video_uri)
    assert abs(durs["audio"] - 6.0) < 0.1 and abs(durs["audio"] - durs["video"]) < 0.1


def test_bad_inputs_raise_clear_errors(tmp_path, midi_bytes):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all")
    with pytest.raises(RenderError, match="junk.mp4"):
        render(_job(str(junk), midi_bytes, tmp_path, 5.0), RenderSettings(mux_mode="replace"))
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("variant.*"))


def test_splice_keeps_the_rest_and_replaces_the_span():
    base = midi_tools.load(chord_midi(12.0, 2.0))
    part = midi_tools.load(chord_midi(6.0, 1.0))
    out = midi_tools.splice(base, part, 4.0, 8.0)
    starts = sorted({round(n.start, 3) for i in out.instruments for n in i.notes})
    assert [s for s in starts if s < 4.0] == [0.0, 2.0]
    assert [s for s in starts if 4.0 <= s < 8.0] == [4.0, 5.0, 6.0, 7.0]  # the part, every 1 s
    assert [s for s in starts if s >= 8.0] == [8.0, 10.0]
    assert max(n.end for i in out.instruments for n in i.notes if 4.0 <= n.start < 8.0) <= 8.0 + 1e-9


def test_tempo_map_puts_a_daws_bar_lines_on_the_musics_bars():
    pm = midi_tools.load(chord_midi(12.0, 2.0))
    bars = [0.0, 2.1, 3.9, 6.2, 8.0, 10.3]
    out = midi_tools.load(midi_tools.dump(midi_tools.with_bar_tempo_map(pm, bars)))
    assert out.get_downbeats()[: len(bars)] == pytest.approx(bars, abs=1e-4)  # bar lines as a DAW draws them
    assert len(set(np.round(out.get_tempo_changes()[1], 2))) > 1
    before = sorted((n.start, n.end, n.pitch) for i in pm.instruments for n in i.notes)
    after = sorted((n.start, n.end, n.pitch) for i in out.instruments for n in i.notes)
    assert len(after) == len(before)
    assert max(abs(a[0] - b[0]) + abs(a[1] - b[1]) for a, b in zip(before, after)) < 1e-3  # the music did not move


def test_bar_markers_survive_splicing_and_become_the_rendered_tempo_map(speech_video, tmp_path):
    def marked(seconds, bar_s):
        pm = midi_tools.load(chord_midi(seconds, bar_s))
        pm.text_events = [pretty_midi.Text(midi_tools.BAR_MARKER, t) for t in np.arange(0, seconds, bar_s)]
        return pm
    spliced = midi_tools.splice(marked(8.0, 2.0), marked(4.0, 1.5), 4.0, 8.0)
    assert midi_tools.bar_times(spliced) == pytest.approx([0.0, 2.0, 4.0, 5.5, 7.0])
    res = render(_job(speech_video, midi_tools.dump(spliced), tmp_path, 8.0), RenderSettings(mux_mode="replace"))
    written = midi_tools.load(open(res.midi_uri, "rb").read())
    assert written.get_downbeats()[:5] == pytest.approx([0.0, 2.0, 4.0, 5.5, 7.0], abs=1e-4)
    assert midi_tools.cut_markers(open(res.midi_uri, "rb").read()) == pytest.approx([4.0], abs=1e-3)


def test_the_generators_midi_carries_its_bar_lines():
    from emsync_core.music.tokens import Note, to_midi_bytes

    midi = to_midi_bytes([Note(0, 60, 0.0, 1.0, 90), Note(0, 64, 2.5, 3.0, 90)], (2.0,), [0.0, 1.7, 3.4])
    assert midi_tools.bar_times(midi_tools.load(midi)) == pytest.approx([0.0, 1.7, 3.4], abs=1e-3)
