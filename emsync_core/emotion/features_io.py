"""Reading and writing feature tables in the extraction contract (one row per video and window).

The emotion model reads the same Parquet the Beam job writes: `feat_<backbone>` fixed-size float32
lists, NULL for a recorded absence. Image sets (Emotion6, OASIS) are written in the same layout, one
single-window "video" per image, so one training path serves customer clips and the public images.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from emsync_core.store import uri as store_uri
from emsync_core.store.feature_parquet import SCHEMA_VERSION, feature_schema

FEAT_PREFIX = "feat_"
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
    """The column `feat_<backbone>` as a dense array with its presence mask (absent column: all absent).

    The extraction contract records an absence as an all-NaN vector (pyarrow cannot read NULL
    fixed-size list entries back from Parquet); a NULL or any non-finite row is treated as absent too.
    """
    column_name = FEAT_PREFIX + backbone
    n = table.num_rows
    if column_name not in table.column_names:
        return Modality(np.zeros((n, 0), np.float32), np.zeros(n, bool))
    column = table.column(column_name).combine_chunks()
    dim = column.type.list_size
    valid = np.asarray(column.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    values = np.zeros((n, dim), np.float32)
    if valid.any():
        flat = column.filter(pa.array(valid)).flatten().to_numpy(zero_copy_only=False)
        values[valid] = np.asarray(flat, np.float32).reshape(-1, dim)
    present = valid & np.isfinite(values).all(axis=1)
    values[~present] = 0.0
    return Modality(values, present)


def sort_windows(table: pa.Table) -> pa.Table:
    required = {"video_id", "window_index", "start_s", "end_s", "scene_index"}
    missing = required - set(table.column_names)
    if missing:
        raise FeatureTableError(f"feature table lacks columns {sorted(missing)}")
    return table.sort_by([("window_index", "ascending")])


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
    """A feature table with one single-window, single-scene row per image (duration 1 s); absences are NaN."""
    n = len(video_ids)
    dims = {spec["name"]: int(spec["dim"]) for spec in specs}
    arrays = [
        pa.array(list(video_ids), pa.string()),
        pa.array(np.zeros(n, np.int32)),
        pa.array(np.zeros(n)),
        pa.array(np.ones(n)),
        pa.array(np.zeros(n, np.int32)),
    ]
    for name, dim in dims.items():
        flat = np.stack([np.full(dim, np.nan, np.float32) if v is None else np.asarray(v, np.float32).reshape(dim) for v in features[name]])
        arrays.append(pa.FixedSizeListArray.from_arrays(pa.array(flat.reshape(-1), pa.float32()), dim))
    meta = {"schema_version": SCHEMA_VERSION, "window_s": 1.0, "cuts_raw_s": [], "cuts_s": [], "backbones": specs, "kind": "images"}
    return pa.Table.from_arrays(arrays, schema=feature_schema(dims, meta))
