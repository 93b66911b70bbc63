"""Batched, KV-cached generation that follows per-scene V/A and steers CHORDs onto the cuts."""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from emsync_core.music.api import GenerationRequest, GenerationResult
from emsync_core.music.checkpoint import SHIPPED_CHECKPOINT, CheckpointMeta, file_sha256, load_checkpoint
from emsync_core.music.model import BOUNDARY_MAX_S, N_PREFIX, Conditions, KVCache, MusicTransformer
from emsync_core.music.sampling import NEVER_SAMPLED, loss_weight_correction, sample_token
from emsync_core.music.tokens import chord_token_times, decode, to_midi_bytes
from emsync_core.music.vocab import STEP_S, VOCAB

PRIMER = (VOCAB.start, VOCAB.more, VOCAB.bar)
CUT_CONSUME_S = 1.0  # a CHORD within +/-1 s of a pending cut consumes it; cuts 1 s in the past are dropped


@dataclass
class _Sequence:
    """Mutable state of one request while it is being generated."""

    request: GenerationRequest
    generator: torch.Generator
    use_boundary: bool
    tokens: list[int] = field(default_factory=list)
    token_valence: list[float] = field(default_factory=list)
    token_arousal: list[float] = field(default_factory=list)
    boundary: list[float] = field(default_factory=list)
    cursor: int = 0  # in 8 ms steps
    pending: list[float] = field(default_factory=list)
    open_notes: set[int] = field(default_factory=set)  # NOTE_OFF token ids that are allowed
    started: float = 0.0
    finished_at: float | None = None

    @property
    def now(self) -> float:
        return self.cursor * STEP_S

    @property
    def done(self) -> bool:
        r = self.request
        return self.now >= r.duration_s or len(self.tokens) >= r.sampling.max_tokens

    def scene_va(self) -> tuple[float, float]:
        scenes = self.request.scenes
        i = max(0, bisect.bisect_right([s.start_s for s in scenes], self.now) - 1)
        return scenes[i].valence, scenes[i].arousal

    def push(self, tok: int) -> None:
        """Append a token, advance the time cursor, consume/drop cuts, record its conditioning."""
        self.tokens.append(tok)
        if VOCAB.is_shift(tok):
            self.cursor += VOCAB.shift_steps(tok)
        elif VOCAB.is_on(tok):
            self.open_notes.add(tok - VOCAB.on0 + VOCAB.off0)
        elif VOCAB.is_off(tok):
            self.open_notes.discard(tok)
        elif tok == VOCAB.chord and self.pending:
            nearest = min(self.pending, key=lambda c: abs(c - self.now))
            if abs(nearest - self.now) <= CUT_CONSUME_S:
                self.pending.remove(nearest)
        self.pending = [c for c in self.pending if c >= self.now - CUT_CONSUME_S]
        v, a = self.scene_va()
        self.token_valence.append(v)
        self.token_arousal.append(a)
        if not self.use_boundary:
            self.boundary.append(float("nan"))
        else:
            self.boundary.append(min(BOUNDARY_MAX_S, self.pending[0] - self.now) if self.pending else BOUNDARY_MAX_S)

    def banned(self) -> torch.Tensor:
        mask = torch.zeros(VOCAB.size, dtype=torch.bool)
        mask[list(NEVER_SAMPLED)] = True
        mask[VOCAB.off0 : VOCAB.vel0] = True
        if self.open_notes:
            mask[list(self.open_notes)] = False
        gate = self.request.sampling.chord_gate_s
        if gate is not None and not any(abs(c - self.now) <= gate for c in self.pending):
            mask[VOCAB.chord] = True
        return mask


def validate(request: GenerationRequest) -> None:
    """Reject requests the loop cannot honour, with a message naming the request."""
    if not request.duration_s > 0:
        raise ValueError(f"{request.request_id}: duration_s must be positive")
    if not request.scenes:
        raise ValueError(f"{request.request_id}: at least one SceneCondition is required")
    for s in request.scenes:
        if not (-1.0 <= s.valence <= 1.0 and -1.0 <= s.arousal <= 1.0):
            raise ValueError(f"{request.request_id}: valence/arousal must lie in [-1, 1]")


def _global_va(request: GenerationRequest) -> tuple[float, float]:
    """Duration-weighted mean V/A of the scenes: the prepended, whole-piece condition."""
    starts = [max(0.0, s.start_s) for s in request.scenes] + [request.duration_s]
    w = [max(1e-6, min(starts[i + 1], request.duration_s) - starts[i]) for i in range(len(request.scenes))]
    total = sum(w)
    return (
        sum(wi * s.valence for wi, s in zip(w, request.scenes)) / total,
        sum(wi * s.arousal for wi, s in zip(w, request.scenes)) / total,
    )


