"""Shared fixtures: real MIDI from ../shared (skip only when it is absent) and a tiny random generator."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

MIDI_ROOT = Path("/work/shared/data/midi")


@pytest.fixture(scope="session")
def midi_root() -> Path:
    if not MIDI_ROOT.exists():
        pytest.skip("/work/shared data is absent")
    return MIDI_ROOT


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
