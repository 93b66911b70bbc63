"""Speech backbone on real synthetic speech (espeak-ng): transcript, sentiment, absences, bounded context."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emsync_core.features import registry
from emsync_core.features.speech import COMPOUND_INDEX, SPEECH_DIM, SpeechBackbone
from tests.features.media import audio_windows, lavfi_audio, spoken, video_info


@pytest.fixture(scope="module")
def speech() -> SpeechBackbone:
    backbone = registry.resolve("speech")()
    backbone.load()
    return backbone


def _run(backbone: SpeechBackbone, audio: np.ndarray | None, seconds: float):
    session = backbone.start(video_info(seconds, audio is not None))
    out, early = {}, 0
    for window in audio_windows(audio, seconds):
        ready = session.push(window)
        early += len(ready)
        out.update(ready)
    out.update(session.finish())
    assert sorted(out) == list(range(int(np.ceil(seconds))))
    return out, session, early


def test_happy_speech_is_transcribed_and_positive(speech: SpeechBackbone, tmp_path: Path) -> None:
    audio = spoken(tmp_path, "I am so happy today. This is a wonderful, beautiful day and I love it.")
    seconds = len(audio) / 16000
    out, session, _ = _run(speech, audio, seconds)
    text = " ".join(s.text for s in session.transcript).lower()
    assert "happy" in text and "love" in text
    (segment, *_) = session.annotations()["segments"]
    assert 1.5 < segment["start_s"] < 3.0  # 2 s of silence lead the speech; times are on the video's timeline
    voiced = [v for v in out.values() if v is not None]
    assert voiced and all(v.shape == (SPEECH_DIM,) for v in voiced)
    assert min(v[COMPOUND_INDEX] for v in voiced) > 0.5
    assert out[0] is None  # the first second is exact silence
    assert all(0 < v[-1] <= 1 for v in voiced)  # voiced share of the window


def test_negative_speech_has_negative_sentiment(speech: SpeechBackbone, tmp_path: Path) -> None:
    audio = spoken(tmp_path, "This is terrible. I hate it. Everything is awful, and I am angry and sad.")
    out, _, _ = _run(speech, audio, len(audio) / 16000)
    voiced = [v for v in out.values() if v is not None]
    assert voiced and max(v[COMPOUND_INDEX] for v in voiced) < -0.3


def test_silence_tone_and_no_audio_are_absences_and_context_is_bounded(speech: SpeechBackbone, tmp_path: Path) -> None:
    speech.context_s = 5.0
    try:
        out, session, early = _run(speech, lavfi_audio(tmp_path, "sine=frequency=440:sample_rate=16000", 12.0), 12.0)
        assert all(v is None for v in out.values()) and session.transcript == []
        assert early >= 10  # windows came back every 5 s, not all at the end
        out, _, _ = _run(speech, None, 3.0)
        assert all(v is None for v in out.values())
    finally:
        speech.context_s = 30.0


def test_sentence_encoder_reads_meaning() -> None:
    from emsync_core.features.minilm import SentenceEncoder

    e = SentenceEncoder().encode(["I am very happy.", "I feel really glad.", "The train leaves at nine from platform two."])
    assert e.shape == (3, 384) and np.allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    assert float(e[0] @ e[1]) > float(e[0] @ e[2]) + 0.3


def test_extraction_job_stores_the_transcript(tmp_path: Path) -> None:
    """Through the real extraction stage: a talking video's transcript lands beside its features."""
    import json
    import subprocess

    from emsync_core.features.extract_video import ExtractSettings, OutputLayout, VideoFeatureExtractor
    from emsync_core.store.catalog import resolve_ref

    subprocess.run(["espeak-ng", "-w", str(tmp_path / "say.wav"), "I am so happy today. This is a wonderful, beautiful day and I love it."], check=True)
    video = tmp_path / "talk.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=8", "-i", str(tmp_path / "say.wav"),
         "-af", "apad", "-t", "8", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", str(video)],
        check=True,
    )
    outcome = VideoFeatureExtractor(ExtractSettings(backbones=("visual_affect", "speech"))).run(resolve_ref(str(video)), OutputLayout(str(tmp_path / "out")))
    assert outcome.status == "ok", outcome.record
    stored = json.loads(Path(outcome.record["annotation_uris"]["speech"]).read_text())
    text = " ".join(s["text"] for s in stored["segments"]).lower()
    assert "happy" in text and "love" in text
    assert list(outcome.record["annotation_uris"]) == ["speech"]  # visual_affect keeps nothing beside its vectors