class Generator:
    """Loads once (per Ray actor), then generates batches of requests."""

    def __init__(self, model: MusicTransformer, meta: CheckpointMeta, sha256: str, device: str = "cpu") -> None:
        self.model = model.to(device).eval()
        self.meta = meta
        self.sha256 = sha256
        self.device = device
        self.bias = loss_weight_correction({VOCAB.chord: float(meta.training.get("chord_weight", 1.0))}, VOCAB.size)

    @property
    def context(self) -> int:
        return self.model.cfg.context

    def _conditions(self, seqs: list[_Sequence], lo: int, hi: int) -> Conditions:
        """Conditions for tokens [lo, hi) of every sequence (all sequences share a length)."""
        dev = self.device
        gva = [_global_va(s.request) for s in seqs]
        return Conditions(
            valence=torch.tensor([g[0] for g in gva], device=dev),
            arousal=torch.tensor([g[1] for g in gva], device=dev),
            token_valence=torch.tensor([s.token_valence[lo:hi] for s in seqs], device=dev),
            token_arousal=torch.tensor([s.token_arousal[lo:hi] for s in seqs], device=dev),
            boundary=torch.tensor([s.boundary[lo:hi] for s in seqs], device=dev),
        )

    def _window(self, seqs: list[_Sequence], keep: int) -> tuple[torch.Tensor, KVCache]:
        """Run the last `keep` tokens from scratch (prefill); returns last logits and a fresh cache."""
        n = len(seqs[0].tokens)
        lo = max(0, n - keep)
        toks = torch.tensor([s.tokens[lo:] for s in seqs], device=self.device)
        logits, cache = self.model(toks, self._conditions(seqs, lo, n))
        return logits[:, -1], cache

    @torch.no_grad()
    def generate(
        self, requests: list[GenerationRequest], *, use_boundary: bool = True, kv_cache: bool = True
    ) -> list[GenerationResult]:
        """Generate every request in lockstep. `use_boundary=False` feeds the null boundary vector
        (ablation); `kv_cache=False` re-runs the whole window each step (the reference's loop, for benchmarks)."""
        t0 = time.perf_counter()
        seqs = []
        for r in requests:
            validate(r)
            g = torch.Generator().manual_seed(int(r.seed))
            s = _Sequence(r, g, use_boundary, pending=sorted(c for c in r.cuts_s if 0 <= c <= r.duration_s), started=t0)
            for tok in PRIMER:
                s.push(tok)
            seqs.append(s)
        active = list(seqs)
        last, cache = self._window(active, self.context)
        while active:
            for row, s in enumerate(active):
                s.push(sample_token(last[row], s.banned(), s.request.sampling, s.generator, self.bias))
            still = [i for i, s in enumerate(active) if not s.done]
            for s in active:
                if s.done and s.finished_at is None:
                    s.finished_at = time.perf_counter()
            if not still:
                break
            if len(still) < len(active):
                idx = torch.tensor(still, device=self.device)
                cache = [(k.index_select(0, idx), v.index_select(0, idx)) for k, v in cache]
                active = [active[i] for i in still]
            n = len(active[0].tokens)
            if not kv_cache:
                last, cache = self._window(active, self.context)
            elif cache[0][0].shape[2] - N_PREFIX >= self.context:
                last, cache = self._window(active, self.context // 2)
            else:
                toks = torch.tensor([[s.tokens[-1]] for s in active], device=self.device)
                logits, cache = self.model(toks, self._conditions(active, n - 1, n), cache)
                last = logits[:, -1]
        return [self._result(s) for s in seqs]

    def _result(self, s: _Sequence) -> GenerationResult:
        r = s.request
        notes = decode(s.tokens, end_s=r.duration_s)
        return GenerationResult(
            request_id=r.request_id,
            midi_bytes=to_midi_bytes(notes, r.cuts_s),
            chord_onsets_s=[t for t in chord_token_times(s.tokens) if t < r.duration_s],
            n_tokens=len(s.tokens),
            seconds=round((s.finished_at or time.perf_counter()) - s.started, 4),
            model_version=self.meta.version,
            model_sha256=self.sha256,
        )


def load_generator(checkpoint: str | None = None, device: str = "cpu") -> Generator:
    """Load a checkpoint (default: the shipped small one) into a ready Generator."""
    path = Path(checkpoint) if checkpoint else SHIPPED_CHECKPOINT
    model, meta = load_checkpoint(path, device)
    return Generator(model, meta, file_sha256(path), device)
