"""One plain sentence per criterion and arm pair, saying what the study shows and when it cannot show anything."""

from __future__ import annotations

from emsync_core.study.stats import ALPHA, PairResult, listeners_needed


def _numbers(rate: float, low: float, high: float, n_listeners: int) -> str:
    return f"{rate:.2f} [{low:.2f}, {high:.2f}], {n_listeners} listener{'' if n_listeners == 1 else 's'}"


def verdict(criterion: str, pair: PairResult, n_tests: int, alpha: float = ALPHA) -> str:
    """E.g. "new preferred for emotion: 0.71 [0.58, 0.82], 14 listeners (p = 0.003, Holm over 12 tests)".

    The numbers are the win rate of the preferred arm, or of the first-named arm when none is preferred.
    """
    a, b = pair.arm_a, pair.arm_b
    if pair.win_rate_a is None:
        return f"{a} vs {b} for {criterion}: no decided comparisons yet"
    numbers = _numbers(pair.win_rate_a, pair.ci_low, pair.ci_high, pair.n_listeners)
    needed = listeners_needed(n_tests, alpha)
    if pair.n_listeners < needed:
        return (f"{a} vs {b} for {criterion}: too small to conclude ({a} wins {numbers}); with {n_tests} tests "
                f"at least {needed} listeners are needed before any result can reach p < {alpha}")
    p = f"p = {pair.p_holm:.2g}, Holm over {n_tests} tests"
    if pair.p_holm >= alpha:
        return f"{a} vs {b} for {criterion}: no clear preference ({a} wins {numbers}; {p})"
    if pair.win_rate_a > 0.5:
        return f"{a} preferred to {b} for {criterion}: {numbers} ({p})"
    return (f"{b} preferred to {a} for {criterion}: "
            f"{_numbers(1 - pair.win_rate_a, 1 - pair.ci_high, 1 - pair.ci_low, pair.n_listeners)} ({p})")
