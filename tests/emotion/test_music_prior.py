"""The music pathway's constants: a least-squares sign line from vibenet readings, on a seeded EMOPIA sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emsync_core.emotion.music_prior import QUADRANT_SIGNS, emopia_clips, sign_line

EMOPIA = Path(__file__).resolve().parents[3] / "shared" / "data" / "midi" / "emopia"


def test_sign_line_finds_where_the_halves_meet():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0.2, 0.05, 200), rng.normal(0.4, 0.05, 200)])
    sign = np.repeat([-1.0, 1.0], 200)
    line = sign_line(x, sign)
    assert line.centre == pytest.approx(0.3, abs=0.01) and line.slope > 5 and line.auc > 0.97
    useless = sign_line(rng.normal(0.3, 0.05, 400), sign)
    assert abs(useless.slope) < 1 and 0.4 < useless.auc < 0.6


def test_emopia_sample_is_balanced_and_seeded():
    if not EMOPIA.is_dir():
        pytest.skip("../shared is absent")
    clips = emopia_clips(EMOPIA, 5, seed=0)
    assert sorted(q for _, q in clips) == sorted(list(QUADRANT_SIGNS) * 5)
    assert all(p.name.startswith(f"Q{q}_") and p.exists() for p, q in clips)
    assert clips == emopia_clips(EMOPIA, 5, seed=0) != emopia_clips(EMOPIA, 5, seed=1)
