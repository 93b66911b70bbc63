"""`emsync music eval`: cut alignment, arousal and valence control, per-scene following, musicality.

Every number is measured on generated MIDI; baselines run the same model in the same process.
"""

from __future__ import annotations

import io
import time
from dataclasses import asdict, dataclass, replace
from functools import cache
from pathlib import Path

import numpy as np
import pretty_midi
import torch
from rich.console import Console
from rich.table import Table
from scipy.stats import spearmanr

from emsync_core.music import metrics
from emsync_core.music.api import GenerationRequest, GenerationResult, SamplingSettings, SceneCondition
from emsync_core.music.dataset import NO_DROPOUT, TokenDataset
from emsync_core.music.generator import Generator
from emsync_core.music.heard import soundtrack_stats
from emsync_core.music.metrics import MIN_CUT_GAP_S
from emsync_core.music.tokens import Note, decode, notes_from_midi, to_midi_bytes
from emsync_core.music.train import evaluate
from emsync_core.music.vocab import VOCAB

SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
RENDER_SR = 16000
VALENCE_SEED = 4000  # seeds of the reported valence pairs
SELECTION_SEED = 9000  # seeds of the guidance sweep that picks the default weight


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
    #: classifier-free valence guidance (1 = off) and valence-cue strength (0 = off) of every
    #: request; valence and musicality are also measured with the learned condition alone
    valence_guidance: float = SamplingSettings().valence_guidance
    valence_cues: float = SamplingSettings().valence_cues
    judge_pieces: int = 80  # held-out real labelled pieces scored by vibenet (the judge's own ceiling)

    @property
    def sampling(self) -> SamplingSettings:
        return SamplingSettings(valence_guidance=self.valence_guidance, valence_cues=self.valence_cues)


#: The learned valence condition alone: no guidance, no sampler cues (the ablation of both).
LEARNED_ONLY = SamplingSettings(valence_guidance=1.0, valence_cues=0.0)


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


def cut_requests(s: EvalSettings, rng: np.random.Generator) -> list[GenerationRequest]:
    """Random V/A and 3-5 random cuts per request; their music is also what musicality measures."""
    return [
        GenerationRequest(
            f"cut{i}", s.cut_duration_s,
            (SceneCondition(0.0, float(rng.uniform(-0.8, 0.8)), float(rng.uniform(-0.8, 0.8))),),
            random_cuts(rng, s.cut_duration_s), seed=1000 + i, sampling=s.sampling,
        )
        for i in range(s.cut_requests)
    ]


def token_hit_rate(results: list[GenerationResult], cut_lists: list[tuple[float, ...]]) -> float:
    """The earlier figure: share of cuts with a CHORD token or any 3+-note onset within +/-0.5 s
    (a CHORD token counts even when no chord is heard after it)."""
    hits = total = 0
    for res, cuts in zip(results, cut_lists):
        events = res.chord_onsets_s + metrics.chord_onsets(notes_of(res))
        h, n = metrics.cut_hit_rate(list(cuts), events)
        hits, total = hits + h, total + n
    return hits / max(total, 1)


def hit_rate(results: list[GenerationResult], cut_lists: list[tuple[float, ...]]) -> float:
    """Share of cuts (thinned to >= 4 s apart) with an audible chord within +/-0.5 s: >= 3 pitched
    notes of any instruments starting within 50 ms, accented (metrics.audible_chords)."""
    hits = total = 0
    for res, cuts in zip(results, cut_lists):
        st = soundtrack_stats(res.midi_bytes, cuts)
        hits, total = hits + st.audible_cut_chords, total + st.cuts
    return hits / max(total, 1)


def heard_summary(results: list[GenerationResult], durations: list[float]) -> dict:
    """Instrument groups, empty 5 s windows, drums-only outputs and pitch-class entropy, per soundtrack."""
    stats = [soundtrack_stats(r.midi_bytes, (), d) for r, d in zip(results, durations)]
    return {
        "soundtracks": len(stats),
        "share_with_3_groups": float(np.mean([len(st.groups) >= 3 for st in stats])),
        "mean_groups": float(np.mean([len(st.groups) for st in stats])),
        "empty_5s_windows": int(sum(st.empty_windows for st in stats)),
        "soundtracks_with_empty_window": int(sum(st.empty_windows > 0 for st in stats)),
        "drums_only": int(sum(st.drums_only for st in stats)),
        "mean_pitch_class_entropy": float(np.nanmean([st.pitch_class_entropy for st in stats])),
    }


