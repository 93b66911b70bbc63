"""The extraction job through Beam's portability path (what Dataflow Runner v2, Flink and Spark run): a
local job service and an external SDK worker pool, each its own process, give the same outputs as the
DirectRunner. Both services run offline (no runner binary or container is fetched)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from beam_jobs.extract_pipeline import ExtractOptions, run_extract
from ray_serve.local_cluster import free_port
from tests.score.conftest import BACKBONES, make_synthetic

pytestmark = pytest.mark.slow
# The worker pool starts each SDK worker as `python` from PATH: this interpreter's, with this checkout.
SERVICE_ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2]),
               "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
RUN_FIELDS = {"seconds", "stage_s", "peak_rss_mb", "finished_at", "features_uri", "annotation_uris", "at", "message"}


def _serve(module: str, *args: str, port: int, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", module, *args], stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True, env=SERVICE_ENV)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    pytest.fail(f"{module} did not start: {log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def portable_services(private_dir):
    """(job endpoint, worker pool endpoint); both process groups are ended afterwards, and only they."""
    job_port, pool_port = free_port(), free_port()
    procs = [_serve("apache_beam.runners.portability.local_job_service_main", "--port", str(job_port),
                    port=job_port, log=private_dir / "job_service.log"),
             _serve("apache_beam.runners.worker.worker_pool_main", "--service_port", str(pool_port),
                    port=pool_port, log=private_dir / "worker_pool.log")]
    yield f"localhost:{job_port}", f"localhost:{pool_port}"
    for proc in procs:
        os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def outputs(out: Path) -> dict:
    """Everything the job wrote, less what describes the run rather than the video (timings, paths)."""
    records = {p.relative_to(out).as_posix(): {k: v for k, v in json.loads(p.read_text()).items() if k not in RUN_FIELDS}
               for sub in ("videos", "dead_letter") for p in sorted((out / sub).glob("*.json"))}
    tables = {p.name: pq.read_table(p).to_pylist() for p in sorted((out / "features").glob("*.parquet"))}
    return {"records": records, "features": tables}


def test_portable_runner_with_external_workers_matches_the_direct_runner(portable_services, private_dir):
    catalog = private_dir / "beam-catalog"
    catalog.mkdir()
    make_synthetic(catalog / "synthetic.mp4")
    (catalog / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not a video")
    job, pool = portable_services

    def extract(out: Path, beam_args: list[str]):
        return run_extract(ExtractOptions(catalog=str(catalog), out=str(out), backbones=BACKBONES, workers=1,
                                          show_progress=False), beam_args)

    direct = extract(private_dir / "direct", [])
    portable = extract(private_dir / "portable", ["--runner=PortableRunner", f"--job_endpoint={job}",
                                                  "--environment_type=EXTERNAL", f"--environment_config={pool}"])
    assert len(portable.ok) == len(direct.ok) == 1 and len(portable.failed) == len(direct.failed) == 1
    assert outputs(private_dir / "portable") == outputs(private_dir / "direct")
