"""The measurements used by `emsync music eval`."""

from __future__ import annotations

import numpy as np
import pytest

from emsync_core.music import metrics
from emsync_core.music.tokens import Note


def _scale_notes(pcs, root=60):
    return [Note(3, root + pc, i * 0.5, i * 0.5 + 0.5) for i, pc in enumerate(pcs)]


def test_key_mode():
    assert metrics.key_mode(_scale_notes([0, 4, 7, 0, 2, 4, 5, 7, 9, 11, 0, 4, 7])) == "major"
    assert metrics.key_mode(_scale_notes([0, 3, 7, 0, 2, 3, 5, 7, 8, 11, 0, 3, 7], root=57)) == "minor"


def test_cut_hits_and_chord_onsets():
    notes = [Note(3, p, 2.0, 3.0) for p in (60, 64, 67)] + [Note(3, 60, 5.0, 6.0)]
    assert metrics.chord_onsets(notes) == [2.0]
    assert metrics.cut_hit_rate([2.4, 5.0, 9.0], [2.0]) == (1, 3)


def test_scale_entropy_polyphony_density():
    c_major = _scale_notes([0, 2, 4, 5, 7, 9, 11])
    assert metrics.scale_consistency(c_major) == 1.0
    assert metrics.pitch_class_entropy(c_major) == pytest.approx(np.log2(7))
    chord = [Note(3, p, 0.0, 1.0) for p in (60, 64, 67)]
    assert metrics.polyphony(chord) == pytest.approx(3.0)
    assert metrics.note_density(chord + [Note(1, 40, 0, 1)], 2.0) == pytest.approx(1.0)


def test_overlapping_area():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, 400).tolist()
    assert metrics.overlapping_area(a, rng.normal(0, 1, 400).tolist()) > 0.85
    assert metrics.overlapping_area(a, rng.normal(10, 1, 400).tolist()) < 0.05
