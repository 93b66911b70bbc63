"""The feature Parquet contract: one row per (video, window), one fixed-size float32 list per backbone,
and the video's facts (cuts, duration, backbone versions) in the Arrow schema metadata under b"emsync".

A backbone's recorded absence (no face, no speech, no audio) is an all-NaN vector, not NULL: pyarrow 25
cannot read back NULL entries of a fixed-size list from Parquet ("Expected all lists to be of size").

Rows are streamed to disk in row groups, so a long video never sits in memory; the metadata, known only
at the end, is attached by re-streaming the row groups into the final file.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from emsync_core.store import uri as store

SCHEMA_VERSION = 1
METADATA_KEY = b"emsync"
ROW_GROUP_WINDOWS = 256
BASE_FIELDS = [
    pa.field("video_id", pa.string(), nullable=False),
    pa.field("window_index", pa.int32(), nullable=False),
    pa.field("start_s", pa.float64(), nullable=False),
    pa.field("end_s", pa.float64(), nullable=False),
    pa.field("scene_index", pa.int32(), nullable=False),
]


_NUMPY_TYPES = {pa.int32(): np.int32, pa.float64(): np.float64, pa.float32(): np.float32}


def _from_numpy(values: np.ndarray, arrow_type: pa.DataType) -> pa.Array:
    """Arrow arrays are built from buffers: `pa.array` imports pandas on first use, ~50 MB and 0.4 s
    CPU per worker for nothing this writer needs."""
    data = np.ascontiguousarray(values, dtype=_NUMPY_TYPES[arrow_type])
    return pa.Array.from_buffers(arrow_type, len(data), [None, pa.py_buffer(data)])


def _base_column(values: list[Any], arrow_type: pa.DataType) -> pa.Array:
    if arrow_type != pa.string():
        return _from_numpy(np.asarray(values), arrow_type)
    encoded = [str(v).encode() for v in values]
    offsets = np.zeros(len(encoded) + 1, np.int32)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return pa.Array.from_buffers(pa.string(), len(encoded), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))])


def column_name(backbone: str) -> str:
    return f"feat_{backbone}"


def feature_schema(backbone_dims: dict[str, int], metadata: dict[str, Any] | None = None) -> pa.Schema:
    fields = BASE_FIELDS + [pa.field(column_name(n), pa.list_(pa.float32(), d), nullable=False) for n, d in backbone_dims.items()]
    return pa.schema(fields, metadata={METADATA_KEY: json.dumps(metadata)} if metadata else None)


class FeatureParquetWriter:
    """Append windows; `commit(metadata)` writes the final file to `dest_uri` atomically."""

    def __init__(self, dest_uri: str, backbone_dims: dict[str, int]) -> None:
        self._dest = dest_uri
        self._dims = backbone_dims
        self._schema = feature_schema(backbone_dims)
        self._rows: list[dict[str, Any]] = []
        self._draft = store.scratch_path_for(dest_uri, ".draft.parquet")
        self._writer = pq.ParquetWriter(self._draft, self._schema)
        self.n_rows = 0

    def append(self, row: dict[str, Any]) -> None:
        self._rows.append(row)
        if len(self._rows) >= ROW_GROUP_WINDOWS:
            self._flush()

    def _column(self, name: str, dim: int) -> pa.Array:
        values = [r[column_name(name)] for r in self._rows]
        flat = np.stack([np.full(dim, np.nan, np.float32) if v is None else np.asarray(v, np.float32).reshape(dim) for v in values])
        return pa.FixedSizeListArray.from_arrays(_from_numpy(flat.reshape(-1), pa.float32()), dim)

    def _flush(self) -> None:
        if not self._rows:
            return
        arrays = [_base_column([r[f.name] for r in self._rows], f.type) for f in BASE_FIELDS]
        arrays += [self._column(n, d) for n, d in self._dims.items()]
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=self._schema))
        self.n_rows += len(self._rows)
        self._rows = []

    def commit(self, metadata: dict[str, Any]) -> None:
        self._flush()
        self._writer.close()
        final = store.scratch_path_for(self._dest, ".parquet")
        try:
            source = pq.ParquetFile(self._draft)
            with pq.ParquetWriter(final, feature_schema(self._dims, {"schema_version": SCHEMA_VERSION, **metadata})) as out:
                for i in range(source.num_row_groups):
                    out.write_table(source.read_row_group(i).replace_schema_metadata(out.schema.metadata))
            store.put_file_atomic(final, self._dest)
        finally:
            for path in (self._draft, final):
                if os.path.exists(path):
                    os.unlink(path)

    def abort(self) -> None:
        self._writer.close()
        if os.path.exists(self._draft):
            os.unlink(self._draft)


def absent_rows(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Boolean mask of the windows where the backbone recorded an absence (all-NaN vector)."""
    values = np.asarray(column.combine_chunks().flatten() if isinstance(column, pa.ChunkedArray) else column.flatten())
    dim = column.type.list_size
    return np.isnan(values.reshape(-1, dim)).all(axis=1)


def read_metadata(table_or_schema: pa.Table | pa.Schema) -> dict[str, Any]:
    schema = table_or_schema.schema if isinstance(table_or_schema, pa.Table) else table_or_schema
    return json.loads((schema.metadata or {})[METADATA_KEY])
