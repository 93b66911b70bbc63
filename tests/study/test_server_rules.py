"""The study's rules held by the server (the real FastAPI app, in process, on SQLite and PostgreSQL): no
answer changes after completion, full play judged from what the server sent, attention checks that headers
and sizes do not give away, bounded positions, strict types, and the cut question only where there are cuts."""

from __future__ import annotations

import hashlib
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from emsync_core.db.engine import open_database
from emsync_core.db.study_models import StudyAnswer, StudyItem
from emsync_core.study import participation
from emsync_core.study.create import ArmSpec, CriterionSpec, StudyRequest, create_study
from ray_serve.app import build_app
from tests.study.archive import pg_schema_url, seed_archive

DURATION = 1.0
CRITERIA = ("richness", "emotion", "timing", "overall")


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def rules(request, tmp_path_factory):
    """(client, sessions, studies by name): two videos, the second without cuts."""
    root = tmp_path_factory.mktemp(f"rules-{request.param}")
    cleanup = None
    url = f"sqlite:///{root / 'emsync.db'}" if request.param == "sqlite" else None
    if url is None:
        url, cleanup = pg_schema_url()
    sessions = open_database(url)
    seed_archive(sessions, root, n_videos=2, generators=("gen-a", "gen-b"), duration=DURATION, cut_free=(1,))
    studies = {}
    for name, mode, criteria, full_play in (("play", "choice", CRITERIA, True), ("free", "choice", CRITERIA, False),
                                            ("scale", "scale", ("emotion", "overall"), False)):
        with sessions.begin() as s:
            studies[name] = create_study(s, StudyRequest(
                name=name, title=name, arms=(ArmSpec.parse("a=model:gen-a"), ArmSpec.parse("b=model:gen-b")),
                criteria=tuple(CriterionSpec.parse(c, mode) for c in criteria), media_dir=str(root / "media"), mode=mode,
                ratings_per_pair=2, participants=2, seed=3, mismatch_checks=0, identical_checks=0 if mode == "scale" else 1,
                require_full_play=full_play))
    with TestClient(build_app(url), base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
        yield client, sessions, studies
    sessions.kw["bind"].dispose()
    if cleanup:
        cleanup()


def _items(client, token):
    assert client.post(f"/api/study/{token}/intake", json={"music_trained": True}).status_code == 200
    return client.get(f"/api/study/{token}/state").json()["items"]


def _size(client, url) -> int:
    """The file's length as a player learns it (Content-Range of a one-byte range request)."""
    return int(client.get(url, headers={"Range": "bytes=0-0"}).headers["content-range"].split("/")[1])


def _check_position(sessions, token, kind):
    with sessions() as s:
        p = participation.participant_for(s, token)
        return s.scalar(select(StudyItem.position).where(StudyItem.participant_id == p.id, StudyItem.check_kind == kind))


def test_no_answer_changes_after_completion(rules):
    client, sessions, studies = rules
    token = studies["free"].tokens[0][1]
    for item in _items(client, token):
        for key in item["criteria"]:
            assert client.put(f"/api/study/{token}/items/{item['position']}/answers/{key}", json={"choice": "A"}).status_code == 200
    check = _check_position(sessions, token, "identical")
    # "repairing" a failed identical-pair check after the end is refused, and the stored answer stays
    repair = client.put(f"/api/study/{token}/items/{check}/answers/overall", json={"choice": "same"})
    assert repair.status_code == 409 and "complete" in repair.json()["detail"]
    with sessions() as s:
        p = participation.participant_for(s, token)
        stored = s.scalars(select(StudyAnswer.choice).join(StudyItem, StudyItem.id == StudyAnswer.item_id)
                           .where(StudyItem.participant_id == p.id, StudyItem.position == check)).all()
    assert stored and set(stored) == {1}


def test_full_play_is_judged_from_what_the_server_sent(rules):
    client, _sessions, studies = rules
    token = studies["play"].tokens[0][1]
    position = _items(client, token)[0]["position"]
    url = f"/api/study/{token}/items/{position}/answers/overall"
    refused = client.put(url, json={"choice": "A"})  # nothing fetched at all
    assert refused.status_code == 409 and "play both" in refused.json()["detail"]
    for slot in ("A", "B"):  # a seek to the end: only the last bytes, at once
        size = _size(client, f"/api/study/{token}/items/{position}/media/{slot}")
        tail = client.get(f"/api/study/{token}/items/{position}/media/{slot}", headers={"Range": f"bytes={size - 100}-"})
        assert tail.status_code == 206
    assert client.put(url, json={"choice": "A"}).status_code == 409
    time.sleep(2 * participation.PLAY_FRACTION * DURATION + 0.1)  # as long as playing A, then B
    assert client.put(url, json={"choice": "A"}).status_code == 200


def test_identical_pair_sides_cannot_be_told_apart(rules):
    client, sessions, studies = rules
    token = studies["play"].tokens[1][1]
    _items(client, token)
    check = _check_position(sessions, token, "identical")
    sides = [client.get(f"/api/study/{token}/items/{check}/media/{slot}") for slot in ("A", "B")]
    assert all(r.status_code == 200 for r in sides)
    for name in ("etag", "last-modified"):
        assert name not in sides[0].headers and name not in sides[1].headers
    assert sides[0].headers["content-length"] == sides[1].headers["content-length"]
    assert hashlib.sha256(sides[0].content).digest() != hashlib.sha256(sides[1].content).digest()
    regular = next(i for i in client.get(f"/api/study/{token}/state").json()["items"] if i["position"] != check)["position"]
    assert _size(client, f"/api/study/{token}/items/{regular}/media/A") == \
        _size(client, f"/api/study/{token}/items/{regular}/media/B")  # a real pair: one length too


def test_huge_position_is_a_client_error(rules):
    client, _sessions, studies = rules
    token = studies["free"].tokens[1][1]
    huge = "99999999999999999999999"
    assert client.put(f"/api/study/{token}/items/{huge}/answers/overall", json={"choice": "A"}).status_code == 422
    assert client.get(f"/api/study/{token}/items/{huge}/media/A").status_code == 422
    assert client.put(f"/api/study/{token}/items/40000/answers/overall", json={"choice": "A"}).status_code == 422


@pytest.mark.parametrize("bad", ["5", 3.0, True])
def test_scores_and_intake_are_strictly_typed(rules, bad):
    client, _sessions, studies = rules
    token = studies["scale"].tokens[0][1]
    position = _items(client, token)[0]["position"]
    url = f"/api/study/{token}/items/{position}/answers/overall"
    assert client.put(url, json={"score_first": bad, "score_second": 2}).status_code == 422
    assert client.put(url, json={"score_first": 2, "score_second": bad}).status_code == 422
    assert client.post(f"/api/study/{studies['scale'].tokens[1][1]}/intake", json={"music_trained": 1}).status_code == 422


def test_cut_question_only_for_videos_with_cuts(rules):
    client, sessions, studies = rules
    token = studies["free"].tokens[1][1]
    items = _items(client, token)
    with sessions() as s:
        p = participation.participant_for(s, token)
        cuts = {i.position: i.video.n_cuts for i in s.scalars(select(StudyItem).where(StudyItem.participant_id == p.id))}
    assert {0, 1} == set(cuts.values())
    for item in items:
        assert ("timing" in item["criteria"]) == (cuts[item["position"]] > 0)
    no_cuts = next(i["position"] for i in items if cuts[i["position"]] == 0)
    assert client.put(f"/api/study/{token}/items/{no_cuts}/answers/timing", json={"choice": "A"}).status_code == 422
    for item in items:
        for key in item["criteria"]:
            client.put(f"/api/study/{token}/items/{item['position']}/answers/{key}", json={"choice": "B"})
    assert client.get(f"/api/study/{token}/state").json()["complete"] is True