def cut_alignment(gen: Generator, s: EvalSettings, reqs: list[GenerationRequest], rng: np.random.Generator) -> tuple[dict, list[GenerationResult]]:
    with_b = run_batched(gen, reqs, s.batch_size)
    without_b = run_batched(gen, reqs, s.batch_size, use_boundary=False)
    model_alone = run_batched(gen, reqs, s.batch_size, realise_cuts=False)
    random_lists = [random_cuts(rng, s.cut_duration_s) for _ in reqs]
    cuts = [r.cuts_s for r in reqs]
    chord_tokens_hit = sum(metrics.cut_hit_rate(list(r.cuts_s), res.chord_onsets_s)[0] for r, res in zip(reqs, with_b))
    return {
        "requests": len(reqs),
        "cuts": sum(len(c) for c in cuts),
        "audible_hit_rate": hit_rate(with_b, cuts),
        "audible_hit_rate_random_cuts": hit_rate(with_b, random_lists),
        "audible_hit_rate_boundary_disabled": hit_rate(without_b, cuts),
        "audible_hit_rate_model_alone": hit_rate(model_alone, cuts),
        "audible_hit_rate_model_alone_boundary_disabled": hit_rate(run_batched(gen, reqs, s.batch_size, use_boundary=False, realise_cuts=False), cuts),
        "token_hit_rate": token_hit_rate(with_b, cuts),
        "token_hit_rate_model_alone": token_hit_rate(model_alone, cuts),
        "hit_rate_chord_token_only": chord_tokens_hit / sum(len(c) for c in cuts),
        "chord_tokens_per_minute": 60 * sum(len(r.chord_onsets_s) for r in with_b) / (len(reqs) * s.cut_duration_s),
        "heard": heard_summary(with_b, [s.cut_duration_s] * len(reqs)),
    }, with_b


def arousal_control(gen: Generator, s: EvalSettings) -> dict:
    """Spearman(requested arousal, note density / mean velocity) over levels x seeds at V = 0, and the
    same grid at V = +0.8 and -0.8 in turn (where the valence cues act too)."""
    out: dict = {}
    for name, valence in (("", lambda k: 0.0), ("valenced_", lambda k: (0.8, -0.8)[k % 2])):
        reqs, levels = [], []
        for a in s.arousal_levels:
            for k in range(s.arousal_seeds):
                reqs.append(GenerationRequest(f"a{a}_{k}", s.arousal_duration_s, (SceneCondition(0.0, valence(k), a),), (), seed=2000 + k, sampling=s.sampling))
                levels.append(a)
        notes = [notes_of(r) for r in run_batched(gen, reqs, s.batch_size)]
        dens = [metrics.note_density(n, s.arousal_duration_s) for n in notes]
        out |= {
            f"{name}requests": len(reqs),
            f"{name}spearman_density": float(spearmanr(levels, dens).statistic),
            f"{name}spearman_velocity": float(spearmanr(levels, [metrics.mean_velocity(n) for n in notes]).statistic),
            f"{name}mean_density_per_level": {str(a): float(np.mean([d for d, l in zip(dens, levels) if l == a])) for a in s.arousal_levels},
        }
    return out


def scene_following(gen: Generator, s: EvalSettings) -> dict:
    """Two scenes per request with opposite arousal/valence: does each half follow its own scene?"""
    half = s.arousal_duration_s / 2
    reqs = []
    for k in range(s.scene_pairs):
        for sign in (1, -1):
            scenes = (SceneCondition(0.0, -0.8 * sign, -0.8 * sign), SceneCondition(half, 0.8 * sign, 0.8 * sign))
            reqs.append(GenerationRequest(f"scene{k}_{sign}", 2 * half, scenes, (half,), seed=3000 + k, sampling=s.sampling))
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


