import errno
import json
import os
import subprocess

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from emsync_core.cli.main import app
from emsync_core.enhance import files
from emsync_core.enhance.files import EnhanceError, enhance_file
from emsync_core.enhance.filters import FilterSpec
from emsync_core.store.faults import EnvironmentFault


def _write(path, seconds, rate, channels, cutoff=None, gain=0.3, seed=0):
    x = np.random.default_rng(seed).standard_normal((int(seconds * rate), channels)) * gain
    if cutoff:
        x = FilterSpec("cheby1", 8, cutoff).apply(x, rate)
    sf.write(str(path), np.clip(x, -1, 1), rate)
    return str(path)


@pytest.mark.parametrize(("rate", "channels"), [(8000, 1), (22050, 2), (44100, 6), (48000, 2)])
def test_rates_and_layouts_give_a_result(tmp_path, rate, channels):
    src = _write(tmp_path / "in.wav", 1.0, rate, channels, cutoff=min(9000.0, rate * 0.45))
    outcome = enhance_file(src, str(tmp_path / "out.flac"))
    audio, sr = sf.read(str(tmp_path / "out.flac"), always_2d=True)
    assert sr == 44100 and audio.shape[1] == channels
    assert abs(len(audio) - 44100) <= 64
    assert outcome.source_rate == rate
    if rate >= 22050:
        assert outcome.band_limit.verdict == "band-limited" and outcome.enhanced
    else:  # 8 kHz audio stops at 4 kHz: a band limit the model was not trained to restore
        assert not outcome.enhanced and "outside" in outcome.note


def test_silence_is_written_unchanged(tmp_path):
    src = str(tmp_path / "silent.wav")
    sf.write(src, np.zeros((44100, 2)), 44100)
    outcome = enhance_file(src, str(tmp_path / "out.wav"))
    assert outcome.band_limit.verdict == "silent" and not outcome.enhanced
    assert not np.any(sf.read(str(tmp_path / "out.wav"))[0])


def test_clipped_input_stays_in_range(tmp_path):
    src = _write(tmp_path / "loud.wav", 1.0, 44100, 2, cutoff=9000.0, gain=3.0)
    enhance_file(src, str(tmp_path / "out.wav"), force=True)
    assert np.abs(sf.read(str(tmp_path / "out.wav"))[0]).max() <= 1.0


def test_bad_inputs_give_clear_errors(tmp_path, shared_video):
    short = _write(tmp_path / "short.wav", 0.05, 44100, 1)
    with pytest.raises(EnhanceError, match="too short"):
        enhance_file(short, str(tmp_path / "o.wav"))
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not audio at all")
    with pytest.raises(EnhanceError, match="not a media file"):
        enhance_file(str(junk), str(tmp_path / "o.wav"))
    with pytest.raises(EnhanceError, match="no audio stream"):
        enhance_file(str(shared_video / "bikes.mp4"), str(tmp_path / "o.wav"))
    with pytest.raises(EnhanceError, match="must end in"):
        enhance_file(short, str(tmp_path / "o.mp3"))
    assert not list(tmp_path.glob("o.*"))


def test_cli_file_and_catalog(tmp_path, shared_video):
    runner = CliRunner()
    src = _write(tmp_path / "tape.wav", 1.0, 44100, 2, cutoff=8000.0)
    result = runner.invoke(app, ["enhance", src, str(tmp_path / "tape_out.flac")])
    assert result.exit_code == 0, result.output
    assert "enhanced" in result.output
    folder = tmp_path / "catalog"
    folder.mkdir()
    subprocess.run(["cp", src, str(shared_video / "fire2.mp4"), str(folder)], check=True)
    (folder / "broken.wav").write_bytes(b"RIFF????")
    result = runner.invoke(app, ["enhance", str(folder), str(tmp_path / "out")])
    assert result.exit_code == 1  # one file failed; the others are written
    report = {r["source"].rsplit("/", 1)[-1]: r for r in json.loads((tmp_path / "out" / "enhance_report.json").read_text())}
    assert report["broken.wav"]["failure"] == "input" and "not a media file" in report["broken.wav"]["error"]
    assert report["tape.wav"]["enhanced"]
    assert not report["fire2.mp4"]["enhanced"]  # full band up to the codec's own limit: left alone
    assert (tmp_path / "out" / "tape.flac").exists() and (tmp_path / "out" / "fire2.flac").exists()


def _full_disk_partial(target):
    """The next write of `target`'s temporary file goes to /dev/full (a real ENOSPC); the cleanup after the
    failed try removes the link, so the try after it writes a real file."""
    os.symlink("/dev/full", f"{target}.partial.wav")


def test_a_transient_write_fault_is_retried(tmp_path):
    src = _write(tmp_path / "in.wav", 0.5, 44100, 1, cutoff=9000.0)
    target = str(tmp_path / "out.wav")
    _full_disk_partial(target)
    with pytest.raises(EnvironmentFault) as caught:
        enhance_file(src, target, attempts=1)
    assert caught.value.cause.errno == errno.ENOSPC and not os.path.lexists(f"{target}.partial.wav")
    assert not os.path.exists(target)
    _full_disk_partial(target)
    outcome = enhance_file(src, target, attempts=2, backoff_s=0.01)
    assert outcome.enhanced and len(sf.read(target)[0]) > 0


def test_a_persistent_read_fault_is_not_blamed_on_the_input(tmp_path):
    # reading /proc/self/mem at offset 0 fails with EIO: a failing disk, as ffmpeg sees it
    with pytest.raises(EnvironmentFault) as caught:
        enhance_file("/proc/self/mem", str(tmp_path / "o.wav"), attempts=2, backoff_s=0.01)
    assert isinstance(caught.value.cause, OSError) and caught.value.cause.errno == errno.EIO


def test_cli_catalog_records_a_fault_apart_from_bad_input(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "FAULT_BACKOFF_S", 0.01)
    folder = tmp_path / "catalog"
    folder.mkdir()
    _write(folder / "tape.wav", 0.5, 44100, 1, cutoff=9000.0)
    (folder / "broken.wav").write_bytes(b"RIFF????")
    os.symlink("/proc/self/mem", folder / "failing.wav")
    result = CliRunner().invoke(app, ["enhance", str(folder), str(tmp_path / "out")])
    assert result.exit_code == 4, result.output  # a fault outranks bad input: rerun once the cause is fixed
    report = {r["source"].rsplit("/", 1)[-1]: r for r in json.loads((tmp_path / "out" / "enhance_report.json").read_text())}
    assert report["failing.wav"]["failure"] == "fault" and "Input/output error" in report["failing.wav"]["error"]
    assert report["broken.wav"]["failure"] == "input"
    assert report["tape.wav"]["enhanced"] and (tmp_path / "out" / "tape.flac").exists()
