"""One storage layer for local paths and object stores (gs://, s3://, az://, abfs:// through fsspec):
stat, list, read, atomic write.

Everything that touches a catalog or an output goes through here, so the pipeline code never asks
which kind of URI it holds.
"""

from __future__ import annotations

import glob
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from aiohttp import ClientConnectionError
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from emsync_core.store import remote

READ_BLOCK_BYTES = 4 * 1024 * 1024
_TRANSIENT = (ConnectionError, TimeoutError, ClientConnectionError)  # aiohttp: gcsfs, s3fs and adlfs all use it
_UMASK = os.umask(0)
os.umask(_UMASK)  # read once: outputs get the usual mode (0644 under umask 022), not mkstemp's owner-only 0600
FILE_MODE = 0o666 & ~_UMASK
_retry = retry(
    retry=retry_if_exception_type(_TRANSIENT), stop=stop_after_attempt(4), wait=wait_exponential(0.2, max=3), reraise=True
)


def is_remote(uri: str) -> bool:
    """An object store URI (not a local path)."""
    return bool(remote.scheme(uri))


def join(base: str, *parts: str) -> str:
    if is_remote(base):
        return "/".join([base.rstrip("/"), *[p.strip("/") for p in parts]])
    return str(Path(base, *parts))


@dataclass(frozen=True)
class ObjectStat:
    """Size plus a content key that changes when the content does (mtime, GCS generation, S3/Azure ETag)."""

    uri: str
    size: int
    content_key: str


@_retry
def stat(uri: str) -> ObjectStat:
    if is_remote(uri):
        found = remote.stat(uri)
        return ObjectStat(uri, found.size, found.content_key)
    st = os.stat(uri)
    return ObjectStat(str(Path(uri).resolve()), st.st_size, f"size:{st.st_size}:mtime_ns:{st.st_mtime_ns}")


@_retry
def exists(uri: str) -> bool:
    if is_remote(uri):
        return remote.exists(uri)
    return os.path.exists(uri)


@_retry
def list_prefix(prefix: str, pattern: str = "*") -> list[str]:
    """Objects under a folder or object store prefix whose base name matches `pattern`, sorted."""
    if is_remote(prefix):
        return remote.list_prefix(prefix, pattern)
    root = Path(prefix)
    if not root.is_dir():
        return []
    return sorted(str(p.resolve()) for p in root.rglob(pattern) if p.is_file())


@_retry
def delete(uri: str) -> None:
    """Remove an object if it exists."""
    if is_remote(uri):
        remote.delete(uri)
        return
    Path(uri).unlink(missing_ok=True)


@_retry
def list_glob(pattern: str) -> list[str]:
    if is_remote(pattern):
        return remote.list_glob(pattern)
    return sorted(str(Path(p).resolve()) for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))


@_retry
def read_bytes(uri: str) -> bytes:
    if is_remote(uri):
        return remote.read_bytes(uri)
    return Path(uri).read_bytes()


def open_read(uri: str) -> BinaryIO:
    """A seekable binary stream; remote objects are read in blocks, never whole."""
    if is_remote(uri):
        return remote.open_read(uri, READ_BLOCK_BYTES)
    return open(uri, "rb")


@_retry
def write_bytes_atomic(uri: str, data: bytes) -> None:
    """Readers see the old object or the whole new one, never a partial file."""
    if is_remote(uri):
        # An object becomes visible only when its upload completes: the write is atomic as is.
        remote.write_bytes(uri, data)
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
    """Move a finished local file to `uri` (rename locally, upload to an object store)."""
    if is_remote(uri):
        _retry(remote.put_file)(local_path, uri)
        os.unlink(local_path)
        return
    Path(uri).parent.mkdir(parents=True, exist_ok=True)
    os.replace(local_path, uri)


def scratch_path_for(uri: str, suffix: str) -> str:
    """A temporary local file on the same filesystem as `uri` when local (so rename is atomic)."""
    directory = None if is_remote(uri) else str(Path(uri).parent)
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".emsync-", suffix=suffix, dir=directory)
    os.fchmod(fd, FILE_MODE)
    os.close(fd)
    return tmp

