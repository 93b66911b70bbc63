"""Every deployment file is checked, not just parsed: KubeRay objects against the KubeRay v1.7.0 CRD
schemas, core objects and every pod template with kubernetes-validate (strict), and the names, images,
identities, secrets and versions they share cross-checked between files. Docker is not available to
the suite, so the Dockerfile is checked by parsing its instructions."""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import typer
import yaml

from emsync_core import __version__
from emsync_core.cli.main import app
from tests.conftest import SHARED

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
CRDS = SHARED / "data" / "k8s" / "kuberay-v1.7.0-crds"
K8S_VERSION = "1.33"
DB_SECRET = {"name": "emsync-db", "key": "url"}
OPERATOR_VALUES = INFRA / "kuberay" / "operator-values.yaml"  # Helm values, not a Kubernetes object
DOCS = [(path, doc) for path in sorted(INFRA.rglob("*.yaml")) if path != OPERATOR_VALUES
        for doc in yaml.safe_load_all(path.read_text()) if doc]
RAY_KINDS = {"RayCluster", "RayJob", "RayCronJob", "RayService"}


def lock_version(package: str) -> str:
    return next(line.split("==")[1].strip() for line in (REPO / "requirements.lock").read_text().splitlines()
                if line.lower().startswith(f"{package}=="))


def of_kind(kind: str) -> list[dict]:
    return [doc for _, doc in DOCS if doc["kind"] == kind]


def crd_schema(kind: str) -> dict:
    path = CRDS / f"ray.io_{kind.lower()}s.yaml"
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} must exist in CI")
        pytest.skip("the KubeRay CRDs in ../shared are absent")
    version = next(v for v in yaml.safe_load(path.read_text())["spec"]["versions"] if v["name"] == "v1")
    return version["schema"]["openAPIV3Schema"]


def cluster_specs(doc: dict) -> list[dict]:
    if doc["kind"] == "RayCluster":
        return [doc["spec"]]
    return [job["rayClusterSpec"] for job in job_specs(doc)]


def job_specs(doc: dict) -> list[dict]:
    if doc["kind"] == "RayJob":
        return [doc["spec"]]
    return [doc["spec"]["jobTemplate"]] if doc["kind"] == "RayCronJob" else []


def pod_templates(doc: dict) -> list[dict]:
    """Every pod template an object makes (head, worker groups, RayJob submitters, Jobs)."""
    out = []
    for spec in cluster_specs(doc) if doc["kind"] in RAY_KINDS else []:
        out += [spec["headGroupSpec"]["template"], *(g["template"] for g in spec["workerGroupSpecs"])]
    out += [job["submitterPodTemplate"] for job in job_specs(doc) if "submitterPodTemplate" in job]
    return out


ALL_TEMPLATES = [(path.name, t) for path, doc in DOCS for t in pod_templates(doc)]


@pytest.mark.parametrize("path,doc", [(p, d) for p, d in DOCS if d["kind"] in RAY_KINDS], ids=lambda x: getattr(x, "name", ""))
def test_kuberay_objects_match_the_v1_7_crd_schemas(path, doc):
    jsonschema.validate(doc, crd_schema(doc["kind"]), cls=jsonschema.Draft4Validator)


@pytest.mark.parametrize("path,doc", [(p, d) for p, d in DOCS if d["kind"] not in RAY_KINDS], ids=lambda x: getattr(x, "name", ""))
def test_core_objects_are_valid_kubernetes(path, doc):
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


