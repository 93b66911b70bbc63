"""`emsync export`: results and ratings to Parquet/CSV for notebooks and BI tools."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table


def export(
    out: str = typer.Argument(..., help="Output folder (one file per view)."),
    db: str = typer.Option(..., "--db", envvar="EMSYNC_DB_URL", help="Database URL."),
    fmt: str = typer.Option("parquet", "--format", help="parquet or csv."),
    study: str = typer.Option(None, help="Only this study's rows in the study views."),
) -> None:
    """Write every analysts' view (videos, failures, emotions, soundtracks, study ratings and results)."""
    from emsync_core.db.engine import open_existing
    from emsync_core.db.export import FORMATS, export_views

    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {FORMATS}")
    engine = open_existing(db)  # an export reads: it never creates nor migrates a database
    written = export_views(engine, out, fmt, study)
    table = Table(title=f"exported to {out}")
    table.add_column("view")
    table.add_column("rows", justify="right")
    table.add_column("file")
    for t in written:
        table.add_row(t.name, str(t.rows), t.path)
    Console().print(table)
