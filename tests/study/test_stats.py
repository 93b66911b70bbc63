"""Statistics against hand-computed values and known truths."""

from __future__ import annotations

import math
import random

import pytest
from scipy import stats

from emsync_core.study.stats import Outcome, bradley_terry, holm, mean_score, pair_result, pairwise


def test_sign_test_and_wilson_interval_match_the_formulas():
    outcomes = [Outcome("a", "b", "a")] * 14 + [Outcome("b", "a", "b")] * 4 + [Outcome("a", "b", None)] * 5
    r = pair_result("a", "b", outcomes)
    assert (r.wins_a, r.wins_b, r.ties) == (14, 4, 5)
    assert r.win_rate_a == pytest.approx(14 / 18)
    # exact two-sided binomial p for 14 of 18
    p = sum(math.comb(18, k) for k in range(18 + 1) if math.comb(18, k) <= math.comb(18, 14)) / 2**18
    assert r.p_value == pytest.approx(p)
    z, n, phat = stats.norm.ppf(0.975), 18, 14 / 18
    centre = (phat + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n))
    assert (r.ci_low, r.ci_high) == (pytest.approx(centre - half), pytest.approx(centre + half))


def test_no_decided_comparisons_gives_no_rate():
    r = pair_result("a", "b", [Outcome("a", "b", None)] * 3)
    assert r.win_rate_a is None and r.p_value is None and r.ties == 3


def test_holm_is_monotone_and_capped():
    assert holm([0.01, 0.04, 0.03, None]) == [0.03, pytest.approx(0.06), pytest.approx(0.06), None]
    assert holm([0.9, 0.8]) == [1.0, 1.0]


def test_bradley_terry_recovers_known_strengths():
    rng = random.Random(0)
    truth = {"a": 0.8, "b": 0.0, "c": -0.8}
    outcomes = []
    for _ in range(4000):
        x, y = rng.sample(sorted(truth), 2)
        p = 1 / (1 + math.exp(-(truth[x] - truth[y])))
        outcomes.append(Outcome(x, y, x if rng.random() < p else y))
    bt = bradley_terry(["a", "b", "c"], outcomes)
    assert sum(bt.strength) == pytest.approx(0.0, abs=1e-9)
    for arm, est, se in zip(bt.arms, bt.strength, bt.std_error):
        assert abs(est - truth[arm]) < 4 * se and 0.01 < se < 0.1
    assert bt.p_value < 1e-10
    flat = bradley_terry(["a", "b", "c"], [Outcome(x, y, rng.choice([x, y])) for x, y in [("a", "b"), ("b", "c"), ("a", "c")] * 50])
    assert flat.p_value > 0.001


def test_bradley_terry_stays_finite_when_one_arm_always_wins():
    bt = bradley_terry(["a", "b"], [Outcome("a", "b", "a")] * 20)
    assert all(math.isfinite(s) for s in bt.strength) and bt.strength[0] > 1


def test_pairwise_orders_pairs_and_mean_score_interval():
    res = pairwise(["a", "b", "c"], [Outcome("c", "a", "c")] * 6)
    assert [(r.arm_a, r.arm_b) for r in res] == [("a", "b"), ("a", "c"), ("b", "c")]
    assert res[1].wins_b == 6 and res[1].win_rate_a == 0
    m = mean_score("a", [3, 4, 5, 4])
    assert m.mean == pytest.approx(4.0) and m.ci_low < 4.0 < m.ci_high
