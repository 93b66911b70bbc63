"""Full-band training audio: FluidSynth renders of the MIDI corpora (two soundfonts, shuffled instruments)
and the shared clips' real audio, split by piece and cached as int16 mono under the repository's untracked
.cache/enhance (or $EMSYNC_ENHANCE_CACHE).

Band-limited inputs are not stored: `batches` filters each crop on the fly, so every example can get its
own filter.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emsync_core.enhance.filters import CUTOFF_RANGE_HZ, SAMPLE_RATE, FilterSpec
from emsync_core.paths import REPO_ROOT

SOUNDFONTS = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/TimGM6mb.sf2")
CORPORA = ("pop909", "emopia", "groove", "nesmdb", "nottingham", "vgmidi")
DEFAULT_CACHE = Path(os.environ.get("EMSYNC_ENHANCE_CACHE", REPO_ROOT / ".cache" / "enhance"))
TEST_FRACTION = 0.15
PIECE_S = 20.0  # seconds kept of each render (the MIDI is cut before rendering)
MIN_RMS = 1e-3  # crops quieter than this teach nothing and are skipped


@dataclass(frozen=True)
class Piece:
    """One source of clean audio; the split is by piece, so no test piece is heard in training."""

    name: str
    split: str  # "train" or "test"


def _pick_midis(midi_root: Path, per_corpus: int, rng: np.random.Generator) -> list[Path]:
    picked: list[Path] = []
    for corpus in CORPORA:
        files = sorted(p for p in (midi_root / corpus).rglob("*") if p.suffix.lower() in (".mid", ".midi"))
        if files:
            picked += [files[i] for i in rng.choice(len(files), size=min(per_corpus, len(files)), replace=False)]
    return picked


def _prepared_midi(path: Path, rng: np.random.Generator) -> bytes:
    """The first PIECE_S seconds, half the melodic instruments given a random General MIDI programme."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(path))
    for inst in pm.instruments:
        inst.notes = [n for n in inst.notes if n.start < PIECE_S]
        for n in inst.notes:
            n.end = min(n.end, PIECE_S)
        inst.control_changes = [c for c in inst.control_changes if c.time < PIECE_S]
        inst.pitch_bends = [b for b in inst.pitch_bends if b.time < PIECE_S]
        if not inst.is_drum and rng.random() < 0.5:
            inst.program = int(rng.integers(0, 112))
    buf = io.BytesIO()
    pm.write(buf)
    return buf.getvalue()


def _peak_normalised(audio: np.ndarray) -> np.ndarray:
    peak = float(np.abs(audio).max()) if len(audio) else 0.0
    return audio / peak * 0.9 if peak > 0 else audio


def render_piece(path: Path, soundfont: str, rng: np.random.Generator) -> np.ndarray:
    from emsync_core.render.synth import synthesize

    audio = synthesize(_prepared_midi(path, rng), SAMPLE_RATE, soundfont).mean(axis=1)
    return _peak_normalised(audio[: int(PIECE_S * SAMPLE_RATE)])


def clip_audio(path: Path) -> np.ndarray:
    """A real clip's audio, refused when its own band limit falls inside the range we teach to restore."""
    from emsync_core.enhance.detect import detect_band_limit
    from emsync_core.render.ffmpeg import decode_audio

    audio = decode_audio(str(path), SAMPLE_RATE, 1)[:, 0]
    found = detect_band_limit(audio)
    if found.verdict == "band-limited" and (found.cutoff_hz or 0.0) < CUTOFF_RANGE_HZ[1] + 2000.0:
        raise ValueError(f"its audio is itself band-limited at {found.cutoff_hz:.0f} Hz")
    return _peak_normalised(audio)


