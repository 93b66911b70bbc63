"""MIDI <-> event tokens on the 8 ms grid, and tokens -> a type-1 MIDI file with cut markers."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pretty_midi

from emsync_core.music.vocab import (
    GROUP_PROGRAMS,
    GROUPS,
    MAX_SHIFT_STEPS,
    PITCH_HI,
    PITCH_LO,
    STEP_S,
    VOCAB,
    bin_velocity,
    velocity_bin,
)
from emsync_core.render.midi import BAR_MARKER, with_cut_markers

DRUMS = GROUPS.index("drums")
OUTPUT_TEMPO_BPM = 120.0
#: A piece is "dense" (MORE_INSTRUMENTS) when more than this many groups play.
DENSITY_GROUPS = 2


@dataclass(frozen=True)
class Note:
    """One note in seconds, already mapped to an instrument group."""

    group: int
    pitch: int
    start: float
    end: float
    velocity: int = 80


@dataclass(frozen=True)
class Encoded:
    """Tokens plus the time cursor (seconds) after each token."""

    tokens: np.ndarray  # int16
    times: np.ndarray  # float32


def program_group(program: int, is_drum: bool) -> int:
    """General MIDI program -> group; drums go by channel (is_drum), everything unlisted is 'strings'."""
    if is_drum:
        return DRUMS
    if 32 <= program <= 39:
        return GROUPS.index("bass")
    if 24 <= program <= 31:
        return GROUPS.index("guitar")
    if program <= 23:
        return GROUPS.index("piano")
    return GROUPS.index("strings")


def notes_from_midi(pm: pretty_midi.PrettyMIDI) -> list[Note]:
    """All notes of a parsed file, pitched notes folded into 88 keys by octaves."""
    out: list[Note] = []
    for inst in pm.instruments:
        group = program_group(int(inst.program), inst.is_drum)
        for n in inst.notes:
            pitch = int(n.pitch)
            while pitch < PITCH_LO:
                pitch += 12
            while pitch > PITCH_HI:
                pitch -= 12
            if n.end > n.start:
                out.append(Note(group, pitch, float(n.start), float(n.end), int(n.velocity)))
    return out


def _steps(t: float) -> int:
    return int(round(t / STEP_S))


def encode(
    notes: list[Note],
    chord_times: list[float] = (),
    bar_times: list[float] = (),
    dense: bool | None = None,
) -> Encoded:
    """Notes -> [START, density flag, events...]. At one time: OFFs, BAR, CHORD, then VEL/ONs by group.

    OFF comes before ON (the reference orders ON first) so a re-struck pitch is not cut by its own OFF.
    """
    if dense is None:
        dense = len({n.group for n in notes}) > DENSITY_GROUPS
    by_key: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
    for n in notes:
        s = _steps(n.start)
        by_key.setdefault((n.group, n.pitch), []).append((s, max(s + 1, _steps(n.end)), n.velocity))
    events: list[tuple[int, int, int, int, int]] = []  # (step, order, group, pitch, velocity)
    for (g, p), spans in by_key.items():
        spans.sort()
        for i, (s, e, v) in enumerate(spans):
            if i + 1 < len(spans) and spans[i + 1][0] < e:
                e = spans[i + 1][0]
            if e <= s:
                continue
            events.append((s, 3, g, p, v))
            events.append((e, 0, g, p, 0))
    events += [(_steps(t), 1, 0, 0, 0) for t in bar_times]
    events += [(_steps(t), 2, 0, 0, 0) for t in chord_times]
    events.sort()
    tokens = [VOCAB.start, VOCAB.more if dense else VOCAB.less]
    times = [0.0, 0.0]
    cursor, vbin = 0, -1
    for step, order, g, p, v in events:
        gap = step - cursor
        while gap > 0:
            k = min(gap, MAX_SHIFT_STEPS)
            cursor += k
            gap -= k
            tokens.append(VOCAB.shift(k))
            times.append(cursor * STEP_S)
        if order == 0:
            tokens.append(VOCAB.note_off(g, p))
        elif order == 1:
            tokens.append(VOCAB.bar)
        elif order == 2:
            tokens.append(VOCAB.chord)
        else:
            b = velocity_bin(v)
            if b != vbin:
                vbin = b
                tokens.append(VOCAB.velocity(b))
                times.append(cursor * STEP_S)
            tokens.append(VOCAB.note_on(g, p))
        times.append(cursor * STEP_S)
    return Encoded(np.asarray(tokens, dtype=np.int16), np.asarray(times, dtype=np.float32))


def decode(tokens: list[int] | np.ndarray, end_s: float | None = None) -> list[Note]:
    """Tokens -> notes. Unmatched OFFs are ignored; notes still on close at the end (or end_s)."""
    cursor, vel = 0, 80
    open_notes: dict[tuple[int, int], tuple[int, int]] = {}
    notes: list[Note] = []
    for tok in (int(t) for t in tokens):
        if VOCAB.is_shift(tok):
            cursor += VOCAB.shift_steps(tok)
        elif VOCAB.is_vel(tok):
            vel = bin_velocity(tok - VOCAB.vel0)
        elif VOCAB.is_on(tok) or VOCAB.is_off(tok):
            key = VOCAB.note_of(tok)
            if key in open_notes:
                s, v = open_notes.pop(key)
                if cursor > s:
                    notes.append(Note(key[0], key[1], s * STEP_S, cursor * STEP_S, v))
            if VOCAB.is_on(tok):
                open_notes[key] = (cursor, vel)
    last = cursor * STEP_S if end_s is None else end_s
    for (g, p), (s, v) in open_notes.items():
        if last > s * STEP_S:
            notes.append(Note(g, p, s * STEP_S, last, v))
    if end_s is not None:
        notes = [
            Note(n.group, n.pitch, n.start, min(n.end, end_s), n.velocity) for n in notes if n.start < end_s
        ]
    return sorted(notes, key=lambda n: (n.start, n.group, n.pitch))


def chord_token_times(tokens: list[int] | np.ndarray, token: int | None = None) -> list[float]:
    """Cursor time (s) of every CHORD token (or of every `token`, e.g. VOCAB.bar)."""
    wanted = VOCAB.chord if token is None else token
    cursor, out = 0, []
    for tok in (int(t) for t in tokens):
        if VOCAB.is_shift(tok):
            cursor += VOCAB.shift_steps(tok)
        elif tok == wanted:
            out.append(cursor * STEP_S)
    return out


def to_midi_bytes(notes: list[Note], cuts_s: list[float] | tuple[float, ...] = (), bar_times_s: list[float] = ()) -> bytes:
    """Type-1 MIDI: one named track per group with its GM program, 120 BPM, a "cut" marker per cut and a
    "bar" text event per generated bar line (the render turns those into the tempo map)."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=OUTPUT_TEMPO_BPM)
    pm.text_events = [pretty_midi.Text(BAR_MARKER, t) for t in bar_times_s]
    for g, name in enumerate(GROUPS):
        group_notes = [n for n in notes if n.group == g]
        if not group_notes:
            continue
        inst = pretty_midi.Instrument(program=GROUP_PROGRAMS[name], is_drum=g == DRUMS, name=name)
        inst.notes = [pretty_midi.Note(n.velocity, n.pitch, n.start, n.end) for n in group_notes]
        pm.instruments.append(inst)
    buf = io.BytesIO()
    pm.write(buf)
    return with_cut_markers(buf.getvalue(), list(cuts_s))
