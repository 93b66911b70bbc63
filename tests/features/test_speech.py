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
