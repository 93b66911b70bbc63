"""Batched, KV-cached generation that follows per-scene V/A and steers CHORDs onto the cuts."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from emsync_core.music.api import GenerationRequest, GenerationResult, SamplingSettings, scene_at
from emsync_core.music.arrange import arrange, parts_to_midi
from emsync_core.music.cut_chords import ACCENT_LOOKBACK_S, HOLD_S, chord_tokens
from emsync_core.music.ensemble import parse_ensemble
from emsync_core.music.checkpoint import SHIPPED_CHECKPOINT, CheckpointMeta, file_sha256, load_checkpoint
from emsync_core.music.model import BOUNDARY_MAX_S, Conditions, KVCache, MusicTransformer
from emsync_core.music.sampling import NEVER_SAMPLED, guided, loss_weight_correction, sample_rows
from emsync_core.music.tokens import chord_token_times, decode
from emsync_core.music.valence_cues import TonalCentre, cue_logits
from emsync_core.music.vocab import GROUPS, STEP_S, VOCAB, velocity_bin

PRIMER = (VOCAB.start, VOCAB.more, VOCAB.bar)
#: a CHORD within this many seconds of a pending cut is that cut's chord; every other cut gets its
#: CHORD and chord from the decoder when the time cursor reaches it
CUT_CONSUME_S = 0.25
DRUM_GROUP = GROUPS.index("drums")
DEFAULT_VELOCITY_BIN = velocity_bin(80)  # decode's velocity before the first velocity token


@dataclass
class _Sequence:
    """Mutable state of one request while it is being generated."""

    request: GenerationRequest
    generator: torch.Generator
    use_boundary: bool
    realise_cuts: bool = True
    tokens: list[int] = field(default_factory=list)
    token_valence: list[float] = field(default_factory=list)
    token_arousal: list[float] = field(default_factory=list)
    boundary: list[float] = field(default_factory=list)
    cursor: int = 0  # in 8 ms steps
    pending: list[float] = field(default_factory=list)
    mask: torch.Tensor = field(default_factory=lambda: _BASE_MASK.clone())  # banned tokens, kept up to date
    centre: TonalCentre = field(default_factory=TonalCentre)
    forced: list[int] = field(default_factory=list)  # decoder-written tokens still to emit
    held: dict[int, int] = field(default_factory=dict)  # NOTE_OFF token -> step before which it is banned
    cut_chords: int = 0
    mode_major: bool | None = None  # the mode of the last scene with a valence sign
    velocity_bin: int = DEFAULT_VELOCITY_BIN
    pitched_on_bins: list[tuple[int, int]] = field(default_factory=list)  # (step, velocity bin) of pitched NOTE_ONs
    started: float = 0.0
    finished_at: float | None = None

    def __post_init__(self) -> None:
        self.scene_starts = [s.start_s for s in self.request.scenes]
        self.global_va = _global_va(self.request)

    @property
    def now(self) -> float:
        return self.cursor * STEP_S

    @property
    def done(self) -> bool:
        r = self.request
        return self.now >= r.duration_s or len(self.tokens) >= r.sampling.max_tokens

    @property
    def guidance(self) -> float:
        return self.request.sampling.valence_guidance

    def scene_va(self) -> tuple[float, float]:
        scene = self.request.scenes[scene_at(self.scene_starts, self.now)]
        return scene.valence, scene.arousal

    def accept(self, sampled: int) -> None:
        """Push the sampled token, or what the decoder writes instead: its queued chord tokens, or a
        TIMESHIFT shortened to land on a pending cut followed by that cut's CHORD and chord."""
        if self.realise_cuts and not self.forced and self.pending:
            to_cut = int(round(self.pending[0] / STEP_S)) - self.cursor
            if to_cut == 0:
                self.forced.append(VOCAB.chord)
            elif VOCAB.is_shift(sampled) and 0 < to_cut < VOCAB.shift_steps(sampled):
                sampled = VOCAB.shift(to_cut)  # one token per step: the CHORD follows on the next
                self.forced.append(VOCAB.chord)
                self.push(sampled)
                return
        self.push(self.forced.pop(0) if self.forced else sampled)

    def push(self, tok: int) -> None:
        """Append a token, advance the time cursor, consume/drop cuts, record its conditioning."""
        self.tokens.append(tok)
        self.centre.add(tok)
        if VOCAB.is_shift(tok):
            self.cursor += VOCAB.shift_steps(tok)
            self._follow_mode()
        elif VOCAB.is_on(tok):
            if VOCAB.note_of(tok)[0] != DRUM_GROUP:
                self.pitched_on_bins.append((self.cursor, self.velocity_bin))
            off = tok - VOCAB.on0 + VOCAB.off0
            self.mask[off] = off in self.held  # its NOTE_OFF becomes allowed (after a held chord's beat)
        elif VOCAB.is_off(tok):
            self.mask[tok] = True
        elif VOCAB.is_vel(tok):
            self.velocity_bin = tok - VOCAB.vel0
        elif tok == VOCAB.chord and self.pending:
            nearest = min(self.pending, key=lambda c: abs(c - self.now))
            if abs(nearest - self.now) <= CUT_CONSUME_S:
                self.pending.remove(nearest)
                if self.realise_cuts:
                    self._queue_cut_chord()
        if self.pending and self.pending[0] < self.now - CUT_CONSUME_S:
            self.pending = [c for c in self.pending if c >= self.now - CUT_CONSUME_S]
        v, a = self.scene_va()
        self.token_valence.append(v)
        self.token_arousal.append(a)
        if not self.use_boundary:
            self.boundary.append(float("nan"))
        else:
            self.boundary.append(min(BOUNDARY_MAX_S, self.pending[0] - self.now) if self.pending else BOUNDARY_MAX_S)

    def _follow_mode(self) -> None:
        """At the first step into a scene whose valence sign differs from the last signed scene's,
        the tonal centre changes mode (to the parallel key)."""
        v = self.scene_va()[0]
        if v != 0 and self.mode_major is not None and (v > 0) != self.mode_major:
            self.centre.change_mode(v > 0)
        if v != 0:
            self.mode_major = v > 0

    def _queue_cut_chord(self) -> None:
        """The accented chord after a cut's CHORD (cut_chords.py); its notes are held for a beat."""
        tonic, major = self.centre.key(self.scene_va()[0])
        since = self.cursor - int(round(ACCENT_LOOKBACK_S / STEP_S))
        loudest = max((b for step, b in self.pitched_on_bins if step >= since), default=0)
        toks = chord_tokens(tonic, major, self.cut_chords, self.velocity_bin, loudest)
        self.cut_chords += 1
        until = self.cursor + int(round(HOLD_S / STEP_S))
        for t in toks:
            if VOCAB.is_on(t):
                self.held[t - VOCAB.on0 + VOCAB.off0] = until
        self.forced = toks + self.forced

    def banned(self) -> torch.Tensor:
        """Never-sampled tokens, NOTE_OFFs of silent or held notes, and CHORD away from cuts when gated."""
        for off, until in list(self.held.items()):
            if self.cursor >= until:
                del self.held[off]
                self.mask[off] = False  # still sounding: its OFF was banned while held
        gate = self.request.sampling.chord_gate_s
        if gate is not None:
            self.mask[VOCAB.chord] = not any(abs(c - self.now) <= gate for c in self.pending)
        return self.mask

    def cues(self) -> torch.Tensor:
        """Valence-cue logit offsets for the next token, from the scene it falls in."""
        return cue_logits(self.scene_va()[0], self.centre, self.request.sampling.valence_cues)


