"""One sampling step: temperature, nucleus, the repetition rule, seeded per request."""

from __future__ import annotations

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


def sample_token(
    logits: torch.Tensor, banned: torch.Tensor, settings: SamplingSettings, generator: torch.Generator
) -> int:
    """Sample one token from a (V,) logit row; `banned` is a (V,) bool mask."""
    logits = torch.round(logits.float() / LOGIT_QUANTUM) * LOGIT_QUANTUM
    logits = logits.masked_fill(banned, float("-inf"))
    probs = nucleus(torch.softmax(logits / settings.temperature, dim=0), settings.top_p)
    if int((probs > 0).sum()) <= 2:
        hotter = settings.temperature * settings.repetition_penalty
        probs = nucleus(torch.softmax(logits / hotter, dim=0), settings.top_p)
    return int(torch.multinomial(probs, 1, generator=generator))
