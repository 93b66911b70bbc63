"""A corpus of broken and hostile inputs, each with its expected outcome: media files (refused as such, or
processed up to the damage), catalogs and manifests (one clear error that echoes no row), database
faults (readers never create or migrate; a down database is one line), storage and network faults
(retried and never blamed on the input). HTTP abuse is in test_http.py."""

from __future__ import annotations

import errno
import io
from pathlib import Path

import google.api_core.exceptions as google_api
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests
import sqlalchemy
from sqlalchemy.exc import OperationalError

from emsync_core.cli.errors import EXIT_FAULT, EXIT_USAGE, operational
from emsync_core.db.engine import DatabaseNotReady, make_engine, open_database, open_existing
from emsync_core.media.errors import MediaError
from emsync_core.media.scan import ScanSettings, VideoScan
from emsync_core.store.catalog import CatalogError, list_catalog_uris
from emsync_core.store.faults import EnvironmentFault, is_environment_fault
from tests.media_factory import ffmpeg


def _video(path: Path, seconds: float = 3, *extra: str) -> Path:
    ffmpeg("-f", "lavfi", "-i", f"testsrc=size=96x64:rate=25:duration={seconds}", "-c:v", "libx264", "-preset", "ultrafast",
           "-pix_fmt", "yuv420p", *extra, str(path))
    return path


def _scan(path: Path):
    """Probe and decode the whole file as the extraction does; returns the report."""
    scan = VideoScan(lambda: open(path, "rb"), ScanSettings())
    try:
        list(scan.windows())
        return scan.report
    finally:
        scan.close()


