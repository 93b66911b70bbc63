"""The nightly chain submits its extraction to Dataflow: the runner's client and the written options must hold."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml
from apache_beam.options.pipeline_options import GoogleCloudOptions, PipelineOptions, WorkerOptions

ROOT = Path(__file__).resolve().parents[2]


def _beam_args(entrypoint: str) -> list[str]:
    args = shlex.split(entrypoint)
    return args[args.index("--") + 1:]


def test_the_locked_environment_can_submit_to_dataflow() -> None:
    """Beam's GCP extras (the Dataflow API client) are what job submission needs; Beam alone cannot submit."""
    from apache_beam.runners.dataflow.internal import apiclient  # fails without apache-beam[gcp]
    from google.cloud import dataflow_v1beta3

    assert apiclient.DataflowApplicationClient and dataflow_v1beta3.JobsV1Beta3Client


def test_nightly_options_name_a_complete_dataflow_job() -> None:
    doc = yaml.safe_load((ROOT / "infra/schedule/nightly-score.yaml").read_text())
    options = PipelineOptions(_beam_args(doc["spec"]["jobTemplate"]["entrypoint"]))
    cloud, workers = options.view_as(GoogleCloudOptions), options.view_as(WorkerOptions)
    assert options.get_all_options()["runner"] == "DataflowRunner"
    assert cloud.project and cloud.region and cloud.temp_location.startswith("gs://")
    assert cloud.service_account_email.startswith("emsync-runner@")
    assert workers.sdk_container_image.endswith("/emsync-dataflow:0.1.0")
