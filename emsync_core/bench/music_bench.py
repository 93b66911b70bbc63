"""`emsync bench music`: KV-cached generation against the reference's full-window loop, same model, same run."""

from __future__ import annotations

import json
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from emsync_core.music import GenerationRequest, SamplingSettings, SceneCondition, load_generator
from emsync_core.music.generator import Generator


@dataclass(frozen=True)
class SpeedRow:
    batch: int
    kv_cache: bool
    tokens: int
    wall_s: float
    cpu_s: float

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.wall_s


def _requests(batch: int, n_tokens: int, duration_s: float) -> list[GenerationRequest]:
    sampling = SamplingSettings(max_tokens=n_tokens)
    return [
        GenerationRequest(f"bench{i}", duration_s, (SceneCondition(0.0, 0.3, 0.3),), (5.0, 10.0), seed=i, sampling=sampling)
        for i in range(batch)
    ]


def measure(gen: Generator, batch: int, kv_cache: bool, n_tokens: int) -> SpeedRow:
    """Generate `n_tokens` per sequence (the duration is long enough never to stop earlier)."""
    reqs = _requests(batch, n_tokens, duration_s=3600.0)
    w, c = time.perf_counter(), time.process_time()
    results = gen.generate(reqs, kv_cache=kv_cache)
    return SpeedRow(batch, kv_cache, sum(r.n_tokens for r in results), time.perf_counter() - w, time.process_time() - c)


def run_music_bench(checkpoint: str | None, out: str, tokens: int, music_s: float, threads: int) -> dict:
    torch.set_num_threads(threads)
    console = Console()
    gen = load_generator(checkpoint)
    n_tokens = tokens or gen.context
    rows = []
    for batch in (1, 8):
        for cache in (True, False):
            with console.status(f"batch {batch}, kv_cache={cache}, {n_tokens} tokens each"):
                rows.append(measure(gen, batch, cache, n_tokens))
    with console.status(f"{music_s:.0f} s of music, batch 1"):
        req = GenerationRequest("rt", music_s, (SceneCondition(0.0, 0.3, 0.3),), (music_s / 3, 2 * music_s / 3), seed=7)
        w, c = time.perf_counter(), time.process_time()
        res = gen.generate([req])[0]
        wall, cpu = time.perf_counter() - w, time.process_time() - c
    speed = {(r.batch, r.kv_cache): r for r in rows}
    report = {
        "model_version": gen.meta.version,
        "threads": threads,
        "tokens_per_sequence": n_tokens,
        "rows": [
            {"batch": r.batch, "kv_cache": r.kv_cache, "tokens": r.tokens, "wall_s": round(r.wall_s, 2),
             "cpu_s": round(r.cpu_s, 2), "tokens_per_s": round(r.tokens_per_s, 1)}
            for r in rows
        ],
        "speedup_batch1": speed[(1, True)].tokens_per_s / speed[(1, False)].tokens_per_s,
        "speedup_batch8": speed[(8, True)].tokens_per_s / speed[(8, False)].tokens_per_s,
        "music_seconds": music_s,
        "music_tokens": res.n_tokens,
        "cpu_s_per_music_minute": cpu / music_s * 60,
        "real_time_factor": music_s / wall,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    table = Table(title=f"music generation speed ({gen.meta.version}, {threads} thread(s))")
    for col in ("batch", "KV cache", "tokens", "wall s", "tokens/s"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(str(r.batch), "yes" if r.kv_cache else "no (full window)", str(r.tokens), f"{r.wall_s:.1f}", f"{r.tokens_per_s:.1f}")
    console.print(table)
    console.print(
        f"cache speed-up: {report['speedup_batch1']:.1f}x at batch 1, {report['speedup_batch8']:.1f}x at batch 8; "
        f"{report['cpu_s_per_music_minute']:.1f} CPU-s per minute of music ({report['real_time_factor']:.1f}x real time); "
        f"peak RSS {report['peak_rss_mb']:.0f} MB"
    )
    path = Path(out) / "music.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))
    return report
