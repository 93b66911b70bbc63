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
