"""A real multi-node Ray cluster on one machine: `ray start --head` plus `ray start --address` per extra
node, each a separate process group with its own CPUs and a `node<i>` custom resource. Used by the
two-node test and `emsync bench score --nodes`; stopping it ends only the processes it started.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

# A token in ~/.ray turns Ray's token authentication on by default, and the state API would then need
# it: this cluster listens on 127.0.0.1 only and runs without.
NODE_ENV_OVERRIDES = {"RAY_AUTH_MODE": "disabled"}
START_TIMEOUT_S = 300.0  # a busy machine starts the dashboard slowly
STOP_TIMEOUT_S = 20.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray_cli() -> str:
    return str(Path(sys.executable).with_name("ray"))


def _kill_session(sid: int) -> None:
    """Kill what is left of the session a node's `ray start` led (Ray workers make their own process groups)."""
    import psutil

    for proc in psutil.process_iter():
        try:
            if os.getsid(proc.pid) == sid:
                proc.send_signal(signal.SIGKILL)
        except (ProcessLookupError, psutil.Error):
            continue


@dataclass
class LocalCluster:
    """`with LocalCluster(nodes=2, cpus_per_node=1) as cluster:` then `emsync score --address cluster.address`."""

    nodes: int = 2
    cpus_per_node: float = 1
    address: str = ""
    dashboard_url: str = ""
    _procs: list[subprocess.Popen] = field(default_factory=list)
    _temp: str = ""

    def _node_args(self, index: int) -> list[str]:
        return ["--block", "--num-cpus", str(self.cpus_per_node), "--resources", json.dumps({f"node{index}": 1}),
                "--node-ip-address", "127.0.0.1", "--disable-usage-stats",
                "--dashboard-agent-listen-port", str(free_port()), "--dashboard-agent-grpc-port", str(free_port()),
                "--metrics-export-port", str(free_port()), "--runtime-env-agent-port", str(free_port())]

    def _spawn(self, args: list[str], index: int) -> None:
        log = open(Path(self._temp, f"node{index}.log"), "wb")
        self._procs.append(subprocess.Popen([_ray_cli(), "start", *args], stdout=log, stderr=subprocess.STDOUT,
                                            env={**os.environ, **NODE_ENV_OVERRIDES}, start_new_session=True))

    def start(self) -> "LocalCluster":
        self._temp = tempfile.mkdtemp(prefix="emsync-ray-")  # short: Ray's socket paths must fit in 107 bytes
        port, dashboard = free_port(), free_port()
        self.address, self.dashboard_url = f"127.0.0.1:{port}", f"http://127.0.0.1:{dashboard}"
        try:
            self._spawn(["--head", "--port", str(port), "--temp-dir", self._temp, "--include-dashboard", "true",
                         "--dashboard-host", "127.0.0.1", "--dashboard-port", str(dashboard),
                         "--ray-client-server-port", str(free_port()), *self._node_args(0)], 0)
            self._wait_for_nodes(1)
            for index in range(1, self.nodes):
                self._spawn(["--address", self.address, *self._node_args(index)], index)
            self._wait_for_nodes(self.nodes)
        except BaseException:  # __exit__ never runs when __enter__ fails: stop what did start
            self.stop()
            raise
        return self

    def alive_node_ids(self) -> list[str]:
        from ray.util.state import list_nodes

        return [n.node_id for n in list_nodes(address=self.dashboard_url, filters=[("state", "=", "ALIVE")])]

    def _wait_for_nodes(self, count: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self._procs):
                break
            try:
                if len(self.alive_node_ids()) >= count:
                    return
            except Exception:  # the dashboard is still starting
                pass
            time.sleep(0.5)
        logs = "\n".join(p.read_text(errors="replace")[-2000:] for p in sorted(Path(self._temp).glob("node*.log")))
        raise RuntimeError(f"the local Ray cluster did not reach {count} nodes:\n{logs}")

    def stop(self) -> None:
        """SIGTERM each `ray start --block` (it stops its node), then kill its session's stragglers."""
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self._procs):
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                pass
            _kill_session(proc.pid)
        self._procs.clear()
        if self._temp:
            shutil.rmtree(self._temp, ignore_errors=True)

    def __enter__(self) -> "LocalCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
