"""The core schema, migrations, idempotent recording and retrieval, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select

from emsync_core.db import queries
from emsync_core.db.base import Base
from emsync_core.db.engine import make_engine, upgrade
from emsync_core.db.models import Emotion, Failure, Scene, Soundtrack, Video
from emsync_core.db.record import FailureRecord, Recorder, SoundtrackRecord, VideoFacts
from emsync_core.emotion.scene import SceneEmotion

CORE = {"catalogs", "videos", "runs", "scenes", "emotions", "soundtracks", "failures"}

MARKER = {
    "video_id": "v1", "uri": "/data/a.mp4", "content_key": "size:10:mtime_ns:1", "size": 10, "status": "ok",
    "duration_s": 20.0, "fps": 25.0, "width": 320, "height": 240, "rotation": 0, "has_audio": True, "n_windows": 20,
    "cuts_raw_s": [4.9, 10.0], "cuts_s": [10.0], "backbones": [{"name": "visual_affect", "version": "1", "dim": 6}],
    "features_uri": "/out/features/v1.parquet", "seconds": 1.5, "peak_rss_mb": 300.0,
}


def _verdicts():
    joy = {"anger": 0.02, "disgust": 0.02, "fear": 0.02, "joy": 0.9, "sadness": 0.02, "surprise": 0.02}
    fear = {"anger": 0.1, "disgust": 0.05, "fear": 0.7, "joy": 0.05, "sadness": 0.05, "surprise": 0.05}
    return [SceneEmotion(0, 0.0, 10.0, joy, valence=0.7, arousal=0.4, confidence=0.9),
            SceneEmotion(1, 10.0, 20.0, fear, valence=-0.6, arousal=0.6, confidence=0.7)]


def _soundtrack(variant="k1", seed=1, **kw):
    base = dict(video_id="v1", variant_key=variant, seed=seed, generator_version="gen-1", generator_sha256="g" * 64,
                classifier_version="cls-1", classifier_sha256="c" * 64, code_version="0.1.0",
                conditions=[{"start_s": 0.0, "end_s": 10.0, "valence": 0.7, "arousal": 0.4}], cuts_s=[10.0],
                chord_onsets_s=[0.0, 10.1], sampling={"temperature": 1.35}, render={"lufs": -16},
                midi_uri="a.mid", audio_uri="a.flac", video_uri="a.mp4", plot_uri="a.png", midi_sha256="m" * 64,
                audio_sha256="a" * 64, video_sha256="v" * 64, duration_s=20.0, n_tokens=500, n_cuts=1,
                n_cuts_matched=1, mean_cut_offset_s=0.1)
    base.update(kw)
    return SoundtrackRecord(**base)


def _count(sessions, model):
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_migrations_create_the_models_and_are_idempotent(sessions):
    engine = sessions.kw["bind"]
    upgrade(engine)  # a second upgrade is a no-op
    assert CORE <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn)
        assert ctx.get_current_revision() is not None
        diffs = [d for d in compare_metadata(ctx, Base.metadata) if _table_of(d) in CORE]
    assert diffs == []


def _table_of(diff):
    """The table a compare_metadata diff is about (diffs are tuples, or lists of tuples for modify_*)."""
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        if isinstance(part, str):
            return part
        table = getattr(part, "table", None)
        name = table.name if table is not None else getattr(part, "name", None)
        if isinstance(name, str):
            return name
    return None


def test_recording_twice_writes_each_fact_once(sessions):
    rec = Recorder(sessions)
    cat = rec.ensure_catalog("/data")
    assert rec.ensure_catalog("/data") == cat
    run_id, resumed = rec.open_run("score", "key", catalog_uri="/data", out_uri="/out", config={}, code_version="0.1.0",
                                   model_versions={})
    assert not resumed
    for _ in range(2):
        rec.record_video(VideoFacts.from_marker(MARKER), status="extracted", catalog_id=cat)
        assert rec.record_emotions("v1", _verdicts(), classifier_version="cls-1", classifier_sha256="c" * 64,
                                   run_id=run_id) == 2
        rec.record_failure(FailureRecord("/data/a.mp4", "generate", "RuntimeError", "boom", video_id="v1"), run_id=run_id)
    assert (_count(sessions, Video), _count(sessions, Scene), _count(sessions, Emotion), _count(sessions, Failure)) == (1, 2, 2, 1)
    with sessions() as s:
        assert s.scalar(select(Failure.attempts)) == 2
        assert queries.failures(s)[0]["message"] == "boom"
    ids = {rec.record_soundtrack(_soundtrack(), run_id=run_id) for _ in range(2)}
    assert len(ids) == 1 and _count(sessions, Soundtrack) == 1
    with sessions() as s:
        assert s.get(Video, "v1").status == "scored"
        assert queries.failures(s) == []  # the soundtrack resolved the earlier failure
        assert s.get(Video, "v1").cuts_s == [10.0]


def test_a_restart_resumes_the_unfinished_run(sessions):
    rec = Recorder(sessions)
    args = dict(catalog_uri="/data", out_uri="/out", config={"seed": 1}, code_version="0.1.0", model_versions={})
    first, _ = rec.open_run("score", "same", **args)
    again, resumed = rec.open_run("score", "same", **args)
    assert (again, resumed) == (first, True)
    rec.close_run(first, complete=True, n_videos=1, n_soundtracks=1, n_failures=0, video_seconds=20.0, timings={"total_s": 1.0})
    later, resumed = rec.open_run("score", "same", **args)
    assert later != first and not resumed
    with sessions() as s:
        by_id = {r["run_id"]: r for r in queries.runs(s)}
    assert by_id[first]["status"] == "complete" and by_id[first]["timings"] == {"total_s": 1.0}


def test_queries_by_emotion_range_run_and_model(sessions):
    rec = Recorder(sessions)
    run_id, _ = rec.open_run("score", "q", catalog_uri=None, out_uri=None, config={}, code_version="0", model_versions={})
    rec.record_video(VideoFacts.from_marker(MARKER), status="extracted")
    rec.record_emotions("v1", _verdicts(), classifier_version="cls-1", classifier_sha256="c" * 64, run_id=run_id)
    rec.record_soundtrack(_soundtrack("k1", 1), run_id=run_id)
    rec.record_soundtrack(_soundtrack("k2", 2, generator_version="gen-2", regenerated_scene=1), run_id=None)
    with sessions() as s:
        assert [r["scene_index"] for r in queries.scenes(s, emotion="fear")] == [1]
        assert queries.scenes(s, emotion="fear", min_prob=0.8) == []
        assert [r["scene_index"] for r in queries.scenes(s, valence=(0.5, 1.0))] == [0]
        assert [r["scene_index"] for r in queries.scenes(s, valence=(-1, 1), arousal=(0.5, 1.0))] == [1]
        assert [r["variant_key"] for r in queries.soundtracks(s, run_id=run_id)] == ["k1"]
        assert [r["variant_key"] for r in queries.soundtracks(s, model_version="gen-2")] == ["k2"]
        assert {r["variant_key"] for r in queries.soundtracks(s, video_id="v1")} == {"k1", "k2"}
        assert queries.videos(s)[0]["uri"] == "/data/a.mp4"


def test_concurrent_writers_leave_one_row(db_url):
    engines = [make_engine(db_url) for _ in range(2)]
    upgrade(engines[0])
    from sqlalchemy.orm import sessionmaker

    recorders = [Recorder(sessionmaker(e, expire_on_commit=False)) for e in engines]
    recorders[0].record_video(VideoFacts.from_marker(MARKER), status="extracted")
    errors = []

    def write(r):
        try:
            for i in range(5):
                r.record_soundtrack(_soundtrack(f"k{i}", i), run_id=None)
                r.record_failure(FailureRecord("/data/b.mp4", "probe", "MediaError", "bad"), run_id=None)
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(r,)) for r in recorders]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert errors == []
    s = recorders[0].sessions()
    assert s.scalar(select(func.count()).select_from(Soundtrack)) == 5
    assert s.scalar(select(Failure.attempts)) == 10
    s.close()
    [e.dispose() for e in engines]


def test_query_command_reads_the_database(sessions, db_url):
    import json as _json

    from typer.testing import CliRunner

    from emsync_core.cli.main import app

    rec = Recorder(sessions)
    run_id, _ = rec.open_run("score", "cli", catalog_uri=None, out_uri=None, config={}, code_version="0", model_versions={})
    rec.record_video(VideoFacts.from_marker(MARKER), status="extracted")
    rec.record_emotions("v1", _verdicts(), classifier_version="cls-1", classifier_sha256="c" * 64, run_id=run_id)
    rec.record_soundtrack(_soundtrack(), run_id=run_id)
    runner = CliRunner()
    res = runner.invoke(app, ["query", "scenes", "--db", db_url, "--emotion", "joy", "--json"])
    assert res.exit_code == 0, res.output
    assert [r["scene_index"] for r in _json.loads(res.output)] == [0]
    res = runner.invoke(app, ["query", "soundtracks", "--db", db_url, "--run", run_id[:8], "--json"])
    assert [r["variant_key"] for r in _json.loads(res.output)] == ["k1"]
    res = runner.invoke(app, ["query", "scenes", "--db", db_url, "--valence", "high"])
    assert res.exit_code != 0 and "LOW:HIGH" in res.output
    res = runner.invoke(app, ["query", "runs", "--db", db_url])
    assert res.exit_code == 0 and run_id[:8] in res.output
