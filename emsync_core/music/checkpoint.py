"""Checkpoints as safetensors (fp16 weights) with the config, scalers and training record in metadata."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from emsync_core.music.labels import MinMaxScaler
from emsync_core.music.model import ModelConfig, MusicTransformer

SHIPPED_CHECKPOINT = Path(__file__).parent / "checkpoints" / "emsync_small.safetensors"


@dataclass
class CheckpointMeta:
    """Everything besides weights that a checkpoint must carry to be used and audited."""

    version: str
    config: ModelConfig
    piece_arousal: MinMaxScaler
    token_arousal: MinMaxScaler
    training: dict = field(default_factory=dict)


def save_checkpoint(model: MusicTransformer, meta: CheckpointMeta, path: Path) -> None:
    """Atomic write: temp file then rename, so a reader never sees half a checkpoint."""
    tensors = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items() if k != "head.weight"}
    metadata = {
        "version": meta.version,
        "config": json.dumps(meta.config.to_dict()),
        "piece_arousal": json.dumps(meta.piece_arousal.to_dict()),
        "token_arousal": json.dumps(meta.token_arousal.to_dict()),
        "training": json.dumps(meta.training),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata=metadata)
    os.replace(tmp, path)


def read_meta(path: Path) -> CheckpointMeta:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        md = fh.metadata()
    return CheckpointMeta(
        version=md["version"],
        config=ModelConfig(**json.loads(md["config"])),
        piece_arousal=MinMaxScaler(**json.loads(md["piece_arousal"])),
        token_arousal=MinMaxScaler(**json.loads(md["token_arousal"])),
        training=json.loads(md["training"]),
    )


def load_checkpoint(path: Path, device: str = "cpu") -> tuple[MusicTransformer, CheckpointMeta]:
    meta = read_meta(path)
    model = MusicTransformer(meta.config)
    state = {k: v.float() for k, v in load_file(str(path)).items()}
    state["head.weight"] = state["tok.weight"]
    model.load_state_dict(state)
    return model.to(device).eval(), meta


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