@cache
def valence_judge():
    """vibenet, loaded once per process for every valence measurement."""
    import vibenet

    return vibenet.load_model()


def scene_valence_following(gen: Generator, s: EvalSettings) -> dict:
    """Two scenes of opposite valence (arousal 0 in both): does vibenet hear the positive half as
    the more positive one? Each half is rendered and judged on its own."""
    half = s.arousal_duration_s / 2
    reqs = []
    for k in range(s.scene_pairs):
        for sign in (1, -1):
            scenes = (SceneCondition(0.0, -0.8 * sign, 0.0), SceneCondition(half, 0.8 * sign, 0.0))
            reqs.append(GenerationRequest(f"vscene{k}_{sign}", 2 * half, scenes, (half,), seed=3500 + k, sampling=s.sampling))
    follows = 0
    major: dict[bool, list[bool]] = {True: [], False: []}  # the half's key mode, by its valence sign
    for r, out in zip(reqs, run_batched(gen, reqs, s.batch_size)):
        notes = notes_of(out)
        first = [n for n in notes if n.start < half]
        second = [replace(n, start=n.start - half, end=n.end - half) for n in notes if n.start >= half]
        if not first or not second:
            continue
        v1, v2 = (vibenet_valence(to_midi_bytes(part)) for part in (first, second))
        follows += (v2 > v1) == (r.scenes[1].valence > 0)
        for part, scene in ((first, r.scenes[0]), (second, r.scenes[1])):
            major[scene.valence > 0].append(metrics.key_mode(part) == "major")
    return {
        "requests": len(reqs),
        "share_positive_scene_judged_more_positive": follows / len(reqs),
        # judge-free: Krumhansl-Schmuckler mode of each half
        "major_share_positive_half": float(np.mean(major[True])),
        "major_share_negative_half": float(np.mean(major[False])),
    }


def render(midi_bytes: bytes) -> np.ndarray:
    """FluidSynth with the General MIDI FluidR3 soundfont, 16 kHz mono (vibenet's rate)."""
    return pretty_midi.PrettyMIDI(io.BytesIO(midi_bytes)).fluidsynth(fs=RENDER_SR, synthesizer=SOUNDFONT).astype(np.float32)


def vibenet_valence(midi_bytes: bytes) -> float:
    return float(valence_judge().predict(render(midi_bytes), sr=RENDER_SR)[0].valence)


def pair_wins(pos: list[float], neg: list[float]) -> float:
    """Share of (positive, negative) pairs the positive one wins (= ROC AUC of the judge's scores)."""
    return float(np.mean([p > n for p in pos for n in neg])) if pos and neg else float("nan")


def mean_pitch(pieces: list[list[Note]]) -> float:
    """Mean MIDI pitch of the pitched notes, averaged over the pieces that have any."""
    return float(np.nanmean([np.mean([n.pitch for n in metrics.pitched(p)] or [np.nan]) for p in pieces]))


def valence_pairs(gen: Generator, s: EvalSettings, sampling: SamplingSettings, seed0: int) -> dict:
    """`s.valence_pairs` pairs V=+0.8 / V=-0.8 at the same seed and arousal (-0.5 and 0.5 in turn),
    rendered with FluidSynth and scored by vibenet; key mode by Krumhansl-Schmuckler."""
    reqs = []
    for k in range(s.valence_pairs):
        a = (-0.5, 0.5)[k % 2]
        for v in (0.8, -0.8):
            reqs.append(GenerationRequest(f"v{v}_{k}", s.valence_duration_s, (SceneCondition(0.0, v, a),), (), seed=seed0 + k, sampling=sampling))
    res = run_batched(gen, reqs, s.batch_size)
    scores = [vibenet_valence(r.midi_bytes) for r in res]
    notes = [notes_of(r) for r in res]
    modes = [metrics.key_mode(n) for n in notes]
    pos, neg = scores[0::2], scores[1::2]
    return {
        "mean_scale_consistency": float(np.nanmean([metrics.scale_consistency(n) for n in notes])),
        "mean_pitch_class_entropy": float(np.nanmean([metrics.pitch_class_entropy(n) for n in notes])),
        "mean_pitch_pos": mean_pitch(notes[0::2]),
        "mean_pitch_neg": mean_pitch(notes[1::2]),
        "share_positive_beats_negative": float(np.mean([p > n for p, n in zip(pos, neg)])),
        "mean_vibenet_valence_pos": float(np.mean(pos)),
        "mean_vibenet_valence_neg": float(np.mean(neg)),
        "major_share_pos": float(np.mean([m == "major" for m in modes[0::2]])),
        "major_share_neg": float(np.mean([m == "major" for m in modes[1::2]])),
    }


