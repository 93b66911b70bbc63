"""Training windows from a small real cache: shapes, labels, dropout, transposition."""

from __future__ import annotations

import numpy as np
import pytest

from emsync_core.cli.music import parse_scene
from emsync_core.music.dataset import LABELLED_WEIGHT, Dropout, TokenDataset
from emsync_core.music.vocab import N_PITCH, VOCAB


@pytest.fixture(scope="module")
def dataset(small_cache):
    ds = TokenDataset(small_cache)
    ds.split[:] = "train"  # a handful of files: use them all for sampling
    return ds


def test_labelled_pieces_are_weighted_up(dataset):
    idx, p = dataset.piece_weights("train")
    lengths = np.diff(dataset.offsets)[idx]
    per_token = p / lengths
    labelled = dataset.labelled[idx]
    assert labelled.any() and (~labelled).any()  # EMOPIA has valence labels, POP909 and Groove none
    assert per_token[labelled].min() == pytest.approx(LABELLED_WEIGHT * per_token[~labelled].max())


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


def test_windows_can_open_the_piece(dataset):
    b = dataset.sample("train", 16, 64, np.random.default_rng(2), Dropout(0.0, 0.0, 0.0), start_share=1.0)
    assert (b.inputs[:, 0] == VOCAB.start).all()
    one = dataset.sample_piece(0, 64, np.random.default_rng(3))
    assert one.inputs[0, 0] == VOCAB.start and one.inputs.shape == (1, 64)
