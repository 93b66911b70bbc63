"""Reruns do nothing on an unchanged catalog (locally and on gs:// through the emulator); catalogs
come as folders, globs, manifests and prefixes; outputs are written atomically."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from beam_jobs.extract_pipeline import ExtractOptions, run_extract
from emsync_core.store import uri as store
from emsync_core.store.catalog import CatalogError, list_catalog_uris, resolve_ref
from tests.media_factory import video_with_cuts


@pytest.fixture(scope="module")
def two_videos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("videos")
    video_with_cuts(root / "a.mp4", [40, 35], fps="25")
    (root / "sub").mkdir()
    video_with_cuts(root / "sub" / "b.mp4", [30, 30], fps="25", audio=None)
    (root / "notes.txt").write_text("not a video")
    return root


def test_rerun_on_unchanged_catalog_processes_nothing(two_videos: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = run_extract(ExtractOptions(catalog=str(two_videos), out=str(out), workers=1, show_progress=False))
    assert len(first.ok) == 2 and not first.skipped and first.complete
    per_video = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.parent != out}
    second = run_extract(ExtractOptions(catalog=str(two_videos), out=str(out), workers=1, show_progress=False))
    assert not second.ok and len(second.skipped) == 2 and not second.failed
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.parent != out} == per_video
    assert pq.read_table(out / "summary.parquet").num_rows == 2

    # A changed file is a new version: new id, new work; the other stays skipped.
    changed = two_videos / "a.mp4"
    time.sleep(0.01)
    os.utime(changed, ns=(time.time_ns(), time.time_ns()))
    third = run_extract(ExtractOptions(catalog=str(two_videos), out=str(out), workers=1, show_progress=False))
    assert [Path(r["uri"]).name for r in third.ok] == ["a.mp4"] and len(third.skipped) == 1

    # Other backbones are other outputs: the fingerprint differs, so the work is redone.
    fourth = run_extract(ExtractOptions(catalog=str(two_videos), out=str(out), backbones=("visual_affect",), workers=1, show_progress=False))
    assert len(fourth.ok) == 2


def test_catalog_forms(two_videos: Path, tmp_path: Path) -> None:
    folder = list_catalog_uris(str(two_videos))
    assert [Path(u).name for u in folder] == ["a.mp4", "b.mp4"]
    assert [Path(u).name for u in list_catalog_uris(str(two_videos / "**" / "*.mp4"))] == ["a.mp4", "b.mp4"]
    csv = tmp_path / "manifest.csv"
    csv.write_text(f"uri,title\n{two_videos / 'a.mp4'},first\n")
    assert list_catalog_uris(str(csv)) == [str(two_videos / "a.mp4")]
    parquet = tmp_path / "manifest.parquet"
    pq.write_table(pa.table({"path": [str(two_videos / "sub" / "b.mp4")]}), parquet)
    assert list_catalog_uris(str(parquet)) == [str(two_videos / "sub" / "b.mp4")]
    assert list_catalog_uris(str(two_videos / "a.mp4")) == [str(two_videos / "a.mp4")]
    with pytest.raises(CatalogError):
        list_catalog_uris(str(tmp_path / "missing"))


def test_video_id_is_stable_and_follows_content(two_videos: Path, tmp_path: Path) -> None:
    copy = tmp_path / "a.mp4"
    shutil.copy2(two_videos / "a.mp4", copy)
    assert resolve_ref(str(two_videos / "a.mp4")).video_id == resolve_ref(str(two_videos / "a.mp4")).video_id
    assert resolve_ref(str(copy)).video_id != resolve_ref(str(two_videos / "a.mp4")).video_id


def test_atomic_write_leaves_old_content_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "x" / "record.json"
    store.write_bytes_atomic(str(target), b"old")

    with pytest.raises(TypeError):
        store.write_bytes_atomic(str(target), object())  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert [p.name for p in target.parent.iterdir()] == ["record.json"]


def test_gcs_catalog_and_outputs_through_the_emulator(gcs_emulator, two_videos: Path) -> None:
    bucket = gcs_emulator.create_bucket("archive")
    for path in (two_videos / "a.mp4", two_videos / "sub" / "b.mp4"):
        bucket.blob(f"catalog/{path.name}").upload_from_filename(str(path))
    bucket.blob("catalog/readme.txt").upload_from_string("not a video")
    assert list_catalog_uris("gs://archive/catalog") == ["gs://archive/catalog/a.mp4", "gs://archive/catalog/b.mp4"]
    options = ExtractOptions(catalog="gs://archive/catalog", out="gs://archive/out", workers=1, show_progress=False)
    first = run_extract(options)
    assert len(first.ok) == 2 and first.complete
    names = sorted(b.name for b in gcs_emulator.list_blobs("archive", prefix="out/"))
    assert len([n for n in names if n.startswith("out/features/")]) == 2
    assert len([n for n in names if n.startswith("out/videos/")]) == 2
    table = pq.read_table(pa.BufferReader(store.read_bytes(first.ok[0]["features_uri"])))
    assert table.num_rows == first.ok[0]["n_windows"]
    generations = {b.name: b.generation for b in gcs_emulator.list_blobs("archive", prefix="out/") if "/features/" in b.name or "/videos/" in b.name}
    second = run_extract(options)
    assert not second.ok and len(second.skipped) == 2
    assert {b.name: b.generation for b in gcs_emulator.list_blobs("archive", prefix="out/") if "/features/" in b.name or "/videos/" in b.name} == generations
