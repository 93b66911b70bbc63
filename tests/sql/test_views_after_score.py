"""Every analysts' view over the data a real `emsync score` run wrote (a short lavfi clip with one cut),
into SQLite and into PostgreSQL."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import text

from emsync_core.db.analyst_views import query_files, view_files, view_name
from emsync_core.db.engine import make_engine
from tests.study.archive import ffmpeg, pg_schema_url


@pytest.fixture(scope="module")
def clip_catalog(tmp_path_factory):
    folder = tmp_path_factory.mktemp("score-catalog")
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=2", "-f", "lavfi", "-i",
           "smptebars=size=160x120:rate=25:duration=2", "-f", "lavfi", "-i", "sine=frequency=440:duration=4",
           "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0[v]", "-map", "[v]", "-map", "2:a", "-c:v", "libx264",
           "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(folder / "clip.mp4"))
    return folder


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("engine_name", ["sqlite", "postgresql"])
def test_views_on_a_real_score_run(clip_catalog, tmp_path, engine_name):
    cleanup = None
    if engine_name == "sqlite":
        url = f"sqlite:///{tmp_path / 'emsync.db'}"
    else:
        url, cleanup = pg_schema_url()
    try:
        proc = subprocess.run([sys.executable, "-m", "emsync_core.cli.main", "score", str(clip_catalog), "--out",
                               str(tmp_path / "out"), "--db", url, "--num-cpus", "2"], capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        engine = make_engine(url)
        with engine.connect() as conn:
            for path in view_files():
                conn.execute(text(f"SELECT * FROM {view_name(path)}")).fetchall()
            for path in query_files():
                conn.execute(text(path.read_text())).fetchall()
            state = conn.execute(text("SELECT state, n_soundtracks FROM v_video_status")).all()
            assert state == [("done", 1)]
            models = conn.execute(text("SELECT n_soundtracks, n_cuts FROM v_soundtracks_by_model")).all()
            assert len(models) == 1 and models[0][0] == 1
            emotions = conn.execute(text("SELECT SUM(n_scenes), SUM(share_of_scenes) FROM v_emotion_by_catalog")).one()
            assert emotions[0] >= 1 and emotions[1] == pytest.approx(1.0)
        engine.dispose()
    finally:
        if cleanup:
            cleanup()
