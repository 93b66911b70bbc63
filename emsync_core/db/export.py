"""`emsync export`: the analysts' views and the raw study ratings as Parquet or CSV files.

One file per view, written to a temporary name and renamed, so a notebook or BI tool never reads a
half-written file. Study ratings carry participant labels and listener groups, never tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, inspect, text

from emsync_core.db.analyst_views import view_files, view_name

FORMATS = ("parquet", "csv")


@dataclass(frozen=True)
class ExportedTable:
    name: str
    path: str
    rows: int


def _write(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    partial = path.with_name(path.name + ".partial")
    if fmt == "parquet":
        frame.to_parquet(partial, index=False)
    else:
        frame.to_csv(partial, index=False)
    partial.replace(path)


def export_views(engine: Engine, out_dir: str | Path, fmt: str = "parquet", study: str | None = None) -> list[ExportedTable]:
    """Every analysts' view (optionally only one study's rows of the study views) to out_dir/<view>.<fmt>."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    existing = set(inspect(engine).get_view_names())
    written = []
    with engine.connect() as conn:
        for path in view_files():
            name = view_name(path)
            if name not in existing:
                raise RuntimeError(f"view {name} is missing: migrate the database (any emsync command does)")
            sql, params = f"SELECT * FROM {name}", {}
            if study is not None and name.startswith("v_study_"):
                sql, params = sql + " WHERE study = :study", {"study": study}
            frame = pd.read_sql_query(text(sql), conn, params=params)
            target = out / f"{name}.{fmt}"
            _write(frame, target, fmt)
            written.append(ExportedTable(name, str(target), len(frame)))
    return written
