"""Object stores through fsspec: gs:// (gcsfs), s3:// (s3fs), az:// and abfs:// (adlfs).

Credentials come from each cloud's standard chain, never from this code: on GKE the pod's Kubernetes
service account (Workload Identity), on EKS IRSA, on AKS Azure workload identity; AWS_ENDPOINT_URL
points s3:// at any S3-compatible server and STORAGE_EMULATOR_HOST gs:// at a GCS emulator.
"""

from __future__ import annotations

import fnmatch
import functools
import os
from dataclasses import dataclass

import fsspec

REMOTE_SCHEMES = ("gs", "s3", "az", "abfs")


def scheme(uri: str) -> str:
    head, sep, _ = uri.partition("://")
    return head if sep and head in REMOTE_SCHEMES else ""


@functools.cache
def filesystem(protocol: str) -> fsspec.AbstractFileSystem:
    """One filesystem per protocol and process (fsspec's own instance cache is bypassed: ours is cleared in tests)."""
    options: dict[str, object] = {"skip_instance_cache": True}
    if protocol == "gs" and os.environ.get("STORAGE_EMULATOR_HOST"):
        options["token"] = "anon"  # the emulator takes no credentials
    if protocol == "s3" and os.environ.get("AWS_ENDPOINT_URL"):
        options["endpoint_url"] = os.environ["AWS_ENDPOINT_URL"]
    if protocol == "gs":
        # The plain GCS filesystem: gcsfs's default subclass first probes every bucket's layout over gRPC
        # (a minute's timeout where that API is absent, e.g. an emulator); whole-object writes need none of it.
        from gcsfs.core import GCSFileSystem

        return GCSFileSystem(**options)
    return fsspec.filesystem(protocol, **options)


def split(uri: str) -> tuple[fsspec.AbstractFileSystem, str, str]:
    """(filesystem, path without scheme, scheme)."""
    protocol = scheme(uri)
    return filesystem(protocol), uri.split("://", 1)[1], protocol


@dataclass(frozen=True)
class RemoteStat:
    size: int
    content_key: str


def content_key(protocol: str, info: dict) -> str:
    """Changes when the object's content does: GCS generation + MD5 (the key gs:// has always had, so
    video ids stay stable), S3 ETag + version id, Azure ETag."""
    if protocol == "gs":
        return f"gen:{info.get('generation')}:md5:{info.get('md5Hash')}"
    if protocol == "s3":
        return f"etag:{str(info.get('ETag', '')).strip(chr(34))}:version:{info.get('VersionId')}"
    return f"etag:{str(info.get('etag', '')).strip(chr(34))}"


def stat(uri: str) -> RemoteStat:
    fs, path, protocol = split(uri)
    fs.invalidate_cache(path)
    info = fs.info(path)
    if info.get("type") == "directory":
        raise FileNotFoundError(uri)
    return RemoteStat(int(info.get("size") or 0), content_key(protocol, info))


def exists(uri: str) -> bool:
    fs, path, _ = split(uri)
    fs.invalidate_cache(path)
    return fs.isfile(path)


def list_prefix(prefix: str, pattern: str) -> list[str]:
    fs, path, protocol = split(prefix)
    fs.invalidate_cache(path)
    if not fs.isdir(path):
        return []
    names = fs.find(path)
    return sorted(f"{protocol}://{n}" for n in names if fnmatch.fnmatch(n.rsplit("/", 1)[-1], pattern))


def list_glob(pattern: str) -> list[str]:
    fs, path, protocol = split(pattern)
    fs.invalidate_cache()
    return sorted(f"{protocol}://{n}" for n in fs.glob(path) if fs.isfile(n))


def delete(uri: str) -> None:
    fs, path, _ = split(uri)
    try:
        fs.rm_file(path)
    except FileNotFoundError:
        pass
    fs.invalidate_cache(path)


def read_bytes(uri: str) -> bytes:
    fs, path, _ = split(uri)
    return fs.cat_file(path)


def open_read(uri: str, block_size: int):
    fs, path, _ = split(uri)
    return fs.open(path, "rb", block_size=block_size)


def write_bytes(uri: str, data: bytes) -> None:
    """One upload: the object appears only when it completes (GCS, S3 and Azure alike)."""
    fs, path, _ = split(uri)
    fs.pipe_file(path, data)
    fs.invalidate_cache(path)


def put_file(local_path: str, uri: str) -> None:
    """A resumable (GCS), multipart (S3) or block-list (Azure) upload, visible only once committed."""
    fs, path, _ = split(uri)
    fs.put_file(local_path, path)
    fs.invalidate_cache(path)
