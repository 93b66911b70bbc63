"""`emsync study create|report` and `emsync export` through the real command line (SQLite)."""

from __future__ import annotations

import csv
import os
import stat

from typer.testing import CliRunner

from emsync_core.cli.main import app
from emsync_core.db.engine import open_database
from emsync_core.study import participation
from emsync_core.study.links import normalise_base_url, serving_mismatch
from tests.study.archive import seed_archive


def test_serving_address_is_checked_against_the_links():
    assert serving_mismatch("http://127.0.0.1:9000", "127.0.0.1", 8000) == \
        "its links point at http://127.0.0.1:9000, but this server listens on port 8000"
    assert serving_mismatch("http://localhost:8000", "127.0.0.1", 8000) is None
    assert serving_mismatch("https://study.example.org", "127.0.0.1", 8000) is None  # a proxy: not ours to judge
    assert normalise_base_url("https://study.example.org/") == "https://study.example.org"


def test_create_answer_report_export(tmp_path):
    url = f"sqlite:///{tmp_path / 'emsync.db'}"
    sessions = open_database(url)
    seed_archive(sessions, tmp_path, n_videos=2, generators=("gen-a", "gen-b"), duration=1.0)
    runner = CliRunner()
    tokens = tmp_path / "links.csv"
    res = runner.invoke(app, ["study", "create", "cli", "--db", url, "--arm", "new=model:gen-b", "--arm", "old=model:gen-a",
                              "--participants", "3", "--ratings-per-pair", "3", "--media-dir", str(tmp_path / "media"),
                              "--tokens-out", str(tokens), "--base-url", "http://127.0.0.1:9000", "--no-require-full-play"])
    assert res.exit_code == 0, res.output
    assert stat.S_IMODE(os.stat(tokens).st_mode) == 0o600
    links = list(csv.DictReader(tokens.open()))
    assert len(links) == 3 and all(r["link"] == f"http://127.0.0.1:9000/study/{r['token']}" for r in links)
    for bad, why in (("http://127.0.0.1:9000/study", "give the address only"), ("127.0.0.1:9000", "expected http://")):
        refused = runner.invoke(app, ["study", "create", "bad-url", "--db", url, "--arm", "new=model:gen-b", "--arm",
                                      "old=model:gen-a", "--base-url", bad, "--media-dir", str(tmp_path / "media")])
        assert refused.exit_code == 2 and why in refused.output
    again = runner.invoke(app, ["study", "create", "cli", "--db", url, "--arm", "new=model:gen-b", "--arm", "old=model:gen-a",
                                "--media-dir", str(tmp_path / "media")])
    assert again.exit_code == 2 and "exists already" in again.output
    for row in links:
        with sessions.begin() as s:
            participation.record_intake(s, row["token"], True)
        with sessions() as s:
            state = participation.state(s, row["token"])
        for item in state["items"]:
            for c in state["criteria"]:
                with sessions.begin() as s:
                    participation.save_answer(s, row["token"], item["position"], c["key"], participation.Submitted(choice="same"))
    res = runner.invoke(app, ["study", "report", "cli", "--db", url, "--out", str(tmp_path / "report")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "report" / "report.html").exists() and (tmp_path / "report" / "win_rates.png").exists()
    assert "new vs old" in (tmp_path / "report" / "report.html").read_text() and "excluded" in res.output
    res = runner.invoke(app, ["export", str(tmp_path / "export"), "--db", url, "--format", "csv"])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader((tmp_path / "export" / "v_study_pair_results.csv").open()))
    assert {(r["arm_a"], r["arm_b"]) for r in rows} == {("new", "old")} and all(r["ties"] != "0" for r in rows)
    assert runner.invoke(app, ["study", "report", "nope", "--db", url]).exit_code == 2
