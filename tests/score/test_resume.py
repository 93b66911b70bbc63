"""SIGKILL the `emsync score` driver mid-run, rerun the same command: it completes, duplicating nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import ray
from sqlalchemy import func, select

from emsync_core.db.engine import default_url, open_database
from emsync_core.db.models import Failure, Run, Soundtrack
from tests.score.conftest import BACKBONES

pytestmark = pytest.mark.slow


def _command(catalog: str, out: str, checkpoints: tuple[str, str], address: str) -> list[str]:
    return [sys.executable, "-m", "emsync_core.cli.main", "score", catalog, "--out", out, "--backbones", ",".join(BACKBONES),
            "--classifier", checkpoints[0], "--classifier-loader", "emsync_core.emotion.classifier:load_classifier",
            "--generator", checkpoints[1], "--address", address, "--workers", "1", "--max-chunk-s", "6"]


@pytest.fixture(scope="module")
def cluster():
    """A Ray both drivers join with --address (a cluster outlives a killed driver, as on KubeRay)."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def test_killed_run_resumes_without_duplicates(media, checkpoints, private_dir, cluster):
    out = private_dir / "out"
    cmd = _command(media["catalog"], str(out), checkpoints, cluster)
    driver = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 400
    # kill as soon as the first soundtrack file is committed: the other video is still in flight
    while time.time() < deadline and driver.poll() is None and not list(out.glob("soundtracks/*/*.mp4")):
        time.sleep(0.1)
    killed = driver.poll() is None
    if killed:
        os.kill(driver.pid, signal.SIGKILL)
    driver.wait(30)
    assert killed or driver.returncode == 0, "the first run neither got killed nor finished"

    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    # exit code 0 with the closing summary: the broken input is a recorded failure, the rest completes; the
    # killed driver's run lease is taken over at once (its process is gone)
    assert rerun.returncode == 0 and "soundtracks written now" in rerun.stderr, rerun.stderr[-3000:]
    assert "resumed" in rerun.stderr or not killed
    n_good = 2 if media["shared"] else 1
    with open_database(default_url(str(out)))() as s:
        tracks = s.scalars(select(Soundtrack)).all()
        assert len(tracks) == n_good == len({t.video_id for t in tracks})
        assert s.scalar(select(func.count()).select_from(Failure)) == 1
        runs = s.scalars(select(Run)).all()
        assert len(runs) == 1 and runs[0].status == "incomplete"  # the restart resumed the killed run
        expected = sorted(Path(p).name for t in tracks
                          for p in (t.midi_uri, t.audio_uri, t.render["stem_wav_uri"], t.video_uri, t.plot_uri))
    on_disk = sorted(p.name for p in out.glob("soundtracks/*/*") if p.is_file())
    assert on_disk == expected  # one file of each kind per soundtrack, nothing half-written left over
