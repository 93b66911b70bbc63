"""A catalog of real broken and awkward files: each either succeeds or becomes one dead letter with a
clear reason, the run finishes, and the good videos' outputs are complete."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from beam_jobs.extract_pipeline import ExtractOptions, run_extract
from emsync_core.store.feature_parquet import absent_rows, read_metadata
from tests.media_factory import ffmpeg, video_with_cuts


@pytest.fixture(scope="module")
def awkward_catalog(tmp_path_factory: pytest.TempPathFactory, shared_video: Path) -> Path:
    root = tmp_path_factory.mktemp("catalog")
    good = video_with_cuts(root / "good.mp4", [50, 50], fps="25")
    (root / "zero_byte.mp4").write_bytes(b"")
    data = good.read_bytes()
    (root / "truncated_head.mp4").write_bytes(data[: len(data) // 3])  # moov atom lost: unreadable
    (root / "random_bytes.mp4").write_bytes(bytes(range(256)) * 400)
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=330:duration=2", "-c:a", "aac", str(root / "audio_only.mp4"))
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=0.4", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(root / "short_0_4s.mp4"))
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=7.5:duration=3", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(root / "odd_rate_7_5.mp4"))
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=2", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(root / "plain.mp4"))
    ffmpeg("-i", str(root / "plain.mp4"), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(root / "rotated.mp4"))
    (root / "plain.mp4").unlink()
    # Streamed webm: the container carries no duration.
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=2", "-c:v", "libvpx", "-f", "webm", "-live", "1", str(root / "no_duration.webm"))
    for name in ("no_duration.webm", "fire2.mp4", "video_with_failing_audio.mp4"):
        shutil.copy(shared_video / name, root / f"shared_{name}")
    return root


@pytest.fixture(scope="module")
def run(awkward_catalog: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("out")
    summary = run_extract(ExtractOptions(catalog=str(awkward_catalog), out=str(out), workers=2, show_progress=False))
    return out, summary


def _by_name(records: list[dict]) -> dict[str, dict]:
    return {Path(r["uri"]).name: r for r in records}


def test_each_bad_file_is_one_dead_letter_with_a_reason(run) -> None:
    out, summary = run
    failed = _by_name(summary.failed)
    assert set(failed) == {"zero_byte.mp4", "truncated_head.mp4", "random_bytes.mp4", "audio_only.mp4"}
    assert "empty file" in failed["zero_byte.mp4"]["message"]
    assert "no video stream" in failed["audio_only.mp4"]["message"]
    assert "not a readable media file" in failed["random_bytes.mp4"]["message"]
    assert "not a readable media file" in failed["truncated_head.mp4"]["message"]
    assert all(r["stage"] == "probe" and r["error_class"] == "MediaError" for r in failed.values())
    dead = pq.read_table(out / "dead_letter.parquet").to_pylist()
    assert sorted(Path(r["uri"]).name for r in dead) == sorted(failed)
    assert len(list((out / "dead_letter").glob("*.json"))) == 4


def test_awkward_but_valid_files_succeed_completely(run) -> None:
    out, summary = run
    ok = _by_name(summary.ok)
    assert set(ok) == {"good.mp4", "short_0_4s.mp4", "odd_rate_7_5.mp4", "rotated.mp4", "no_duration.webm", "shared_no_duration.webm", "shared_fire2.mp4", "shared_video_with_failing_audio.mp4"}
    for name, record in ok.items():
        table = pq.read_table(record["features_uri"])
        meta = read_metadata(table)
        assert table.num_rows == record["n_windows"] >= 1, name
        assert meta["duration_s"] == pytest.approx(record["duration_s"])
        assert table.column("end_s").to_pylist()[-1] == pytest.approx(record["duration_s"], abs=1e-6), name
        assert not absent_rows(table["feat_mobilenet_v2"]).any(), name
    assert ok["short_0_4s.mp4"]["duration_s"] == pytest.approx(0.4, abs=0.05)
    assert ok["odd_rate_7_5.mp4"]["fps"] == pytest.approx(7.5)
    assert ok["odd_rate_7_5.mp4"]["duration_s"] == pytest.approx(3.0, abs=0.15)
    assert ok["rotated.mp4"]["rotation"] == 90
    assert ok["no_duration.webm"]["duration_s"] == pytest.approx(2.0, abs=0.05)
    assert ok["good.mp4"]["cuts_raw_s"] == pytest.approx([2.0], abs=0.04)
    # The video has no audio: its audio descriptors are a recorded absence, not zeros.
    no_audio = pq.read_table(ok["odd_rate_7_5.mp4"]["features_uri"])
    assert absent_rows(no_audio["feat_audio_affect"]).all()
    with_audio = pq.read_table(ok["good.mp4"]["features_uri"])
    assert not absent_rows(with_audio["feat_audio_affect"]).any()
    summary_rows = _by_name(pq.read_table(out / "summary.parquet").to_pylist())
    assert set(summary_rows) == set(ok)
    markers = [json.loads(p.read_text()) for p in (out / "videos").glob("*.json")]
    assert len(markers) == len(ok)
    assert not list(out.rglob("*.tmp")) and not list(out.rglob(".emsync-*"))
    assert summary.complete is False
