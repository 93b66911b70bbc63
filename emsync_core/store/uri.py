"""One storage layer for local paths and gs:// URIs: stat, list, read, atomic write.

Everything that touches a catalog or an output goes through here, so the pipeline code never asks
which kind of URI it holds.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from emsync_core.store import gcs

_TRANSIENT = (ConnectionError, TimeoutError)
_UMASK = os.umask(0)
os.umask(_UMASK)  # read once: outputs get the usual mode (0644 under umask 022), not mkstemp's owner-only 0600
FILE_MODE = 0o666 & ~_UMASK
_retry = retry(
    retry=retry_if_exception_type(_TRANSIENT), stop=stop_after_attempt(4), wait=wait_exponential(0.2, max=3), reraise=True
)


def is_gcs(uri: str) -> bool:
    return uri.startswith("gs://")


def join(base: str, *parts: str) -> str:
    if is_gcs(base):
        return "/".join([base.rstrip("/"), *[p.strip("/") for p in parts]])
    return str(Path(base, *parts))


@dataclass(frozen=True)
class ObjectStat:
    """Size plus a content key that changes when the content does (mtime or GCS generation)."""

    uri: str
    size: int
    content_key: str


@_retry
def stat(uri: str) -> ObjectStat:
    if is_gcs(uri):
        bucket, key = gcs.split(uri)
        blob = gcs.client().bucket(bucket).get_blob(key)
        if blob is None:
            raise FileNotFoundError(uri)
        return ObjectStat(uri, int(blob.size or 0), f"gen:{blob.generation}:md5:{blob.md5_hash}")
    st = os.stat(uri)
    return ObjectStat(str(Path(uri).resolve()), st.st_size, f"size:{st.st_size}:mtime_ns:{st.st_mtime_ns}")


@_retry
def exists(uri: str) -> bool:
    if is_gcs(uri):
        bucket, key = gcs.split(uri)
        return gcs.client().bucket(bucket).blob(key).exists()
    return os.path.exists(uri)


@_retry
def list_prefix(prefix: str, pattern: str = "*") -> list[str]:
    """Objects under a folder or gs:// prefix whose base name matches `pattern`, sorted."""
    if is_gcs(prefix):
        bucket, key = gcs.split(prefix)
        key = key.rstrip("/") + "/" if key else ""
        names = (b.name for b in gcs.client().list_blobs(bucket, prefix=key))
        return sorted(f"gs://{bucket}/{n}" for n in names if fnmatch.fnmatch(n.rsplit("/", 1)[-1], pattern))
    root = Path(prefix)
    if not root.is_dir():
        return []
    return sorted(str(p.resolve()) for p in root.rglob(pattern) if p.is_file())


@_retry
def delete(uri: str) -> None:
    """Remove an object if it exists."""
    if is_gcs(uri):
        bucket, key = gcs.split(uri)
        blob = gcs.client().bucket(bucket).blob(key)
        if blob.exists():
            blob.delete()
        return
    Path(uri).unlink(missing_ok=True)


def list_glob(pattern: str) -> list[str]:
    if is_gcs(pattern):
        bucket, key = gcs.split(pattern)
        fixed = key.split("*", 1)[0].rsplit("/", 1)[0]
        names = (b.name for b in gcs.client().list_blobs(bucket, prefix=fixed))
        return sorted(f"gs://{bucket}/{n}" for n in names if fnmatch.fnmatch(n, key))
    return sorted(str(Path(p).resolve()) for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))


@_retry
def read_bytes(uri: str) -> bytes:
    if is_gcs(uri):
        bucket, key = gcs.split(uri)
        return gcs.client().bucket(bucket).blob(key).download_as_bytes()
    return Path(uri).read_bytes()


def open_read(uri: str) -> BinaryIO:
    """A seekable binary stream; gs:// objects are read in chunks, never whole."""
    if is_gcs(uri):
        bucket, key = gcs.split(uri)
        return gcs.client().bucket(bucket).blob(key).open("rb", chunk_size=4 * 1024 * 1024)
    return open(uri, "rb")


@_retry
def write_bytes_atomic(uri: str, data: bytes, content_type: str = "application/octet-stream") -> None:
    """Readers see the old object or the whole new one, never a partial file."""
    if is_gcs(uri):
        # A GCS object becomes visible only when its upload completes: the write is atomic as is.
        bucket, key = gcs.split(uri)
        gcs.client().bucket(bucket).blob(key).upload_from_string(data, content_type=content_type)
        return
    path = Path(uri)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def put_file_atomic(local_path: str, uri: str) -> None:
    """Move a finished local file to `uri` (rename locally, upload to GCS)."""
    if is_gcs(uri):
        bucket, key = gcs.split(uri)
        _retry(gcs.client().bucket(bucket).blob(key).upload_from_filename)(local_path)
        os.unlink(local_path)
        return
    Path(uri).parent.mkdir(parents=True, exist_ok=True)
    os.replace(local_path, uri)


def scratch_path_for(uri: str, suffix: str) -> str:
    """A temporary local file on the same filesystem as `uri` when local (so rename is atomic)."""
    directory = None if is_gcs(uri) else str(Path(uri).parent)
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".emsync-", suffix=suffix, dir=directory)
    os.fchmod(fd, FILE_MODE)
    os.close(fd)
    return tmp

