"""Balanced assignment of (video, arm pair, A/B order) trials to participants, plus attention checks.

Every (video, arm pair) cell is rated `ratings_per_pair` times. Trials are dealt greedily so that
participants get equal loads (+-1), never the same cell twice (when there are enough participants),
and as even a mix of videos and pairs as possible; each trial's A/B order is then chosen to balance
both the cell (each arm first half of the time) and the participant (each arm first as often as
second). Item order per participant is shuffled with the study seed, avoiding the same video twice
in a row where possible. Pure Python and deterministic for a seed, so a design can be re-derived.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class DesignSpec:
    arms: tuple[str, ...]
    videos: tuple[str, ...]
    ratings_per_pair: int
    participants: int
    identical_checks: int = 0  # per participant
    mismatch_checks: int = 0  # per participant
    seed: int = 0


@dataclass(frozen=True)
class PlannedItem:
    participant: int  # 0-based
    position: int  # 1-based order shown
    video: str
    first_arm: str
    second_arm: str
    check_kind: str | None = None  # None, "identical" or "mismatch"
    mismatch_position: int | None = None  # 1 or 2: which one plays the mismatched soundtrack


class DesignError(ValueError):
    """The requested design cannot be built (too few arms, videos or participants)."""


def _validate(spec: DesignSpec) -> None:
    if len(set(spec.arms)) != len(spec.arms) or len(spec.arms) < 2:
        raise DesignError(f"a study needs at least two distinct arms, got {list(spec.arms)}")
    if len(set(spec.videos)) != len(spec.videos) or not spec.videos:
        raise DesignError("a study needs at least one video (without duplicates)")
    if spec.ratings_per_pair < 1 or spec.participants < 1:
        raise DesignError("ratings_per_pair and participants must be >= 1")
    if spec.mismatch_checks and len(spec.videos) < 2:
        raise DesignError("a mismatch check borrows another video's soundtrack: it needs at least two videos")
    if spec.identical_checks < 0 or spec.mismatch_checks < 0:
        raise DesignError("check counts must be >= 0")


def _deal(spec: DesignSpec, rng: random.Random) -> list[list[tuple[str, tuple[str, str]]]]:
    """Assign each trial (video, pair) to a participant, balancing load, cells, videos and pairs."""
    pairs = list(itertools.combinations(spec.arms, 2))
    cells = [(v, p) for v in spec.videos for p in pairs]
    rng.shuffle(cells)
    load = [0] * spec.participants
    seen: list[set] = [set() for _ in range(spec.participants)]
    videos: list[Counter] = [Counter() for _ in range(spec.participants)]
    pair_n: list[Counter] = [Counter() for _ in range(spec.participants)]
    out: list[list[tuple[str, tuple[str, str]]]] = [[] for _ in range(spec.participants)]
    order = list(range(spec.participants))
    for _rep in range(spec.ratings_per_pair):
        for cell in cells:
            video, pair = cell
            rng.shuffle(order)
            best = min(order, key=lambda p: (cell in seen[p], load[p], videos[p][video], pair_n[p][pair]))
            load[best] += 1
            seen[best].add(cell)
            videos[best][video] += 1
            pair_n[best][pair] += 1
            out[best].append(cell)
    return out


def _orient(spec: DesignSpec, dealt: list[list[tuple[str, tuple[str, str]]]]) -> list[list[tuple[str, str, str]]]:
    """Choose A/B order per trial: balance each cell first, then each participant's arm-first counts."""
    cell_first: Counter = Counter()  # (video, arm) -> times that arm was shown first in that cell
    cell_seen: Counter = Counter()
    person_first = [Counter() for _ in dealt]
    out: list[list[tuple[str, str, str]]] = [[] for _ in dealt]
    # Interleave participants so early participants do not take all the "first" slots of a cell.
    for depth in range(max(len(d) for d in dealt)):
        for p, trials in enumerate(dealt):
            if depth >= len(trials):
                continue
            video, (a, b) = trials[depth]
            key_cell = (video, a, b)
            score_ab = (cell_first[(key_cell, a)] - cell_first[(key_cell, b)], person_first[p][a] - person_first[p][b])
            first, second = (a, b) if score_ab <= (0, 0) else (b, a)
            if score_ab[0] == 0 and score_ab[1] == 0:
                first, second = (a, b) if cell_seen[key_cell] % 2 == 0 else (b, a)
            cell_first[(key_cell, first)] += 1
            cell_seen[key_cell] += 1
            person_first[p][first] += 1
            out[p].append((video, first, second))
    return out


def _shuffle_spread(items: list, rng: random.Random, video_of) -> list:
    """Shuffle, then swap to avoid the same video twice in a row where another order allows it."""
    items = items[:]
    rng.shuffle(items)
    for i in range(1, len(items)):
        if video_of(items[i]) == video_of(items[i - 1]):
            for j in range(i + 1, len(items)):
                if video_of(items[j]) != video_of(items[i - 1]):
                    items[i], items[j] = items[j], items[i]
                    break
    return items


def build_design(spec: DesignSpec) -> list[PlannedItem]:
    """All items of all participants, checks included, in the order each participant sees them."""
    _validate(spec)
    rng = random.Random(spec.seed)
    oriented = _orient(spec, _deal(spec, rng))
    plan: list[PlannedItem] = []
    for p, trials in enumerate(oriented):
        rows: list[tuple[str, str, str, str | None, int | None]] = [(v, a, b, None, None) for v, a, b in trials]
        for _ in range(spec.identical_checks):
            arm = rng.choice(spec.arms)
            rows.append((rng.choice(spec.videos), arm, arm, "identical", None))
        for _ in range(spec.mismatch_checks):
            arm = rng.choice(spec.arms)
            rows.append((rng.choice(spec.videos), arm, arm, "mismatch", rng.choice((1, 2))))
        ordered = _shuffle_spread(rows, rng, video_of=lambda r: r[0])
        if ordered and ordered[0][3] is not None and len(ordered) > 1:
            # Never open with a check: a participant first learns the task on a real trial.
            k = next((i for i, r in enumerate(ordered) if r[3] is None), 0)
            ordered[0], ordered[k] = ordered[k], ordered[0]
        for position, (video, first, second, kind, mism) in enumerate(ordered, start=1):
            plan.append(PlannedItem(p, position, video, first, second, kind, mism))
    return plan
