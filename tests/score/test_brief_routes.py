"""The HTTP side of briefs and overrides: bad input is a 422 that names the item, and nothing starts."""

from __future__ import annotations

import pytest

from ray_serve.score_routes import _jobs




def test_a_score_request_with_an_unknown_brief_word_is_refused(score_api, tmp_path):
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    before = len(_jobs)
    r = score_api.post("/api/score", json={"uri": str(video), "brief": "tense, orchestrall"})
    assert r.status_code == 422 and "orchestrall" in r.json()["detail"]
    r = score_api.post("/api/score", json={"uri": str(video), "brief": "tense", "brief_rule": "louder"})
    assert r.status_code == 422
    assert len(_jobs) == before


@pytest.mark.parametrize("moods, message", [
    ([{"video": "abc", "scene": 0, "valence": 0.1, "arousal": 0.1}, {"video": "abc", "scene": 1, "brief": "jolly"}],
     "moods[1]: unknown brief word 'jolly'"),
    ([{"video": "abc", "scene": 0, "valence": 0.1, "arousal": 0.1}], "moods[0]: video id 'abc' matches 0 videos"),
    ([], "no overrides"),
])
def test_bad_mood_overrides_name_the_item(score_api, moods, message):
    r = score_api.post("/api/moods", json={"moods": moods})
    assert r.status_code == 422 and message in r.json()["detail"]