def valence_control(gen: Generator, s: EvalSettings) -> dict:
    """Valence pairs as evaluated, and the same pairs with the learned condition alone, in the same run."""
    out: dict = {"pairs": s.valence_pairs, "valence_guidance": s.valence_guidance, "valence_cues": s.valence_cues}
    out |= valence_pairs(gen, s, s.sampling, VALENCE_SEED)
    if s.sampling != LEARNED_ONLY:
        out |= {f"learned_only_{k}": v for k, v in valence_pairs(gen, s, LEARNED_ONLY, VALENCE_SEED).items()}
    return out


def sampling_sweep(gen: Generator, s: EvalSettings, name: str, values: list[float]) -> list[dict]:
    """Valence pairs for each value of one SamplingSettings field (e.g. valence_cues) on selection
    seeds, kept apart from the evaluation's, so a default is not chosen on the numbers it is reported with."""
    torch.set_num_threads(1)
    return [{name: v} | valence_pairs(gen, s, replace(s.sampling, **{name: v}), SELECTION_SEED) for v in values]


def judge_ceiling(ds: TokenDataset, s: EvalSettings) -> dict:
    """vibenet on held-out real pieces labelled positive vs negative (same rendering, same length):
    how well the judge itself separates valence, i.e. the best a generator can score."""
    scores: dict[bool, list[float]] = {True: [], False: []}
    modes: dict[bool, list[str | None]] = {True: [], False: []}
    for i in ds.labelled_pieces("test")[: s.judge_pieces]:
        a, b = ds.offsets[i], ds.offsets[i + 1]
        valence = float(np.nanmean(ds.valence[a:b].astype(np.float32)))
        notes = decode(ds.tokens[a:b], end_s=s.valence_duration_s)
        if not np.isfinite(valence) or valence == 0 or len(metrics.pitched(notes)) < 10:
            continue
        scores[valence > 0].append(vibenet_valence(to_midi_bytes(notes)))
        modes[valence > 0].append(metrics.key_mode(notes))
    return {
        "pieces_pos": len(scores[True]),
        "pieces_neg": len(scores[False]),
        "share_pairs_positive_beats_negative": pair_wins(scores[True], scores[False]),
        "mean_vibenet_valence_pos": float(np.mean(scores[True])),
        "mean_vibenet_valence_neg": float(np.mean(scores[False])),
        "major_share_pos": float(np.mean([m == "major" for m in modes[True]])),
        "major_share_neg": float(np.mean([m == "major" for m in modes[False]])),
    }


