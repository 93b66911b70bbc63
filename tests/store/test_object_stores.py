"""The storage layer on real object-store servers: moto's S3 server (started here, in its own process)
and the GCS emulator. The same rules hold on both: atomic whole-object writes, listing by prefix and
glob, a content key that changes with the content and not with a rewrite of other objects, deletes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emsync_core.store import remote
from emsync_core.store import uri as store
from ray_serve.local_cluster import free_port


@pytest.fixture(scope="module")
def s3_bucket():
    """s3://emsync-test on a moto server; AWS_ENDPOINT_URL points the store at it. Stops only that server."""
    port = free_port()
    proc = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)
                pytest.fail("moto_server did not start")
            time.sleep(0.2)
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1"}
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        remote.filesystem.cache_clear()
        remote.filesystem("s3").mkdir("emsync-test")
        yield "s3://emsync-test"
        remote.filesystem.cache_clear()
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(10)


@pytest.fixture
def gcs_bucket(gcs_emulator):
    gcs_emulator.create_bucket("emsync-store") if gcs_emulator.lookup_bucket("emsync-store") is None else None
    return "gs://emsync-store"


@pytest.fixture(params=["s3", "gs"])
def bucket(request, s3_bucket):
    return s3_bucket if request.param == "s3" else request.getfixturevalue("gcs_bucket")


def test_object_store_rules(bucket, tmp_path):
    base = store.join(bucket, "run")
    a, b = store.join(base, "videos", "a.json"), store.join(base, "features", "a.parquet")
    assert store.is_remote(a) and not store.exists(a) and store.list_prefix(base) == []
    store.write_bytes_atomic(a, b'{"v": 1}')
    local = tmp_path / "big.bin"
    local.write_bytes(os.urandom(6 * 1024 * 1024))  # larger than one read block
    store.put_file_atomic(str(local), b)
    assert not local.exists()
    assert store.read_bytes(a) == b'{"v": 1}' and store.exists(b)
    assert store.list_prefix(base, "*.json") == [a] and store.list_prefix(base) == sorted([a, b])
    assert store.list_glob(store.join(base, "*", "*.parquet")) == [b]
    with store.open_read(b) as fh:
        fh.seek(5 * 1024 * 1024)
        assert len(fh.read(100)) == 100
    first = store.stat(a)
    store.write_bytes_atomic(b, b"other")  # another object changes
    assert store.stat(a) == first and store.stat(b).size == 5
    store.write_bytes_atomic(a, b'{"v": 2}')  # this one's content changes: so does its key
    assert store.stat(a).content_key != first.content_key and store.stat(a).size == first.size
    store.delete(a)
    store.delete(a)  # deleting what is gone is not an error
    assert not store.exists(a)
    with pytest.raises(FileNotFoundError):
        store.stat(a)
