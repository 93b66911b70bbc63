"""A catalog of videos: a folder, a glob, an object store prefix (gs://, s3://, az://), or a manifest (CSV/Parquet of URIs).

Each video gets a stable id from its URI and content key, so an unchanged file is recognised on a
rerun and a changed one is new work.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from emsync_core.store import uri as store

VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".mpg", ".mpeg", ".ts", ".mxf", ".flv", ".wmv")
MANIFEST_URI_COLUMNS = ("uri", "path", "url", "video")


class CatalogError(ValueError):
    """The catalog argument names nothing readable as a catalog (a missing path, a malformed manifest)."""


@dataclass(frozen=True)
class VideoRef:
    """One catalog entry: where the video is and which version of it."""

    video_id: str
    uri: str
    size: int
    content_key: str


def video_id_for(uri: str, content_key: str) -> str:
    return hashlib.sha256(f"{uri}\n{content_key}".encode()).hexdigest()[:20]


def _is_video(uri: str) -> bool:
    return uri.lower().endswith(VIDEO_EXTENSIONS)


def _manifest_uris(manifest: str) -> list[str]:
    try:
        data = store.read_bytes(manifest)
    except FileNotFoundError:
        raise CatalogError(f"manifest {manifest} does not exist") from None
    try:
        if manifest.lower().endswith(".parquet"):
            table = pq.read_table(io.BytesIO(data))
        else:
            table = pacsv.read_csv(io.BytesIO(data))
    except (pa.ArrowInvalid, OSError) as exc:  # ragged rows, not Parquet: say where, never echo the rows
        first = str(exc).splitlines()[0].split(":")[0] if str(exc) else type(exc).__name__
        raise CatalogError(f"manifest {manifest} is not a readable {'Parquet' if manifest.lower().endswith('.parquet') else 'CSV'} file ({first})") from None
    column = next((c for c in MANIFEST_URI_COLUMNS if c in table.column_names), None)
    if column is None:
        raise CatalogError(f"manifest {manifest} needs one of the columns {MANIFEST_URI_COLUMNS}")
    base = os.path.dirname(manifest) if not store.is_remote(manifest) else None
    uris = []
    for value in table.column(column).to_pylist():
        if not value:
            continue
        if base is not None and not store.is_remote(value) and not os.path.isabs(value):
            value = os.path.join(base, value)
        uris.append(value)
    return uris


def list_catalog_uris(catalog: str) -> list[str]:
    """Every video URI the catalog names (not yet stat-ed), sorted and de-duplicated."""
    lower = catalog.lower()
    if lower.endswith((".csv", ".parquet")):
        uris = _manifest_uris(catalog)
    elif any(ch in catalog for ch in "*?["):
        uris = [u for u in store.list_glob(catalog) if _is_video(u)]
    elif store.is_remote(catalog):
        uris = [u for u in store.list_prefix(catalog) if _is_video(u)] or ([catalog] if store.exists(catalog) else [])
    elif os.path.isdir(catalog):
        uris = [u for u in store.list_prefix(catalog) if _is_video(u)]
    elif os.path.isfile(catalog):
        uris = [catalog]
    else:
        raise CatalogError(f"catalog {catalog!r} is neither a folder, a file, a glob, a manifest nor an object store prefix")
    return sorted({u if store.is_remote(u) else os.path.abspath(u) for u in uris})


def resolve_ref(uri: str) -> VideoRef:
    st = store.stat(uri)
    return VideoRef(video_id=video_id_for(st.uri, st.content_key), uri=st.uri, size=st.size, content_key=st.content_key)
