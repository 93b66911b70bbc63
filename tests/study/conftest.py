"""A recorded archive (lavfi videos + per-generator soundtracks) per database engine, built once per module."""

from __future__ import annotations

import pytest

from emsync_core.db.engine import open_database
from tests.study.archive import pg_schema_url, seed_archive


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def archive(request, tmp_path_factory):
    """(sessions, video ids, workdir) on a fresh database with three generator versions recorded."""
    root = tmp_path_factory.mktemp(f"archive-{request.param}")
    cleanup = None
    if request.param == "sqlite":
        url = f"sqlite:///{root / 'emsync.db'}"
    else:
        url, cleanup = pg_schema_url()
    sessions = open_database(url)
    ids = seed_archive(sessions, root, n_videos=3, generators=("gen-a", "gen-b", "gen-c"), duration=1.5)
    yield sessions, ids, root, url
    sessions.kw["bind"].dispose()
    if cleanup:
        cleanup()
