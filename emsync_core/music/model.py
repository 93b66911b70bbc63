"""The EMSYNC-style decoder: prepended V/A vectors, per-token boundary offset and V/A, rotary attention, KV cache."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from emsync_core.music.step_linear import LinearCall, exact_gelu, step_linear
from emsync_core.music.vocab import VOCAB

BOUNDARY_MAX_S = 8.0
N_PREFIX = 2  # the prepended valence and arousal vectors


@dataclass(frozen=True)
class ModelConfig:
    """Size of the transformer; `context` counts tokens, not the two prepended condition vectors."""

    n_layers: int
    d_model: int
    n_heads: int
    d_ff: int
    context: int
    dropout: float = 0.1
    vocab_size: int = VOCAB.size

    def to_dict(self) -> dict:
        return asdict(self)


PRESETS: dict[str, ModelConfig] = {
    "reference": ModelConfig(n_layers=11, d_model=512, n_heads=8, d_ff=2048, context=1216),
    "small": ModelConfig(n_layers=4, d_model=256, n_heads=4, d_ff=768, context=512),
    "tiny": ModelConfig(n_layers=2, d_model=64, n_heads=2, d_ff=128, context=128),
}


@dataclass
class KVCache:
    """Keys and values of every layer in buffers sized for the whole window, written in place.

    A generation step then costs one token's projections and one attention read; growing the cache
    with torch.cat would copy the whole window on every step.
    """

    keys: list[torch.Tensor]  # per layer (B, H, N_PREFIX + context, Dh)
    values: list[torch.Tensor]
    length: int = 0  # filled positions, prepended condition vectors included

    @classmethod
    def empty(cls, cfg: ModelConfig, batch: int, like: torch.Tensor) -> KVCache:
        shape = (batch, cfg.n_heads, N_PREFIX + cfg.context, cfg.d_model // cfg.n_heads)
        return cls(
            [like.new_zeros(shape) for _ in range(cfg.n_layers)],
            [like.new_zeros(shape) for _ in range(cfg.n_layers)],
        )

    @property
    def tokens(self) -> int:
        """Token positions held (the prepended vectors not counted)."""
        return self.length - N_PREFIX

    @property
    def capacity(self) -> int:
        return self.keys[0].shape[2] - N_PREFIX

    def select(self, rows: torch.Tensor) -> KVCache:
        """The cache of a subset of the batch rows (sequences that are still generating)."""
        return KVCache([k.index_select(0, rows) for k in self.keys], [v.index_select(0, rows) for v in self.values], self.length)


class ScalarEmbedding(nn.Module):
    """A scalar through a 2-layer MLP; NaN inputs get a learned null vector (missing label or dropout)."""

    def __init__(self, hidden: int, out: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(1, hidden), nn.GELU(), nn.Linear(hidden, out))
        self.null = nn.Parameter(torch.randn(out) * 0.02)
        self._memo: dict[float | None, torch.Tensor] = {}
        self._memo_version: tuple[tuple[int, int], ...] = ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        missing = torch.isnan(x)
        y = self.mlp(torch.nan_to_num(x, nan=0.0).unsqueeze(-1))
        return torch.where(missing.unsqueeze(-1), self.null.expand_as(y), y)

    def rows(self, values: list[float]) -> torch.Tensor:
        """(B, out) embeddings of one scalar per row, memoised by value: a scene's V/A and the
        boundary offset repeat for hundreds of decode steps, and at batch 1 the five small ops of
        the MLP cost more than a layer's matmuls. The memo is dropped when any weight changes."""
        params = self.__dict__.get("_memo_params")
        if params is None or params[-1] is not self._parameters["null"]:  # load_state_dict(assign=True) replaces them all
            first, second = self.mlp[0], self.mlp[2]
            params = self.__dict__["_memo_params"] = (first.weight, first.bias, second.weight, second.bias, self.null)
        # updated in place (_version) or moved (.to(): data_ptr)
        version = tuple((p._version, p.data_ptr()) for p in params)
        if version != self._memo_version:
            self._memo, self._memo_version = {}, version
        out = []
        for v in values:
            key = None if math.isnan(v) else v
            if key not in self._memo:
                with torch.inference_mode(False), torch.no_grad():  # usable outside inference mode too
                    self._memo[key] = self(torch.tensor([v], dtype=self.null.dtype, device=self.null.device))
            out.append(self._memo[key])
        return torch.cat(out) if len(out) > 1 else out[0]


