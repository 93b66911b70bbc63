"""Exit codes and one-line operational errors for every `emsync` command.

An operator's problem (a database that is down, a wrong manifest, a busy run key, storage that fails)
is one clear line on stderr and a distinct exit code; the traceback is shown only with `emsync -v`.
"""

from __future__ import annotations

import traceback

import sqlalchemy.exc
import typer
from typer.core import TyperGroup

from emsync_core.db.engine import DatabaseNotReady
from emsync_core.scoring.lease import LeaseHeld
from emsync_core.store.catalog import CatalogError
from emsync_core.store.faults import EnvironmentFault, is_environment_fault

EXIT_OK = 0  # complete: every video scored, or its bad input recorded (within --max-failures)
EXIT_CRASHED = 1  # an unexpected error (a bug): the traceback is printed
EXIT_USAGE = 2  # wrong arguments, or a catalog / manifest that cannot be read as one
EXIT_OVER_BUDGET = 3  # complete, but more bad inputs than --max-failures
EXIT_FAULT = 4  # the database, storage, network or permissions failed: nothing was marked bad; rerun
EXIT_BUSY = 5  # another live run holds this run key


def run_exit_code(summary, max_failures: int | None) -> int:
    """The documented exit code of a finished extraction or scoring run (its summary has `failed` and `faulted`)."""
    if summary.faulted:
        return EXIT_FAULT
    if max_failures is not None and len(summary.failed) > max_failures:
        return EXIT_OVER_BUDGET
    return EXIT_OK


def operational(exc: BaseException) -> tuple[int, str] | None:
    """(exit code, one-line message) for an operator's problem; None for a crash."""
    if isinstance(exc, LeaseHeld):
        return EXIT_BUSY, str(exc)
    if isinstance(exc, CatalogError):
        return EXIT_USAGE, f"catalog: {exc}"
    if isinstance(exc, DatabaseNotReady):
        return EXIT_FAULT, f"database: {exc}"
    if isinstance(exc, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)):
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        return EXIT_FAULT, f"database error (down, unreachable or refusing): {reason}"
    if isinstance(exc, sqlalchemy.exc.ArgumentError):
        return EXIT_USAGE, f"database URL: {exc}"
    if isinstance(exc, EnvironmentFault) or is_environment_fault(exc):
        return EXIT_FAULT, f"storage or network: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None


class OperationalErrors(TyperGroup):
    """The root command group: turns operators' problems into one line and an exit code."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except Exception as exc:
            known = operational(exc)
            if known is None:
                raise
            if ctx.params.get("verbose"):
                traceback.print_exc()
            typer.echo(f"emsync: error: {known[1]}", err=True)
            raise typer.Exit(code=known[0]) from None
