"""Entry point of the `emsync` command; each command group registers itself here."""

from __future__ import annotations

import typer

from emsync_core import __version__
from emsync_core.cli import bench, extract
from emsync_core.cli import export, study  # issue 6

app = typer.Typer(
    help="EMSYNC Archive: emotion- and cut-aligned soundtracks for video archives.",
    no_args_is_help=True,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"emsync {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """EMSYNC Archive command line."""


app.command("extract", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(extract.extract)
app.add_typer(bench.app, name="bench")
app.add_typer(study.app, name="study")
app.command("export")(export.export)

if __name__ == "__main__":
    app()
