"""`emsync score --address` against a real two-node Ray cluster started here (two `ray start` processes
with two logical CPUs each): the extraction tasks ran on both nodes (from Ray's task records), and the
features, files and database rows of that overlapped run equal those of a sequential local run (Beam
DirectRunner extraction, then the stages on a local Ray)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from emsync_core.db.engine import open_database
from emsync_core.db.models import Emotion, Scene, Soundtrack
from ray_serve.extract_tasks import TASK_NAME
from ray_serve.local_cluster import LocalCluster
from tests.score.conftest import BACKBONES, ffmpeg, make_synthetic

pytestmark = pytest.mark.slow
EMSYNC = str(Path(sys.executable).with_name("emsync"))
CLASSIFIER = "emsync_core.emotion.classifier:load_classifier"


@pytest.fixture(scope="module")
def catalog(private_dir) -> Path:
    """Two short clips (two videos, so the spread extraction has one for each node)."""
    root = private_dir / "catalog"
    root.mkdir()
    make_synthetic(root / "synthetic.mp4")
    ffmpeg("-i", str(root / "synthetic.mp4"), "-ss", "4", "-t", "8", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
           str(root / "excerpt.mp4"))
    return root


def score(catalog: Path, out: Path, checkpoints: tuple[str, str], *extra: str) -> None:
    argv = [EMSYNC, "score", str(catalog), "--out", str(out), "--backbones", ",".join(BACKBONES), "--workers", "1",
            "--classifier-loader", CLASSIFIER, "--classifier", checkpoints[0], "--generator", checkpoints[1], *extra]
    done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    assert done.returncode == 0, done.stderr[-4000:]


def rows(out: Path) -> dict:
    with open_database(f"sqlite:///{out}/emsync.db")() as s:
        tracks = sorted((t.video_id, t.variant_key, t.midi_sha256, t.audio_sha256, t.n_tokens, tuple(t.cuts_s),
                         tuple(t.chord_onsets_s), str(t.conditions)) for t in s.scalars(select(Soundtrack)))
        emotions = sorted((sc.video_id, sc.scene_index, round(e.valence, 6), round(e.arousal, 6), e.dominant)
                          for e, sc in s.execute(select(Emotion, Scene).join(Scene)))
    return {"soundtracks": tracks, "emotions": emotions}


def features(out: Path) -> dict[str, object]:
    return {p.name: pq.read_table(p).to_pylist() for p in sorted(Path(out, "features").glob("*.parquet"))}


def test_score_on_a_two_node_cluster_uses_both_nodes_and_matches_a_local_run(catalog, checkpoints, private_dir):
    from ray.util.state import list_tasks

    with LocalCluster(nodes=2, cpus_per_node=2) as cluster:
        score(catalog, private_dir / "cluster", checkpoints, "--address", cluster.address)
        tasks = list_tasks(address=cluster.dashboard_url, filters=[("name", "=", TASK_NAME)], detail=True)
        nodes = set(cluster.alive_node_ids())
        assert len(nodes) == 2
        assert {t.node_id for t in tasks if t.state == "FINISHED"} == nodes, [(t.node_id, t.state) for t in tasks]
    score(catalog, private_dir / "local", checkpoints, "--num-cpus", "2", "--no-overlap")  # and the sequential run
    cluster_rows, local_rows = rows(private_dir / "cluster"), rows(private_dir / "local")
    assert len(cluster_rows["soundtracks"]) == 2 and cluster_rows == local_rows
    assert features(private_dir / "cluster") == features(private_dir / "local")
