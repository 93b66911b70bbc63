"""Entry point of the `emsync` command; each command group registers itself here."""

from __future__ import annotations

import logging

import typer

from emsync_core import __version__
from emsync_core.cli import api, bench, emotion, enhance, export, extract, music, query, score, study
from emsync_core.cli.errors import OperationalErrors

app = typer.Typer(
    help="EMSYNC Archive: emotion- and cut-aligned soundtracks for video archives.",
    no_args_is_help=True,
    add_completion=False,
    cls=OperationalErrors,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"emsync {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show the frameworks' (Beam, Ray) own logs."),
) -> None:
    """EMSYNC Archive command line."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not verbose:
        # Beam's DirectRunner relays every worker's start-up chatter as warnings, and its import warns
        # about the BigQuery client we do not use; our progress bar and summary say what matters.
        logging.getLogger("apache_beam").setLevel(logging.ERROR)
        for handler in logging.getLogger().handlers:
            handler.addFilter(lambda record: not record.getMessage().startswith("apitools not found"))


app.command("extract", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(extract.extract)
app.add_typer(bench.app, name="bench")
app.add_typer(music.app, name="music")
app.add_typer(study.app, name="study")
app.command("export")(export.export)
app.add_typer(emotion.app, name="emotion")
app.command("score", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(score.score)
app.add_typer(query.app, name="query")
app.add_typer(api.app, name="api")
app.command("enhance")(enhance.enhance)
app.add_typer(enhance.model_app, name="enhance-model")

if __name__ == "__main__":
    app()
