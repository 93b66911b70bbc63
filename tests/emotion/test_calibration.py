"""Calibration of valence/arousal (quantile map, linear stretch): spreads shrunken predictions, keeps their order,
is chosen inside the validation split, survives a save."""

from __future__ import annotations

import numpy as np
import torch

from emsync_core.emotion.calibration import LinearStretch, choose_calibration, fit_linear_stretch, fit_quantile_map
from emsync_core.emotion.ekman import ekman_to_va
from emsync_core.emotion.checkpoint import EmotionCheckpoint, load_checkpoint, save_checkpoint
from emsync_core.emotion.fusion import FusionConfig, FusionHead
from emsync_core.scoring.moods import NORMALISED_STD, fit_catalog_norm


def test_quantile_map_spreads_shrunken_predictions_and_keeps_order():
    rng = np.random.default_rng(0)
    truth = rng.uniform(-0.9, 0.9, (400, 2))
    pred = 0.3 * truth + rng.normal(0, 0.02, truth.shape)  # a regressor that shrinks toward the mean
    qmap = fit_quantile_map(pred, truth)
    out = qmap.apply(pred)
    assert out.std(axis=0).min() > 2.5 * pred.std(axis=0).max()
    grid = np.stack([np.linspace(-1, 1, 501)] * 2, axis=1)
    assert (np.diff(qmap.apply(grid), axis=0) >= 0).all() and (np.abs(qmap.apply(grid)) <= 1).all()


def test_linear_stretch_matches_the_label_spread_and_keeps_order():
    rng = np.random.default_rng(0)
    truth = rng.uniform(-0.9, 0.9, (400, 2))
    pred = 0.3 * truth + 0.1 + rng.normal(0, 0.05, truth.shape)
    stretch = fit_linear_stretch(pred, truth)
    out = stretch.apply(pred)
    assert np.allclose(out.std(axis=0), truth.std(axis=0), rtol=0.02) and np.allclose(out.mean(axis=0), truth.mean(axis=0), atol=0.02)
    order = np.argsort(pred[:, 0])
    assert (np.diff(out[order, 0]) >= 0).all()  # non-decreasing: ties only where [-1, 1] clips
    assert (np.abs(stretch.apply(np.array([[1.0, -1.0]]))) <= 1).all()


def test_the_calibration_that_generalises_inside_validation_is_chosen():
    rng = np.random.default_rng(2)
    truth = rng.uniform(-0.9, 0.9, (300, 2))
    bent = np.tanh(3 * truth) * 0.5 + rng.normal(0, 0.02, truth.shape)  # a saturating head: only the quantile map undoes it
    chosen, scores = choose_calibration(bent, truth)
    assert chosen == fit_quantile_map(bent, truth) and scores["quantile"] < 0.8 * scores["stretch"]
    linear = 0.4 * truth[:80] + rng.normal(0, 0.3, (80, 2))  # few noisy clips, a linear head: 21 knots overfit
    chosen, scores = choose_calibration(linear, truth[:80])
    assert chosen == fit_linear_stretch(linear, truth[:80]) and scores["stretch"] < scores["quantile"]


def test_too_few_labels_give_no_map():
    truth = np.full((100, 2), np.nan)
    truth[:5] = 0.1
    assert fit_quantile_map(np.zeros((100, 2)), truth) is None
    assert fit_linear_stretch(np.zeros((100, 2)), truth) is None


def test_calibration_is_stored_in_the_checkpoint(tmp_path):
    torch.manual_seed(0)
    head = FusionHead(FusionConfig(("x",), (4,), d_model=8, heads=2)).eval()
    truth = np.random.default_rng(1).uniform(-1, 1, (50, 2))
    qmap = fit_quantile_map(truth * 0.2, truth)
    save_checkpoint(EmotionCheckpoint(head, 0.5, "t", calibration=qmap), tmp_path / "m.safetensors")
    loaded = load_checkpoint(tmp_path / "m.safetensors")
    assert loaded.calibration == qmap
    probs, direct = np.full((3, 6), 1 / 6), np.array([[0.1, 0.0], [-0.1, 0.05], [0.0, -0.05]])
    assert np.allclose(loaded.va(probs, direct), qmap.apply(0.5 * direct + 0.5 * ekman_to_va(probs)))
    stretch = fit_linear_stretch(truth * 0.2, truth)
    save_checkpoint(EmotionCheckpoint(head, 1.0, "t", calibration=stretch), tmp_path / "s.safetensors")
    assert load_checkpoint(tmp_path / "s.safetensors").calibration == stretch
    uncalibrated = EmotionCheckpoint(head, 1.0, "t")
    assert np.allclose(uncalibrated.va(probs, direct), direct)


def test_catalog_normalisation_spreads_scenes_and_keeps_order_and_mean():
    va = [(0.10, 0.00), (0.15, 0.05), (0.05, -0.02), (0.12, 0.01)]
    norm = fit_catalog_norm(va)
    out = np.array([norm.apply(v, a) for v, a in va])
    assert np.allclose(out.std(axis=0), NORMALISED_STD, atol=1e-3)
    assert np.allclose(out.mean(axis=0), np.mean(va, axis=0), atol=1e-6)
    assert (np.argsort(out[:, 0]) == np.argsort(np.array(va)[:, 0])).all()
