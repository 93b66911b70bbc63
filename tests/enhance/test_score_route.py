"""`enhance_audio` on POST /api/score: a strict boolean, for duck mode only, carried into the render settings."""

from __future__ import annotations

import pytest

from ray_serve.score_routes import ScoreIn, _jobs, served_options




@pytest.mark.parametrize("body, message", [
    ({"enhance_audio": "true"}, "valid boolean"),  # strict: a string is not a boolean
    ({"enhance_audio": 1}, "valid boolean"),
    ({"enhance_audio": True, "mux": "replace"}, "mux 'duck' only"),
    ({"enhance_audio": True, "mux": "add"}, "mux 'duck' only"),
])
def test_bad_enhance_requests_are_refused_and_start_nothing(score_api, tmp_path, body, message):
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    before = len(_jobs)
    r = score_api.post("/api/score", json={"uri": str(video), **body})
    assert r.status_code == 422 and message in str(r.json()["detail"])
    assert len(_jobs) == before


def test_the_option_is_documented_and_reaches_the_render_settings():
    field = ScoreIn.model_json_schema()["properties"]["enhance_audio"]  # what /api/openapi.json shows
    assert field["type"] == "boolean" and field["default"] is False and "band limit" in field["description"]
    on = served_options("v.mp4", "/tmp/out", "sqlite://", 0, "duck", enhance_audio=True)
    assert on.render.enhance_audio and on.render.as_dict()["enhance_audio"] is True
    off = served_options("v.mp4", "/tmp/out", "sqlite://", 0, "duck")
    assert "enhance_audio" not in off.render.as_dict()  # soundtracks made without it keep their variant keys
