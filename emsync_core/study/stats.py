"""Statistics of paired comparisons: win rates with Wilson intervals, the sign test, Bradley-Terry.

Two arms: the sign test is the exact binomial test of wins against 0.5 with ties left out
(scipy.stats.binomtest); the interval is Wilson's score interval of the win rate. More than two arms:
every pair gets the same test (Holm-corrected across the pairs of one criterion), and a
Bradley-Terry model gives one strength per arm. No well-kept BT package is in our stack (choix is
unmaintained), so `bradley_terry` is a short MLE: ties count half a win to each side, a small L2
penalty keeps strengths finite when an arm wins everything, standard errors come from the Fisher
information (pseudo-inverse under the sum-to-zero constraint), and a likelihood-ratio test against
"all arms equal" gives one p-value.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats


@dataclass(frozen=True)
class Outcome:
    """One judgement between two arms: winner is arm_a, arm_b, or None for no difference."""

    arm_a: str
    arm_b: str
    winner: str | None


@dataclass(frozen=True)
class PairResult:
    arm_a: str
    arm_b: str
    wins_a: int
    wins_b: int
    ties: int
    win_rate_a: float | None  # wins_a / (wins_a + wins_b)
    ci_low: float | None
    ci_high: float | None
    p_value: float | None  # two-sided sign test
    p_holm: float | None = None


@dataclass(frozen=True)
class BTResult:
    arms: tuple[str, ...]
    strength: tuple[float, ...]  # log-strength, sum to zero
    std_error: tuple[float, ...]
    p_beats_average: tuple[float, ...]  # logistic(strength): chance of beating an arm of strength 0
    n_comparisons: int
    lr_statistic: float
    p_value: float  # likelihood-ratio test of "all arms equal", k-1 degrees of freedom


@dataclass(frozen=True)
class MeanScore:
    arm: str
    n: int
    mean: float
    ci_low: float
    ci_high: float


def holm(p_values: list[float | None]) -> list[float | None]:
    """Holm-Bonferroni step-down adjusted p-values (None stays None)."""
    indexed = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m, out, running = len(indexed), [None] * len(p_values), 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


def pair_result(arm_a: str, arm_b: str, outcomes: list[Outcome]) -> PairResult:
    """Wins of arm_a over arm_b among outcomes of that pair (either orientation)."""
    wins_a = wins_b = ties = 0
    for o in outcomes:
        if {o.arm_a, o.arm_b} != {arm_a, arm_b}:
            continue
        if o.winner is None:
            ties += 1
        elif o.winner == arm_a:
            wins_a += 1
        else:
            wins_b += 1
    n = wins_a + wins_b
    if n == 0:
        return PairResult(arm_a, arm_b, 0, 0, ties, None, None, None, None)
    test = stats.binomtest(wins_a, n, 0.5, alternative="two-sided")
    ci = test.proportion_ci(confidence_level=0.95, method="wilson")
    return PairResult(arm_a, arm_b, wins_a, wins_b, ties, wins_a / n, float(ci.low), float(ci.high), float(test.pvalue))


def pairwise(arms: list[str], outcomes: list[Outcome]) -> list[PairResult]:
    """Every pair of arms (in the given order), Holm-corrected across pairs."""
    results = [pair_result(a, b, outcomes) for a, b in itertools.combinations(arms, 2)]
    adjusted = holm([r.p_value for r in results])
    return [PairResult(**{**r.__dict__, "p_holm": p}) for r, p in zip(results, adjusted)]


def _win_matrix(arms: list[str], outcomes: list[Outcome]) -> np.ndarray:
    index = {a: i for i, a in enumerate(arms)}
    wins = np.zeros((len(arms), len(arms)))
    for o in outcomes:
        i, j = index[o.arm_a], index[o.arm_b]
        if o.winner is None:
            wins[i, j] += 0.5
            wins[j, i] += 0.5
        elif o.winner == o.arm_a:
            wins[i, j] += 1
        else:
            wins[j, i] += 1
    return wins


def _neg_loglik(theta: np.ndarray, wins: np.ndarray, alpha: float) -> tuple[float, np.ndarray]:
    diff = theta[:, None] - theta[None, :]
    log_p = -np.logaddexp(0.0, -diff)  # log P(i beats j)
    p = np.exp(log_p)
    nll = -(wins * log_p).sum() + 0.5 * alpha * (theta**2).sum()
    grad = -((wins * (1 - p)).sum(axis=1) - (wins.T * (1 - p.T)).sum(axis=1)) + alpha * theta
    return float(nll), grad


def bradley_terry(arms: list[str], outcomes: list[Outcome], alpha: float = 0.01) -> BTResult:
    """Maximum-likelihood Bradley-Terry strengths of the arms from pairwise outcomes."""
    if len(arms) < 2:
        raise ValueError("Bradley-Terry needs at least two arms")
    wins = _win_matrix(arms, outcomes)
    k = len(arms)
    fit = optimize.minimize(_neg_loglik, np.zeros(k), args=(wins, alpha), jac=True, method="L-BFGS-B")
    theta = fit.x - fit.x.mean()
    n = wins + wins.T
    p = 1.0 / (1.0 + np.exp(-(theta[:, None] - theta[None, :])))
    info = np.zeros((k, k))
    for i, j in itertools.combinations(range(k), 2):
        w = n[i, j] * p[i, j] * (1 - p[i, j])
        info[i, i] += w
        info[j, j] += w
        info[i, j] -= w
        info[j, i] -= w
    centre = np.eye(k) - 1.0 / k  # strengths are identified only up to a constant: project it out
    cov = centre @ np.linalg.pinv(info + alpha * np.eye(k)) @ centre
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    ll_hat = -_neg_loglik(theta, wins, 0.0)[0]
    ll_null = -(n.sum() / 2) * math.log(2)
    lr = max(0.0, 2 * (ll_hat - ll_null))
    return BTResult(
        arms=tuple(arms),
        strength=tuple(float(t) for t in theta),
        std_error=tuple(float(s) for s in se),
        p_beats_average=tuple(float(1 / (1 + math.exp(-t))) for t in theta),
        n_comparisons=int(round(n.sum() / 2)),
        lr_statistic=float(lr),
        p_value=float(stats.chi2.sf(lr, k - 1)),
    )


def mean_score(arm: str, scores: list[int]) -> MeanScore | None:
    """Mean opinion score with a t interval (scale studies)."""
    if not scores:
        return None
    values = np.asarray(scores, dtype=float)
    mean = float(values.mean())
    if len(values) < 2 or values.std(ddof=1) == 0:
        return MeanScore(arm, len(values), mean, mean, mean)
    low, high = stats.t.interval(0.95, len(values) - 1, loc=mean, scale=stats.sem(values))
    return MeanScore(arm, len(values), mean, float(low), float(high))
