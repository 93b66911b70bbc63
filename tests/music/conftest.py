"""Shared fixtures: real MIDI from ../shared (skip only when it is absent) and a tiny random generator."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from emsync_core.music.model import Conditions
from emsync_core.music.vocab import VOCAB

MIDI_ROOT = Path("/work/shared/data/midi")


@pytest.fixture(scope="session")
def midi_root() -> Path:
    if not MIDI_ROOT.exists():
        pytest.skip("/work/shared data is absent")
    return MIDI_ROOT


@pytest.fixture(scope="session")
def small_cache(midi_root, tmp_path_factory) -> Path:
    """A tokenised cache of six real files (EMOPIA, POP909, Groove), dealt into train, val, test in turn."""
    import numpy as np

    from emsync_core.music.dataprep import build_cache
    from emsync_core.music.sources import emopia_specs, pop909_specs, simple_specs

    specs = emopia_specs(midi_root)[:3] + pop909_specs(midi_root)[:1] + simple_specs(midi_root / "groove", "groove", "drummer1/session1/*.mid")[:2]
    path = build_cache(specs, tmp_path_factory.mktemp("music") / "cache.npz", processes=1)
    data = dict(np.load(path))
    data["split"] = np.array([("train", "val", "test")[i % 3] for i in range(len(data["split"]))])
    np.savez(path, **data)
    return path


@pytest.fixture(scope="session")
def tiny_generator():
    from emsync_core.music.checkpoint import CheckpointMeta
    from emsync_core.music.generator import Generator
    from emsync_core.music.labels import MinMaxScaler
    from emsync_core.music.model import PRESETS, MusicTransformer

    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = MusicTransformer(PRESETS["tiny"])
    meta = CheckpointMeta("tiny-random", PRESETS["tiny"], MinMaxScaler(0.0, 10.0), MinMaxScaler(0.0, 10.0))
    return Generator(model, meta, "0" * 64)


def four_token_prompt() -> tuple[torch.Tensor, Conditions]:
    """Four random tokens under neutral conditions: the prompt the decode-step tests cache, then continue by one token."""
    zeros = torch.zeros(1, 4)
    return torch.randint(6, VOCAB.size, (1, 4)), Conditions(torch.zeros(1), torch.zeros(1), zeros, zeros, zeros)
