"""`emsync bench score --nodes N`: the same catalog scored by `emsync score --address` on a local Ray
cluster of 1 node (the baseline, measured in the same run) and of N nodes (separate `ray start`
processes with the same CPUs each): video seconds per wall second, in all and per node.

On one machine the nodes share its cores, so this measures the cluster path's overhead and how work
spreads, not the speed-up of real extra machines.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from emsync_core.bench.score_bench import _catalog


def _score(catalog: Path, out: Path, address: str, extra: list[str]) -> dict:
    argv = [str(Path(sys.executable).with_name("emsync")), "score", str(catalog), "--out", str(out), "--address", address, *extra]
    t0 = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode not in (0, 1):
        raise SystemExit(f"emsync score failed:\n{done.stderr[-3000:]}")
    markers = [json.loads(p.read_text()) for p in (out / "videos").glob("*.json")]
    return {"wall_s": wall, "video_seconds": sum(m.get("duration_s") or 0.0 for m in markers), "videos": len(markers)}


def run_cluster_bench(videos: list[str], out: str, nodes: int, cpus_per_node: int, extra: list[str]) -> dict:
    from ray_serve.local_cluster import LocalCluster

    root = Path(out)
    catalog = _catalog(videos, root / "catalog")
    rows = {}
    for n in sorted({1, nodes}):
        with LocalCluster(nodes=n, cpus_per_node=cpus_per_node) as cluster:
            run = _score(catalog, root / f"nodes-{n}-{int(time.time())}", cluster.address, extra)
        run["throughput"] = run["video_seconds"] / run["wall_s"]
        run["throughput_per_node"] = run["throughput"] / n
        rows[n] = run
    base = rows[1]["throughput"]
    table = Table(title=f"emsync bench score --nodes {nodes}: {rows[1]['videos']} videos, {rows[1]['video_seconds']:.0f} s of video")
    for column in ("nodes", "wall s", "video s / wall s", "per node", "vs 1 node"):
        table.add_column(column)
    for n, run in rows.items():
        table.add_row(str(n), f"{run['wall_s']:.1f}", f"{run['throughput']:.3f}", f"{run['throughput_per_node']:.3f}",
                      f"{run['throughput'] / base:.2f}x")
    Console().print(table)
    report = {"cpus_per_node": cpus_per_node, "runs": {str(n): r for n, r in rows.items()}}
    root.mkdir(parents=True, exist_ok=True)
    (root / "cluster_bench.json").write_text(json.dumps(report, indent=1))
    return report
