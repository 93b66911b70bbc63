"""Failures that heal, through the real Beam extraction: an output fault is retried and, if it persists,
stops that video without a dead letter (the next run does it); a dead letter that cannot be written
fails that video only; --retry-failed re-runs dead letters; a cut-off file is scored up to the damage."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from beam_jobs.extract_pipeline import ExtractOptions, run_extract
from emsync_core.store.uri import FILE_MODE
from tests.media_factory import ffmpeg


def current_umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask

BACKBONES = ("visual_affect", "audio_affect")


@pytest.fixture(scope="module")
def catalog(private_dir):
    root = private_dir / "faults-catalog"
    root.mkdir()
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=96x64:rate=25:duration=2", "-c:v", "libx264", "-preset", "ultrafast",
           "-pix_fmt", "yuv420p", str(root / "good.mp4"))
    (root / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not a video at all")
    return root


def _extract(catalog: Path, out: Path, **kw):
    return run_extract(ExtractOptions(catalog=str(catalog), out=str(out), backbones=BACKBONES, workers=1,
                                      show_progress=False, **kw))


def test_an_output_fault_is_not_blamed_on_the_input_and_the_fixed_rerun_does_the_work(catalog, private_dir):
    out = private_dir / "out-output-fault"
    out.mkdir()
    (out / "features").write_text("a file where the features folder belongs")  # every write below it fails
    first = _extract(catalog, out)
    assert [Path(f["uri"]).name for f in first.faulted] == ["good.mp4"] and not first.ok
    assert [Path(f["uri"]).name for f in first.failed] == ["broken.mp4"]  # the bad input is still a dead letter
    assert not (out / "dead_letter" / f"{first.faulted[0]['video_id']}.json").exists()
    assert not first.complete
    (out / "features").unlink()  # the operator fixes the cause
    second = _extract(catalog, out)
    assert [Path(r["uri"]).name for r in second.ok] == ["good.mp4"] and not second.faulted
    assert not (out / "faults").exists() or not any((out / "faults").iterdir())
    # outputs are readable by the team like any file the user writes, not owner-only (mkstemp's 0600)
    for path in (Path(second.ok[0]["features_uri"]), out / "videos" / f"{second.ok[0]['video_id']}.json"):
        assert path.stat().st_mode & 0o777 == FILE_MODE == 0o666 & ~current_umask()


def test_a_dead_letter_that_cannot_be_written_fails_that_video_only(catalog, private_dir):
    out = private_dir / "out-no-dead-letters"
    out.mkdir()
    (out / "dead_letter").write_text("not a folder")
    summary = _extract(catalog, out)  # the Beam job finishes
    assert [Path(r["uri"]).name for r in summary.ok] == ["good.mp4"]
    assert [Path(f["uri"]).name for f in summary.faulted] == ["broken.mp4"] and not summary.failed


def test_retry_failed_runs_dead_letters_again(catalog, private_dir):
    out = private_dir / "out-retry"
    first = _extract(catalog, out)
    dead = out / "dead_letter" / f"{first.failed[0]['video_id']}.json"
    at = json.loads(dead.read_text())["at"]
    again = _extract(catalog, out)
    assert not again.failed or again.failed[0]["at"] == at
    assert {r.uri.rsplit('/', 1)[-1] for r in again.skipped} == {"good.mp4", "broken.mp4"}
    shutil.copy(dead, dead.with_suffix(".before"))
    retried = _extract(catalog, out, retry_failed=True)
    assert [Path(f["uri"]).name for f in retried.failed] == ["broken.mp4"]
    assert [r.uri.rsplit('/', 1)[-1] for r in retried.skipped] == ["good.mp4"]  # the good one is not redone


UNREADABLE_INPUT = """
import os, sys
from emsync_core.features.extract_video import ExtractSettings, OutputLayout, VideoFeatureExtractor
from emsync_core.store.catalog import resolve_ref
path, out = sys.argv[1], sys.argv[2]
ref = resolve_ref(path)
extractor = VideoFeatureExtractor(ExtractSettings(backbones=("visual_affect",), fault_attempts=2, fault_backoff_s=0.01))
first = extractor.run(ref, OutputLayout(out))
os.chmod(path, 0o644)  # the operator fixes the permission
second = extractor.run(ref, OutputLayout(out))
print(first.status, first.record.get("error_class"), second.status)
"""


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs util-linux setpriv")
def test_an_unreadable_input_is_a_fault_and_reads_once_fixed(catalog, private_dir):
    """chmod 000, in a process without the capability to override file permissions (the suite runs as root)."""
    import os
    import subprocess
    import sys

    folder = private_dir / "locked"
    folder.mkdir()
    locked = folder / "locked.mp4"
    shutil.copy(catalog / "good.mp4", locked)
    locked.chmod(0)
    result = subprocess.run(["setpriv", "--bounding-set=-dac_override,-dac_read_search", sys.executable, "-c", UNREADABLE_INPUT,
                             str(locked), str(private_dir / "out-locked")], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert result.stdout.split() == ["fault", "PermissionError", "ok"], result.stderr[-2000:]
    assert not (private_dir / "out-locked" / "dead_letter").exists()


def test_a_full_disk_is_a_fault_and_the_freed_disk_does_the_work(catalog, private_dir):
    """A real ENOSPC: the output is a 256 KiB tmpfs, filled up, then freed (needs the right to mount)."""
    import subprocess

    from emsync_core.features.extract_video import ExtractSettings, OutputLayout, VideoFeatureExtractor
    from emsync_core.store.catalog import resolve_ref

    out = private_dir / "tiny-disk"
    out.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(out)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        filler = out / "filler"
        with open(filler, "wb", buffering=0) as fh:  # fill the disk to the last byte
            try:
                while True:
                    fh.write(b"\0" * 512)
            except OSError:
                pass
        extractor = VideoFeatureExtractor(ExtractSettings(backbones=BACKBONES, fault_attempts=2, fault_backoff_s=0.01))
        ref = resolve_ref(str(catalog / "good.mp4"))
        first = extractor.run(ref, OutputLayout(str(out)))
        assert first.status == "fault" and "No space left" in first.record["message"]
        assert not (out / "dead_letter").exists() or not any((out / "dead_letter").iterdir())
        filler.unlink()  # the operator frees the disk
        assert extractor.run(ref, OutputLayout(str(out))).status == "ok"
    finally:
        subprocess.run(["umount", "--lazy", str(out)], check=False)  # lazy: an open handle must not keep it mounted
