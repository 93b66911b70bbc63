"""Operators: documented, distinct exit codes; a summary as JSON; EMSYNC_DB_URL; the database checked
before any extraction; one clear line per operational error (a traceback only with -v); readers that
never create or migrate a database; `query --limit`; a second run of a live key stops with code 5."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from emsync_core.cli.errors import EXIT_BUSY, EXIT_FAULT, EXIT_OK, EXIT_OVER_BUDGET, EXIT_USAGE
from emsync_core.cli.main import app
from emsync_core.db.engine import open_database
from emsync_core.db.record import Recorder, VideoFacts
from emsync_core.scoring.lease import try_acquire

DOWN_DB = "postgresql+psycopg://postgres@127.0.0.1:1/emsync?connect_timeout=2"
LIGHT = ["--backbones", "visual_affect,audio_affect", "--workers", "1"]
runner = CliRunner()


def invoke(*args: str, env: dict | None = None):
    return runner.invoke(app, list(args), env=env or {}, catch_exceptions=False)


@pytest.fixture(scope="module")
def bad_catalog(private_dir):
    """Only bad inputs: the run records each as a failure and scores nothing."""
    root = private_dir / "bad-catalog"
    root.mkdir()
    (root / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not a video")
    (root / "empty.mp4").write_bytes(b"")
    return root


def _one_line(result) -> str:
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("emsync: error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_a_database_that_is_down_stops_the_run_before_extraction_in_one_line(bad_catalog, private_dir):
    out = private_dir / "out-down"
    result = invoke("score", str(bad_catalog), "--out", str(out), "--db", DOWN_DB, *LIGHT)
    assert result.exit_code == EXIT_FAULT
    assert "database error" in _one_line(result)
    assert not (out / "dead_letter").exists() and not (out / "videos").exists()  # nothing was extracted


def test_score_reads_the_database_url_from_the_environment(bad_catalog, private_dir):
    result = invoke("score", str(bad_catalog), "--out", str(private_dir / "out-env"), *LIGHT, env={"EMSYNC_DB_URL": DOWN_DB})
    assert result.exit_code == EXIT_FAULT and "database error" in _one_line(result)
    assert not (private_dir / "out-env" / "emsync.db").exists()


def test_verbose_shows_the_traceback(bad_catalog, private_dir):
    result = runner.invoke(app, ["-v", "score", str(bad_catalog), "--out", str(private_dir / "out-v"), "--db", DOWN_DB, *LIGHT])
    assert result.exit_code == EXIT_FAULT and "Traceback" in result.output


def test_a_wrong_manifest_is_one_line_and_echoes_no_row(private_dir):
    manifest = private_dir / "ragged.csv"
    manifest.write_text("uri,title\na.mp4,x\nb.mp4,y,PRIVATE-ROW\n")
    result = invoke("score", str(manifest), "--out", str(private_dir / "out-manifest"), *LIGHT)
    assert result.exit_code == EXIT_USAGE and "PRIVATE-ROW" not in result.output
    assert "not a readable CSV" in _one_line(result)


def test_bad_inputs_recorded_exit_0_within_budget_and_3_over_it_with_a_json_summary(bad_catalog, private_dir):
    out = private_dir / "out-budget"
    summary = private_dir / "summary.json"
    result = invoke("score", str(bad_catalog), "--out", str(out), *LIGHT, "--summary-json", str(summary))
    assert result.exit_code == EXIT_OK, result.output
    data = json.loads(summary.read_text())
    assert data["exit_code"] == EXIT_OK and data["n_catalog"] == 2 and not data["faulted"]
    assert sorted(Path(f["uri"]).name for f in data["failed"]) == ["broken.mp4", "empty.mp4"]
    assert all(f["stage"] == "probe" for f in data["failed"])
    again = invoke("score", str(bad_catalog), "--out", str(out), *LIGHT, "--max-failures", "1", "--summary-json", "-")
    assert again.exit_code == EXIT_OVER_BUDGET
    assert invoke("score", str(bad_catalog), "--out", str(out), *LIGHT, "--max-failures", "2").exit_code == EXIT_OK


def test_a_second_run_of_a_live_key_exits_5_in_one_line(bad_catalog, private_dir):
    from emsync_core.scoring.options import ScoreOptions

    out = private_dir / "out-busy"
    options = ScoreOptions(catalog=str(bad_catalog), out=str(out), backbones=("visual_affect", "audio_affect"))
    sessions = open_database(options.db_url())
    lease = try_acquire(sessions, options.run_key(), str(out))
    try:
        result = invoke("score", str(bad_catalog), "--out", str(out), "--backbones", "visual_affect,audio_affect")
    finally:
        lease.release()
    assert result.exit_code == EXIT_BUSY and "another run of this catalog and configuration is live" in _one_line(result)
    assert not (out / "videos").exists()


@pytest.fixture(scope="module")
def recorded(private_dir):
    url = f"sqlite:///{private_dir / 'recorded.db'}"
    recorder = Recorder(open_database(url))
    for i in range(3):
        recorder.record_video(VideoFacts(video_id=f"{i:020x}", uri=f"/v/{i}.mp4", content_key="k", duration_s=1.0,
                                         damage="cut off: decoded 1.00 s of the 3.00 s" if i == 0 else None), status="extracted")
    return url


def test_query_limit_and_damage_column(recorded):
    result = invoke("query", "videos", "--db", recorded, "--json", "--limit", "2")
    rows = json.loads(result.output)
    assert result.exit_code == 0 and len(rows) == 2 and rows[0]["damage"].startswith("cut off")
    assert len(json.loads(invoke("query", "videos", "--json", env={"EMSYNC_DB_URL": recorded}).output)) == 3


@pytest.mark.parametrize("command", [["query", "videos"], ["query", "runs"], ["export", "EXPORT_DIR"]])
def test_readers_never_create_a_database(command, private_dir):
    missing = private_dir / f"never-{command[-1]}.db"
    args = [a.replace("EXPORT_DIR", str(private_dir / "export")) for a in command]
    result = invoke(*args, "--db", f"sqlite:///{missing}")
    assert result.exit_code == EXIT_FAULT and "no database at" in _one_line(result)
    assert not missing.exists()


def test_a_run_leaves_no_ray_of_its_own_behind(bad_catalog, private_dir):
    """In-process callers (the HTTP route, a notebook) must not inherit a Ray the run started."""
    import ray

    assert invoke("score", str(bad_catalog), "--out", str(private_dir / "out-ray"), *LIGHT).exit_code == EXIT_OK
    assert not ray.is_initialized()


def test_enhancing_audio_that_is_not_mixed_in_is_refused(bad_catalog, private_dir):
    result = runner.invoke(app, ["score", str(bad_catalog), "--out", str(private_dir / "out-enh"), "--enhance-audio", "--mux", "replace"])
    assert result.exit_code == EXIT_USAGE and "--mux duck" in result.output


def test_extract_records_bad_inputs_and_exits_like_score(bad_catalog, private_dir):
    out = private_dir / "out-extract"
    assert invoke("extract", str(bad_catalog), "--out", str(out), "--workers", "1").exit_code == EXIT_OK
    assert len(list(out.rglob("*.json"))) >= 2  # each bad input has its dead letter
    over = invoke("extract", str(bad_catalog), "--out", str(private_dir / "out-extract-2"), "--workers", "1", "--max-failures", "1")
    assert over.exit_code == EXIT_OVER_BUDGET
