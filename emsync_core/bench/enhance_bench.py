"""`emsync bench enhance`: real-time factor per core of `emsync enhance` on a file, against the same file
written through without the model (the decode/encode floor) in the same run, and peak memory at two
lengths (flat when the windowed stream works).

Each measurement runs in a fresh process with one torch thread; CPU time is what a core spends, so the
real-time factor per core holds on a busy machine too. The input is a band-limited synthetic mix
(harmonic tones and noise bursts); the model runs on all of it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from rich.console import Console
from rich.table import Table

from emsync_core.enhance.filters import SAMPLE_RATE, FilterSpec

_PROBE = """
import json, resource, sys, time, torch
torch.set_num_threads(1)
import soundfile as sf
from emsync_core.enhance.files import write_stream
from emsync_core.enhance.apply import StreamEnhancer, cached_model
channels = sf.info(sys.argv[1]).channels
enhancer = StreamEnhancer(cached_model(), channels) if sys.argv[3] == "model" else None
def cpu():  # this process and its finished children (ffmpeg's decode)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime
def peak_rss_mb():  # VmHWM: this process's own peak; ru_maxrss also carries the parent's from before the exec
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) / 1024
c0, w0 = cpu(), time.perf_counter()
write_stream(sys.argv[1], sys.argv[2], channels, enhancer)
print(json.dumps({"cpu_s": cpu() - c0, "wall_s": time.perf_counter() - w0, "peak_rss_mb": peak_rss_mb()}))
"""


def synthetic_music(seconds: float, channels: int, seed: int = 0) -> np.ndarray:
    """Band-limited (Butterworth-6 at 11.025 kHz) tones and noise bursts, (samples, channels)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    mix = sum(np.sin(2 * np.pi * f * t) / (k + 1) for k, f in enumerate(rng.uniform(110, 3000, 8)))
    mix = mix + rng.standard_normal(len(t)) * (np.sin(2 * np.pi * 2 * t) > 0.7) * 0.3
    mix = FilterSpec("butter", 6, 11025.0).apply(mix / np.abs(mix).max() * 0.5)
    return np.repeat(mix[:, None], channels, axis=1)


def _measure(source: str, target: str, mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _PROBE, source, target, mode], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_enhance_bench(out: str, seconds: float, long_factor: int, channels: int) -> dict:
    console = Console()
    rows = []
    with tempfile.TemporaryDirectory(prefix="emsync-bench-enhance-") as tmp:
        for length in (seconds, seconds * long_factor):
            src = str(Path(tmp) / f"in_{int(length)}.wav")
            sf.write(src, synthetic_music(length, channels), SAMPLE_RATE, subtype="PCM_16")
            for mode in ("pass-through", "model"):
                m = _measure(src, str(Path(tmp) / "out.flac"), mode)
                audio_s = length * channels  # one channel-second is one core's unit of work
                rows.append({"audio_s": length, "channels": channels, "mode": mode, **{k: round(v, 3) if isinstance(v, float) else v
                             for k, v in m.items()}, "realtime_per_core": round(audio_s / m["cpu_s"], 2)})
                console.print(f"[bench enhance] {length:.0f} s x {channels} ch, {mode}: {m['cpu_s']:.1f} CPU-s", style="dim")
    short_model = next(r for r in rows if r["mode"] == "model" and r["audio_s"] == seconds)
    long_model = next(r for r in rows if r["mode"] == "model" and r["audio_s"] != seconds)
    floor = next(r for r in rows if r["mode"] == "pass-through" and r["audio_s"] != seconds)
    summary = {"realtime_per_core": long_model["realtime_per_core"],
               "model_cpu_over_floor": round(long_model["cpu_s"] / max(floor["cpu_s"], 1e-6), 1),
               "peak_rss_growth_mb": round(long_model["peak_rss_mb"] - short_model["peak_rss_mb"], 1)}
    table = Table(title=f"emsync bench enhance ({channels} channels at {SAMPLE_RATE} Hz, 1 torch thread)")
    for col in ("audio s", "mode", "CPU s", "wall s", "x real time per core", "peak RSS MB"):
        table.add_column(col)
    for r in rows:
        table.add_row(f"{r['audio_s']:.0f}", r["mode"], f"{r['cpu_s']:.2f}", f"{r['wall_s']:.2f}", f"{r['realtime_per_core']:.1f}",
                      f"{r['peak_rss_mb']:.0f}")
    console.print(table)
    console.print(f"model CPU / pass-through CPU: {summary['model_cpu_over_floor']}x; peak RSS growth from "
                  f"{seconds:.0f} s to {seconds * long_factor:.0f} s: {summary['peak_rss_growth_mb']} MB")
    report = {"rows": rows, "summary": summary}
    Path(out).mkdir(parents=True, exist_ok=True)
    (Path(out) / "enhance.json").write_text(json.dumps(report, indent=2))
    return report
