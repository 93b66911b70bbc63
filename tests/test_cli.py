"""The `emsync` console command: every command and group answers --help (in-process: one interpreter
for all of them), and the installed script runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer.main
from typer.testing import CliRunner

from emsync_core.cli.main import app

EMSYNC = str(Path(sys.executable).with_name("emsync"))


def _command_paths() -> list[list[str]]:
    def walk(group, prefix: list[str]) -> list[list[str]]:
        paths = []
        for name, command in getattr(group, "commands", {}).items():
            paths.append([*prefix, name])
            paths += walk(command, [*prefix, name])
        return paths

    return walk(typer.main.get_command(app), [])


def test_every_command_has_help() -> None:
    paths = _command_paths()
    assert {"extract", "score", "bench"} <= {p[0] for p in paths}
    assert ["bench", "extract"] in paths
    runner = CliRunner()
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage" in result.output, path


def test_version() -> None:
    result = subprocess.run([EMSYNC, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("emsync ")


def test_the_cli_and_the_request_types_load_without_torch() -> None:
    """Torch costs ~200 MB per process: `emsync extract` (Beam's in-process workers) must not pay it."""
    probe = "import sys, emsync_core.cli.main, emsync_core.music, emsync_core.emotion; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], timeout=120).returncode == 0
