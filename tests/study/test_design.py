"""The balanced design: loads, cells, A/B order and checks, for two and more arms."""

from __future__ import annotations

from collections import Counter

import pytest

from emsync_core.study.design import DesignError, DesignSpec, build_design


def _pair(item):
    return tuple(sorted((item.first_arm, item.second_arm)))


@pytest.mark.parametrize(
    "arms,videos,ratings,participants",
    [(("a", "b"), ("v1", "v2", "v3"), 4, 5), (("a", "b", "c"), ("v1", "v2"), 3, 7), (("a", "b", "c", "d"), ("v1", "v2"), 6, 20)],
)
def test_every_cell_rated_as_asked_with_balanced_order_and_load(arms, videos, ratings, participants):
    plan = build_design(DesignSpec(arms, videos, ratings, participants, identical_checks=1, mismatch_checks=1, seed=3))
    real = [i for i in plan if i.check_kind is None]
    n_pairs = len(arms) * (len(arms) - 1) // 2
    assert len(real) == len(videos) * n_pairs * ratings
    cells = Counter((i.video, _pair(i)) for i in real)
    assert set(cells.values()) == {ratings}
    first = Counter((i.video, _pair(i), i.first_arm) for i in real)
    for (video, pair), _ in cells.items():
        assert abs(first[(video, pair, pair[0])] - first[(video, pair, pair[1])]) <= 1  # A/B position balanced per cell
    load = Counter(i.participant for i in real)
    assert len(load) == participants and max(load.values()) - min(load.values()) <= 1
    assert max(Counter((i.participant, i.video, _pair(i)) for i in real).values()) == 1  # never the same cell twice
    per_person = Counter(i.participant for i in plan)
    for p in range(participants):
        positions = sorted(i.position for i in plan if i.participant == p)
        assert positions == list(range(1, per_person[p] + 1))
        mine = sorted((i for i in plan if i.participant == p), key=lambda i: i.position)
        assert mine[0].check_kind is None  # a participant learns the task on a real trial
        assert Counter(i.check_kind for i in mine if i.check_kind) == {"identical": 1, "mismatch": 1}


def test_checks_are_built_right_and_design_is_reproducible():
    spec = DesignSpec(("x", "y"), ("v1", "v2"), 2, 3, identical_checks=2, mismatch_checks=1, seed=11)
    plan = build_design(spec)
    assert plan == build_design(spec)
    assert plan != build_design(DesignSpec(("x", "y"), ("v1", "v2"), 2, 3, 2, 1, seed=12))
    for item in plan:
        if item.check_kind:
            assert item.first_arm == item.second_arm
        if item.check_kind == "mismatch":
            assert item.mismatch_position in (1, 2)
        else:
            assert item.mismatch_position is None


@pytest.mark.parametrize(
    "spec,message",
    [
        (DesignSpec(("a",), ("v",), 1, 1), "two distinct arms"),
        (DesignSpec(("a", "a"), ("v",), 1, 1), "two distinct arms"),
        (DesignSpec(("a", "b"), (), 1, 1), "at least one video"),
        (DesignSpec(("a", "b"), ("v",), 0, 1), ">= 1"),
        (DesignSpec(("a", "b"), ("v",), 1, 1, mismatch_checks=1), "two videos"),
    ],
)
def test_impossible_designs_are_refused(spec, message):
    with pytest.raises(DesignError, match=message):
        build_design(spec)
