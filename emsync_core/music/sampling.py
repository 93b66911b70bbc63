"""One sampling step: temperature, nucleus, the repetition rule, seeded per request."""

from __future__ import annotations

import math

import torch

from emsync_core.music.api import SamplingSettings
from emsync_core.music.vocab import VOCAB

#: Logits are rounded to this step before sampling so a request's tokens do not depend on float
#: noise from batch composition (different batch sizes give ~1e-6 differences in matmuls).
LOGIT_QUANTUM = 1e-3
NEVER_SAMPLED = (VOCAB.pad, VOCAB.start, VOCAB.less, VOCAB.more)


def nucleus(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """Probabilities restricted to the smallest set whose mass reaches top_p, renormalised."""
    sorted_p, order = probs.sort(descending=True)
    keep = (sorted_p.cumsum(0) - sorted_p) < top_p
    keep[0] = True
    out = torch.zeros_like(probs)
    out[order[keep]] = sorted_p[keep]
    return out / out.sum()


def loss_weight_correction(weights: dict[int, float], vocab_size: int) -> torch.Tensor:
    """Logit offsets that undo class weights of the training loss.

    Weighted cross-entropy is minimised by p(c) proportional to w_c * q(c), so a token trained with
    weight 10 (CHORD) comes out ~10x too likely; adding -log(w_c) restores q, and the boundary input,
    not the weight, decides where CHORDs go.
    """
    bias = torch.zeros(vocab_size)
    for tok, w in weights.items():
        bias[tok] = -math.log(w)
    return bias


def sample_token(
    logits: torch.Tensor,
    banned: torch.Tensor,
    settings: SamplingSettings,
    generator: torch.Generator,
    bias: torch.Tensor | None = None,
) -> int:
    """Sample one token from a (V,) logit row; `banned` is a (V,) bool mask, `bias` a (V,) offset."""
    logits = logits.float() if bias is None else logits.float() + bias
    logits = torch.round(logits / LOGIT_QUANTUM) * LOGIT_QUANTUM
    logits = logits.masked_fill(banned, float("-inf"))
    probs = nucleus(torch.softmax(logits / settings.temperature, dim=0), settings.top_p)
    if int((probs > 0).sum()) <= 2:
        hotter = settings.temperature * settings.repetition_penalty
        probs = nucleus(torch.softmax(logits / hotter, dim=0), settings.top_p)
    return int(torch.multinomial(probs, 1, generator=generator))
