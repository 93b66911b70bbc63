"""Shared fixtures: the shared real clips, synthetic media, a GCS emulator."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
SHARED_VIDEO = SHARED / "data" / "video"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_video() -> Path:
    """../shared/data/video; absent only outside this workplace (never in CI)."""
    if not SHARED_VIDEO.is_dir():
        if os.environ.get("CI"):
            pytest.fail("../shared/data/video must exist in CI")
        pytest.skip("../shared is absent")
    return SHARED_VIDEO


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def gcs_emulator(tmp_path_factory: pytest.TempPathFactory):
    """A real gcp-storage-emulator on 127.0.0.1: the store (gcsfs) talks to it; tests set it up with google-cloud-storage."""
    port = _free_port()
    data = tmp_path_factory.mktemp("gcs")
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("gcp-storage-emulator")), "start", "--host", "127.0.0.1", "--port", str(port), "--no-store-on-disk"],
        cwd=data,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("gcp-storage-emulator did not start")
    previous = os.environ.get("STORAGE_EMULATOR_HOST")
    os.environ["STORAGE_EMULATOR_HOST"] = f"http://127.0.0.1:{port}"
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    from emsync_core.store import remote

    remote.filesystem.cache_clear()  # gs:// now resolves to the emulator
    yield storage.Client(project="emsync-local", credentials=AnonymousCredentials())
    process.terminate()
    process.wait(10)
    if previous is None:
        os.environ.pop("STORAGE_EMULATOR_HOST", None)
    else:
        os.environ["STORAGE_EMULATOR_HOST"] = previous
    remote.filesystem.cache_clear()


@pytest.fixture()
def score_api(tmp_path):
    """The archive API with a key of the score scope, scoring videos under tmp_path."""
    from fastapi.testclient import TestClient

    from emsync_core.api.keys import create_key
    from emsync_core.api.policy import ApiSettings
    from emsync_core.db.engine import open_database
    from ray_serve.app import build_api_app

    db = f"sqlite:///{tmp_path / 'emsync.db'}"
    sessions = open_database(db)
    with sessions.begin() as s:
        _, secret = create_key(s, "scorer", ("score",))
    sessions.kw["bind"].dispose()
    app = build_api_app(db, ApiSettings(catalog_roots=(str(tmp_path),)))
    with TestClient(app, base_url="http://127.0.0.1", headers={"Authorization": f"Bearer {secret}"}) as c:
        yield c
