"""What a broadcaster checks: 48 kHz, true peak measured by ffmpeg's own BS.1770 meter, every source
stream kept (other audio tracks, subtitles, chapters, metadata, timecode), the add mode, the WAV stem."""

from __future__ import annotations

import json
import re
import subprocess

import numpy as np
import pytest
import soundfile as sf

from emsync_core.render.master import MasterSettings, limit, master, true_peak_db
from emsync_core.render.mux import MUSIC_TRACK_TITLE
from emsync_core.render.pipeline import RenderSettings, render
from emsync_core.render.source import SAMPLE_RATE
from emsync_core.render.synth import synthesize
from tests.render.conftest import RICH_TIMECODE, chord_midi
from tests.render.test_render import _job, video_md5


def ffmpeg_true_peak_dbtp(path: str, stream: str = "0:a:0") -> float:
    """The true peak ffmpeg's ebur128 filter (peak=true) measures."""
    err = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-i", path, "-map", stream, "-af", "ebur128=peak=true",
                          "-f", "null", "-"], capture_output=True, text=True, check=True).stderr
    return float(re.findall(r"True peak:\s*\n\s*Peak:\s*(-?[\d.]+|-inf) dBFS", err)[-1])


def probe(path: str) -> dict:
    return json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format", "-show_chapters", "-of",
                                      "json", path], capture_output=True, check=True).stdout)


def hot_music(seconds: float = 8.0) -> np.ndarray:
    """Music driven far over full scale with inter-sample peaks: what the limiter must tame."""
    raw = synthesize(chord_midi(seconds + 2, 0.5), SAMPLE_RATE)
    return raw / np.abs(raw).max() * 2.0


def _measured(audio: np.ndarray, folder) -> float:
    path = str(folder / "m.wav")
    sf.write(path, audio, SAMPLE_RATE, subtype="FLOAT")
    return ffmpeg_true_peak_dbtp(path)


@pytest.mark.parametrize("lufs, ceiling", [(-16.0, -1.0), (-23.0, -2.0)])
def test_true_peak_stays_under_the_ceiling_by_ffmpegs_meter(tmp_path, lufs, ceiling):
    settings = MasterSettings(target_lufs=lufs)
    assert settings.ceiling_dbtp == ceiling
    hot = hot_music()
    assert _measured(hot, tmp_path) > 5.0
    limited = limit(hot, SAMPLE_RATE, ceiling)
    measured = _measured(limited, tmp_path)
    assert ceiling - 0.5 < measured <= ceiling + 0.05, measured  # limited to the ceiling, not just turned down
    assert abs(true_peak_db(limited) - measured) < 0.2  # our meter agrees with ffmpeg's
    assert np.abs(limited).max() > 10 ** ((ceiling - 1.0) / 20)
    out, _ = master(hot * 4, SAMPLE_RATE, 8.0, MasterSettings(target_lufs=-6.0, ceiling_db=ceiling))  # loud: limiter works
    assert ceiling - 0.5 < _measured(out, tmp_path) <= ceiling + 0.05


def _streams(info: dict, kind: str) -> list[dict]:
    return [s for s in info["streams"] if s["codec_type"] == kind]


@pytest.mark.parametrize("ext, mode", [("mp4", "duck"), ("mov", "add"), ("mkv", "replace")])
def test_every_source_stream_is_kept(rich_video, midi_bytes, tmp_path, ext, mode):
    source = rich_video(ext)
    res = render(_job(source, midi_bytes, tmp_path, 6.0), RenderSettings(mux_mode=mode))
    assert res.mux_mode == mode and res.video_uri.endswith("." + ext)  # MOV stays MOV, MKV stays MKV
    assert video_md5(res.video_uri) == video_md5(source)
    src, out = probe(source), probe(res.video_uri)
    audio = _streams(out, "audio")
    assert all(int(a["sample_rate"]) in (48000, 44100) for a in audio)
    music = [a for a in audio if MUSIC_TRACK_TITLE in (a.get("tags", {}).get("title", ""), a.get("tags", {}).get("handler_name", ""))]
    assert len(music) == 1 and int(music[0]["sample_rate"]) == 48000
    if mode == "add":  # the originals untouched, the music an extra track that does not play by default
        assert len(audio) == 3 and audio[-1] is music[0] and not music[0]["disposition"]["default"]
        for stream in ("0:a:0", "0:a:1"):
            assert _audio_md5(res.video_uri, stream) == _audio_md5(source, stream)
        assert ffmpeg_true_peak_dbtp(res.video_uri, "0:a:2") <= 0.0
    else:  # the mix takes the first track's place; the commentary stays
        assert len(audio) == 2 and audio[0] is music[0] and music[0]["disposition"]["default"]
        assert _audio_md5(res.video_uri, "0:a:1") == _audio_md5(source, "0:a:1")
        assert ffmpeg_true_peak_dbtp(res.video_uri) <= 0.0  # the delivered AAC: no clipping (overshoot, see SCORE.md)
    assert [s["tags"].get("language") for s in _streams(out, "subtitle")] == ["eng"]
    assert [c["tags"]["title"] for c in out["chapters"]] == [c["tags"]["title"] for c in src["chapters"]] == ["Opening", "Ending"]
    assert out["format"]["tags"].get("title") == "Rich source"
    assert RICH_TIMECODE in json.dumps(out)


def _audio_md5(path: str, stream: str) -> str:
    return subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-map", stream, "-c", "copy", "-f", "md5", "-"],
                          capture_output=True, check=True, text=True).stdout.strip()


def test_wav_stem_is_48k_24bit_with_the_start_timecode(rich_video, midi_bytes, tmp_path):
    res = render(_job(rich_video("mp4"), midi_bytes, tmp_path, 6.0), RenderSettings(mux_mode="replace"))
    info = sf.info(res.wav_uri)
    assert (info.samplerate, info.subtype, info.channels) == (48000, "PCM_24", 2)
    flac, sr = sf.read(res.audio_uri, dtype="float32")
    wav, _ = sf.read(res.wav_uri, dtype="float32")
    assert sr == 48000 and np.abs(flac - wav).max() < 1e-6  # the same music in both
    tags = probe(res.wav_uri)["format"]["tags"]
    assert int(tags["time_reference"]) == 3600 * 48000  # 01:00:00:00 in samples since midnight
    assert ffmpeg_true_peak_dbtp(res.wav_uri) <= -1.0 + 0.05
