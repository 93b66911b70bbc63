"""Install the analysts' views (sql/views/*.sql, portable SQL for PostgreSQL and SQLite) and run queries.

The .sql files are the single source: migration 0002_study installs them, tests and `emsync export`
run them unchanged on both engines. A view is dropped and re-created, so re-installing is safe.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection

from emsync_core.paths import REPO_ROOT

SQL_DIR = REPO_ROOT / "sql"
_VIEW_NAME = re.compile(r"CREATE\s+VIEW\s+(\w+)", re.IGNORECASE)


def view_files() -> list[Path]:
    return sorted((SQL_DIR / "views").glob("*.sql"))


def query_files() -> list[Path]:
    return sorted((SQL_DIR / "queries").glob("*.sql"))


def view_name(path: Path) -> str:
    match = _VIEW_NAME.search(path.read_text())
    if match is None:
        raise ValueError(f"{path} has no CREATE VIEW")
    return match.group(1)


def drop_views(connection: Connection) -> None:
    for path in reversed(view_files()):
        connection.execute(text(f"DROP VIEW IF EXISTS {view_name(path)}"))


def install_views(connection: Connection) -> list[str]:
    """(Re-)create every view in file order (later views build on earlier ones); returns their names."""
    drop_views(connection)
    names = []
    for path in view_files():
        connection.execute(text(path.read_text()))
        names.append(view_name(path))
    return names
