"""The EMSYNC fusion head over frozen backbone sequences, with masks for missing modalities.

As in the reference (METHOD.md section 3): per-modality Linear projection + dropout; for each ordered
pair of modalities a multi-head cross-attention (queries from one, keys/values from the other),
LayerNorm, mean over time; concatenation; ReLU; Linear -> 6 Ekman logits. Two changes, both needed
for footage where modalities come and go: (1) each modality also contributes its own masked mean
over time (so one modality alone still reaches the classifier: with a single modality there is no
pair), and (2) a modality absent in a window is masked out of attention and means, and a modality
absent in the whole clip contributes exact zeros plus a 0 presence flag, never a fake "zero"
observation. A second Linear gives a direct (valence, arousal) regression in [-1, 1].
Inputs are standardised per dimension with statistics stored in the checkpoint (the reference
min-max scales per modality; standardising suits 1280-d CNN features better).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from emsync_core.emotion.ekman import EKMAN


@dataclass(frozen=True)
class FusionConfig:
    """Everything needed to rebuild the head; stored in the checkpoint."""

    modalities: tuple[str, ...]
    dims: tuple[int, ...]
    d_model: int = 128
    heads: int = 4
    dropout: float = 0.5

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> FusionConfig:
        return cls(
            modalities=tuple(data["modalities"]),
            dims=tuple(int(d) for d in data["dims"]),
            d_model=int(data["d_model"]),
            heads=int(data["heads"]),
            dropout=float(data["dropout"]),
        )


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over time of (B, T, D) where mask (B, T) is True; zeros where nothing is present."""
    weights = mask.to(x.dtype).unsqueeze(-1)
    return (x * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


class CrossModal(nn.Module):
    """Queries from modality a attend to keys/values of modality b; LayerNorm; mean over a's time."""

    def __init__(self, d_model: int, heads: int) -> None:
        super().__init__()
        self.attention = nn.MultiheadAttention(d_model, heads, batch_first=True)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, qa: torch.Tensor, mask_a: torch.Tensor, kb: torch.Tensor, mask_b: torch.Tensor) -> torch.Tensor:
        has_b = mask_b.any(dim=1)
        # A clip without any b keys would make softmax NaN: let it attend to b's zeros, then drop it.
        key_padding = ~mask_b & has_b.unsqueeze(1)
        attended, _ = self.attention(qa, kb, kb, key_padding_mask=key_padding, need_weights=False)
        pooled = masked_mean(self.norm(attended + qa), mask_a)
        return pooled * (has_b & mask_a.any(dim=1)).to(pooled.dtype).unsqueeze(-1)


class FusionHead(nn.Module):
    """Ekman-6 logits and direct (V, A) from a dict of masked modality sequences."""

    def __init__(self, config: FusionConfig) -> None:
        super().__init__()
        self.config = config
        d, n = config.d_model, len(config.modalities)
        self.projections = nn.ModuleList(nn.Sequential(nn.Linear(dim, d), nn.Dropout(config.dropout)) for dim in config.dims)
        self.pairs = [(i, j) for i in range(n) for j in range(n) if i != j]
        self.cross = nn.ModuleList(CrossModal(d, config.heads) for _ in self.pairs)
        for i, dim in enumerate(config.dims):
            self.register_buffer(f"mean_{i}", torch.zeros(dim))
            self.register_buffer(f"std_{i}", torch.ones(dim))
        fused = d * (n + len(self.pairs)) + n
        self.classifier = nn.Linear(fused, len(EKMAN))
        self.va = nn.Linear(fused, 2)

    def set_normalisation(self, index: int, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Per-dimension standardisation; a (near-)constant training dimension is left unscaled, so a
        value never seen in training (motion on still images) cannot explode at inference."""
        constant = std < 1e-3
        getattr(self, f"mean_{index}").copy_(torch.where(constant, torch.zeros_like(mean), mean))
        getattr(self, f"std_{index}").copy_(torch.where(constant, torch.ones_like(std), std))

    def forward(self, values: list[torch.Tensor], masks: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """values[i]: (B, T, dims[i]); masks[i]: (B, T) bool. Returns (logits (B, 6), va (B, 2))."""
        projected = []
        for i, (x, m) in enumerate(zip(values, masks)):
            x = (x - getattr(self, f"mean_{i}")) / getattr(self, f"std_{i}")
            projected.append(self.projections[i](x) * m.unsqueeze(-1).to(x.dtype))
        parts = [masked_mean(p, m) for p, m in zip(projected, masks)]
        parts += [cross(projected[i], masks[i], projected[j], masks[j]) for (i, j), cross in zip(self.pairs, self.cross)]
        parts.append(torch.stack([m.any(dim=1) for m in masks], dim=1).to(projected[0].dtype))
        fused = torch.relu(torch.cat(parts, dim=1))
        return self.classifier(fused), torch.tanh(self.va(fused))
