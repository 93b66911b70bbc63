"""MIDI -> tokens -> MIDI on real files, the group mapping and the output file format."""

from __future__ import annotations

import io

import mido
import numpy as np
import pretty_midi
import pytest

from emsync_core.music.tokens import Note, decode, encode, notes_from_midi, program_group, to_midi_bytes
from emsync_core.music.vocab import GROUPS, STEP_S, VOCAB, velocity_bin

FILES = [
    "pop909/POP909/001/001.mid",
    "nottingham/MIDI/jigs107.mid",
    "nesmdb/midi/191_Kirby_sAdventure_18_19ExpertBonusLevel.mid",
    "groove/drummer1/session1/102_funk_95_beat_4-4.mid",
    "emopia/midis/Q4_7yW9c7t8Hq0_0.mid",
]


def _key(n: Note) -> tuple[int, int, int, int]:
    return n.group, n.pitch, round(n.start / STEP_S), round(n.end / STEP_S)


def _expected_on_grid(notes: list[Note]) -> set[tuple[int, int, int, int]]:
    spans: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for n in notes:
        s = round(n.start / STEP_S)
        spans.setdefault((n.group, n.pitch), []).append((s, max(s + 1, round(n.end / STEP_S))))
    out = set()
    for (g, p), items in spans.items():
        items.sort()
        for i, (s, e) in enumerate(items):
            if i + 1 < len(items):
                e = min(e, items[i + 1][0])
            if e > s:
                out.add((g, p, s, e))
    return out


@pytest.mark.parametrize("rel", FILES)
def test_round_trip_within_grid(midi_root, rel):
    path = midi_root / rel
    if not path.exists():
        pytest.skip(f"{rel} not in this copy of the data")
    notes = notes_from_midi(pretty_midi.PrettyMIDI(str(path)))
    enc = encode(notes)
    back = decode(enc.tokens)
    assert enc.tokens[0] == VOCAB.start and len(enc.tokens) == len(enc.times)
    assert np.all(np.diff(enc.times) >= 0)
    # every note comes back on the 8 ms grid; a re-strike of a sounding pitch ends the earlier note
    assert {_key(n) for n in back} == _expected_on_grid(notes)
    # dynamics survive as velocity bins
    vel_in = {(n.group, n.pitch, round(n.start / STEP_S)): velocity_bin(n.velocity) for n in notes}
    vel_out = {(n.group, n.pitch, round(n.start / STEP_S)): velocity_bin(n.velocity) for n in back}
    same = [vel_in[k] == vel_out[k] for k in vel_out if k in vel_in]
    assert np.mean(same) > 0.95


def test_long_gap_becomes_several_shifts():
    enc = encode([Note(3, 60, 0.0, 0.5), Note(3, 62, 2.5, 3.0)])
    shifts = [VOCAB.shift_steps(int(t)) for t in enc.tokens if VOCAB.is_shift(int(t))]
    assert max(shifts) <= 125 and sum(shifts) * STEP_S == pytest.approx(3.0)
    assert [(_key(n)) for n in decode(enc.tokens)] == [(3, 60, 0, 62), (3, 62, 312, 375)]


def test_program_groups():
    assert GROUPS[program_group(0, True)] == "drums"
    assert GROUPS[program_group(33, False)] == "bass"
    assert GROUPS[program_group(25, False)] == "guitar"
    assert GROUPS[program_group(4, False)] == "piano"
    assert GROUPS[program_group(48, False)] == "strings"
    assert GROUPS[program_group(80, False)] == "strings"


def test_output_is_type1_with_named_tracks_tempo_and_markers():
    notes = [Note(0, 36, 0.0, 0.1, 100), Note(1, 40, 0.0, 1.0), Note(3, 60, 0.5, 1.5), Note(4, 67, 1.0, 2.0)]
    data = to_midi_bytes(notes, [0.75, 1.5])
    mid = mido.MidiFile(file=io.BytesIO(data))
    assert mid.type == 1
    markers = [m.text for m in mid.tracks[0] if m.type == "marker"]
    assert markers == ["cut", "cut"]
    assert any(m.type == "set_tempo" for m in mid.tracks[0])
    pm = pretty_midi.PrettyMIDI(io.BytesIO(data))
    assert [(i.name, i.program, i.is_drum) for i in pm.instruments] == [
        ("drums", 0, True), ("bass", 33, False), ("piano", 0, False), ("strings", 48, False)
    ]
    tick = mid.ticks_per_beat * 2  # 120 BPM: one second is two beats
    t, times = 0, []
    for m in mid.tracks[0]:
        t += m.time
        if m.type == "marker":
            times.append(t)
    assert times == [round(0.75 * tick), round(1.5 * tick)]
