"""The repository's promises: the README's two commands, CI calling the test command, parseable infra."""

from __future__ import annotations

import re
from pathlib import Path


from tests.conftest import REPO


def test_readme_starts_with_the_two_commands_and_ci_runs_the_test_one() -> None:
    lines = (REPO / "README.md").read_text().splitlines()
    block = lines[lines.index("```bash") + 1 : lines.index("```")]
    commands = [line.split("#")[0].strip() for line in block]
    assert commands == ["bash infra/run_sample.sh", "bash infra/test.sh"]
    assert all((REPO / c.split()[1]).is_file() for c in commands)
    ci = (REPO / ".ci" / "run").read_text()
    assert re.search(r"^bash infra/test\.sh\s*$", ci, re.M)


def test_lock_pins_every_requirement_exactly() -> None:
    pins = [l for l in (REPO / "requirements.lock").read_text().splitlines() if l and not l.startswith("#")]
    assert pins and all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[^\s=]+", p) for p in pins), [p for p in pins if "==" not in p]
    names = {p.split("==")[0].lower().replace("_", "-") for p in pins}
    for requirement in (REPO / "requirements.in").read_text().splitlines():
        name = re.split(r"[\[<>=! ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")
        if name and not name.startswith("#"):
            assert name in names, f"{name} is in requirements.in but not pinned in requirements.lock"


def test_dataflow_script_runs_the_extraction_on_the_dataflow_image() -> None:
    """The manifests and the Dockerfile are checked in tests/cluster/test_manifests.py."""
    dataflow = (REPO / "infra" / "schedule" / "dataflow-extract.sh").read_text()
    assert "--runner=DataflowRunner" in dataflow and "--sdk_container_image" in dataflow and "emsync-dataflow:" in dataflow


def test_sample_ships_with_its_attribution() -> None:
    assert (REPO / "samples" / "big_buck_bunny_0_30.webm").stat().st_size > 1_000_000
    attribution = (REPO / "samples" / "ATTRIBUTION.md").read_text()
    assert "Creative Commons Attribution 3.0" in attribution and "Blender Foundation" in attribution
    assert "GNU GENERAL PUBLIC LICENSE" in (REPO / "LICENSE").read_text()
    assert 'license = "GPL-3.0-or-later"' in (REPO / "pyproject.toml").read_text()


ENGINES = ("ray", "apache_beam", "ray_serve", "beam_jobs")
ENGINE_FREE_EXCEPTIONS = ("cli", "bench")  # the entry points that start an engine


def _imported_modules(path: Path) -> set[str]:
    import ast

    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_emsync_core_domain_packages_import_neither_beam_nor_ray() -> None:
    """The run's decisions live in emsync_core; beam_jobs and ray_serve only map its stages onto engines."""
    offenders = []
    for path in sorted((REPO / "emsync_core").rglob("*.py")):
        if path.relative_to(REPO / "emsync_core").parts[0] in ENGINE_FREE_EXCEPTIONS:
            continue
        for name in _imported_modules(path):
            if name.split(".")[0] in ENGINES:
                offenders.append(f"{path.relative_to(REPO)}: {name}")
    assert not offenders, offenders
