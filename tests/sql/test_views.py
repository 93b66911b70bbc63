"""The analysts' views and example queries, unchanged on SQLite and PostgreSQL, over data written through
the real recording API (Recorder) and a real study; both engines must give the same answers."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
from sqlalchemy import inspect, text

from emsync_core.db.analyst_views import query_files, view_files, view_name
from emsync_core.db.engine import open_database
from emsync_core.db.export import export_views
from emsync_core.db.record import FailureRecord, Recorder, SoundtrackRecord, VideoFacts
from emsync_core.emotion.scene import SceneEmotion
from emsync_core.study import participation
from emsync_core.study.create import ArmSpec, CriterionSpec, StudyRequest, create_study
from tests.study.archive import pg_schema_url


def _scene(index: int, dominant: str, valence: float, arousal: float) -> SceneEmotion:
    probs = {k: 0.04 for k in ("anger", "disgust", "fear", "joy", "sadness", "surprise")}
    probs[dominant] = 0.8
    return SceneEmotion(index, 2.0 * index, 2.0 * index + 2.0, probs, valence=valence, arousal=arousal, confidence=0.8)


def _soundtrack(video_id: str, gen: str, n_cuts: int, matched: int, path: str) -> SoundtrackRecord:
    return SoundtrackRecord(
        video_id=video_id, variant_key=f"{gen}", seed=1, generator_version=gen, generator_sha256="a" * 64,
        classifier_version="clf-1", classifier_sha256="b" * 64, code_version="t", conditions=[], cuts_s=[4.0] * n_cuts,
        chord_onsets_s=[], sampling={}, render={}, midi_uri=path, audio_uri=path, video_uri=path, plot_uri="",
        midi_sha256="", audio_sha256="", video_sha256="c" * 64, duration_s=10.0, n_tokens=100 * (1 + matched),
        n_cuts=n_cuts, n_cuts_matched=matched, mean_cut_offset_s=0.1 * matched if n_cuts else None, loudness_lufs=-16.0)


def build(url: str, tmp) -> None:
    """Two catalogs; videos done, failed and pending; scenes with emotions; two generators; one answered study."""
    sessions = open_database(url)
    rec = Recorder(sessions)
    run_id, _ = rec.open_run("score", "k", catalog_uri="c", out_uri="o", config={}, code_version="t", model_versions={})
    for catalog, videos in (("/archive/news", ("n1", "n2", "n3")), ("/archive/film", ("f1", "f2"))):
        cid = rec.ensure_catalog(catalog)
        for vid in videos:
            rec.record_video(VideoFacts(video_id=vid, uri=f"{catalog}/{vid}.mp4", content_key="k", duration_s=10.0),
                             status="extracted", catalog_id=cid)
    emotions = {"n1": [("joy", 0.7, 0.4), ("fear", -0.6, 0.6)], "n2": [("joy", 0.6, 0.3)], "f1": [("sadness", -0.6, -0.3)] * 3,
                "f2": [("anger", -0.5, 0.5)]}
    for vid, scenes in emotions.items():
        rec.record_emotions(vid, [_scene(i, *e) for i, e in enumerate(scenes)],
                            classifier_version="clf-1", classifier_sha256="b" * 64, run_id=run_id)
    for gen in ("gen-a", "gen-b"):  # one file per generator: a study refuses arms made of the same files
        (tmp / f"st-{gen}.mp4").write_bytes(f"{gen}: not played in this test".encode())
    for vid, gen, cuts, matched in (("n1", "gen-a", 4, 3), ("n1", "gen-b", 4, 1), ("n2", "gen-a", 2, 2), ("n2", "gen-b", 2, 0),
                                    ("f1", "gen-a", 0, 0), ("f1", "gen-b", 0, 0)):
        rec.record_soundtrack(_soundtrack(vid, gen, cuts, matched, str(tmp / f"st-{gen}.mp4")), run_id=run_id)
    rec.record_failure(FailureRecord(uri="/archive/film/f2.mp4", stage="render", error_class="MediaError", message="mux failed",
                                     video_id="f2"), run_id=run_id)
    rec.record_failure(FailureRecord(uri="/archive/news/broken.mp4", stage="probe", error_class="MediaError",
                                     message="moov atom not found"), run_id=run_id)
    rec.close_run(run_id, complete=True, n_videos=5, n_soundtracks=6, n_failures=2, video_seconds=50.0, timings={})
    with sessions.begin() as s:
        created = create_study(s, StudyRequest(
            name="views", title="t", arms=(ArmSpec.parse("a=model:gen-a"), ArmSpec.parse("b=model:gen-b")),
            criteria=tuple(CriterionSpec.parse(c, "choice") for c in ("emotion", "overall")), media_dir=str(tmp / "m"),
            ratings_per_pair=3, participants=3, identical_checks=1, mismatch_checks=0, seed=4,
            require_full_play=False))  # answered here without playing
    for n, (_label, token) in enumerate(created.tokens):
        with sessions.begin() as s:
            participation.record_intake(s, token, n == 0)
        with sessions() as s:
            state = participation.state(s, token)
        for item in state["items"]:
            for c in state["criteria"]:
                choice = "same" if n < 2 and item["position"] in _identical(sessions, token) else ("A", "B")[(item["position"] + n) % 2]
                with sessions.begin() as s:
                    participation.save_answer(s, token, item["position"], c["key"], participation.Submitted(choice=choice))
    sessions.kw["bind"].dispose()


def _identical(sessions, token) -> set[int]:
    with sessions() as s:
        p = participation.participant_for(s, token)
        return {i.position for i in p.items if i.check_kind == "identical"}


def _rows(url: str, sql: str) -> list[tuple]:
    from emsync_core.db.engine import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        result = conn.execute(text(sql))
        keys = list(result.keys())
        rows = [dict(zip(keys, r)) for r in result]
    engine.dispose()
    out = []
    for row in rows:  # engines differ in timestamp and numeric types, not in values
        norm = []
        for k, v in row.items():
            if k in ("at", "run_id") or k.endswith("_at") or isinstance(v, dt.datetime):  # times and run uuids differ
                continue
            if v is not None and not isinstance(v, (str, bool)) and isinstance(v, (int, float)) or type(v).__name__ == "Decimal":
                v = round(float(v), 9)
            norm.append((k, v))
        out.append(tuple(norm))
    return out


@pytest.fixture(scope="module")
def databases(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("views")
    sqlite_url = f"sqlite:///{tmp / 'emsync.db'}"
    build(sqlite_url, tmp)
    pg_url, cleanup = pg_schema_url()
    build(pg_url, tmp)
    yield {"sqlite": sqlite_url, "postgresql": pg_url}
    cleanup()


@pytest.mark.postgres
def test_every_view_and_query_runs_and_agrees_on_both_engines(databases):
    names = [view_name(p) for p in view_files()]
    for url in databases.values():
        from emsync_core.db.engine import make_engine

        engine = make_engine(url)
        assert set(names) <= set(inspect(engine).get_view_names())
        engine.dispose()
    for path in [*view_files(), *query_files()]:
        sql = f"SELECT * FROM {view_name(path)}" if path.parent.name == "views" else path.read_text()
        results = {name: _rows(url, sql) for name, url in databases.items()}
        assert results["sqlite"], f"{path.name} returned nothing"
        if "ORDER BY" in sql:
            assert results["sqlite"] == results["postgresql"], path.name
        else:
            assert sorted(results["sqlite"], key=repr) == sorted(results["postgresql"], key=repr), path.name


@pytest.mark.postgres
@pytest.mark.parametrize("engine_name", ["sqlite", "postgresql"])
def test_views_answer_the_analysts_questions(databases, engine_name):
    url = databases[engine_name]
    status = dict((r[0][1], dict(r)) for r in _rows(url, "SELECT video_id, state, n_soundtracks, catalog_uri FROM v_video_status"))
    assert {v: s["state"] for v, s in status.items()} == {"n1": "done", "n2": "done", "n3": "pending", "f1": "done", "f2": "failed"}
    failures = _rows(url, "SELECT stage, error_class, n_inputs, example_message FROM (" + query_files()[0].read_text() + ") q")
    assert {dict(r)["stage"] for r in failures} == {"probe", "render"}
    emotion = [dict(r) for r in _rows(url, "SELECT catalog_uri, dominant, n_scenes, share_of_scenes, mean_valence FROM v_emotion_by_catalog")]
    news = {r["dominant"]: r for r in emotion if r["catalog_uri"] == "/archive/news"}
    assert news["joy"]["n_scenes"] == 2 and news["joy"]["share_of_scenes"] == pytest.approx(2 / 3)
    assert news["joy"]["mean_valence"] == pytest.approx(0.65)
    film = [r for r in emotion if r["catalog_uri"] == "/archive/film"]
    assert math.isclose(sum(r["share_of_scenes"] for r in film), 1.0)
    models = {dict(r)["generator_version"]: dict(r) for r in _rows(url, "SELECT * FROM v_soundtracks_by_model")}
    assert models["gen-a"]["cut_match_rate"] == pytest.approx(5 / 6) and models["gen-b"]["cut_match_rate"] == pytest.approx(1 / 6)
    assert models["gen-a"]["n_soundtracks"] == 3
    participants = {dict(r)["participant"]: dict(r) for r in _rows(url, "SELECT * FROM v_study_participants")}
    assert {p: r["excluded"] for p, r in participants.items()} == {"P001": 0, "P002": 0, "P003": 1}
    arms = [dict(r) for r in _rows(url, "SELECT * FROM v_study_arm_results WHERE listener_group = 'all'")]
    assert {r["arm"] for r in arms} == {"a", "b"} and all(r["wins"] + r["losses"] + r["ties"] == r["n_comparisons"] for r in arms)


@pytest.mark.postgres
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_export_writes_every_view(databases, tmp_path, fmt):
    from emsync_core.db.engine import make_engine

    engine = make_engine(databases["postgresql"])
    written = export_views(engine, tmp_path, fmt, study="views")
    engine.dispose()
    assert [t.name for t in written] == [view_name(p) for p in view_files()]
    ratings = next(t for t in written if t.name == "v_study_ratings")
    frame = pd.read_parquet(ratings.path) if fmt == "parquet" else pd.read_csv(ratings.path)
    assert len(frame) == ratings.rows > 0 and "token" not in " ".join(frame.columns)
    assert set(frame["study"]) == {"views"}
