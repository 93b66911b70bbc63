"""The archive API and the study app as a stranger meets them: credentials, scopes, catalog roots, what
errors reveal, body limits, strict types, bounded integers, allowed hosts; every route states its caller."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from emsync_core.db.engine import open_database
from emsync_core.db.safety_models import ServerError


def auth(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


ARCHIVE_GETS = ["/api/videos", "/api/runs", "/api/failures", "/api/soundtracks?video_id=%25&limit=1000", "/api/scenes",
                "/api/soundtracks/1/video", "/api/openapi.json", f"/api/score/{'0' * 32}"]


@pytest.mark.parametrize("path", ARCHIVE_GETS)
def test_archive_routes_need_a_key(api, path):
    client, secrets, _ = api
    assert client.get(path).status_code == 401
    assert client.get(path, headers=auth(secrets["revoked"])).status_code == 401
    assert client.get(path, headers=auth("emsk_" + "x" * 43)).status_code == 401
    assert client.get(path, headers=auth(secrets["scorer"])).status_code == 403  # a score-only key cannot read
    assert client.get(path, headers={"X-API-Key": secrets["reader"]}).status_code not in (401, 403)


def test_openapi_is_served_only_with_a_key_and_study_app_has_none(api):
    client, secrets, _ = api
    assert client.get("/openapi.json").status_code == 404 and client.get("/docs").status_code == 404
    schema = client.get("/api/openapi.json", headers=auth(secrets["reader"])).json()
    assert "/api/score" in schema["paths"]


def test_score_reaches_only_video_files_under_the_roots_and_says_the_same_for_missing_and_forbidden(api):
    client, secrets, paths = api
    h = auth(secrets["scorer"])
    assert client.post("/api/score", json={"uri": str(paths["root"] / "clip.mp4")}).status_code == 401
    assert client.post("/api/score", json={"uri": str(paths["root"] / "clip.mp4")}, headers=auth(secrets["reader"])).status_code == 403
    answers = [client.post("/api/score", json={"uri": uri}, headers=h) for uri in (
        str(paths["private"] / "secret.mp4"),  # exists, outside the roots
        str(paths["private"] / "nothing.mp4"),  # missing, outside
        str(paths["root"] / "nothing.mp4"),  # missing, inside
        str(paths["root"] / "escape.mp4"),  # a symlink out of the root
        str(paths["root"] / ".." / "private" / "secret.mp4"),
        "gs://another-bucket/video.mp4", "/etc/passwd", str(paths["root"]))]
    assert {(r.status_code, r.text) for r in answers} == {(404, answers[0].text)}
    assert "secret" not in answers[0].text and "exist" not in answers[0].text


@pytest.mark.parametrize("body", [
    {"uri": "a.mp4", "seed": "5"}, {"uri": "a.mp4", "seed": 3.0}, {"uri": "a.mp4", "seed": True},
    {"uri": "a.mp4", "seed": 99999999999999999999999}, {"uri": "a.mp4", "seed": -1}, {"uri": 5},
    {"uri": "a.mp4", "mux": "loud"}, {"uri": "a.mp4", "extra": 1}, {"uri": "x" * 5000},
], ids=["string-int", "float-int", "bool-int", "huge-int", "negative", "int-uri", "bad-mux", "unknown-field", "long-uri"])
def test_score_body_has_strict_types_and_bounds(api, body):
    client, secrets, _ = api
    assert client.post("/api/score", json=body, headers=auth(secrets["scorer"])).status_code == 422


@pytest.mark.parametrize("path", ["/api/soundtracks/99999999999999999999999/video", "/api/soundtracks/1/secrets",
                                  "/api/soundtracks?limit=100000", "/api/soundtracks?limit=0", "/api/videos?video_id=%25",
                                  "/api/scenes?min_prob=7", "/api/runs?run_id=" + "a" * 200])
def test_query_parameters_are_bounded(api, path):
    client, secrets, _ = api
    assert client.get(path, headers=auth(secrets["reader"])).status_code == 422


def test_bodies_over_the_limit_are_refused_before_parsing(api):
    client, secrets, _ = api
    big = b'{"uri": "' + b"a" * (20 << 20) + b'"}'
    r = client.post("/api/score", content=big, headers={**auth(secrets["scorer"]), "Content-Type": "application/json"})
    assert r.status_code == 413

    def chunks():  # no Content-Length: counted while it streams
        yield b'{"uri": "'
        for _ in range(200):
            yield b"a" * 1024
        yield b'"}'

    r = client.post("/api/score", content=chunks(), headers={**auth(secrets["scorer"]), "Content-Type": "application/json"})
    assert r.status_code == 413


def test_uploads_are_capped_and_leave_nothing_behind(api, monkeypatch):
    client, secrets, paths = api
    monkeypatch.setenv("EMSYNC_SERVE_OUT", str(paths["out"]))
    r = client.put("/api/score/upload/big.mp4", content=b"\x00" * 10_000, headers=auth(secrets["scorer"]))
    assert r.status_code == 413
    assert not any((paths["out"] / "uploads").glob("*"))
    assert client.put("/api/score/upload/notes.txt", content=b"x", headers=auth(secrets["scorer"])).status_code == 415


def test_unknown_host_is_refused(api):
    client, secrets, _ = api
    assert client.get("/healthz", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/healthz").status_code == 200


def test_a_server_failure_is_a_generic_message_with_an_id_and_the_details_go_to_the_database(api):
    client, secrets, paths = api
    r = client.get("/api/score/" + "0" * 32, headers=auth(secrets["reader"]))
    assert r.status_code == 404 and r.json() == {"detail": "no such job"}
    os.environ.pop("EMSYNC_SERVE_OUT", None)
    # a database table dropped under the server: a real failure inside a route
    engine = open_database(paths["db"]).kw["bind"]
    with engine.begin() as c:
        c.exec_driver_sql("ALTER TABLE failures RENAME TO failures_moved")
    try:
        r = client.get("/api/failures", headers=auth(secrets["reader"]))
    finally:
        with engine.begin() as c:
            c.exec_driver_sql("ALTER TABLE failures_moved RENAME TO failures")
    assert r.status_code == 500 and set(r.json()) == {"detail", "error_id"} and "failures" not in r.text
    with open_database(paths["db"])() as s:
        row = s.get(ServerError, r.json()["error_id"])
    assert row is not None and "failures" in row.detail


def test_every_route_of_both_apps_says_who_may_call_it(api, private_dir):
    from ray_serve.app import build_study_app

    client, _, paths = api
    study = build_study_app(paths["db"])
    for app, public_ok in ((client.app, {"/healthz"}), (study, None)):
        for route in app.routes:
            if not hasattr(route, "dependant"):
                continue
            access = {getattr(d.call, "access", None) for d in route.dependant.dependencies} - {None}
            extra = (route.openapi_extra or {}).get("x-access")
            token = "{token}" in route.path or route.path.startswith("/study-assets")
            if app is study:  # the public rating page: a participant token is the credential
                assert token or extra, route.path
            else:
                assert access <= {"read", "score"} and (access or route.path in public_ok), route.path
    # and the archive routes are not on the study app at all
    assert not [r for r in study.routes if getattr(r, "path", "").startswith(("/api/score", "/api/soundtracks", "/api/videos"))]
