"""The KubeRay manifests parse, ask for GPUs where the actors use them, and call `emsync score` correctly."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import typer
import yaml

from emsync_core.cli.main import app

MANIFESTS = sorted((Path(__file__).parents[2] / "infra" / "kuberay").glob("*.yaml"))


def _cluster_spec(doc: dict) -> dict:
    return doc["spec"]["rayClusterSpec"] if doc["kind"] == "RayJob" else doc["spec"]


def _containers(group: dict) -> list[dict]:
    return group["template"]["spec"]["containers"]


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_is_a_ray_cluster_with_a_gpu_worker_group(path):
    doc = yaml.safe_load(path.read_text())
    assert doc["apiVersion"] == "ray.io/v1" and doc["kind"] in ("RayCluster", "RayJob")
    spec = _cluster_spec(doc)
    assert spec["rayVersion"] == "2.60.0"  # the version in requirements.lock
    images = {c["image"] for g in [spec["headGroupSpec"], *spec["workerGroupSpecs"]] for c in _containers(g)}
    assert len(images) == 1, "head and workers must run the same image"
    gpu = [g for g in spec["workerGroupSpecs"] if g.get("rayStartParams", {}).get("num-gpus")]
    assert gpu, "a worker group must offer GPUs to the generator actors"
    for g in gpu:
        want = int(g["rayStartParams"]["num-gpus"])
        for c in _containers(g):
            assert int(c["resources"]["limits"]["nvidia.com/gpu"]) == want
        assert g["minReplicas"] <= g["replicas"] <= g["maxReplicas"]


def test_rayjob_entrypoint_uses_only_real_score_options():
    doc = yaml.safe_load((Path(__file__).parents[2] / "infra" / "kuberay" / "rayjob.yaml").read_text())
    argv = shlex.split(doc["spec"]["entrypoint"])
    assert argv[:2] == ["emsync", "score"]
    command = typer.main.get_command(app).commands["score"]
    known = {opt for p in command.params for opt in p.opts}
    flags = [a for a in argv if a.startswith("--")]
    assert flags and set(flags) <= known, set(flags) - known
    assert argv[argv.index("--address") + 1] == "auto"
    assert float(argv[argv.index("--generator-gpus") + 1]) > 0