def _base_mask() -> torch.Tensor:
    mask = torch.zeros(VOCAB.size, dtype=torch.bool)
    mask[list(NEVER_SAMPLED)] = True
    mask[VOCAB.off0 : VOCAB.vel0] = True
    return mask


_BASE_MASK = _base_mask()


@dataclass(frozen=True)
class _Row:
    """One batch row of the model: a sequence with its valence, or its guidance twin without it
    (valence replaced by the learned null vector; arousal and boundaries kept)."""

    seq: _Sequence
    valence: bool


def validate(request: GenerationRequest) -> None:
    """Reject requests the loop cannot honour, with a message naming the request."""
    if not request.duration_s > 0:
        raise ValueError(f"{request.request_id}: duration_s must be positive")
    if not request.scenes:
        raise ValueError(f"{request.request_id}: at least one SceneCondition is required")
    for s in request.scenes:
        if not (-1.0 <= s.valence <= 1.0 and -1.0 <= s.arousal <= 1.0):
            raise ValueError(f"{request.request_id}: valence/arousal must lie in [-1, 1]")
    if request.sampling.valence_guidance < 0 or request.sampling.valence_cues < 0:
        raise ValueError(f"{request.request_id}: valence_guidance and valence_cues must be >= 0")
    try:
        parse_ensemble(request.sampling.ensemble)
    except ValueError as exc:
        raise ValueError(f"{request.request_id}: {exc}") from None


