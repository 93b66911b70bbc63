"""Alembic environment: runs on the connection handed over by engine.upgrade, or on the configured URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

import emsync_core.db.models  # noqa: F401  (registers the core tables on Base.metadata)
import emsync_core.db.study_models  # noqa: F401  (the study tables, revision 0002_study)
import emsync_core.db.safety_models  # noqa: F401  (leases, API keys, server errors: 0003_safety)
from emsync_core.db.base import Base

target_metadata = Base.metadata


def _run(connection) -> None:
    # render_as_batch lets later migrations ALTER tables on SQLite too.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = engine_from_config(context.config.get_section(context.config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)
