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
BAR_MARKER = "bar"  # the generator marks its bar lines; the render makes them the tempo map's bars
BEATS_PER_BAR = 4
FINE_RESOLUTION = 960  # ticks per quarter note: notes keep their times within half a millisecond
MIN_BAR_S = 1.0  # a 4/4 bar under 1 s is over 240 BPM: such bar tokens are merged into the bar before


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
    out.text_events = [m for m in (base.text_events if base is not None else []) if m.text == BAR_MARKER
                   and not start_s <= m.time < end_s]
    out.text_events += [pretty_midi.Text(BAR_MARKER, m.time + start_s) for m in part.text_events
                    if m.text == BAR_MARKER and m.time < span]
    out.text_events.sort(key=lambda m: m.time)
    return out


def bar_times(pm: pretty_midi.PrettyMIDI) -> list[float]:
    """Times (s) of the generated bar lines ("bar" text events)."""
    return [m.time for m in pm.text_events if m.text == BAR_MARKER]


def with_bar_tempo_map(pm: pretty_midi.PrettyMIDI, bar_times_s: list[float]) -> pretty_midi.PrettyMIDI:
    """The same notes at the same times, with a 4/4 tempo map whose bar lines fall on bar_times_s: each
    bar gets the tempo that makes it last until the next, so the music lines up with a DAW's grid.
    Time before the first bar line becomes a bar of its own; after the last, the last tempo holds."""
    starts = [0.0]
    for t in sorted(bar_times_s):
        if t - starts[-1] >= MIN_BAR_S:
            starts.append(float(t))
    if len(starts) < 3:
        return pm
    resolution = max(pm.resolution, FINE_RESOLUTION)
    notes = [(inst, [(n.velocity, n.pitch, n.start, n.end) for n in inst.notes]) for inst in pm.instruments]
    scales, tick = [], 0
    for a, b in zip(starts, starts[1:]):
        tempo_us = round((b - a) * 1e6 / BEATS_PER_BAR)  # what the file stores: microseconds per quarter note
        scales.append((tick, tempo_us / 1e6 / resolution))
        tick += BEATS_PER_BAR * resolution
    out = pretty_midi.PrettyMIDI(resolution=resolution)
    out._tick_scales = scales  # pretty_midi's tempo map; write() emits one set_tempo per entry
    last_s = max([end for _, ns in notes for *_, end in ns], default=0.0)
    out._update_tick_to_time(out.time_to_tick(last_s + 1.0) if last_s > 0 else tick)
    out.time_signature_changes = [pretty_midi.TimeSignature(BEATS_PER_BAR, 4, 0.0)]
    for inst, ns in notes:
        copy = pretty_midi.Instrument(program=inst.program, is_drum=inst.is_drum, name=inst.name)
        copy.notes = [pretty_midi.Note(v, p, s, e) for v, p, s, e in ns]
        out.instruments.append(copy)
    out.text_events = [pretty_midi.Text(m.text, m.time) for m in pm.text_events]
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
