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


def save_checkpoint(model: MusicTransformer, meta: CheckpointMeta, path: Path, shard_mib: float | None = None) -> None:
    """Atomic write: temp file then rename, so a reader never sees half a checkpoint. With
    `shard_mib`, `path` is a folder of `part-NN.safetensors` files of at most that size each (every
    one carries the metadata), for transfers that limit the file size."""
    tensors = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items() if k != "head.weight"}
    metadata = {
        "version": meta.version,
        "config": json.dumps(meta.config.to_dict()),
        "piece_arousal": json.dumps(meta.piece_arousal.to_dict()),
        "token_arousal": json.dumps(meta.token_arousal.to_dict()),
        "training": json.dumps(meta.training),
    }
    if shard_mib is None:
        _write(tensors, metadata, path)
        return
    limit = int(shard_mib * 2**20) - len(json.dumps(metadata)) - 64 * 1024  # room for the header
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for name, t in tensors.items():
        nbytes = t.numel() * t.element_size()
        if nbytes > limit:
            raise ValueError(f"{name} ({nbytes} bytes) does not fit a {shard_mib} MiB shard")
        if size + nbytes > limit:
            shards.append({})
            size = 0
        shards[-1][name] = t
        size += nbytes
    path.mkdir(parents=True, exist_ok=True)
    for old in path.glob("part-*.safetensors"):
        old.unlink()
    for i, shard in enumerate(shards):
        _write(shard, metadata, path / f"part-{i:02d}.safetensors")


def _write(tensors: dict[str, torch.Tensor], metadata: dict[str, str], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata=metadata)
    os.replace(tmp, path)


def _files(path: Path) -> list[Path]:
    """The safetensors file, or a sharded checkpoint folder's parts in order."""
    return sorted(Path(path).glob("part-*.safetensors")) if Path(path).is_dir() else [Path(path)]


def read_meta(path: Path) -> CheckpointMeta:
    from safetensors import safe_open

    with safe_open(str(_files(path)[0]), framework="pt") as fh:
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
    state = {k: v.float() for f in _files(path) for k, v in load_file(str(f)).items()}
    state["head.weight"] = state["tok.weight"]
    model.load_state_dict(state)
    return model.to(device).eval(), meta


def file_sha256(path: Path) -> str:
    """sha256 of the checkpoint file (of its parts in order, for a sharded folder)."""
    h = hashlib.sha256()
    for f in _files(path):
        h.update(f.read_bytes())
    return h.hexdigest()
