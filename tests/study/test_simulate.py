"""The report's listener-level test on simulated studies with a known truth (a few hundred per setting; the
full check is `emsync study simulate`, 2,000 studies per setting)."""

from __future__ import annotations

import pytest

from emsync_core.study.simulate import SimSetting, simulate


@pytest.mark.parametrize("sd", [0.0, 0.1, 0.2])
def test_false_positive_rate_holds_when_listeners_lean(sd):
    r = simulate(SimSetting(listeners=10, items=20, sd=sd, effect=0.0, studies=400, seed=11))
    assert r.rejection_rate <= 0.075  # nominal 0.05; 400 studies put the 95th percentile near 0.07
    assert r.interval_coverage >= 0.92
    if sd == 0.2:
        assert r.rejection_rate_pooled_sign_test > 0.2  # counting ratings instead of listeners fails here


def test_power_against_a_real_preference():
    r = simulate(SimSetting(listeners=10, items=20, sd=0.1, effect=0.2, studies=300, seed=12))
    assert r.rejection_rate > 0.85 and r.true_win_rate == pytest.approx(0.7, abs=0.01)


def test_simulate_command_writes_a_table_and_json(tmp_path):
    import json

    from typer.testing import CliRunner

    from emsync_core.cli.main import app

    out = tmp_path / "sim.json"
    res = CliRunner().invoke(app, ["study", "simulate", "--studies", "60", "--sd", "0,0.2", "--effect", "0",
                                   "--json", str(out)], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "false positives" in res.output and "pooled sign test (old)" in res.output
    rows = json.loads(out.read_text())
    assert [r["setting"]["sd"] for r in rows] == [0.0, 0.2] and all(0 <= r["rejection_rate"] <= 1 for r in rows)
    bad = CliRunner().invoke(app, ["study", "simulate", "--sd", "zero"])
    assert bad.exit_code == 2 and "comma-separated list of numbers" in bad.output
