"""Database URLs, engines and sessions, and the programmatic `alembic upgrade head` every command runs."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from emsync_core.store import uri as store

MIGRATIONS = Path(__file__).parent / "migrations"


def default_url(out: str) -> str:
    """sqlite:///<out>/emsync.db next to the outputs (an object store output needs an explicit --db)."""
    if store.is_remote(out):
        raise ValueError("an output on an object store (gs://, s3://, az://) needs --db (e.g. a PostgreSQL URL)")
    path = Path(out).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path / 'emsync.db'}"


def make_engine(url: str, **kwargs) -> Engine:
    """An engine; SQLite gets WAL and a busy timeout so a reader never blocks the job's writer."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema in place (idempotent; safe to call on every command start)."""
    with engine.begin() as connection:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


class DatabaseNotReady(Exception):
    """A database a reader needs is missing or not at the current schema (readers never create or migrate)."""


def open_existing(url: str) -> Engine:
    """An engine on a database that already exists at the current schema; never creates nor migrates one
    (read-only credentials suffice). Raises DatabaseNotReady with what to do instead."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        if not Path(parsed.database).is_file():
            raise DatabaseNotReady(f"no database at {parsed.database} (run `emsync score` first, or pass --db)")
    engine = make_engine(url)
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    if current != head:
        engine.dispose()
        raise DatabaseNotReady(f"the database schema is at {current or 'nothing (an empty database)'}, not {head}: "
                               "run `emsync score` (or another writing command) with write access to migrate it")
    return engine


def open_database(url: str) -> sessionmaker[Session]:
    """Engine + migrations + a session factory: what a command needs before its first write."""
    engine = make_engine(url)
    upgrade(engine)
    return sessionmaker(engine, expire_on_commit=False)
