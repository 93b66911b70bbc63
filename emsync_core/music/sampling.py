"""One sampling step for a batch: guidance, temperature, nucleus, the repetition rule, seeded per request."""

from __future__ import annotations

import math

import torch

from emsync_core.music.vocab import VOCAB

#: Logits are rounded to this step before sampling so a request's tokens do not depend on float
#: noise from batch composition (different batch sizes give ~1e-6 differences in matmuls).
LOGIT_QUANTUM = 1e-3
NEVER_SAMPLED = (VOCAB.pad, VOCAB.start, VOCAB.less, VOCAB.more)


def guided(conditional: torch.Tensor, unconditional: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Classifier-free guidance: move the logits `weight` times as far from the unconditional
    prediction as the condition moves them (1 = plain conditional sampling)."""
    return unconditional + weight.unsqueeze(-1) * (conditional - unconditional)


def nucleus(probs: torch.Tensor, top_p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per row of (R, V) probabilities: the sorted probabilities kept by top-p (others 0), their token
    ids, and how many were kept."""
    sorted_p, order = probs.sort(dim=-1, descending=True)
    keep = (sorted_p.cumsum(-1) - sorted_p) < top_p.unsqueeze(-1)
    keep[:, 0] = True
    return sorted_p * keep, order, keep.sum(-1)


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


def sample_rows(
    logits: torch.Tensor,
    banned: torch.Tensor,
    temperature: torch.Tensor,
    top_p: torch.Tensor,
    repetition_penalty: torch.Tensor,
    generators: list[torch.Generator],
    bias: torch.Tensor | None = None,
) -> list[int]:
    """Sample one token per row of (R, V) logits; `banned` is (R, V) bool, settings are (R,) tensors.

    Each row draws exactly one uniform number from its own generator and inverts the CDF of the
    nucleus laid out in token-id order, so a request's tokens depend on its seed and logits only,
    never on the rest of the batch: batch composition moves logits by ~1e-6, which can tip one
    rounded logit by a quantum; in token order that nudges the CDF by ~1e-3 of one probability,
    where in sorted order it could reorder a run of tied tokens and change the pick.
    """
    logits = logits.float() if bias is None else logits.float() + bias
    logits = torch.round(logits / LOGIT_QUANTUM) * LOGIT_QUANTUM
    logits = logits.masked_fill(banned, float("-inf"))
    kept, order, n_kept = nucleus(torch.softmax(logits / temperature.unsqueeze(-1), dim=-1), top_p)
    narrow = n_kept <= 2
    if bool(narrow.any()):  # the reference's repetition rule: sample hotter when top-p leaves <= 2 tokens
        hotter = (temperature * repetition_penalty)[narrow].unsqueeze(-1)
        k2, o2, _ = nucleus(torch.softmax(logits[narrow] / hotter, dim=-1), top_p[narrow])
        kept[narrow], order[narrow] = k2, o2
    cdf = torch.zeros_like(kept).scatter(-1, order, kept).cumsum(-1)
    u = torch.cat([torch.rand(1, generator=g) for g in generators]) * cdf[:, -1]
    return torch.searchsorted(cdf, u.unsqueeze(-1), side="right").clamp_max(cdf.shape[-1] - 1).squeeze(-1).tolist()
