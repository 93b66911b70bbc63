"""Training on a small real cache: it learns, saves an auditable checkpoint, and continues from one."""

from __future__ import annotations

import math

import torch

from emsync_core.music.checkpoint import load_checkpoint
from emsync_core.music.train import TrainSettings, train
from emsync_core.music.vocab import VOCAB


def _settings(**kw) -> TrainSettings:
    """A step count, not a time budget, ends these runs: the same work however loaded the machine is."""
    return TrainSettings(preset="tiny", minutes=10.0, max_steps=40, batch=2, save_every_min=10.0, val_batches=2, **kw)


def test_train_learns_saves_and_continues(small_cache, tmp_path):
    first = tmp_path / "first.safetensors"
    rec = train(small_cache, first, _settings())
    assert rec["steps"] > 0 and rec["final"]
    assert rec["val_loss"] < math.log(VOCAB.size)  # better than the uniform guess of an untrained model
    model, meta = load_checkpoint(first)
    assert meta.version == f"emsync-music-tiny-s{rec['steps']}"
    assert meta.training["data"]["emopia"]["train"]["pieces"] > 0

    second = tmp_path / "second.safetensors"
    rec2 = train(small_cache, second, _settings(init=str(first), seed=1))
    assert rec["steps"] == 40 and rec2["steps"] == 80
    assert rec2["steps"] > rec["steps"] and rec2["tokens_seen"] > rec["tokens_seen"]
    assert [s["steps"] for s in rec2["stages"]] == [rec["steps"], rec2["steps"]]
    assert rec2["stages"][1]["settings"]["init"] == str(first)
    continued, _ = load_checkpoint(second)
    assert not torch.equal(continued.tok.weight, model.tok.weight)


def test_sharded_checkpoint_parts_fit_the_limit_and_load_back(small_cache, tmp_path):
    """The accelerator kit's output: a folder of parts no larger than the limit, loading as one model."""
    folder = tmp_path / "sharded"
    rec = train(small_cache, folder, _settings(shard_mib=0.2, bf16=True))
    parts = sorted(folder.glob("part-*.safetensors"))
    assert len(parts) >= 2 and all(p.stat().st_size <= 0.2 * 2**20 for p in parts)
    model, meta = load_checkpoint(folder)
    assert meta.version == f"emsync-music-tiny-s{rec['steps']}" and rec["device"] == "cpu"
    assert sum(p.numel() for p in model.parameters()) == rec["parameters"]