MEDIA = {  # name -> (make(folder) -> path, expected: "ok" | "damaged" | (stage, message part))
    "empty file": (lambda d: _write(d / "empty.mp4", b""), ("probe", "empty file")),
    "PNG renamed .mp4": (lambda d: _image(d / "png.mp4", "png"), ("probe", "still image (png)")),
    "JPEG renamed .mov": (lambda d: _image(d / "jpeg.mov", "mjpeg"), ("probe", "still image")),
    "random bytes": (lambda d: _write(d / "random.mp4", bytes(range(256)) * 64), ("probe", "not a readable media file")),
    "text file": (lambda d: _write(d / "notes.mp4", b"hello, this is not a video\n" * 50), ("probe", "not a readable media file")),
    "audio only": (lambda d: _audio(d / "audio.mp4"), ("probe", "no video stream")),
    "head cut off (index lost)": (lambda d: _cut(_video(d / "h.mp4"), d / "head_cut.mp4", keep=0.6), ("probe", "not a readable media file")),
    "tail cut off": (lambda d: _cut(_video(d / "t.mp4", 6, "-movflags", "+faststart"), d / "tail_cut.mp4", keep=0.45), "damaged"),
    "whole short video (control)": (lambda d: _video(d / "fine.mp4", 2), "ok"),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _image(path: Path, codec: str) -> Path:
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48", "-frames:v", "1", "-c:v", codec, "-f", "image2pipe", str(path))
    return path


def _audio(path: Path) -> Path:
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=330:duration=1", "-c:a", "aac", str(path))
    return path


def _cut(source: Path, path: Path, keep: float) -> Path:
    data = source.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    source.unlink()
    return path


@pytest.mark.parametrize("kind", list(MEDIA))
def test_media_file(kind, tmp_path):
    make, expected = MEDIA[kind]
    path = make(tmp_path)
    if isinstance(expected, tuple):
        with pytest.raises(MediaError) as info:
            _scan(path)
        assert info.value.stage == expected[0] and expected[1] in str(info.value)
        return
    report = _scan(path)
    assert report.n_frames > 0
    if expected == "damaged":
        assert report.damage and "cut off" in report.damage and 0 < report.duration_s < 5
    else:
        assert report.damage is None


CATALOGS = {  # name -> (make(folder) -> catalog argument, message part that must appear)
    "missing path": (lambda d: str(d / "nowhere"), "neither a folder"),
    "ragged CSV manifest": (lambda d: _write_text(d / "m.csv", "uri,title\na.mp4,one\nb.mp4,two,SECRET-ROW\n"), "not a readable CSV"),
    "manifest without a URI column": (lambda d: _write_text(d / "n.csv", "name\na.mp4\n"), "needs one of the columns"),
    "Parquet manifest that is not Parquet": (lambda d: _write_text(d / "p.parquet", "PAR1 but not really"), "not a readable Parquet"),
    "missing manifest": (lambda d: str(d / "gone.csv"), "does not exist"),
}


def _write_text(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("kind", list(CATALOGS))
def test_catalog(kind, tmp_path):
    make, part = CATALOGS[kind]
    with pytest.raises(CatalogError) as info:
        list_catalog_uris(make(tmp_path))
    assert part in str(info.value) and "SECRET-ROW" not in str(info.value)
    assert operational(info.value)[0] == EXIT_USAGE


def test_catalog_empty_folder_is_an_empty_catalog(tmp_path):
    assert list_catalog_uris(str(tmp_path)) == []


def test_database_down_is_one_operational_line():
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/emsync?connect_timeout=2")
    with pytest.raises(OperationalError) as info:
        engine.connect()
    code, line = operational(info.value)
    assert code == EXIT_FAULT and line.startswith("database error") and "\n" not in line


def test_reader_on_a_missing_database_creates_nothing(tmp_path):
    with pytest.raises(DatabaseNotReady):
        open_existing(f"sqlite:///{tmp_path / 'missing.db'}")
    assert not (tmp_path / "missing.db").exists()


def test_reader_on_an_unmigrated_database_does_not_migrate_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    with make_engine(url).begin() as c:
        c.exec_driver_sql("CREATE TABLE unrelated (x INTEGER)")
    with pytest.raises(DatabaseNotReady, match="not 0004_studies"):
        open_existing(url)
    assert sqlalchemy.inspect(make_engine(url)).get_table_names() == ["unrelated"]
    open_database(url)  # a writer migrates it; then a reader is content
    open_existing(url).dispose()


ENVIRONMENT = {  # real exception instances of the libraries we call: the environment's fault, not the input's
    "permission denied": PermissionError(errno.EACCES, "Permission denied", "/catalog/a.mp4"),
    "disk full": OSError(errno.ENOSPC, "No space left on device"),
    "disk full, as pyarrow says it": OSError("IOError: No space left on device. Detail: [errno 28]"),
    "read-only output": OSError(errno.EROFS, "Read-only file system"),
    "output folder is a file": NotADirectoryError(errno.ENOTDIR, "Not a directory"),
    "GCS 503": google_api.ServiceUnavailable("backend unavailable"),
    "GCS 429": google_api.TooManyRequests("slow down"),
    "GCS 403": google_api.Forbidden("no access to the bucket"),
    "network down": requests.exceptions.ConnectionError("Max retries exceeded with url"),
    "network timeout": requests.exceptions.ReadTimeout("read timed out"),
}
INPUT = {
    "undecodable input": MediaError("decode", "no decodable video frames"),
    "input vanished": FileNotFoundError(errno.ENOENT, "No such file", "/catalog/a.mp4"),
    "GCS object missing": google_api.NotFound("no such object"),
}


@pytest.mark.parametrize("kind", list(ENVIRONMENT))
def test_environment_faults_are_not_the_inputs(kind):
    assert is_environment_fault(ENVIRONMENT[kind])
    assert operational(EnvironmentFault("extract", ENVIRONMENT[kind]))[0] == EXIT_FAULT


@pytest.mark.parametrize("kind", list(INPUT))
def test_input_errors_are_the_inputs(kind):
    assert not is_environment_fault(INPUT[kind])


def test_manifest_with_parquet_of_uris_still_reads(tmp_path):
    buffer = io.BytesIO()
    pq.write_table(pa.table({"uri": ["gs://b/a.mp4"]}), buffer)
    (tmp_path / "ok.parquet").write_bytes(buffer.getvalue())
    assert list_catalog_uris(str(tmp_path / "ok.parquet")) == ["gs://b/a.mp4"]


class FailingStream:
    """A storage stream whose reads fail as a broken disk or dropped connection does (EIO)."""

    def read(self, n: int) -> bytes:
        raise OSError(errno.EIO, "Input/output error")

    def seek(self, offset: int, whence: int = 0) -> int:
        return 4096 if whence == 2 else offset

    def tell(self) -> int:
        return 0

    def seekable(self) -> bool:
        return True


def test_a_read_error_while_probing_is_the_storages_not_the_files():
    with pytest.raises(OSError) as info:
        VideoScan(lambda: FailingStream(), ScanSettings())
    assert not isinstance(info.value, MediaError) and is_environment_fault(info.value)
