"""Saving and loading a trained head as safetensors, with its config and provenance in the header.

The file's SHA-256 is the model's identity in every soundtrack record, so loading computes it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from safetensors.torch import load_file, save_file

import numpy as np

from emsync_core.emotion.calibration import Calibration, calibration_from_dict
from emsync_core.emotion.ekman import ekman_to_va
from emsync_core.emotion.fusion import FusionConfig, FusionHead

METADATA_KEY = "emsync_emotion"
FORMAT_VERSION = 1


@dataclass
class EmotionCheckpoint:
    head: FusionHead
    va_mix: float  # weight of the direct V/A regression against the Ekman-mapped V/A
    version: str
    provenance: dict = field(default_factory=dict)
    sha256: str = ""
    calibration: Calibration | None = None  # fitted on validation; None: V/A as mixed

    def va(self, probs: np.ndarray, direct: np.ndarray) -> np.ndarray:
        """Final V/A: the validated mix of direct regression and Ekman-mapped V/A, then the calibration."""
        mixed = self.va_mix * direct + (1 - self.va_mix) * ekman_to_va(probs)
        return self.calibration.apply(mixed) if self.calibration is not None else mixed


def save_checkpoint(checkpoint: EmotionCheckpoint, path: str | Path) -> str:
    """Write atomically; returns the file's SHA-256."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "format": FORMAT_VERSION,
        "version": checkpoint.version,
        "config": checkpoint.head.config.to_dict(),
        "va_mix": checkpoint.va_mix,
        "provenance": checkpoint.provenance,
    }
    if checkpoint.calibration is not None:
        meta["calibration"] = checkpoint.calibration.to_dict()
    tmp = path.with_name(path.name + ".tmp")
    state = {k: v.detach().contiguous() for k, v in checkpoint.head.state_dict().items()}
    save_file(state, str(tmp), metadata={METADATA_KEY: json.dumps(meta, sort_keys=True)})
    tmp.chmod(0o644)  # safetensors writes 0600; workers running as another user must read it
    tmp.replace(path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_checkpoint(path: str | Path) -> EmotionCheckpoint:
    """Rebuild the head from a safetensors file written by `save_checkpoint`."""
    from safetensors import safe_open

    path = Path(path)
    with safe_open(str(path), framework="pt") as fh:
        raw = (fh.metadata() or {}).get(METADATA_KEY)
    if raw is None:
        raise ValueError(f"{path} is not an EMSYNC emotion checkpoint (no {METADATA_KEY} metadata)")
    meta = json.loads(raw)
    if meta.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path}: checkpoint format {meta.get('format')} is not {FORMAT_VERSION}")
    head = FusionHead(FusionConfig.from_dict(meta["config"]))
    head.load_state_dict(load_file(str(path)), strict=True)
    head.eval().requires_grad_(False)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    calibration = calibration_from_dict(meta["calibration"]) if "calibration" in meta else None
    return EmotionCheckpoint(head, float(meta["va_mix"]), meta["version"], meta.get("provenance", {}), sha, calibration)
