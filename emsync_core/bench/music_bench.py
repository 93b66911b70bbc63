"""`emsync bench music`: KV-cached generation against the reference's full-window loop, same model, same run.

Speed is measured in the steady state, once the window is full: that is where every real soundtrack
spends most of its steps (30 s of music is ~900 tokens, the small window 512), and where the
reference's loop pays for the whole window on every token. A whole request from the primer is timed
too, and the reference-size preset is measured with untrained weights (speed does not depend on
the weight values, and no reference checkpoint is trained on this machine).
"""

from __future__ import annotations

import json
import resource
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from emsync_core.music import GenerationRequest, SamplingSettings, SceneCondition, load_generator
from emsync_core.music.checkpoint import CheckpointMeta
from emsync_core.music.generator import Generator
from emsync_core.music.labels import MinMaxScaler
from emsync_core.music.model import PRESETS, MusicTransformer
from emsync_core.music.vocab import MAX_SHIFT_STEPS, STEP_S

STEADY_STEPS = 32  # timed full-window steps per row (the reference-size window: 8, each costs seconds)
#: seeds of the real-time measurement: tokens per second of music vary a lot between seeds (one 60 s
#: request took 1,578 tokens, another 4,025), so one request is no measure of real time
REALTIME_SEEDS = (7, 8, 9, 10)


@dataclass(frozen=True)
class SpeedRow:
    model: str
    batch: int
    loop: str  # "kv cache" or "full window"
    regime: str  # "steady state" or "whole request"
    tokens: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.wall_s


def _requests(batch: int, n_tokens: int) -> list[GenerationRequest]:
    """Requests that stop at `n_tokens`: no token moves time by more than the longest TIMESHIFT, so
    the duration is never reached first (and the arrangement, untimed, has no hour of bars to fill)."""
    sampling = SamplingSettings(max_tokens=n_tokens)
    duration_s = n_tokens * MAX_SHIFT_STEPS * STEP_S
    return [
        GenerationRequest(f"bench{i}", duration_s, (SceneCondition(0.0, 0.3, 0.3),), (5.0, 10.0), seed=i, sampling=sampling)
        for i in range(batch)
    ]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def steady_state(gen: Generator, name: str, batch: int, kv_cache: bool, full_window_steps: int) -> SpeedRow:
    """Tokens/s over steps taken with a full window (the cached loop's periodic re-encoding of half a
    window included: a whole window of steps is timed); the window is first filled with the cache, untimed."""
    ctx = gen.context
    n_tokens = ctx + (ctx if kv_cache else full_window_steps)
    marks: list[tuple[int, float, float]] = []
    gen.generate(
        _requests(batch, n_tokens), kv_cache=kv_cache, cached_until=ctx,
        on_step=lambda n: marks.append((n, time.perf_counter(), time.process_time())),
    )
    timed = [m for m in marks if m[0] >= ctx]
    steps = len(timed) - 1
    return SpeedRow(
        name, batch, "kv cache" if kv_cache else "full window", "steady state", steps * batch,
        timed[-1][1] - timed[0][1], timed[-1][2] - timed[0][2], _rss_mb(),
    )


def whole_request(gen: Generator, name: str, music_s: float, kv_cache: bool, sampling: SamplingSettings = SamplingSettings(), seed: int = 7) -> SpeedRow:
    """One request of `music_s` seconds from the primer to the end, batch 1."""
    req = GenerationRequest("rt", music_s, (SceneCondition(0.0, 0.3, 0.3),), (music_s / 3, 2 * music_s / 3), seed=seed, sampling=sampling)
    w, c = time.perf_counter(), time.process_time()
    res = gen.generate([req], kv_cache=kv_cache)[0]
    return SpeedRow(
        name, 1, "kv cache" if kv_cache else "full window", f"whole request ({music_s:.0f} s of music)",
        res.n_tokens, time.perf_counter() - w, time.process_time() - c, _rss_mb(),
    )


def real_time(gen: Generator, music_s: float, sampling: SamplingSettings) -> SpeedRow:
    """Requests of `music_s` seconds one after another at batch 1, one per seed of REALTIME_SEEDS, summed."""
    rows = [whole_request(gen, gen.meta.version, music_s, True, sampling, seed) for seed in REALTIME_SEEDS]
    return SpeedRow(
        gen.meta.version, 1, "kv cache", f"real time ({len(rows)} x {music_s:.0f} s)", sum(r.tokens for r in rows),
        sum(r.wall_s for r in rows), sum(r.cpu_s for r in rows), max(r.peak_rss_mb for r in rows),
    )


def untrained(preset: str) -> Generator:
    torch.manual_seed(0)
    cfg = PRESETS[preset]
    meta = CheckpointMeta(f"{preset}-untrained", cfg, MinMaxScaler(0.0, 10.0), MinMaxScaler(0.0, 10.0))
    return Generator(MusicTransformer(cfg), meta, "0" * 64)


