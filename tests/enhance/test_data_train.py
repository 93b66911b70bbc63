import shutil
from pathlib import Path

import numpy as np

from emsync_core.enhance.checkpoint import load_model
from emsync_core.enhance.data import batches, build_cache, load_split
from emsync_core.enhance.filters import FIXED_FILTER, SAMPLE_RATE, random_filter
from emsync_core.enhance.train import WARMUP, TrainSettings, _progress, high_band_loss, learning_rate, train


def _noise_cache(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        (root / split).mkdir(parents=True)
        for i in range(2):
            np.save(root / split / f"piece{i}.npy", (rng.standard_normal(3 * SAMPLE_RATE) * 3000).astype(np.int16))
    return root


def test_batches_pair_clean_and_filtered_crops(tmp_path):
    pieces = load_split(_noise_cache(tmp_path), "train")
    limited, clean, cutoffs = next(batches(pieces, 3, 4096, lambda rng: FIXED_FILTER, np.random.default_rng(0)))
    assert limited.shape == clean.shape == (3, 4096) and list(cutoffs) == [FIXED_FILTER.cutoff_hz] * 3
    assert not np.allclose(limited, clean)


def test_both_regimes_draw_the_same_clean_crops_from_the_same_seed(tmp_path):
    pieces = load_split(_noise_cache(tmp_path), "train")
    fixed = batches(pieces, 4, 4096, lambda rng: FIXED_FILTER, np.random.default_rng(7))
    random = batches(pieces, 4, 4096, random_filter, np.random.default_rng(7))
    for _ in range(3):
        (lim_f, clean_f, cut_f), (lim_r, clean_r, cut_r) = next(fixed), next(random)
        assert np.array_equal(clean_f, clean_r) and not np.array_equal(cut_f, cut_r)


def test_without_a_cap_the_schedule_follows_steps_alone():
    uncapped = TrainSettings(regime="fixed", steps=10)
    assert _progress(uncapped, 10, elapsed_s=1e9) == 0.9  # however slow the machine
    assert _progress(TrainSettings(regime="fixed", steps=10, minutes=1.0), 2, elapsed_s=30.0) == 0.5


def test_training_saves_a_loadable_model(tmp_path):
    out = tmp_path / "m.safetensors"
    facts = train(TrainSettings(regime="random", steps=2, batch=2), _noise_cache(tmp_path / "cache"), out, progress=lambda s: None)
    model, stored = load_model(out)
    assert facts["steps_done"] == 2 and stored["regime"] == "random"
    again = train(TrainSettings(regime="fixed", steps=1, batch=2, init=str(out), high_band_weight=0.5), tmp_path / "cache", tmp_path / "n.safetensors",
                  progress=lambda s: None)
    assert again["init"] == "m.safetensors"


def test_the_high_band_loss_counts_only_the_band_above_each_cut_off():
    import torch

    noise = np.random.default_rng(0).standard_normal((8192, 2)).astype(np.float32)
    clean, limited = torch.from_numpy(noise.T.copy()), torch.from_numpy(FIXED_FILTER.apply(noise).T.copy())
    cutoffs = torch.tensor([FIXED_FILTER.cutoff_hz] * 2)
    assert high_band_loss(limited, limited, clean, cutoffs).item() == 0.0
    assert high_band_loss(clean, limited, clean, cutoffs).item() < -60
    louder_passband = clean + 0.5 * limited  # wrong below the cut-off, right above it
    assert high_band_loss(louder_passband, limited, clean, cutoffs).item() < -5


def test_the_learning_rate_warms_up_and_anneals_to_zero():
    assert learning_rate(1e-3, 0.0) < 1e-4 and learning_rate(1e-3, WARMUP) == 1e-3
    assert learning_rate(1e-3, 0.5) < learning_rate(1e-3, 0.2) and learning_rate(1e-3, 1.0) == 0.0


def test_the_wall_clock_cap_ends_a_run_and_keeps_its_weights(tmp_path):
    out = tmp_path / "m.safetensors"
    facts = train(TrainSettings(regime="random", steps=10_000, batch=2, minutes=0.002), _noise_cache(tmp_path / "cache"), out,
                  progress=lambda s: None)
    assert facts["steps_done"] < 10_000 and load_model(out)[1]["steps_done"] == facts["steps_done"]


def test_render_cache_splits_by_piece(tmp_path, shared_video):
    midi_root = tmp_path / "midi" / "nottingham"
    midi_root.mkdir(parents=True)
    source = sorted((shared_video.parent / "midi" / "nottingham").rglob("*.mid"))[0]
    shutil.copy(source, midi_root / source.name)
    counts = build_cache(tmp_path / "midi", [shared_video / "chaplin.mp4"], tmp_path / "cache", per_corpus=1,
                         progress=lambda s: None)
    assert sum(counts.values()) == 1  # the render; chaplin's audio is itself band-limited and refused
    audio = next((tmp_path / "cache").rglob("*.npy"))
    rendered = np.load(audio)
    assert rendered.dtype == np.int16 and SAMPLE_RATE <= len(rendered) <= 20 * SAMPLE_RATE
