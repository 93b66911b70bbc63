"""One sampling step for a batch: guidance, temperature, nucleus, the repetition rule, seeded per request."""

from __future__ import annotations

import math

import numpy as np
import torch

from emsync_core.music.vocab import VOCAB

#: Logits are rounded to this step before sampling so a request's tokens do not depend on float
#: noise from batch composition (different batch sizes give ~1e-6 differences in matmuls).
LOGIT_QUANTUM = 1e-3
NEVER_SAMPLED = (VOCAB.pad, VOCAB.start, VOCAB.less, VOCAB.more)
#: the nucleus is first looked for among this many likeliest tokens (a partial sort); the full sort
#: is used only when it needs more (at top-p 0.8 and temperature 1.35 it rarely does)
NUCLEUS_CANDIDATES = 64


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


def nucleus_ids(probs: np.ndarray, top_p: np.float32) -> np.ndarray | None:
    """The token ids (ascending) that nucleus() keeps in one row of probabilities, found among the
    NUCLEUS_CANDIDATES likeliest tokens; None when that cannot tell exactly what the full sort would:
    the nucleus needs more tokens, or its edge cuts a run of tied probabilities (which of them the
    full sort keeps depends on its order among equals)."""
    edge = probs.size - NUCLEUS_CANDIDATES
    if edge <= 0:
        return None
    candidates = np.flatnonzero(probs >= np.partition(probs, edge)[edge])  # ties at the edge included
    ranked = np.sort(probs[candidates])[::-1]
    # nucleus()'s arithmetic: torch's CPU cumsum accumulates in double, rounds each sum to float32
    before = np.cumsum(ranked, dtype=np.float64).astype(np.float32) - ranked
    n = max(1, int(np.count_nonzero(before < top_p)))  # a prefix: `before` never decreases
    if n >= candidates.size or ranked[n] == ranked[n - 1]:
        return None
    return candidates[probs[candidates] >= ranked[n - 1]]


def _kept_ids(probs: torch.Tensor, top_p: torch.Tensor) -> np.ndarray:
    """nucleus_ids(), or the full sort's answer where it gives none."""
    ids = nucleus_ids(probs.numpy(), np.float32(top_p.item()))
    if ids is None:
        _, order, n_kept = nucleus(probs.unsqueeze(0), top_p.unsqueeze(0))
        ids = np.sort(order[0, : int(n_kept[0])].numpy())
    return ids


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

    The nucleus comes from a partial sort (nucleus_ids) and the CDF is summed over the kept tokens
    only, in numpy: the same numbers as sorting and summing all 1,019, at a fraction of the operators.
    """
    logits = logits.float() if bias is None else logits.float() + bias
    logits = torch.round(logits / LOGIT_QUANTUM) * LOGIT_QUANTUM
    logits = logits.masked_fill(banned, float("-inf"))
    probs = torch.softmax(logits / temperature.unsqueeze(-1), dim=-1)
    picks = []
    for row, generator in enumerate(generators):
        ids = _kept_ids(probs[row], top_p[row])
        p = probs[row].numpy()
        if ids.size <= 2:  # the reference's repetition rule: sample hotter when top-p leaves <= 2 tokens
            hotter = torch.softmax(logits[row : row + 1] / (temperature[row : row + 1] * repetition_penalty[row : row + 1]).unsqueeze(-1), dim=-1)[0]
            ids, p = _kept_ids(hotter, top_p[row]), hotter.numpy()
        cdf = np.cumsum(p[ids], dtype=np.float64).astype(np.float32)  # as torch's cumsum over the whole row
        u = np.float32(torch.rand(1, generator=generator).item()) * cdf[-1]
        k = int(np.searchsorted(cdf, u, side="right"))
        picks.append(int(ids[k]) if k < ids.size else probs.shape[-1] - 1)  # as the full row's clamped search
    return picks
