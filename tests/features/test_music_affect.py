"""vibenet music affect: music gets a vector, silence and plain speech are absences."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emsync_core.features import registry
from emsync_core.features.music_affect import VIBENET_LABELS, MusicAffectBackbone
from tests.features.media import audio_windows, file_audio, lavfi_audio, spoken, video_info


@pytest.fixture(scope="module")
def music() -> MusicAffectBackbone:
    backbone = registry.resolve("music_affect")()
    backbone.load()
    return backbone


def _run(backbone: MusicAffectBackbone, audio: np.ndarray | None, seconds: float) -> dict[int, np.ndarray | None]:
    session = backbone.start(video_info(seconds, audio is not None))
    out: dict[int, np.ndarray | None] = {}
    for window in audio_windows(audio, seconds):
        for index, vector in session.push(window):
            assert index not in out
            out[index] = vector
    for index, vector in session.finish():
        assert index not in out
        out[index] = vector
    assert sorted(out) == list(range(int(np.ceil(seconds))))
    return out


def test_music_soundtrack_gets_bounded_values(music: MusicAffectBackbone, shared_video: Path, tmp_path: Path) -> None:
    audio = file_audio(tmp_path, shared_video / "big_buck_bunny_0_30.webm")
    out = _run(music, audio, 30.0)
    vectors = [v for v in out.values() if v is not None]
    assert len(vectors) >= 20  # the orchestral score plays through most of the clip
    stacked = np.stack(vectors)
    assert stacked.shape[1] == len(VIBENET_LABELS) and (stacked >= 0).all() and (stacked <= 1).all()
    assert len({tuple(v) for v in vectors}) >= 2  # one prediction per 10 s chunk, chunks differ


def test_silence_no_audio_and_speech_are_absences(music: MusicAffectBackbone, tmp_path: Path) -> None:
    assert all(v is None for v in _run(music, lavfi_audio(tmp_path, "anullsrc=r=16000:cl=mono", 6.0), 6.0).values())
    assert all(v is None for v in _run(music, None, 4.0).values())
    talk = spoken(tmp_path, "Good evening. Here is the news. The council met today to discuss the new budget for schools.", 0.2, 0.2)
    assert all(v is None for v in _run(music, talk, len(talk) / 16000).values())
