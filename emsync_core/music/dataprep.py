"""Tokenise every source once into a cached .npz: tokens, times, labels and boundary targets per token.

CHORD marks (the boundary targets) follow one documented procedure:
- POP909: every annotated chord change (label differs from the previous, not 'N'), snapped to the
  nearest pitched onset within 0.15 s; these are real harmony changes.
- elsewhere: a "sustained multi-note onset": at least 3 distinct pitched (non-drum) notes starting
  within 50 ms, at least 3 of them lasting one beat or more, at least one beat after the previous mark.
Arousal is note density (notes per second per non-empty group), for the piece and in a +/-4 s window
around every token; valence comes from VGMIDI/EMOPIA labels (per measure where VGMIDI has curves).
"""

from __future__ import annotations

import io
import math
import warnings
from contextlib import ExitStack
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pretty_midi
from tqdm import tqdm

from emsync_core.music.sources import PieceSpec, split_of
from emsync_core.music.tokens import DRUMS, Note, encode, notes_from_midi
from emsync_core.music.vocab import GROUPS, VOCAB

WINDOW_S = 4.0
ONSET_TOL_S = 0.05
MAX_PIECE_S = 600.0
SPLITS = ("train", "val", "test")


@dataclass
class TokenisedPiece:
    """One piece's token stream and per-token labels (NaN = unknown)."""

    source: str
    split: str
    tokens: np.ndarray
    times: np.ndarray
    valence: np.ndarray  # per token
    density: np.ndarray  # windowed notes/s per group, per token
    t_next_chord: np.ndarray  # seconds to the next CHORD token (inf when none)
    piece_density: float
    piece_valence: float


def load_midi(spec: PieceSpec) -> pretty_midi.PrettyMIDI:
    if spec.source == "music21":
        from music21 import corpus
        from music21.midi import translate

        data = translate.streamToMidiFile(corpus.parse(spec.path)).writestr()
        pm = pretty_midi.PrettyMIDI(io.BytesIO(data))
        for inst in pm.instruments:
            inst.program = 48  # chorales and ensemble works: voice them as strings
        return pm
    return pretty_midi.PrettyMIDI(spec.path)


def fix_velocities(spec: PieceSpec, notes: list[Note]) -> list[Note]:
    """NES-MDB stores the 4-bit NES volume (1..15) as velocity, the triangle always 1: rescale."""
    if spec.source != "nesmdb":
        return notes
    out = []
    for n in notes:
        v = 90 if n.group == GROUPS.index("bass") else int(round(40 + n.velocity * 87 / 15))
        out.append(Note(n.group, n.pitch, n.start, n.end, min(127, v)))
    return out


def beat_seconds(pm: pretty_midi.PrettyMIDI) -> float:
    beats = pm.get_beats()
    return float(np.median(np.diff(beats))) if len(beats) > 2 else 0.5


def detect_chords(notes: list[Note], beat_s: float) -> list[float]:
    """Sustained multi-note onsets (see module docstring)."""
    pitched = sorted((n for n in notes if n.group != DRUMS), key=lambda n: n.start)
    marks: list[float] = []
    i = 0
    while i < len(pitched):
        t0 = pitched[i].start
        j = i
        while j < len(pitched) and pitched[j].start - t0 <= ONSET_TOL_S:
            j += 1
        cluster = pitched[i:j]
        long_pitches = {n.pitch for n in cluster if n.end - n.start >= beat_s * 0.95}
        if len(long_pitches) >= 3 and (not marks or t0 - marks[-1] >= beat_s * 0.95):
            marks.append(t0)
        i = j
    return marks


def pop909_chords(chord_file: str, notes: list[Note]) -> list[float]:
    onsets = np.array(sorted(n.start for n in notes if n.group != DRUMS))
    marks, prev = [], None
    for line in Path(chord_file).read_text().splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        t, label = float(parts[0]), parts[2]
        if label != "N" and label != prev and len(onsets):
            k = int(np.argmin(np.abs(onsets - t)))
            marks.append(float(onsets[k]) if abs(onsets[k] - t) <= 0.15 else t)
        prev = label
    return marks


