"""MIDI editing the soundtrack needs: cut markers, splicing a span from another MIDI, chord onsets.

Splicing is how a long video's chunks become one soundtrack and how one scene is regenerated while
the rest stays: notes of the base outside [start, end) are kept (those crossing the edge are cut
there), the new part's notes are shifted in.
"""

from __future__ import annotations

import io

import mido
import pretty_midi

CUT_MARKER = "cut"


def load(midi_bytes: bytes) -> pretty_midi.PrettyMIDI:
    return pretty_midi.PrettyMIDI(io.BytesIO(midi_bytes))


def dump(pm: pretty_midi.PrettyMIDI) -> bytes:
    buf = io.BytesIO()
    pm.write(buf)
    return buf.getvalue()


def _key(inst: pretty_midi.Instrument) -> tuple[int, bool, str]:
    """Tracks merge by program, drum flag and name: an ensemble's roles may share a program
    (the piano line-up) and stay separate tracks."""
    return inst.program, inst.is_drum, inst.name


def splice(base: pretty_midi.PrettyMIDI | None, part: pretty_midi.PrettyMIDI, start_s: float, end_s: float) -> pretty_midi.PrettyMIDI:
    """A new MIDI: base outside [start_s, end_s) plus part's notes (times from 0) shifted to start_s."""
    out = pretty_midi.PrettyMIDI(resolution=(base or part).resolution, initial_tempo=120.0)
    by_key: dict[tuple[int, bool, str], pretty_midi.Instrument] = {}

    def inst_for(src: pretty_midi.Instrument) -> pretty_midi.Instrument:
        if _key(src) not in by_key:
            by_key[_key(src)] = pretty_midi.Instrument(program=src.program, is_drum=src.is_drum, name=src.name)
            out.instruments.append(by_key[_key(src)])
        return by_key[_key(src)]

    for inst in base.instruments if base is not None else []:
        for n in inst.notes:
            if n.start < start_s:
                end = min(n.end, start_s)
            elif n.start >= end_s:
                end = n.end
            else:
                continue
            if end > n.start:
                inst_for(inst).notes.append(pretty_midi.Note(n.velocity, n.pitch, n.start, end))
    span = end_s - start_s
    for inst in part.instruments:
        for n in inst.notes:
            if n.start < span:
                inst_for(inst).notes.append(pretty_midi.Note(n.velocity, n.pitch, n.start + start_s, min(n.end, span) + start_s))
    for inst in out.instruments:
        inst.notes.sort(key=lambda n: (n.start, n.pitch))
    return out


def with_cut_markers(midi_bytes: bytes, cuts_s: list[float]) -> bytes:
    """The MIDI with one marker meta event named "cut" per cut time, on the first track."""
    pm = load(midi_bytes)
    ticks = [pm.time_to_tick(t) for t in cuts_s]
    mf = mido.MidiFile(file=io.BytesIO(midi_bytes))
    track = mf.tracks[0]
    events, now = [], 0
    for msg in track:
        now += msg.time
        if not (msg.is_meta and msg.type == "marker" and msg.text == CUT_MARKER):
            events.append((now, 0, msg))
    events += [(t, -1, mido.MetaMessage("marker", text=CUT_MARKER, time=0)) for t in ticks]
    end = [e for e in events if e[2].type == "end_of_track"]
    body = sorted((e for e in events if e[2].type != "end_of_track"), key=lambda e: (e[0], e[1]))
    last = max([e[0] for e in body], default=0)
    body += [(max(last, e[0]), 1, e[2]) for e in end] or [(last, 1, mido.MetaMessage("end_of_track", time=0))]
    track.clear()
    prev = 0
    for t, _, msg in body:
        track.append(msg.copy(time=t - prev))
        prev = t
    buf = io.BytesIO()
    mf.save(file=buf)
    return buf.getvalue()


def cut_markers(midi_bytes: bytes) -> list[float]:
    """Times (s) of the "cut" markers in a MIDI file."""
    mf = mido.MidiFile(file=io.BytesIO(midi_bytes))
    pm = load(midi_bytes)
    out, now = [], 0
    for msg in mf.tracks[0]:
        now += msg.time
        if msg.is_meta and msg.type == "marker" and msg.text == CUT_MARKER:
            out.append(float(pm.tick_to_time(now)))
    return out
