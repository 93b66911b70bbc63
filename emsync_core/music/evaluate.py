"""`emsync music eval`: cut alignment, arousal and valence control, per-scene following, musicality.

Every number is measured on generated MIDI; baselines run the same model in the same process.
"""

from __future__ import annotations

import io
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pretty_midi
import torch
from rich.console import Console
from rich.table import Table
from scipy.stats import spearmanr

from emsync_core.music import metrics
from emsync_core.music.api import GenerationRequest, GenerationResult, SamplingSettings, SceneCondition
from emsync_core.music.dataset import TokenDataset
from emsync_core.music.generator import Generator
from emsync_core.music.tokens import Note, decode, notes_from_midi
from emsync_core.music.train import NO_DROPOUT, evaluate

SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
RENDER_SR = 16000
MIN_CUT_GAP_S = 4.0  # the reference pipeline keeps cuts >= 4 s apart
CHORD_GATE_S = 0.5


@dataclass(frozen=True)
class EvalSettings:
    """Sizes of each experiment; the defaults are the moderate run reported in the model card."""

    cut_requests: int = 16
    cut_duration_s: float = 30.0
    arousal_levels: tuple[float, ...] = (-0.8, -0.4, 0.0, 0.4, 0.8)
    arousal_seeds: int = 4
    arousal_duration_s: float = 20.0
    valence_pairs: int = 12
    valence_duration_s: float = 20.0
    scene_pairs: int = 6
    real_pieces: int = 40
    real_window_s: float = 30.0
    accuracy_batches: int = 8
    batch_size: int = 16
    seed: int = 2026


def notes_of(result: GenerationResult) -> list[Note]:
    return notes_from_midi(pretty_midi.PrettyMIDI(io.BytesIO(result.midi_bytes)))


def random_cuts(rng: np.random.Generator, duration: float) -> tuple[float, ...]:
    """3-5 cut times at least 4 s apart, kept 2 s from both ends."""
    for _ in range(100):
        n = int(rng.integers(3, 6))
        cuts = np.sort(rng.uniform(2.0, duration - 2.0, n))
        if np.all(np.diff(cuts) >= MIN_CUT_GAP_S):
            return tuple(round(float(c), 3) for c in cuts)
    return tuple(np.arange(4.0, duration - 2.0, MIN_CUT_GAP_S + 1).round(3).tolist())


def run_batched(gen: Generator, reqs: list[GenerationRequest], batch: int, **kw) -> list[GenerationResult]:
    out: list[GenerationResult] = []
    for i in range(0, len(reqs), batch):
        out += gen.generate(reqs[i : i + batch], **kw)
    return out


def cut_alignment(gen: Generator, s: EvalSettings, rng: np.random.Generator) -> tuple[dict, list[GenerationResult]]:
    reqs = [
        GenerationRequest(
            f"cut{i}", s.cut_duration_s,
            (SceneCondition(0.0, float(rng.uniform(-0.8, 0.8)), float(rng.uniform(-0.8, 0.8))),),
            random_cuts(rng, s.cut_duration_s), seed=1000 + i,
        )
        for i in range(s.cut_requests)
    ]
    with_b = run_batched(gen, reqs, s.batch_size)
    without_b = run_batched(gen, reqs, s.batch_size, use_boundary=False)
    gate = SamplingSettings(chord_gate_s=CHORD_GATE_S)
    gated = run_batched(gen, [replace(r, sampling=gate) for r in reqs], s.batch_size)

    def rate(results: list[GenerationResult], cut_lists: list[tuple[float, ...]]) -> float:
        hits = total = 0
        for res, cuts in zip(results, cut_lists):
            events = res.chord_onsets_s + metrics.chord_onsets(notes_of(res))
            h, n = metrics.cut_hit_rate(list(cuts), events)
            hits, total = hits + h, total + n
        return hits / max(total, 1)

    random_lists = [random_cuts(rng, s.cut_duration_s) for _ in reqs]
    chord_tokens_hit = sum(metrics.cut_hit_rate(list(r.cuts_s), res.chord_onsets_s)[0] for r, res in zip(reqs, with_b))
    return {
        "requests": len(reqs),
        "cuts": sum(len(r.cuts_s) for r in reqs),
        "hit_rate": rate(with_b, [r.cuts_s for r in reqs]),
        "hit_rate_chord_token_only": chord_tokens_hit / sum(len(r.cuts_s) for r in reqs),
        "hit_rate_boundary_disabled": rate(without_b, [r.cuts_s for r in reqs]),
        "hit_rate_random_cuts": rate(with_b, random_lists),
        "chord_tokens_per_minute": 60 * sum(len(r.chord_onsets_s) for r in with_b) / (len(reqs) * s.cut_duration_s),
        "gated_hit_rate": rate(gated, [r.cuts_s for r in reqs]),
        "gated_hit_rate_random_cuts": rate(gated, random_lists),
        "gated_chord_tokens_per_minute": 60 * sum(len(r.chord_onsets_s) for r in gated) / (len(reqs) * s.cut_duration_s),
    }, with_b


