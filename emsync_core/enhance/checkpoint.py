"""Shipped weights: safetensors plus the config and training facts in its metadata."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from emsync_core.enhance.model import BandwidthUNet, UNetConfig

MODELS_DIR = Path(__file__).parent / "models"
DEFAULT_MODEL = MODELS_DIR / "bwe_random.safetensors"


def save_model(model: BandwidthUNet, path: Path, facts: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"config": json.dumps(model.config.to_dict()), "facts": json.dumps(facts)}
    save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()}, str(path), metadata=meta)


def load_model(path: Path | str | None = None) -> tuple[BandwidthUNet, dict]:
    """The model in eval mode and its training facts."""
    from safetensors import safe_open

    path = Path(path or DEFAULT_MODEL)
    if not path.exists():
        raise FileNotFoundError(f"enhancement model {path} not found")
    with safe_open(str(path), "pt") as fh:
        meta = fh.metadata() or {}
    config = json.loads(meta.get("config", "{}"))
    model = BandwidthUNet(UNetConfig(channels=tuple(config.get("channels", UNetConfig.channels)),
                                     kernel=int(config.get("kernel", UNetConfig.kernel))))
    model.load_state_dict(load_file(str(path)))
    model.eval()
    return model, json.loads(meta.get("facts", "{}"))