@pytest.mark.parametrize("name,template", ALL_TEMPLATES, ids=lambda x: x if isinstance(x, str) else "")
def test_every_pod_template_is_a_valid_pod_template_run_as_the_service_account_with_the_db_secret(name, template):
    kubernetes_validate.validate({"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "check"}, "template": template},
                                 K8S_VERSION, strict=True)
    (account,) = of_kind("ServiceAccount")
    assert template["spec"]["serviceAccountName"] == account["metadata"]["name"]
    for container in template["spec"]["containers"]:
        env = {e["name"]: e for e in container.get("env", [])}
        assert env["EMSYNC_DB_URL"]["valueFrom"]["secretKeyRef"] == DB_SECRET
        assert "NO_GCE_CHECK" not in env


def test_workload_identity_and_one_namespace():
    (account,) = of_kind("ServiceAccount")
    google_account = account["metadata"]["annotations"]["iam.gke.io/gcp-service-account"]
    assert {doc["metadata"]["namespace"] for _, doc in DOCS} == {account["metadata"]["namespace"]}
    assert f"--service_account_email={google_account}" in json.dumps([d for _, d in DOCS])  # Dataflow workers run as it too
    for path in INFRA.rglob("*"):
        if path.is_file():
            assert "NO_GCE_CHECK" not in path.read_text(), path


def test_head_service_is_named_as_kuberay_names_it():
    (cluster,) = of_kind("RayCluster")
    service = f"{cluster['metadata']['name']}-head-svc"
    texts = [p.read_text() for p in [*INFRA.rglob("*"), REPO / "README.md"] if p.is_file()]
    named = {m for text in texts for m in re.findall(r"[\w-]+-head-svc", text)}
    assert named == {service}


def test_images_and_versions_agree_with_the_lock_and_the_package():
    ray_images = {c["image"] for _, t in ALL_TEMPLATES for c in t["spec"]["containers"]}
    repo = "europe-docker.pkg.dev/emsync-archive/images"
    assert ray_images == {f"{repo}/emsync:{__version__}", f"{repo}/emsync:{__version__}-gpu"}
    for _, doc in DOCS:
        for spec in cluster_specs(doc) if doc["kind"] in RAY_KINDS else []:
            assert spec["rayVersion"] == lock_version("ray")
            for group in spec["workerGroupSpecs"]:
                gpus = int(group["rayStartParams"].get("num-gpus", 0))
                for c in group["template"]["spec"]["containers"]:
                    assert int(c["resources"]["limits"].get("nvidia.com/gpu", 0)) == gpus
                    assert c["image"].endswith("-gpu") == (gpus > 0)  # CUDA torch only where there are GPUs
    beam_images = set(re.findall(r"--sdk_container_image=(\S+)", json.dumps([d for _, d in DOCS])))
    assert beam_images == {f"{repo}/emsync-dataflow:{__version__}"}


@pytest.mark.parametrize("doc", [d for _, d in DOCS if job_specs(d)], ids=lambda d: d["kind"])
def test_job_entrypoints_use_only_real_score_options_and_no_unset_variables(doc):
    (job,) = job_specs(doc)
    argv = shlex.split(job["entrypoint"])
    assert argv[:2] == ["emsync", "score"] and "$" not in job["entrypoint"]  # the driver reads EMSYNC_DB_URL itself
    ours = argv[: argv.index("--")] if "--" in argv else argv
    known = {opt for p in typer.main.get_command(app).commands["score"].params for opt in p.opts}
    assert {a for a in ours if a.startswith("--")} <= known
    assert ours[ours.index("--address") + 1] == "auto"
    head = cluster_specs(doc)[0]["headGroupSpec"]
    assert head["rayStartParams"]["num-cpus"] == "0"  # nothing heavy (no extraction) runs beside the driver
    if "--" in argv:  # Beam options: the extraction runs on Dataflow, not in the driver
        assert "--runner=DataflowRunner" in argv


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    return [(m.group(1).upper(), m.group(2).strip()) for m in re.finditer(r"^\s*(\w+)\s+(.*)$", joined, re.M)]


def test_dockerfile_builds_a_dataflow_worker_and_a_slim_ray_runtime():
    steps = dockerfile_instructions(INFRA / "container" / "Dockerfile")
    args = dict(a.split("=", 1) for i, a in steps if i == "ARG" and "=" in a)
    assert args["BEAM_SDK_IMAGE"] == f"apache/beam_python3.11_sdk:{lock_version('apache-beam')}"
    stages, current = {}, None
    for instruction, arguments in steps:
        if instruction == "FROM":
            current = arguments.split()[-1]
            stages[current] = [(instruction, arguments)]
        elif current:
            stages[current].append((instruction, arguments))
    assert {"beam-sdk", "build", "runtime", "ray", "dataflow"} <= set(stages)
    dataflow = dict(stages["dataflow"])
    assert json.loads(dataflow["ENTRYPOINT"]) == ["/opt/apache/beam/boot"]
    assert "--from=beam-sdk /opt/apache/beam /opt/apache/beam" in dataflow["COPY"]
    assert json.loads(dict(stages["ray"])["ENTRYPOINT"]) == ["emsync"]
    runtime = " ".join(a for _, a in stages["runtime"])
    for absent in ("postgresql", "chromium", "pytest", "NO_GCE_CHECK", "COPY . "):
        assert absent not in runtime
    assert "--from=build /opt/venv" in runtime
    build = " ".join(a for _, a in stages["build"])
    assert 'download.pytorch.org/whl/${TORCH_BUILD}' in build and "test-only.txt" in build
    test_only = (INFRA / "container" / "test-only.txt").read_text().split()
    lock = (REPO / "requirements.lock").read_text().splitlines()
    assert set(test_only) <= set(lock) and {f"pytest=={lock_version('pytest')}"} <= set(test_only)
    ignore = [line for line in (REPO / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert ignore[0] == "**" and "!tests" not in ignore and "!.venv" not in ignore


def test_the_operator_runs_the_controllers_our_kinds_need():
    """RayCronJob is alpha: without its feature gate the operator accepts the object and never schedules it."""
    gates = {g["name"]: g["enabled"] for g in yaml.safe_load(OPERATOR_VALUES.read_text())["featureGates"]}
    assert not of_kind("RayCronJob") or gates["RayCronJob"] is True
