"""Reading and writing feature tables in the extraction contract (one row per video and window).

The emotion model reads the same Parquet the Beam job writes: `feat_<backbone>` fixed-size float32
lists, NULL for a recorded absence. Image sets (Emotion6, OASIS) are written in the same layout, one
single-window "video" per image, so one training path serves customer clips and the public images.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from emsync_core.store import uri as store_uri

FEAT_PREFIX = "feat_"
SCHEMA_VERSION = 1
_RUN_FILES = {"summary.parquet", "dead_letter.parquet"}


class FeatureTableError(ValueError):
    """A feature table that does not follow the extraction contract."""


@dataclass(frozen=True)
class Modality:
    """One backbone's values for one video: (T, dim) float32 and a (T,) presence mask."""

    values: np.ndarray
    present: np.ndarray


def backbone_dims(table: pa.Table) -> dict[str, int]:
    """{backbone name: dim} of the table's `feat_*` columns."""
    dims: dict[str, int] = {}
    for field in table.schema:
        if field.name.startswith(FEAT_PREFIX):
            if not pa.types.is_fixed_size_list(field.type):
                raise FeatureTableError(f"column {field.name} is {field.type}, expected fixed_size_list<float32>")
            dims[field.name[len(FEAT_PREFIX) :]] = field.type.list_size
    return dims


def modality(table: pa.Table, backbone: str) -> Modality:
    """The column `feat_<backbone>` as a dense array with its presence mask (absent column: all absent)."""
    column_name = FEAT_PREFIX + backbone
    n = table.num_rows
    if column_name not in table.column_names:
        return Modality(np.zeros((n, 0), np.float32), np.zeros(n, bool))
    column = table.column(column_name).combine_chunks()
    dim = column.type.list_size
    present = np.asarray(column.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    values = np.zeros((n, dim), np.float32)
    if present.any():
        flat = column.filter(pa.array(present)).flatten().to_numpy(zero_copy_only=False)
        values[present] = np.asarray(flat, np.float32).reshape(-1, dim)
    values[~np.isfinite(values).all(axis=1)] = 0.0
    present &= np.isfinite(values).all(axis=1)
    return Modality(values, present)


def sort_windows(table: pa.Table) -> pa.Table:
    required = {"video_id", "window_index", "start_s", "end_s", "scene_index"}
    missing = required - set(table.column_names)
    if missing:
        raise FeatureTableError(f"feature table lacks columns {sorted(missing)}")
    return table.sort_by([("window_index", "ascending")])


def video_metadata(table: pa.Table) -> dict:
    raw = (table.schema.metadata or {}).get(b"emsync")
    return json.loads(raw) if raw else {}


def feature_files(location: str) -> list[str]:
    """Parquet files of an extraction output (`OUT`, `OUT/features`) or a single file."""
    if location.endswith(".parquet"):
        return [location]
    base = location.rstrip("/")
    for prefix in (base + "/features/", base + "/"):
        files = [u for u in store_uri.list_prefix(prefix, "*.parquet") if u.rsplit("/", 1)[-1] not in _RUN_FILES]
        if files:
            return files
    raise FileNotFoundError(f"no feature Parquet under {location}")


def read_videos(location: str, only: set[str] | None = None) -> Iterator[tuple[str, pa.Table]]:
    """(video_id, that video's windows in order) for every video in the Parquet files at `location`."""
    for path in feature_files(location):
        with store_uri.open_read(path) as fh:
            table = pq.read_table(fh)
        ids = table.column("video_id").to_pylist()
        for video_id in dict.fromkeys(ids):
            if only is not None and video_id not in only:
                continue
            mask = pa.compute.equal(table.column("video_id"), video_id)
            yield video_id, sort_windows(table.filter(mask))


def image_table(video_ids: Sequence[str], features: dict[str, list[np.ndarray | None]], specs: list[dict]) -> pa.Table:
    """A feature table with one single-window, single-scene row per image (duration 1 s)."""
    n = len(video_ids)
    columns: dict[str, pa.Array] = {
        "video_id": pa.array(list(video_ids), pa.string()),
        "window_index": pa.array(np.zeros(n, np.int32)),
        "start_s": pa.array(np.zeros(n)),
        "end_s": pa.array(np.ones(n)),
        "scene_index": pa.array(np.zeros(n, np.int32)),
    }
    for spec in specs:
        name, dim = spec["name"], int(spec["dim"])
        values = features[name]
        flat = np.concatenate([np.asarray(v, np.float32) if v is not None else np.zeros(dim, np.float32) for v in values])
        mask = np.array([v is None for v in values])
        columns[FEAT_PREFIX + name] = pa.FixedSizeListArray.from_arrays(pa.array(flat, pa.float32()), dim, mask=pa.array(mask))
    meta = {"schema_version": SCHEMA_VERSION, "window_s": 1.0, "cuts_raw_s": [], "cuts_s": [], "backbones": specs, "kind": "images"}
    return pa.table(columns).replace_schema_metadata({b"emsync": json.dumps(meta).encode()})