def arousal_control(gen: Generator, s: EvalSettings) -> dict:
    reqs, levels = [], []
    for a in s.arousal_levels:
        for k in range(s.arousal_seeds):
            reqs.append(GenerationRequest(f"a{a}_{k}", s.arousal_duration_s, (SceneCondition(0.0, 0.0, a),), (), seed=2000 + k))
            levels.append(a)
    res = run_batched(gen, reqs, s.batch_size)
    dens = [metrics.note_density(notes_of(r), s.arousal_duration_s) for r in res]
    vel = [metrics.mean_velocity(notes_of(r)) for r in res]
    per_level = {str(a): float(np.mean([d for d, l in zip(dens, levels) if l == a])) for a in s.arousal_levels}
    return {
        "requests": len(reqs),
        "spearman_density": float(spearmanr(levels, dens).statistic),
        "spearman_velocity": float(spearmanr(levels, vel).statistic),
        "mean_density_per_level": per_level,
    }


def scene_following(gen: Generator, s: EvalSettings) -> dict:
    """Two scenes per request with opposite arousal/valence: does each half follow its own scene?"""
    half = s.arousal_duration_s / 2
    reqs = []
    for k in range(s.scene_pairs):
        for sign in (1, -1):
            scenes = (SceneCondition(0.0, -0.8 * sign, -0.8 * sign), SceneCondition(half, 0.8 * sign, 0.8 * sign))
            reqs.append(GenerationRequest(f"scene{k}_{sign}", 2 * half, scenes, (half,), seed=3000 + k))
    res = run_batched(gen, reqs, s.batch_size)
    follows, diffs = 0, []
    for r, out in zip(reqs, res):
        notes = notes_of(out)
        first = metrics.note_density([n for n in notes if n.start < half], half)
        second = metrics.note_density([n for n in notes if n.start >= half], half)
        high_second = r.scenes[1].arousal > 0
        follows += (second > first) == high_second
        diffs.append((second - first) * (1 if high_second else -1))
    return {"requests": len(reqs), "share_high_arousal_scene_denser": follows / len(reqs), "mean_density_gain": float(np.mean(diffs))}


def render(midi_bytes: bytes) -> np.ndarray:
    """FluidSynth with the General MIDI FluidR3 soundfont, 16 kHz mono (vibenet's rate)."""
    return pretty_midi.PrettyMIDI(io.BytesIO(midi_bytes)).fluidsynth(fs=RENDER_SR, synthesizer=SOUNDFONT).astype(np.float32)


def valence_control(gen: Generator, s: EvalSettings) -> dict:
    """V=+0.8 vs V=-0.8 at the same seed and arousal, judged by vibenet on FluidSynth audio."""
    import vibenet

    judge = vibenet.load_model()
    reqs = []
    for k in range(s.valence_pairs):
        a = (-0.5, 0.5)[k % 2]
        for v in (0.8, -0.8):
            reqs.append(GenerationRequest(f"v{v}_{k}", s.valence_duration_s, (SceneCondition(0.0, v, a),), (), seed=4000 + k))
    res = run_batched(gen, reqs, s.batch_size)
    scores = [float(judge.predict(render(r.midi_bytes), sr=RENDER_SR)[0].valence) for r in res]
    modes = [metrics.key_mode(notes_of(r)) for r in res]
    pos, neg = scores[0::2], scores[1::2]
    return {
        "pairs": s.valence_pairs,
        "share_positive_beats_negative": float(np.mean([p > n for p, n in zip(pos, neg)])),
        "mean_vibenet_valence_pos": float(np.mean(pos)),
        "mean_vibenet_valence_neg": float(np.mean(neg)),
        "major_share_pos": float(np.mean([m == "major" for m in modes[0::2]])),
        "major_share_neg": float(np.mean([m == "major" for m in modes[1::2]])),
    }


def real_windows(ds: TokenDataset, s: EvalSettings, rng: np.random.Generator) -> list[list[Note]]:
    """First `real_window_s` seconds of held-out test pieces that have pitched notes."""
    test = ds.pieces("test")
    out = []
    for i in rng.permutation(test):
        a, b = ds.offsets[i], ds.offsets[i + 1]
        notes = decode(ds.tokens[a:b], end_s=s.real_window_s)
        if len(metrics.pitched(notes)) >= 10 and ds.times[b - 1] >= s.real_window_s / 2:
            out.append(notes)
        if len(out) >= s.real_pieces:
            break
    return out


