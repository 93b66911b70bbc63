"""Training windows from a small real cache: shapes, labels, dropout, transposition."""

from __future__ import annotations

import numpy as np
import pytest

from emsync_core.cli.music import parse_scene
from emsync_core.music.dataprep import build_cache
from emsync_core.music.dataset import Dropout, TokenDataset
from emsync_core.music.sources import emopia_specs, pop909_specs, simple_specs
from emsync_core.music.vocab import N_PITCH, VOCAB


@pytest.fixture(scope="module")
def dataset(midi_root, tmp_path_factory):
    specs = emopia_specs(midi_root)[:3] + pop909_specs(midi_root)[:1] + simple_specs(midi_root / "groove", "groove", "drummer1/session1/*.mid")[:2]
    path = build_cache(specs, tmp_path_factory.mktemp("music") / "cache.npz", processes=1)
    ds = TokenDataset(path)
    ds.split[:] = "train"  # a handful of files: use them all for sampling
    return ds


def test_windows_and_labels(dataset):
    rng = np.random.default_rng(0)
    b = dataset.sample("train", 6, 64, rng, Dropout(0.0, 0.0, 0.0))
    assert b.inputs.shape == b.targets.shape == (6, 64)
    assert np.array_equal(b.inputs[:, 1:].numpy(), b.targets[:, :-1].numpy())
    ta = b.cond.token_arousal.numpy()
    assert np.all((ta >= -1) & (ta <= 1))
    bnd = b.cond.boundary.numpy()
    assert np.all((bnd >= 0) & (bnd <= 8))


def test_dropout_gives_null_inputs(dataset):
    b = dataset.sample("train", 4, 32, np.random.default_rng(1), Dropout(1.0, 1.0, 1.0))
    for t in (b.cond.valence, b.cond.arousal, b.cond.token_valence, b.cond.token_arousal, b.cond.boundary):
        assert t.isnan().all()


def test_transpose_moves_pitched_notes_only(dataset):
    drum_on = VOCAB.note_on(0, 36)
    piano_on, piano_off = VOCAB.note_on(3, 60), VOCAB.note_off(3, 60)
    seq = np.array([VOCAB.start, drum_on, piano_on, VOCAB.shift(3), piano_off])
    out = dataset.transpose(seq, 2)
    assert out.tolist() == [VOCAB.start, drum_on, piano_on + 2, VOCAB.shift(3), piano_off + 2]
    top = np.array([VOCAB.note_on(3, 21 + N_PITCH - 1)])
    assert dataset.transpose(top, 1).tolist() == top.tolist()  # would leave the keyboard: unchanged


def test_parse_scene():
    assert parse_scene("0.5,-0.2") == (0.0, 0.5, -0.2)
    assert parse_scene("12.5:-0.3,0.8") == (12.5, -0.3, 0.8)