def _global_va(request: GenerationRequest) -> tuple[float, float]:
    """Duration-weighted mean V/A of the scenes: the prepended, whole-piece condition."""
    starts = [max(0.0, s.start_s) for s in request.scenes] + [request.duration_s]
    w = [max(1e-6, min(starts[i + 1], request.duration_s) - starts[i]) for i in range(len(request.scenes))]
    total = sum(w)
    return (
        sum(wi * s.valence for wi, s in zip(w, request.scenes)) / total,
        sum(wi * s.arousal for wi, s in zip(w, request.scenes)) / total,
    )


def _rows(seqs: list[_Sequence]) -> list[_Row]:
    """Every sequence once, then a valence-free twin for each guided one."""
    return [_Row(s, True) for s in seqs] + [_Row(s, False) for s in seqs if s.guidance != 1.0]


class Generator:
    """Loads once (per Ray actor), then generates batches of requests."""

    def __init__(self, model: MusicTransformer, meta: CheckpointMeta, sha256: str, device: str = "cpu") -> None:
        self.model = model.to(device).eval()
        self.meta = meta
        self.sha256 = sha256
        self.device = device
        self.bias = loss_weight_correction({VOCAB.chord: float(meta.training.get("chord_weight", 1.0))}, VOCAB.size)
        self._settings: tuple[list[SamplingSettings], tuple[torch.Tensor, ...]] = ([], ())

    @property
    def context(self) -> int:
        return self.model.cfg.context

    def _conditions(self, rows: list[_Row], lo: int, hi: int) -> Conditions:
        """Conditions for tokens [lo, hi) of every row (all sequences share a length); NaN = null vector."""
        nan = float("nan")
        span = hi - lo
        return Conditions(
            valence=torch.tensor([r.seq.global_va[0] if r.valence else nan for r in rows], device=self.device),
            arousal=torch.tensor([r.seq.global_va[1] for r in rows], device=self.device),
            token_valence=torch.tensor([r.seq.token_valence[lo:hi] if r.valence else [nan] * span for r in rows], device=self.device),
            token_arousal=torch.tensor([r.seq.token_arousal[lo:hi] for r in rows], device=self.device),
            boundary=torch.tensor([r.seq.boundary[lo:hi] for r in rows], device=self.device),
        )

    def _window(self, rows: list[_Row], keep: int, keep_cache: bool = True) -> tuple[torch.Tensor, KVCache | None]:
        """Encode the last `keep` tokens from scratch; returns last logits and (prefill) a fresh cache."""
        n = len(rows[0].seq.tokens)
        lo = max(0, n - keep)
        toks = torch.tensor([r.seq.tokens[lo:] for r in rows], device=self.device)
        logits, cache = self.model(toks, self._conditions(rows, lo, n), keep_cache=keep_cache)
        return logits[:, -1], cache

    def _step(self, rows: list[_Row], cache: KVCache) -> torch.Tensor:
        """One cached step: the newest token of every row in, next-token logits out."""
        nan = float("nan")
        return self.model.step(
            [r.seq.tokens[-1] for r in rows],
            [r.seq.token_valence[-1] if r.valence else nan for r in rows],
            [r.seq.token_arousal[-1] for r in rows],
            [r.seq.boundary[-1] for r in rows],
            cache,
        )

    def _sample(self, active: list[_Sequence], logits: torch.Tensor) -> None:
        """Valence guidance (twin rows follow the conditioned ones) and cues, then one sampled token per sequence."""
        n = len(active)
        conditioned = logits[:n]
        guided_rows = [i for i, s in enumerate(active) if s.guidance != 1.0]
        if guided_rows:
            idx = torch.tensor(guided_rows)
            weight = torch.tensor([active[i].guidance for i in guided_rows])
            conditioned = conditioned.clone()
            conditioned[idx] = guided(conditioned[idx], logits[n:], weight)
        settings = [s.request.sampling for s in active]
        bias = self.bias
        if any(x.valence_cues for x in settings):
            bias = bias + torch.stack([s.cues() for s in active])
        picks = sample_rows(conditioned, torch.stack([s.banned() for s in active]), *self._setting_rows(settings), [s.generator for s in active], bias)
        for s, tok in zip(active, picks):
            s.accept(tok)

    def _setting_rows(self, settings: list[SamplingSettings]) -> tuple[torch.Tensor, ...]:
        """(R,) temperature, top-p and repetition penalty, built again only when the batch changes."""
        last, rows = self._settings
        if len(last) != len(settings) or any(a is not b for a, b in zip(last, settings)):
            rows = tuple(torch.tensor([getattr(x, name) for x in settings]) for name in ("temperature", "top_p", "repetition_penalty"))
            self._settings = (settings, rows)
        return rows

    @torch.inference_mode()
    def generate(
        self,
        requests: list[GenerationRequest],
        *,
        use_boundary: bool = True,
        realise_cuts: bool = True,
        kv_cache: bool = True,
        cached_until: int = 0,
        on_step: Callable[[int], None] | None = None,
    ) -> list[GenerationResult]:
        """Generate every request in lockstep. `use_boundary=False` feeds the null boundary vector
        (ablation); `realise_cuts=False` leaves the cuts to the model alone (no decoder-written
        CHORD and chord at each cut; ablation); `kv_cache=False` re-runs the whole window each step (the reference's loop, for
        benchmarks), after the first `cached_until` tokens, which still use the cache (so a benchmark
        reaches a full window quickly); `on_step` is called with the sequence length after every step."""
        t0 = time.perf_counter()
        seqs = []
        for r in requests:
            validate(r)
            g = torch.Generator().manual_seed(int(r.seed))
            s = _Sequence(r, g, use_boundary, realise_cuts, pending=sorted(c for c in r.cuts_s if 0 <= c <= r.duration_s), started=t0)
            for tok in PRIMER:
                s.push(tok)
            seqs.append(s)
        active = list(seqs)
        rows = _rows(active)
        last, cache = self._window(rows, self.context)
        while active:
            self._sample(active, last)
            if on_step:
                on_step(len(active[0].tokens))
            for s in active:
                if s.done and s.finished_at is None:
                    s.finished_at = time.perf_counter()
            if all(s.done for s in active):
                break
            if any(s.done for s in active):
                active = [s for s in active if not s.done]
                keep = [i for i, r in enumerate(rows) if not r.seq.done]
                cache = None if cache is None else cache.select(torch.tensor(keep, device=self.device))
                rows = [rows[i] for i in keep]
            if not kv_cache and len(active[0].tokens) >= cached_until:  # the reference's loop keeps no cache
                last, cache = self._window(rows, self.context, keep_cache=False)
            elif cache.tokens >= cache.capacity:
                last, cache = self._window(rows, self.context // 2)
            else:
                last = self._step(rows, cache)
        return [self._result(s) for s in seqs]

    def _result(self, s: _Sequence) -> GenerationResult:
        r = s.request
        notes = decode(s.tokens, end_s=r.duration_s)
        parts = arrange(notes, r.scenes, r.duration_s, parse_ensemble(r.sampling.ensemble), r.sampling.valence_cues)
        return GenerationResult(
            request_id=r.request_id,
            midi_bytes=parts_to_midi(parts, r.cuts_s, [t for t in chord_token_times(s.tokens, VOCAB.bar) if t < r.duration_s]),
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
