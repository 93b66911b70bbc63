"""Simulated A/B studies with a known truth, to check the report's listener-level test and intervals.

Each study has `listeners` listeners rating `items` pairs each. Listener i prefers arm A with
probability 0.5 + effect + lean_i (clipped to [0, 1]), lean_i ~ N(0, sd): the population is even when
effect = 0, but each listener leans one way on every item they rate. For each setting we count how
often the report's test (stats.sign_flip_p) rejects at alpha, how often the sign test on pooled
ratings (the old method) does, and how often the listener-clustered interval covers the population
win rate. At effect 0 the rejection rate is the false positive rate; above 0 it is the power.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from emsync_core.study.stats import ALPHA, clustered_interval, sign_flip_p


@dataclass(frozen=True)
class SimSetting:
    listeners: int = 10
    items: int = 20
    sd: float = 0.0
    effect: float = 0.0
    studies: int = 2000
    seed: int = 0
    alpha: float = ALPHA


@dataclass(frozen=True)
class SimResult:
    setting: SimSetting
    true_win_rate: float  # the population's mean chance of preferring A, after clipping
    rejection_rate: float  # the report's listener-level test
    rejection_rate_pooled_sign_test: float  # exact binomial test on all ratings as if independent
    interval_coverage: float


def _pooled_sign_test_p(wins: np.ndarray, n: int) -> np.ndarray:
    """Two-sided exact binomial p against 0.5 (symmetric, so twice the smaller tail)."""
    return np.minimum(1.0, 2 * np.minimum(stats.binom.cdf(wins, n, 0.5), stats.binom.sf(wins - 1, n, 0.5)))


def simulate(setting: SimSetting) -> SimResult:
    rng = np.random.default_rng(setting.seed)
    lean = rng.normal(0.0, setting.sd, size=(setting.studies, setting.listeners)) if setting.sd > 0 else \
        np.zeros((setting.studies, setting.listeners))
    p_listener = np.clip(0.5 + setting.effect + lean, 0.0, 1.0)
    wins = rng.binomial(setting.items, p_listener)
    net = 2 * wins - setting.items
    p_listener_test = sign_flip_p(net, seed=setting.seed)
    p_pooled = _pooled_sign_test_p(wins.sum(axis=1), setting.listeners * setting.items)
    truth = float(np.clip(0.5 + setting.effect + rng.normal(0.0, setting.sd, 200_000), 0, 1).mean()) \
        if setting.sd > 0 else min(1.0, max(0.0, 0.5 + setting.effect))
    decided = np.full(setting.listeners, float(setting.items))
    covered = 0
    for row in wins:
        _rate, low, high, _deff = clustered_interval(row.astype(float), decided)
        covered += low <= truth <= high
    return SimResult(setting, truth, float((p_listener_test < setting.alpha).mean()),
                     float((p_pooled < setting.alpha).mean()), covered / setting.studies)
