"""`enhance_audio` on POST /api/score: a strict boolean, for duck mode only, carried into the render settings."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from emsync_core.api.keys import create_key
from emsync_core.api.policy import ApiSettings
from emsync_core.db.engine import open_database
from ray_serve.app import build_api_app
from ray_serve.score_routes import ScoreIn, _jobs, served_options


@pytest.fixture()
def client(tmp_path):
    db = f"sqlite:///{tmp_path / 'emsync.db'}"
    sessions = open_database(db)
    with sessions.begin() as s:
        _, secret = create_key(s, "scorer", ("score",))
    sessions.kw["bind"].dispose()
    app = build_api_app(db, ApiSettings(catalog_roots=(str(tmp_path),)))
    with TestClient(app, base_url="http://127.0.0.1", headers={"Authorization": f"Bearer {secret}"}) as c:
        yield c


@pytest.mark.parametrize("body, message", [
    ({"enhance_audio": "true"}, "valid boolean"),  # strict: a string is not a boolean
    ({"enhance_audio": 1}, "valid boolean"),
    ({"enhance_audio": True, "mux": "replace"}, "mux 'duck' only"),
    ({"enhance_audio": True, "mux": "add"}, "mux 'duck' only"),
])
def test_bad_enhance_requests_are_refused_and_start_nothing(client, tmp_path, body, message):
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    before = len(_jobs)
    r = client.post("/api/score", json={"uri": str(video), **body})
    assert r.status_code == 422 and message in str(r.json()["detail"])
    assert len(_jobs) == before


def test_the_option_is_documented_and_reaches_the_render_settings():
    field = ScoreIn.model_json_schema()["properties"]["enhance_audio"]  # what /api/openapi.json shows
    assert field["type"] == "boolean" and field["default"] is False and "band limit" in field["description"]
    on = served_options("v.mp4", "/tmp/out", "sqlite://", 0, "duck", enhance_audio=True)
    assert on.render.enhance_audio and on.render.as_dict()["enhance_audio"] is True
    off = served_options("v.mp4", "/tmp/out", "sqlite://", 0, "duck")
    assert "enhance_audio" not in off.render.as_dict()  # soundtracks made without it keep their variant keys