def run_music_bench(checkpoint: str | None, out: str, music_s: float, whole_s: float, threads: int, reference: bool) -> dict:
    torch.set_num_threads(threads)
    console = Console()
    gen = load_generator(checkpoint)
    with console.status(f"{len(REALTIME_SEEDS)} x {music_s:.0f} s of music, batch 1, KV cache"):
        realtime = real_time(gen, music_s, SamplingSettings())
    with console.status(f"{len(REALTIME_SEEDS)} x {music_s:.0f} s of music, batch 1, KV cache, valence cues off"):
        # the cues change how many tokens a second of music takes, so real time is reported both ways
        plain = real_time(gen, music_s, SamplingSettings(valence_cues=0.0))
    plain = replace(plain, regime=f"{plain.regime}, valence cues off")
    rows: list[SpeedRow] = [realtime, plain]
    models = [(gen.meta.version, gen, (1, 8), STEADY_STEPS)]
    if reference:
        models.append(("reference preset (untrained)", untrained("reference"), (1,), STEADY_STEPS // 4))
    for name, g, batches, steps in models:
        for batch in batches:
            for cache in (True, False):
                with console.status(f"{name}: batch {batch}, {'KV cache' if cache else 'full window'}, steady state"):
                    rows.append(steady_state(g, name, batch, cache, steps))
    for cache in (True, False):
        with console.status(f"whole request of {whole_s:.0f} s, {'KV cache' if cache else 'full window'}"):
            rows.append(whole_request(gen, gen.meta.version, whole_s, cache))

    def ratio(name: str, batch: int, regime: str, clock: str = "wall_s") -> float:
        """KV cache over full window in tokens per second of the given clock; CPU seconds are the
        steadier figure on a shared machine (a waiting process accrues none)."""
        pick = {r.loop: r for r in rows if r.model == name and r.batch == batch and r.regime.startswith(regime)}
        per_s = {loop: r.tokens / getattr(r, clock) for loop, r in pick.items()}
        return per_s["kv cache"] / per_s["full window"]

    realtime_s = music_s * len(REALTIME_SEEDS)
    report = {
        "threads": threads,
        "context": {name: g.context for name, g, _, _ in models},
        "rows": [asdict(r) | {"tokens_per_s": round(r.tokens_per_s, 1)} for r in rows],
        "speedup": {
            f"{name} batch {b} steady state": round(ratio(name, b, "steady"), 1) for name, _, batches, _ in models for b in batches
        } | {f"{gen.meta.version} whole request": round(ratio(gen.meta.version, 1, "whole"), 1)},
        "speedup_cpu_s": {
            f"{name} batch {b} steady state": round(ratio(name, b, "steady", "cpu_s"), 1) for name, _, batches, _ in models for b in batches
        } | {f"{gen.meta.version} whole request": round(ratio(gen.meta.version, 1, "whole", "cpu_s"), 1)},
        "music_seconds": realtime_s,
        "music_tokens": realtime.tokens,
        "cpu_s_per_music_minute": realtime.cpu_s / realtime_s * 60,
        "real_time_factor": realtime_s / realtime.wall_s,
        "music_tokens_cues_off": plain.tokens,
        "cpu_s_per_music_minute_cues_off": plain.cpu_s / realtime_s * 60,
        "real_time_factor_cues_off": realtime_s / plain.wall_s,
        "peak_rss_mb_realtime": realtime.peak_rss_mb,
        "model_version": gen.meta.version,
    }
    table = Table(title=f"music generation speed ({threads} thread(s); speed-up = KV cache / full window, same model, same run)")
    for col in ("model", "batch", "regime", "loop", "tokens", "wall s", "CPU s", "tokens/s", "peak RSS MB"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r.model, str(r.batch), r.regime, r.loop, str(r.tokens), f"{r.wall_s:.2f}", f"{r.cpu_s:.2f}", f"{r.tokens_per_s:.1f}", f"{r.peak_rss_mb:.0f}")
    console.print(table)
    for k, v in report["speedup"].items():
        console.print(f"KV-cache speed-up, {k}: [bold]{v}x[/bold] (in CPU seconds: {report['speedup_cpu_s'][k]}x)")
    console.print(
        f"{report['music_seconds']:.0f} s of music at batch 1: {report['cpu_s_per_music_minute']:.1f} CPU-s per minute of music, "
        f"{report['real_time_factor']:.1f}x real time, peak RSS {realtime.peak_rss_mb:.0f} MB "
        f"({realtime.tokens} tokens; valence cues off: {plain.tokens} tokens, "
        f"{report['cpu_s_per_music_minute_cues_off']:.1f} CPU-s per minute, {report['real_time_factor_cues_off']:.1f}x real time)"
    )
    path = Path(out) / "music.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))
    return report