def valence_sensitivity(gen: Generator, ds: TokenDataset, s: EvalSettings) -> dict:
    """Does the model use the valence sign? Held-out NLL of labelled test pieces (their opening
    window, where the key is not yet implied by earlier notes) with the true valence, the flipped
    one and none (null vector): a model that follows valence explains the music best with the truth."""
    rng = np.random.default_rng(s.seed)
    nll = {"true": 0.0, "flipped": 0.0, "null": 0.0}
    wins = tokens = pieces = 0
    for i in ds.labelled_pieces("test")[: s.judge_pieces]:
        b = ds.sample_piece(int(i), gen.context, rng)
        per = {}
        for name, sign in (("true", 1.0), ("flipped", -1.0), ("null", float("nan"))):
            cond = replace(b.cond, valence=b.cond.valence * sign, token_valence=b.cond.token_valence * sign)
            with torch.inference_mode():
                logits, _ = gen.model(b.inputs, cond)
            mask = b.targets != VOCAB.pad
            per[name] = float(torch.nn.functional.cross_entropy(logits[mask], b.targets[mask], reduction="sum"))
            nll[name] += per[name]
        wins += per["true"] < per["flipped"]
        tokens += int((b.targets != VOCAB.pad).sum())
        pieces += 1
    return {"pieces": pieces, "tokens": tokens, "share_true_beats_flipped": wins / max(pieces, 1)} | {
        f"nll_{k}": v / max(tokens, 1) for k, v in nll.items()
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
            "note_length": [metrics.note_length(p) for p in pieces],
            "inter_onset_interval": [metrics.inter_onset_interval(p) for p in pieces],
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
    cut_reqs = cut_requests(s, rng)
    steps = [
        ("cut_alignment", lambda: cut_alignment(gen, s, cut_reqs, rng)),
        ("arousal_control", lambda: arousal_control(gen, s)),
        ("scene_following", lambda: scene_following(gen, s)),
        ("valence_control", lambda: valence_control(gen, s)),
        ("scene_valence_following", lambda: scene_valence_following(gen, s)),
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
        if s.sampling != LEARNED_ONLY:
            plain = run_batched(gen, [replace(r, sampling=LEARNED_ONLY) for r in cut_reqs], s.batch_size)
            report["musicality_learned_only"] = musicality([notes_of(r) for r in plain], real, s.cut_duration_s, s.real_window_s)
            report["cut_alignment"]["hit_rate_learned_only"] = hit_rate(plain, [r.cuts_s for r in cut_reqs])
        report["heldout_next_token"] = next_token_accuracy(gen, ds, s)
        report["valence_sensitivity"] = valence_sensitivity(gen, ds, s)
    with console.status("eval: vibenet on held-out real pieces (the judge's ceiling)"):
        report["valence_judge_ceiling"] = judge_ceiling(ds, s)
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
    t.add_row(f"audible chord within +/-0.5 s of a cut ({c['cuts']} cuts)", f"{c['audible_hit_rate']:.3f}")
    t.add_row("  same outputs, random cut times", f"{c['audible_hit_rate_random_cuts']:.3f}")
    t.add_row("  boundary input disabled", f"{c['audible_hit_rate_boundary_disabled']:.3f}")
    t.add_row("  model alone (no decoder chord at cuts) / its boundary input disabled", f"{c['audible_hit_rate_model_alone']:.3f} / {c['audible_hit_rate_model_alone_boundary_disabled']:.3f}")
    t.add_row("  old token-based figure (CHORD token or 3+-note onset): decoder chords / model alone", f"{c['token_hit_rate']:.3f} / {c['token_hit_rate_model_alone']:.3f}")
    if "hit_rate_learned_only" in c:
        t.add_row("  same requests, learned condition alone (no valence cues)", f"{c['hit_rate_learned_only']:.3f}")
    t.add_row("  CHORD tokens per minute", f"{c['chord_tokens_per_minute']:.1f}")
    h = c["heard"]
    t.add_row(f"soundtracks with >= 3 instrument groups ({h['soundtracks']} x {r['settings']['cut_duration_s']:g} s)", f"{h['share_with_3_groups']:.3f} (mean {h['mean_groups']:.2f})")
    t.add_row("  5 s windows without pitched notes / drums-only soundtracks", f"{h['empty_5s_windows']} / {h['drums_only']}")
    t.add_row("  pitch-class entropy of the 30 s pieces (bits)", f"{h['mean_pitch_class_entropy']:.2f}")
    a = r["arousal_control"]
    t.add_row(f"arousal Spearman vs note density (n={a['requests']})", f"{a['spearman_density']:.3f}")
    t.add_row("arousal Spearman vs mean velocity", f"{a['spearman_velocity']:.3f}")
    t.add_row("  same grid at V = +/-0.8: vs note density / mean velocity", f"{a['valenced_spearman_density']:.3f} / {a['valenced_spearman_velocity']:.3f}")
    sc = r["scene_following"]
    t.add_row("two-scene requests: high-arousal scene denser", f"{sc['share_high_arousal_scene_denser']:.3f}")
    sv = r["scene_valence_following"]
    t.add_row(f"two-scene requests: positive-valence scene judged more positive (vibenet, n={sv['requests']})", f"{sv['share_positive_scene_judged_more_positive']:.3f}")
    t.add_row("  major-key share of the positive / negative halves", f"{sv['major_share_positive_half']:.2f} / {sv['major_share_negative_half']:.2f}")
    v = r["valence_control"]
    t.add_row(f"vibenet: V=+0.8 beats V=-0.8 ({v['pairs']} pairs, guidance {v['valence_guidance']}, cues {v['valence_cues']})", f"{v['share_positive_beats_negative']:.3f}")
    t.add_row("  mean vibenet valence V=+0.8 / V=-0.8", f"{v['mean_vibenet_valence_pos']:.3f} / {v['mean_vibenet_valence_neg']:.3f}")
    t.add_row("  major-key share V=+0.8 / V=-0.8", f"{v['major_share_pos']:.2f} / {v['major_share_neg']:.2f}")
    t.add_row("  mean pitch V=+0.8 / V=-0.8", f"{v['mean_pitch_pos']:.1f} / {v['mean_pitch_neg']:.1f}")
    if "learned_only_share_positive_beats_negative" in v:
        t.add_row("  same pairs, learned condition alone: wins / major share +/-", f"{v['learned_only_share_positive_beats_negative']:.3f} / {v['learned_only_major_share_pos']:.2f} / {v['learned_only_major_share_neg']:.2f}")
    vs = r["valence_sensitivity"]
    t.add_row(f"  held-out NLL of labelled openings, true / flipped / no valence ({vs['pieces']} pieces)", f"{vs['nll_true']:.4f} / {vs['nll_flipped']:.4f} / {vs['nll_null']:.4f}")
    t.add_row("  pieces better explained by their true valence than the flipped one", f"{vs['share_true_beats_flipped']:.3f}")
    j = r["valence_judge_ceiling"]
    t.add_row(f"  judge ceiling: held-out real +V beats -V ({j['pieces_pos']}+/{j['pieces_neg']}- pieces, all pairs)", f"{j['share_pairs_positive_beats_negative']:.3f}")
    t.add_row("  real pieces: major-key share +V / -V", f"{j['major_share_pos']:.2f} / {j['major_share_neg']:.2f}")
    plain = r.get("musicality_learned_only", {})
    for k, m in r["musicality"].items():
        if isinstance(m, dict):
            t.add_row(f"{k}: overlap with held-out real (gen/real mean)", f"{m['overlapping_area']:.3f} ({m['generated_mean']:.2f}/{m['real_mean']:.2f})")
            if k in plain:
                t.add_row("  learned condition alone", f"{plain[k]['overlapping_area']:.3f} ({plain[k]['generated_mean']:.2f})")
    h = r["heldout_next_token"]
    t.add_row(f"held-out next-token accuracy ({h['tokens']} tokens)", f"{h['accuracy']:.3f}")
    t.add_row("held-out next-token loss", f"{h['loss']:.3f}")
    t.add_row("eval seconds", f"{r['seconds']}")
    console.print(t)


def print_sweep(rows: list[dict], name: str) -> None:
    t = Table(title=f"{name} sweep (selection seeds)")
    for col in (name, "V+ beats V-", "vibenet V+ / V-", "major share V+ / V-", "mean pitch V+ / V-", "scale consistency", "pitch-class entropy"):
        t.add_column(col, justify="right")
    for r in rows:
        t.add_row(
            f"{r[name]:g}", f"{r['share_positive_beats_negative']:.3f}",
            f"{r['mean_vibenet_valence_pos']:.3f} / {r['mean_vibenet_valence_neg']:.3f}",
            f"{r['major_share_pos']:.2f} / {r['major_share_neg']:.2f}",
            f"{r['mean_pitch_pos']:.1f} / {r['mean_pitch_neg']:.1f}", f"{r['mean_scale_consistency']:.3f}",
            f"{r['mean_pitch_class_entropy']:.2f}",
        )
    Console().print(t)
