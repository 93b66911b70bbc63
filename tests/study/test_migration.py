"""Revision 0002_study: in sync with the models, and down/up again on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import emsync_core.db.study_models  # noqa: F401
from emsync_core.db.analyst_views import view_files, view_name
from emsync_core.db.base import Base
from emsync_core.db.engine import alembic_config, make_engine, upgrade
from tests.study.archive import pg_schema_url


@pytest.mark.parametrize("engine_name", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_study_revision_round_trip(tmp_path, engine_name):
    cleanup = None
    url = f"sqlite:///{tmp_path / 'm.db'}" if engine_name == "sqlite" else None
    if url is None:
        url, cleanup = pg_schema_url()
    engine = make_engine(url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            assert [d for d in compare_metadata(MigrationContext.configure(conn), Base.metadata) if "study" in repr(d)] == []
        views = {view_name(p) for p in view_files()}
        assert views <= set(inspect(engine).get_view_names())
        cfg = alembic_config(engine)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0001_core")
        inspector = inspect(engine)
        assert not [t for t in inspector.get_table_names() if t.startswith("study_")]
        assert not views & set(inspector.get_view_names())
        upgrade(engine)
        assert "study_answers" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
        if cleanup:
            cleanup()
