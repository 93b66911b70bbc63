"""An archive API app (real FastAPI app, real SQLite database) with keys of each scope, a catalog root
holding a video, and a private folder outside it."""

from __future__ import annotations


import pytest
from fastapi.testclient import TestClient

from emsync_core.api.keys import create_key, revoke_key
from emsync_core.api.policy import ApiSettings
from emsync_core.db.engine import open_database
from tests.folders import own_temp_folder

ORIGIN = "http://127.0.0.1"


@pytest.fixture(scope="module")
def private_dir():
    """Our own temp folder (pytest's numbered dirs are pruned by other users' sessions on this machine)."""
    with own_temp_folder("safety") as folder:
        yield folder


@pytest.fixture(scope="module")
def api(private_dir):
    """(client, keys by name, paths): the archive API over a fresh database."""
    from ray_serve.app import build_api_app

    root, private = private_dir / "catalog", private_dir / "private"
    root.mkdir()
    private.mkdir()
    (root / "clip.mp4").write_bytes(b"\x00" * 64)
    (private / "secret.mp4").write_bytes(b"\x00" * 64)
    (root / "escape.mp4").symlink_to(private / "secret.mp4")
    db = f"sqlite:///{private_dir / 'emsync.db'}"
    sessions = open_database(db)
    secrets = {}
    with sessions.begin() as s:
        for name, scopes in (("reader", ("read",)), ("scorer", ("score",)), ("both", ("read", "score")), ("revoked", ("read",))):
            info, secrets[name] = create_key(s, name, scopes)
            if name == "revoked":
                revoke_key(s, info.id)
    settings = ApiSettings(catalog_roots=(str(root),), max_upload_bytes=4096)
    app = build_api_app(db, settings)
    with TestClient(app, base_url=ORIGIN, raise_server_exceptions=False) as client:
        yield client, secrets, {"root": root, "private": private, "db": db, "out": private_dir}
    sessions.kw["bind"].dispose()
