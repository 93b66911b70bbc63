"""The HTTP side of briefs and overrides: bad input is a 422 that names the item, and nothing starts."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from emsync_core.api.keys import create_key
from emsync_core.api.policy import ApiSettings
from emsync_core.db.engine import open_database
from ray_serve.app import build_api_app
from ray_serve.score_routes import _jobs


@pytest.fixture()
def client(tmp_path):
    """The archive API with a key of the score scope, scoring videos under tmp_path."""
    db = f"sqlite:///{tmp_path / 'emsync.db'}"
    sessions = open_database(db)
    with sessions.begin() as s:
        _, secret = create_key(s, "scorer", ("score",))
    sessions.kw["bind"].dispose()
    app = build_api_app(db, ApiSettings(catalog_roots=(str(tmp_path),)))
    with TestClient(app, base_url="http://127.0.0.1", headers={"Authorization": f"Bearer {secret}"}) as c:
        yield c


def test_a_score_request_with_an_unknown_brief_word_is_refused(client, tmp_path):
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    before = len(_jobs)
    r = client.post("/api/score", json={"uri": str(video), "brief": "tense, orchestrall"})
    assert r.status_code == 422 and "orchestrall" in r.json()["detail"]
    r = client.post("/api/score", json={"uri": str(video), "brief": "tense", "brief_rule": "louder"})
    assert r.status_code == 422
    assert len(_jobs) == before


@pytest.mark.parametrize("moods, message", [
    ([{"video": "abc", "scene": 0, "valence": 0.1, "arousal": 0.1}, {"video": "abc", "scene": 1, "brief": "jolly"}],
     "moods[1]: unknown brief word 'jolly'"),
    ([{"video": "abc", "scene": 0, "valence": 0.1, "arousal": 0.1}], "moods[0]: video id 'abc' matches 0 videos"),
    ([], "no overrides"),
])
def test_bad_mood_overrides_name_the_item(client, moods, message):
    r = client.post("/api/moods", json={"moods": moods})
    assert r.status_code == 422 and message in r.json()["detail"]
