"""Each database test gets a fresh SQLite file or a fresh PostgreSQL schema, migrated to head."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import text

from emsync_core.db.engine import make_engine, open_database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'emsync.db'}"
        return
    base = os.environ.get("EMSYNC_TEST_PG_URL")
    if not base:
        pytest.skip("EMSYNC_TEST_PG_URL is not set (infra/test.sh sets it)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    with admin.begin() as c:
        c.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as c:
        c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def sessions(db_url):
    factory = open_database(db_url)
    yield factory
    factory.kw["bind"].dispose()
