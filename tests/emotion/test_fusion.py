"""The fusion head's masks, the Ekman <-> V/A table and the trainer on small exact inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emsync_core.emotion.dataset import Example
from emsync_core.emotion.ekman import AROUSAL_MEAN, AROUSAL_STD, EKMAN, RUSSELL_MEHRABIAN, VALENCE_MEAN, ekman_to_va, sample_va
from emsync_core.emotion.fusion import FusionConfig, FusionHead
from emsync_core.emotion.labels import VideoLabel
from emsync_core.emotion.train import TrainSettings, _drop_modalities, predict, train


def _head(seed: int = 0) -> FusionHead:
    torch.manual_seed(seed)
    return FusionHead(FusionConfig(("visual", "faces"), (5, 3), d_model=16, heads=4, dropout=0.0)).eval()


def test_rescaled_table_spans_exactly_plus_minus_point_eight() -> None:
    for axis in (VALENCE_MEAN, AROUSAL_MEAN):
        assert axis.min() == pytest.approx(-0.8) and axis.max() == pytest.approx(0.8)
    # The affine map keeps the order of the published means and scales stds by the same factor.
    raw_a = np.array([RUSSELL_MEHRABIAN[e][2] for e in EKMAN])
    assert list(np.argsort(AROUSAL_MEAN)) == list(np.argsort(raw_a))
    factor = 1.6 / (raw_a.max() - raw_a.min())
    assert AROUSAL_STD[EKMAN.index("joy")] == pytest.approx(RUSSELL_MEHRABIAN["joy"][3] * factor)
    joy, sadness = np.eye(6)[EKMAN.index("joy")], np.eye(6)[EKMAN.index("sadness")]
    assert ekman_to_va(joy)[0] == pytest.approx(0.8)
    assert ekman_to_va(sadness)[1] == pytest.approx(-0.8)
    assert np.allclose(ekman_to_va(0.5 * joy + 0.5 * sadness), 0.5 * ekman_to_va(joy) + 0.5 * ekman_to_va(sadness))


def test_stochastic_mode_follows_the_probabilities() -> None:
    rng = np.random.default_rng(0)
    draws = np.array([sample_va(np.eye(6)[EKMAN.index("joy")], rng) for _ in range(400)])
    assert np.abs(draws).max() <= 1.0
    assert draws[:, 0].mean() == pytest.approx(0.8, abs=0.08)


def test_absent_values_never_reach_the_output() -> None:
    """Whatever sits under a False mask (NaN-filled absence zeros, garbage) changes nothing."""
    head = _head()
    visual = torch.randn(2, 4, 5)
    faces = torch.randn(2, 4, 3)
    masks = [torch.ones(2, 4, dtype=torch.bool), torch.tensor([[True, False, True, False], [False] * 4])]
    garbage = faces.clone()
    garbage[~masks[1]] = 1e6
    with torch.inference_mode():
        a = head([visual, faces], masks)
        b = head([visual, garbage], masks)
    for x, y in zip(a, b):
        assert torch.allclose(x, y) and torch.isfinite(x).all()


def test_a_modality_missing_from_the_clip_is_not_a_zero_observation() -> None:
    """Absent faces differ from present all-zero faces; with faces absent the result is their absence only."""
    head = _head()
    visual = torch.randn(1, 3, 5)
    zeros = torch.zeros(1, 3, 3)
    on, off = torch.ones(1, 3, dtype=torch.bool), torch.zeros(1, 3, dtype=torch.bool)
    with torch.inference_mode():
        absent, _ = head([visual, zeros], [on, off])
        zero_face, _ = head([visual, zeros], [on, on])
        other_visual_absent, _ = head([torch.randn(1, 3, 5), torch.randn(1, 3, 3)], [off, off])
        all_absent, _ = head([torch.randn(1, 3, 5), torch.randn(1, 3, 3)], [off, off])
    assert not torch.allclose(absent, zero_face)
    assert torch.allclose(other_visual_absent, all_absent)  # nothing present: the bias alone, never NaN


def _toy(n: int, rng: np.random.Generator) -> list[Example]:
    """Class k of 6 has visual mean e_k; faces absent in half the clips; V/A from the Ekman table."""
    out = []
    for i in range(n):
        k = i % 6
        visual = rng.normal(0, 0.3, (2, 6)).astype(np.float32) + np.eye(6, dtype=np.float32)[k]
        faces = rng.normal(0, 1, (2, 3)).astype(np.float32)
        va = ekman_to_va(np.eye(6)[k])
        label = VideoLabel(f"c{i}", np.eye(6)[k], k, float(va[0]), float(va[1]), "train")
        out.append(Example(f"c{i}", (visual, faces), (np.ones(2, bool), np.full(2, i % 2 == 0)), label))
    return out


def test_training_learns_a_separable_toy_problem() -> None:
    rng = np.random.default_rng(1)
    train_set, val_set = _toy(120, rng), _toy(36, rng)
    config = FusionConfig(("visual", "faces"), (6, 3), d_model=16, heads=2, dropout=0.1)
    head, report = train(train_set, val_set, config, TrainSettings(epochs=25, batch_size=32, lr=3e-3, patience=25))
    probs, va = predict(head, val_set)
    accuracy = np.mean(probs.argmax(axis=1) == np.arange(len(val_set)) % 6)
    assert accuracy > 0.9
    assert report.history[-1]["train_loss"] < report.history[0]["train_loss"]
    assert 0.0 <= report.va_mix <= 1.0
    truth = np.array([(e.label.valence, e.label.arousal) for e in val_set])
    assert np.sqrt(np.mean((va - truth) ** 2)) < 0.35


def test_modality_dropout_never_hides_everything() -> None:
    masks = [torch.ones(64, 3, dtype=torch.bool), torch.zeros(64, 3, dtype=torch.bool)]
    dropped = _drop_modalities(masks, 0.9, torch.Generator().manual_seed(0))
    assert dropped[0].any(dim=1).all()  # faces were absent, so visual must stay