def musicality(generated: list[list[Note]], real: list[list[Note]], duration: float, real_window: float) -> dict:
    def stats(pieces: list[list[Note]], dur: float) -> dict[str, list[float]]:
        return {
            "pitch_class_entropy": [metrics.pitch_class_entropy(p) for p in pieces],
            "scale_consistency": [metrics.scale_consistency(p) for p in pieces],
            "polyphony": [metrics.polyphony(p) for p in pieces],
            "note_density": [metrics.note_density(p, min(dur, max(n.end for n in p))) for p in pieces],
        }

    g, r = stats(generated, duration), stats(real, real_window)
    return {
        k: {
            "generated_mean": float(np.nanmean(g[k])),
            "real_mean": float(np.nanmean(r[k])),
            "overlapping_area": metrics.overlapping_area(g[k], r[k]),
        }
        for k in g
    }


def next_token_accuracy(gen: Generator, ds: TokenDataset, s: EvalSettings) -> dict:
    rng = np.random.default_rng(s.seed)
    batches = [ds.sample("test", 8, gen.context, rng, NO_DROPOUT, augment=False) for _ in range(s.accuracy_batches)]
    return evaluate(gen.model, batches)


def run_eval(gen: Generator, cache: Path, s: EvalSettings, out_json: Path | None = None) -> dict:
    torch.set_num_threads(1)
    rng = np.random.default_rng(s.seed)
    console = Console()
    t0 = time.perf_counter()
    report: dict = {"model_version": gen.meta.version, "model_sha256": gen.sha256, "settings": asdict(s)}
    steps = [
        ("cut_alignment", lambda: cut_alignment(gen, s, rng)),
        ("arousal_control", lambda: arousal_control(gen, s)),
        ("scene_following", lambda: scene_following(gen, s)),
        ("valence_control", lambda: valence_control(gen, s)),
    ]
    generated: list[GenerationResult] = []
    for name, fn in steps:
        with console.status(f"eval: {name}"):
            t = time.perf_counter()
            value = fn()
            if name == "cut_alignment":
                value, generated = value
            report[name] = value | {"seconds": round(time.perf_counter() - t, 1)}
        console.log(f"{name}: {report[name]}")
    with console.status("eval: musicality and held-out accuracy"):
        ds = TokenDataset(cache)
        real = real_windows(ds, s, rng)
        report["musicality"] = musicality([notes_of(r) for r in generated], real, s.cut_duration_s, s.real_window_s)
        report["musicality"]["real_pieces"] = len(real)
        report["heldout_next_token"] = next_token_accuracy(gen, ds, s)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    print_report(report, console)
    if out_json:
        import json

        out_json.parent.mkdir(parents=True, exist_ok=True)
        out_json.write_text(json.dumps(report, indent=2))
    return report


def print_report(r: dict, console: Console) -> None:
    t = Table(title=f"music eval: {r['model_version']}")
    t.add_column("metric")
    t.add_column("value", justify="right")
    c = r["cut_alignment"]
    t.add_row(f"cut hit rate +/-0.5 s ({c['cuts']} cuts)", f"{c['hit_rate']:.3f}")
    t.add_row("  same model, boundary input disabled", f"{c['hit_rate_boundary_disabled']:.3f}")
    t.add_row("  against random cut times", f"{c['hit_rate_random_cuts']:.3f}")
    t.add_row("  CHORD tokens only", f"{c['hit_rate_chord_token_only']:.3f}")
    t.add_row("  CHORD tokens per minute", f"{c['chord_tokens_per_minute']:.1f}")
    t.add_row(f"with chord gate {CHORD_GATE_S} s: hit rate / vs random cuts", f"{c['gated_hit_rate']:.3f} / {c['gated_hit_rate_random_cuts']:.3f}")
    a = r["arousal_control"]
    t.add_row(f"arousal Spearman vs note density (n={a['requests']})", f"{a['spearman_density']:.3f}")
    t.add_row("arousal Spearman vs mean velocity", f"{a['spearman_velocity']:.3f}")
    sc = r["scene_following"]
    t.add_row("two-scene requests: high-arousal scene denser", f"{sc['share_high_arousal_scene_denser']:.3f}")
    v = r["valence_control"]
    t.add_row(f"vibenet: V=+0.8 beats V=-0.8 ({v['pairs']} pairs)", f"{v['share_positive_beats_negative']:.3f}")
    t.add_row("major-key share V=+0.8 / V=-0.8", f"{v['major_share_pos']:.2f} / {v['major_share_neg']:.2f}")
    for k, m in r["musicality"].items():
        if isinstance(m, dict):
            t.add_row(f"{k}: overlap with held-out real (gen/real mean)", f"{m['overlapping_area']:.3f} ({m['generated_mean']:.2f}/{m['real_mean']:.2f})")
    h = r["heldout_next_token"]
    t.add_row(f"held-out next-token accuracy ({h['tokens']} tokens)", f"{h['accuracy']:.3f}")
    t.add_row("held-out next-token loss", f"{h['loss']:.3f}")
    t.add_row("eval seconds", f"{r['seconds']}")
    console.print(t)