def rotary_tables(positions: int, dh: int) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin tables of rotary position embedding for every position of a window."""
    inv = 1.0 / (10000 ** (torch.arange(0, dh, 2, dtype=torch.float32) / dh))
    ang = torch.outer(torch.arange(positions, dtype=torch.float32), inv)
    return ang.cos(), ang.sin()


def rotation_matrices(cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """(positions, Dh, Dh): `x @ R[p]` applies rotary() at position p to a (..., Dh) row in one matmul."""
    n, half = cos.shape
    r = cos.new_zeros(n, 2 * half, 2 * half)
    i = torch.arange(half)
    r[:, 2 * i, 2 * i] = cos
    r[:, 2 * i + 1, 2 * i + 1] = cos
    r[:, 2 * i, 2 * i + 1] = sin
    r[:, 2 * i + 1, 2 * i] = -sin
    return r


def rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, start: int) -> torch.Tensor:
    """Rotary position embedding on (..., T, Dh) (queries and keys in one call): attention sees relative offsets."""
    cos, sin = cos[start : start + x.shape[-2]], sin[start : start + x.shape[-2]]
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)


class Block(nn.Module):
    """Pre-LayerNorm block (more stable than the reference's post-LN at small batch on CPU)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.n_heads = cfg.n_heads
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.ff = nn.Sequential(nn.Linear(cfg.d_model, cfg.d_ff), nn.GELU(), nn.Linear(cfg.d_ff, cfg.d_model))
        self.drop = nn.Dropout(cfg.dropout)
        self.p_drop = cfg.dropout
        cos, sin = rotary_tables(cfg.context + N_PREFIX, cfg.d_model // cfg.n_heads)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    def forward(self, x: torch.Tensor, cache: KVCache | None, layer: int) -> torch.Tensor:
        """`cache` (when given) holds the earlier positions; this step's keys/values are written into it."""
        b, t, d = x.shape
        qkv = self.qkv(self.ln1(x)).view(b, t, 3, self.n_heads, d // self.n_heads).permute(2, 0, 3, 1, 4)
        start = 0 if cache is None else cache.length
        if t > 1 and start > 0:
            raise ValueError("multi-token steps on a non-empty cache are not supported")
        qk = rotary(qkv[:2], self.cos, self.sin, start)
        q, k, v = qk[0], qk[1], qkv[2]
        if cache is not None:
            end = start + t
            cache.keys[layer][:, :, start:end] = k
            cache.values[layer][:, :, start:end] = v
            k, v = cache.keys[layer][:, :, :end], cache.values[layer][:, :, :end]
        att = F.scaled_dot_product_attention(
            q, k, v, is_causal=t > 1, dropout_p=self.p_drop if self.training else 0.0
        )
        x = x + self.drop(self.proj(att.transpose(1, 2).reshape(b, t, d)))
        return x + self.drop(self.ff(self.ln2(x)))


@dataclass
class Conditions:
    """Per-sequence and per-token conditioning; NaN means unknown/dropped (the null vector is used).

    boundary holds t_b, seconds to the next cut (clamped to [0, 8] inside the model).
    """

    valence: torch.Tensor  # (B,) global, prepended
    arousal: torch.Tensor  # (B,)
    token_valence: torch.Tensor  # (B, T) local, per token
    token_arousal: torch.Tensor  # (B, T)
    boundary: torch.Tensor  # (B, T)


class MusicTransformer(nn.Module):
    """Decoder-only event model. Token input = token emb + [pos emb | boundary MLP] + local V/A vectors."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d, half = cfg.d_model, cfg.d_model // 2
        self.tok = nn.Embedding(cfg.vocab_size, d)
        self.pos = nn.Embedding(cfg.context, half)
        self.boundary = ScalarEmbedding(128, half)
        self.valence = ScalarEmbedding(256, d)
        self.arousal = ScalarEmbedding(256, d)
        self.local_valence = ScalarEmbedding(64, d)
        self.local_arousal = ScalarEmbedding(64, d)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(d)
        self.head = nn.Linear(d, cfg.vocab_size, bias=False)
        self.head.weight = self.tok.weight
        self.drop = nn.Dropout(cfg.dropout)
        self.apply(self._init)
        self.register_buffer("rotations", rotation_matrices(*rotary_tables(cfg.context + N_PREFIX, d // cfg.n_heads)), persistent=False)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)

    def embed_tokens(self, tokens: torch.Tensor, cond: Conditions, pos_start: int) -> torch.Tensor:
        t = tokens.shape[1]
        pos = self.pos(torch.arange(pos_start, pos_start + t, device=tokens.device)).expand(tokens.shape[0], -1, -1)
        offset = BOUNDARY_MAX_S - cond.boundary.clamp(0.0, BOUNDARY_MAX_S)  # NaN stays NaN -> null vector
        x = self.tok(tokens) + torch.cat([pos, self.boundary(offset)], dim=-1)
        return x + self.local_valence(cond.token_valence) + self.local_arousal(cond.token_arousal)

    def forward(
        self, tokens: torch.Tensor, cond: Conditions, cache: KVCache | None = None, *, keep_cache: bool = False
    ) -> tuple[torch.Tensor, KVCache | None]:
        """Logits for every token position.

        Without `cache` the window is encoded from the prepended vectors on (a fresh cache is returned
        when `keep_cache`); with `cache`, `tokens` is the next single step and the cache is advanced.
        """
        if cache is None:
            prefix = torch.stack([self.valence(cond.valence), self.arousal(cond.arousal)], dim=1)
            x = torch.cat([prefix, self.embed_tokens(tokens, cond, 0)], dim=1)
            if keep_cache:
                cache = KVCache.empty(self.cfg, tokens.shape[0], x)
            out_slice = slice(N_PREFIX, None)
        else:
            if tokens.shape[1] == 1 and not self.training:
                return self.step(
                    tokens[:, 0].tolist(), cond.token_valence[:, 0].tolist(), cond.token_arousal[:, 0].tolist(),
                    cond.boundary[:, 0].tolist(), cache,
                ).unsqueeze(1), cache
            x = self.embed_tokens(tokens, cond, cache.tokens)
            out_slice = slice(None)
        x = self.drop(x)
        for i, block in enumerate(self.blocks):
            x = block(x, cache, i)
        if cache is not None:
            cache.length += x.shape[1]
        return self.head(self.ln_f(x[:, out_slice])), cache

    def step(
        self, tokens: list[int], token_valence: list[float], token_arousal: list[float], boundary: list[float], cache: KVCache
    ) -> torch.Tensor:
        """(B, V) next-token logits after one more token per row; the cache is advanced.

        The decode loop's hot path: at batch 1 a step is a few MFLOPs, so its time is per-operator
        overhead and reading the weights and cache, not arithmetic. The same arithmetic as
        forward() with fewer operators: no module calls, the scalar embeddings memoised, the rotary embedding of queries
        and keys as one matmul with a precomputed rotation, the cache written by index, and the
        matrices applied from fp16-packed copies where that is exact (step_linear), which halves
        the bytes a batch-1 step reads.
        """
        b, d, h = len(tokens), self.cfg.d_model, self.cfg.n_heads
        pos, end = cache.length, cache.length + 1
        # float32 as in embed_tokens; NaN stays NaN (the null vector)
        offsets = [float(np.float32(BOUNDARY_MAX_S) - np.float32(min(max(v, 0.0), BOUNDARY_MAX_S))) for v in boundary]
        tok = self.tok.weight.narrow(0, tokens[0], 1) if b == 1 else self.tok.weight[tokens]
        x = tok + torch.cat([self.pos.weight.narrow(0, cache.tokens, 1).expand(b, -1), self.boundary.rows(offsets)], dim=-1)
        x = x + self.local_valence.rows(token_valence) + self.local_arousal.rows(token_arousal)
        rot = self.rotations[pos]
        layers, (head, head_w, head_b), (lnf_w, lnf_b, lnf_eps) = self._step_weights()
        for i, (ln1_w, ln1_b, eps1, qkv, qkv_w, qkv_b, proj, proj_w, proj_b, ln2_w, ln2_b, eps2, ff1, ff1_w, ff1_b, ff2, ff2_w, ff2_b) in enumerate(layers):
            qkv_rows = qkv(torch.layer_norm(x, (d,), ln1_w, ln1_b, eps1), qkv_w, qkv_b).view(b, 3, h, d // h)
            qk = qkv_rows[:, :2] @ rot
            keys, values = cache.keys[i], cache.values[i]
            keys.select(2, pos).copy_(qk[:, 1])
            values.select(2, pos).copy_(qkv_rows[:, 2])
            att = F.scaled_dot_product_attention(qk[:, 0].unsqueeze(2), keys.narrow(2, 0, end), values.narrow(2, 0, end))
            x = x + proj(att.reshape(b, d), proj_w, proj_b)
            x = x + ff2(exact_gelu(ff1(torch.layer_norm(x, (d,), ln2_w, ln2_b, eps2), ff1_w, ff1_b)), ff2_w, ff2_b)
        cache.length = end
        return head(torch.layer_norm(x, (d,), lnf_w, lnf_b, lnf_eps), head_w, head_b)

    def _step_weights(self) -> tuple[list[tuple], LinearCall, tuple]:
        """Per block, the tensors step() uses, then the output layer and the final layer norm, gathered
        once: module attribute look-ups cost more than the arithmetic at batch 1, and the matrices are
        packed for step_linear. Gathered again when a matrix changes in place (an optimizer step,
        .to(): its version or storage moves) or is replaced (load_state_dict(assign=True))."""
        blocks = self.blocks
        matrices = self.__dict__.get("_step_matrices")
        if matrices is None or matrices[0] is not blocks[0].qkv.weight:
            matrices = [m.weight for b in blocks for m in (b.qkv, b.proj, b.ff[0], b.ff[2])] + [self.head.weight]
            self.__dict__["_step_matrices"] = matrices
        key = [(m._version, m.data_ptr()) for m in matrices]
        if self.__dict__.get("_gathered_key") != key:
            with torch.inference_mode(False), torch.no_grad():  # usable outside inference mode too
                layers = [
                    (b.ln1.weight, b.ln1.bias, b.ln1.eps, *step_linear(b.qkv.weight, b.qkv.bias), *step_linear(b.proj.weight, b.proj.bias),
                     b.ln2.weight, b.ln2.bias, b.ln2.eps, *step_linear(b.ff[0].weight, b.ff[0].bias), *step_linear(b.ff[2].weight, b.ff[2].bias))
                    for b in blocks
                ]
                head = step_linear(self.head.weight, None)
            self.__dict__["_gathered"] = (layers, head, (self.ln_f.weight, self.ln_f.bias, self.ln_f.eps))
            self.__dict__["_gathered_key"] = key
        return self.__dict__["_gathered"]

    def __getstate__(self) -> dict:
        """Pickles and deep copies leave out the gathered step weights: packed matrices are native
        objects that only their own process may free."""
        return {k: v for k, v in self.__dict__.items() if k not in ("_step_matrices", "_gathered", "_gathered_key")}