def build_cache(midi_root: Path, clips: list[Path], cache: Path, per_corpus: int, seed: int = 0,
                shard: tuple[int, int] = (0, 1), progress: Callable[[str], None] = print) -> dict[str, int]:
    """Render (or reuse) every piece into cache/{train,test}/NAME.npy; returns pieces per split.

    `shard` (k, n) renders only every n-th piece from the k-th, so n processes can share the work.
    """
    rng = np.random.default_rng(seed)
    jobs: list[tuple[Piece, Callable[[], np.ndarray]]] = []
    for i, midi in enumerate(_pick_midis(midi_root, per_corpus, rng)):
        split = "test" if rng.random() < TEST_FRACTION else "train"
        piece_rng = np.random.default_rng([seed, i])
        sf2 = SOUNDFONTS[i % len(SOUNDFONTS)]
        name = f"{midi.parent.name}-{midi.stem}-{Path(sf2).stem}"[:120]
        jobs.append((Piece(name, split), lambda m=midi, s=sf2, r=piece_rng: render_piece(m, s, r)))
    for j, clip in enumerate(sorted(clips)):
        jobs.append((Piece(f"clip-{clip.stem}", "test" if j % 3 == 2 else "train"), lambda c=clip: clip_audio(c)))
    counts = {"train": 0, "test": 0}
    for k, (piece, make) in enumerate(jobs):
        target = cache / piece.split / f"{piece.name}.npy"
        if k % shard[1] != shard[0]:
            continue
        if not target.exists():
            try:
                audio = make()
            except Exception as exc:  # a corrupt MIDI or an undecodable clip is skipped, not fatal
                progress(f"[enhance data] skip {piece.name}: {exc}")
                continue
            if len(audio) < SAMPLE_RATE:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".part.npy")
            np.save(partial, (np.clip(audio, -1, 1) * 32767).astype(np.int16))
            partial.rename(target)
        counts[piece.split] += 1
        if (k + 1) % 20 == 0:
            progress(f"[enhance data] {k + 1}/{len(jobs)} pieces")
    return counts


def load_split(cache: Path, split: str) -> dict[str, np.ndarray]:
    """Name -> float32 mono audio of every cached piece of the split."""
    files = sorted(f for f in (cache / split).glob("*.npy") if not f.name.endswith(".part.npy"))
    if not files:
        raise FileNotFoundError(f"no {split} audio in {cache}; run `emsync enhance data` first")
    return {f.stem: np.load(f).astype(np.float32) / 32767 for f in files}


def crops(pieces: dict[str, np.ndarray], length: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Endless random crops (piece chosen by its length) that are not near-silent."""
    names = list(pieces)
    weights = np.array([len(pieces[n]) for n in names], dtype=np.float64)
    weights /= weights.sum()
    while True:
        audio = pieces[names[rng.choice(len(names), p=weights)]]
        if len(audio) <= length:
            continue
        start = int(rng.integers(0, len(audio) - length))
        crop = audio[start:start + length]
        if float(np.sqrt(np.mean(crop ** 2))) >= MIN_RMS:
            yield crop * float(rng.uniform(0.3, 1.0))


def batches(pieces: dict[str, np.ndarray], batch: int, length: int, choose_filter: Callable[[np.random.Generator], FilterSpec],
            rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(band-limited, clean) float32 arrays of shape (batch, length), a filter drawn per example, and
    each example's cut-off in Hz.

    Crops and filters draw from two streams spawned from `rng`, so two regimes with the same seed train on
    the same clean crops in the same order and differ only in their filters. The filter runs over a
    lead-in before the crop so its start-up transient is not in the example.
    """
    lead = 2048
    crop_rng, filter_rng = rng.spawn(2)
    source = crops(pieces, length + lead, crop_rng)
    while True:
        clean, limited, cutoffs = [], [], []
        for _ in range(batch):
            crop, spec = next(source), choose_filter(filter_rng)
            clean.append(crop[lead:])
            limited.append(spec.apply(crop)[lead:])
            cutoffs.append(spec.cutoff_hz)
        yield np.stack(limited), np.stack(clean), np.array(cutoffs, dtype=np.float32)
