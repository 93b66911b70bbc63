"""Statistics of paired comparisons at the level of the listener, plus Bradley-Terry and mean scores.

Ratings from one listener are not independent (a listener who leans to one arm leans on every item),
so the unit of inference is the listener:
- p-value: a sign-flip randomisation test. Each listener's net preference (wins - losses of arm A)
  has its sign flipped as a whole; under "the population is even" every flip is as likely as the
  data. Exact (all 2^g flips) up to EXACT_MAX_LISTENERS listeners, else RANDOM_FLIPS random flips.
  With g listeners the smallest possible two-sided p is 2 / 2^g, which `listeners_needed` turns into
  "too small to conclude". Videos are the fixed test set the study is about, not a sample.
- interval: the pooled win rate with a Wilson interval on the effective number of ratings, i.e. the
  ratings divided by the design effect (cluster-robust variance by listener, CR1, over the binomial
  variance; never below 1), with the t quantile for g - 1 degrees of freedom in place of z, so a study
  of few listeners gets a wide interval however many items each rated.
- multiple comparisons: `holm` over every test a report prints.
- mean scores (scale studies): t intervals with listener-clustered standard errors.
Ties ("no difference", equal scores) are left out of win rates and tests.

Bradley-Terry (more than two arms) is descriptive: one strength per arm from all comparisons. No
well-kept BT package is in our stack (choix is unmaintained), so `bradley_terry` is a short MLE: ties
count half a win to each side, a small L2 penalty keeps strengths finite when an arm wins everything,
standard errors come from the Fisher information (pseudo-inverse under the sum-to-zero constraint).
Its likelihood-ratio p-value treats ratings as independent, so the report does not print it (it
stays in report.json as a number for reference, outside the Holm family).
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

EXACT_MAX_LISTENERS = 16
RANDOM_FLIPS = 20_000
ALPHA = 0.05


@dataclass(frozen=True)
class Outcome:
    """One judgement between two arms by one listener: winner is arm_a, arm_b, or None for no difference."""

    arm_a: str
    arm_b: str
    winner: str | None
    listener: str = ""


@dataclass(frozen=True)
class PairResult:
    arm_a: str
    arm_b: str
    wins_a: int
    wins_b: int
    ties: int
    n_listeners: int  # listeners with at least one decided comparison of this pair
    win_rate_a: float | None  # wins_a / (wins_a + wins_b)
    ci_low: float | None
    ci_high: float | None
    p_value: float | None  # two-sided listener-level sign-flip test
    design_effect: float | None = None
    p_holm: float | None = None  # Holm-adjusted over every test of the report


@dataclass(frozen=True)
class BTResult:
    arms: tuple[str, ...]
    strength: tuple[float, ...]  # log-strength, sum to zero
    std_error: tuple[float, ...]
    p_beats_average: tuple[float, ...]  # logistic(strength): chance of beating an arm of strength 0
    n_comparisons: int
    lr_statistic: float
    p_value: float  # likelihood-ratio test of "all arms equal" with ratings taken as independent


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


def _sign_matrix(g: int, rng: np.random.Generator | None) -> np.ndarray:
    if g <= EXACT_MAX_LISTENERS:
        return 1 - 2 * ((np.arange(2**g)[:, None] >> np.arange(g)) & 1)
    return rng.choice(np.array([-1, 1]), size=(RANDOM_FLIPS, g))


def sign_flip_p(net: np.ndarray, seed: int = 0) -> np.ndarray:
    """Two-sided sign-flip p-values of sum(net) for each row of net (studies x listeners)."""
    net = np.atleast_2d(np.asarray(net, dtype=float))
    g = net.shape[1]
    if g == 0:
        return np.ones(net.shape[0])
    signs = _sign_matrix(g, np.random.default_rng(seed))
    observed = np.abs(net.sum(axis=1))
    count = (np.abs(signs @ net.T) >= observed - 1e-9).sum(axis=0)
    if g <= EXACT_MAX_LISTENERS:
        return count / 2**g
    return (count + 1) / (RANDOM_FLIPS + 1)


def listeners_needed(n_tests: int, alpha: float = ALPHA) -> int:
    """Fewest listeners for which the sign-flip test can reach alpha after Holm over n_tests tests."""
    return max(1, math.ceil(math.log2(2 * max(1, n_tests) / alpha)))


def clustered_interval(wins: np.ndarray, decided: np.ndarray, level: float = 0.95) -> tuple[float, float, float, float]:
    """(win rate, low, high, design effect): Wilson on the ratings divided by the listener design effect."""
    total = float(decided.sum())
    rate = float(wins.sum()) / total
    g = len(wins)
    binomial_var = rate * (1 - rate) / total
    cluster_var = g / (g - 1) * float(((wins - rate * decided) ** 2).sum()) / total**2 if g > 1 else math.inf
    deff = 1.0 if binomial_var == 0 else max(1.0, cluster_var / binomial_var)
    n_eff = total / deff if math.isfinite(deff) else 1.0
    z = stats.t.ppf(0.5 + level / 2, g - 1) if g > 1 else stats.norm.ppf(0.5 + level / 2)  # few listeners: wider
    centre = (rate + z * z / (2 * n_eff)) / (1 + z * z / n_eff)
    half = z / (1 + z * z / n_eff) * math.sqrt(rate * (1 - rate) / n_eff + z * z / (4 * n_eff * n_eff))
    return rate, max(0.0, centre - half), min(1.0, centre + half), deff


def pair_result(arm_a: str, arm_b: str, outcomes: list[Outcome]) -> PairResult:
    """Wins of arm_a over arm_b among outcomes of that pair (either orientation), tested per listener."""
    per_listener: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    ties = 0
    for o in outcomes:
        if {o.arm_a, o.arm_b} != {arm_a, arm_b}:
            continue
        if o.winner is None:
            ties += 1
        else:
            per_listener[o.listener][0 if o.winner == arm_a else 1] += 1
    counts = np.array(list(per_listener.values()), dtype=float).reshape(-1, 2)
    wins_a, wins_b = int(counts[:, 0].sum()), int(counts[:, 1].sum())
    if wins_a + wins_b == 0:
        return PairResult(arm_a, arm_b, 0, 0, ties, 0, None, None, None, None)
    rate, low, high, deff = clustered_interval(counts[:, 0], counts.sum(axis=1))
    p = float(sign_flip_p(counts[:, 0] - counts[:, 1])[0])
    return PairResult(arm_a, arm_b, wins_a, wins_b, ties, len(counts), rate, low, high, p, deff)


def pairwise(arms: list[str], outcomes: list[Outcome]) -> list[PairResult]:
    """Every pair of arms (in the given order); the caller applies Holm over all its tests."""
    return [pair_result(a, b, outcomes) for a, b in itertools.combinations(arms, 2)]


def with_holm(results: list[PairResult]) -> list[PairResult]:
    """The same results with p_holm set, Holm-adjusted across all of them."""
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


def mean_score(arm: str, scores: list[int], listeners: list[str] | None = None) -> MeanScore | None:
    """Mean opinion score with a t interval (scale studies), clustered by listener when listeners are given:
    the cluster-robust (CR1) standard error of the mean with g - 1 degrees of freedom."""
    if not scores:
        return None
    values = np.asarray(scores, dtype=float)
    mean = float(values.mean())
    if listeners is None:
        listeners = [str(i) for i in range(len(values))]
    sums: dict[str, float] = defaultdict(float)
    for who, v in zip(listeners, values - mean):
        sums[who] += v
    g = len(sums)
    if g < 2 or not any(sums.values()):
        return MeanScore(arm, len(values), mean, mean, mean)
    se = math.sqrt(g / (g - 1) * sum(x * x for x in sums.values())) / len(values)
    low, high = stats.t.interval(0.95, g - 1, loc=mean, scale=se)
    return MeanScore(arm, len(values), mean, float(low), float(high))
