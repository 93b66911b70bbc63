"""Chunks (or a regenerated scene) -> one MIDI with absolute chord onsets, and how well it meets the cuts."""

from __future__ import annotations

from dataclasses import dataclass

from emsync_core.render import midi as midi_tools
from emsync_core.scoring.plan import Chunk

CUT_TOLERANCE_S = 1.0  # as the method: a chord within +/-1 s of a cut consumes it


@dataclass(frozen=True)
class Piece:
    """A generated part placed on the video's timeline."""

    chunk: Chunk
    midi_bytes: bytes
    chord_onsets_s: tuple[float, ...]  # relative to the part's start
    n_tokens: int


@dataclass(frozen=True)
class Assembled:
    midi_bytes: bytes
    chord_onsets_s: tuple[float, ...]
    n_tokens: int


def assemble(pieces: list[Piece], base: Assembled | None = None) -> Assembled:
    """Splice the pieces into `base` (or into silence) in order; chord onsets follow the same rule."""
    pm = midi_tools.load(base.midi_bytes) if base else None
    onsets = list(base.chord_onsets_s) if base else []
    tokens = base.n_tokens if base else 0
    for p in sorted(pieces, key=lambda p: p.chunk.start_s):
        pm = midi_tools.splice(pm, midi_tools.load(p.midi_bytes), p.chunk.start_s, p.chunk.end_s)
        onsets = [t for t in onsets if not p.chunk.start_s <= t < p.chunk.end_s]
        onsets += [p.chunk.start_s + t for t in p.chord_onsets_s if t < p.chunk.end_s - p.chunk.start_s]
        tokens += p.n_tokens
    if pm is None:
        raise ValueError("nothing to assemble")
    return Assembled(midi_tools.dump(pm), tuple(sorted(round(t, 4) for t in onsets)), tokens)


@dataclass(frozen=True)
class Alignment:
    n_cuts: int
    n_matched: int
    mean_offset_s: float | None


def cut_alignment(cuts_s: list[float], chord_onsets_s: list[float], tolerance_s: float = CUT_TOLERANCE_S) -> Alignment:
    """Cuts with a chord onset within tolerance, and the mean |offset| of those matches."""
    offsets = []
    for c in cuts_s:
        nearest = min((abs(t - c) for t in chord_onsets_s), default=None)
        if nearest is not None and nearest <= tolerance_s:
            offsets.append(nearest)
    return Alignment(len(cuts_s), len(offsets), round(sum(offsets) / len(offsets), 4) if offsets else None)