def windowed_density(notes: list[Note], times: np.ndarray) -> np.ndarray:
    """Onsets per second per active group within +/-WINDOW_S of each time."""
    total = np.zeros(len(times))
    active = np.zeros(len(times))
    for g in range(len(GROUPS)):
        onsets = np.sort(np.array([n.start for n in notes if n.group == g]))
        if not len(onsets):
            continue
        count = np.searchsorted(onsets, times + WINDOW_S) - np.searchsorted(onsets, times - WINDOW_S)
        total += count
        active += count > 0
    return (total / (2 * WINDOW_S) / np.maximum(active, 1)).astype(np.float32)


def piece_density(notes: list[Note]) -> float:
    span = max(n.end for n in notes) - min(n.start for n in notes)
    groups = len({n.group for n in notes})
    return len(notes) / max(span, 1e-3) / groups


def next_chord_gap(tokens: np.ndarray, times: np.ndarray) -> np.ndarray:
    """For each token, seconds from its time to the next CHORD token after it (inf when none)."""
    out = np.full(len(tokens), np.inf, dtype=np.float32)
    nxt = math.inf
    for i in range(len(tokens) - 1, -1, -1):
        out[i] = nxt - times[i]
        if tokens[i] == VOCAB.chord:
            nxt = times[i]
    return out


def valence_per_token(spec: PieceSpec, pm: pretty_midi.PrettyMIDI, times: np.ndarray) -> np.ndarray:
    if spec.valence_curve is None:
        return np.full(len(times), spec.valence, dtype=np.float32)
    downbeats = pm.get_downbeats()
    measure = np.clip(np.searchsorted(downbeats, times, side="right") - 1, 0, len(spec.valence_curve) - 1)
    return np.asarray(spec.valence_curve, dtype=np.float32)[measure]


def tokenise(spec: PieceSpec) -> TokenisedPiece | None:
    """One file -> TokenisedPiece, or None if it cannot be parsed or has too few notes."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pm = load_midi(spec)
            notes = [n for n in fix_velocities(spec, notes_from_midi(pm)) if n.start < MAX_PIECE_S]
            if len(notes) < 8:
                return None
            chords = pop909_chords(spec.chord_file, notes) if spec.chord_file else detect_chords(notes, beat_seconds(pm))
            bars = [t for t in pm.get_downbeats() if t < MAX_PIECE_S]
            enc = encode(notes, chords, bars)
            valence = valence_per_token(spec, pm, enc.times)
    except Exception:  # noqa: BLE001 - a broken file is skipped and counted, never fatal
        return None
    return TokenisedPiece(
        source=spec.source,
        split=split_of(spec.source, spec.key),
        tokens=enc.tokens,
        times=enc.times,
        valence=valence,
        density=windowed_density(notes, enc.times.astype(np.float64)),
        t_next_chord=next_chord_gap(enc.tokens, enc.times),
        piece_density=piece_density(notes),
        piece_valence=spec.valence,
    )


def build_cache(specs: list[PieceSpec], out: Path, processes: int = 2) -> Path:
    """Tokenise all specs (in `processes` spawned workers, or inline for 1) and write one .npz."""
    pieces: list[TokenisedPiece] = []
    failed = 0
    with ExitStack() as stack:
        if processes > 1:  # spawned, not forked: a fork of a process with running threads can deadlock
            pool = stack.enter_context(get_context("spawn").Pool(processes))
            results = pool.imap_unordered(tokenise, specs, chunksize=8)
        else:
            results = map(tokenise, specs)
        for piece in tqdm(results, total=len(specs), desc="tokenise"):
            if piece is None:
                failed += 1
            else:
                pieces.append(piece)
    pieces.sort(key=lambda p: (p.source, p.split, len(p.tokens)))
    lengths = np.array([len(p.tokens) for p in pieces])
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        out,
        tokens=np.concatenate([p.tokens for p in pieces]),
        times=np.concatenate([p.times for p in pieces]),
        valence=np.concatenate([p.valence for p in pieces]).astype(np.float16),
        density=np.concatenate([p.density for p in pieces]),
        t_next_chord=np.concatenate([p.t_next_chord for p in pieces]),
        offsets=np.concatenate([[0], np.cumsum(lengths)]),
        source=np.array([p.source for p in pieces]),
        split=np.array([p.split for p in pieces]),
        piece_density=np.array([p.piece_density for p in pieces], dtype=np.float32),
        piece_valence=np.array([p.piece_valence for p in pieces], dtype=np.float32),
        n_failed=np.array(failed),
    )
    return out
