"""Statistics against hand-computed values and known truths."""

from __future__ import annotations

import math
import random

import pytest
from scipy import stats

from emsync_core.study.stats import (
    Outcome,
    bradley_terry,
    holm,
    listeners_needed,
    mean_score,
    pair_result,
    pairwise,
    with_holm,
)
from emsync_core.study.verdict import verdict


def test_listener_sign_flip_test_matches_hand_enumeration():
    # listener x: 3 wins 0 losses; y: 0 wins 1 loss; z: 2 wins 0 losses -> net (3, -1, 2), sum 4
    outcomes = ([Outcome("a", "b", "a", "x")] * 3 + [Outcome("b", "a", "b", "y")] + [Outcome("a", "b", "a", "z")] * 2
                + [Outcome("a", "b", None, "y")] * 2)
    r = pair_result("a", "b", outcomes)
    assert (r.wins_a, r.wins_b, r.ties, r.n_listeners) == (5, 1, 2, 3)
    sums = [abs(sx * 3 + sy * -1 + sz * 2) for sx in (1, -1) for sy in (1, -1) for sz in (1, -1)]
    assert r.p_value == pytest.approx(sum(t >= 4 for t in sums) / 8)
    assert r.win_rate_a == pytest.approx(5 / 6)


def test_three_listeners_rating_many_items_prove_nothing():
    """Ten answers each from three listeners who all prefer a: the ratings' sign test says p = 2e-9, the
    listeners say 0.25 (the smallest p three listeners can give), and the verdict says the study is too small."""
    outcomes = [Outcome("a", "b", "a", who) for who in ("x", "y", "z") for _ in range(10)]
    r = with_holm([pair_result("a", "b", outcomes)])[0]
    assert stats.binomtest(30, 30).pvalue < 1e-8
    assert r.p_value == pytest.approx(0.25) and r.design_effect == 1.0
    assert listeners_needed(1) == 6 and listeners_needed(12) == 9
    assert "too small to conclude" in verdict("emotion", r, n_tests=1)


def test_interval_is_wilson_when_listeners_rate_once_and_wider_when_they_lean():
    independent = [Outcome("a", "b", "a" if k < 14 else "b", f"L{k}") for k in range(18)]
    r = pair_result("a", "b", independent)
    z, n, phat = stats.t.ppf(0.975, 17), 17, 14 / 18  # CR1 scales the variance by g / (g - 1): 17 effective ratings
    centre = (phat + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n))
    assert (r.ci_low, r.ci_high) == (pytest.approx(centre - half), pytest.approx(centre + half))
    leaning = [Outcome("a", "b", "a" if k < 7 else "b", f"L{k}") for k in range(9) for _ in range(2)]
    assert pair_result("a", "b", leaning).ci_high - pair_result("a", "b", leaning).ci_low > r.ci_high - r.ci_low


def test_verdicts_name_the_preferred_arm():
    strong = with_holm([pair_result("new", "old", [Outcome("new", "old", "old" if k % 5 == 0 else "new", f"L{k % 12}")
                                                   for k in range(120)])])[0]
    assert verdict("emotion", strong, n_tests=1).startswith("new preferred to old for emotion: 0.80 [")
    assert "12 listeners" in verdict("emotion", strong, n_tests=1)
    flipped = with_holm([pair_result("old", "new", [Outcome("new", "old", "new", f"L{k}") for k in range(12)])])[0]
    assert verdict("emotion", flipped, n_tests=1).startswith("new preferred to old for emotion: 1.00 [")
    even = with_holm([pair_result("a", "b", [Outcome("a", "b", "a" if k % 2 else "b", f"L{k}") for k in range(12)])])[0]
    assert "no clear preference" in verdict("overall", even, n_tests=1)


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
    # each score its own listener: the clustered (CR1) interval is exactly the classical t interval
    assert (m.ci_low, m.ci_high) == pytest.approx(stats.t.interval(0.95, 3, loc=4.0, scale=stats.sem([3, 4, 5, 4])))
    # two listeners giving four scores each: two clusters, a much wider interval
    clustered = mean_score("a", [3, 3, 3, 3, 5, 5, 5, 5], ["x"] * 4 + ["y"] * 4)
    assert clustered.ci_high - clustered.ci_low > 5 * (m.ci_high - m.ci_low)
