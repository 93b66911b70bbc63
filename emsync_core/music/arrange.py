"""The arrangement step after generation: the model's notes are dealt to an ensemble's roles.

What is learned and what is arranged: every note, its timing, dynamics and the harmony come from
the model (and the accented chords at the cuts from the decoder); this step only decides who plays
them - the top note of each onset becomes the melody, the low notes the bass, the rest the harmony -,
ends notes the model never released after two bars, and fills what a band would not leave empty: a
bass note on each bar that has none, a held chord of the bar's own pitch classes where the harmony
is silent (so no stretch is without pitched notes),
and, in line-ups with drums, a plain backbeat in scenes whose arousal is high where the model
played no drums of its own. Last, each scene's valence is played the way listeners hear it
(`articulate`): positive scenes detached and with the melody an octave higher when it sits low,
negative scenes legato and with the melody lower when it sits high.
"""

from __future__ import annotations

import bisect
import io
from collections import Counter
from dataclasses import dataclass, replace

import numpy as np
import pretty_midi

from emsync_core.music.api import SceneCondition, scene_at
from emsync_core.music.ensemble import ROLES, Ensemble
from emsync_core.music.tokens import DRUMS, OUTPUT_TEMPO_BPM, Note
from emsync_core.render.midi import BAR_MARKER, with_cut_markers

BEAT_S = 60.0 / OUTPUT_TEMPO_BPM
BAR_S = 4 * BEAT_S
ONSET_TOL_S = 0.05  # notes starting this close together form one onset
MELODY_MIN_PITCH = 60  # the top note of an onset is melody from middle C up
BASS_MAX_PITCH = 55  # the lowest note of a 2+-note onset below this is bass
BASS_RANGE = (28, 52)  # E1..E3, where bass notes are moved by octaves
PAD_LOW = 55  # held harmony is voiced in the octave from G3
#: scenes at or above this arousal get drums (in line-ups that have drums)
DRUMS_AROUSAL = 0.3
#: scenes at or above this arousal get sixteenth hi-hats instead of eighths: the drums carry the
#: arousal as the rest does (more notes per second), instead of one fixed pattern for every high scene
BUSY_AROUSAL = 0.6
#: (GM drum note, beats in the bar) of the backbeat: kick 1+3, snare 2+4; closed hi-hat added below
BACKBEAT = ((36, (0.0, 2.0)), (38, (1.0, 3.0)))
HI_HAT = 42
DRUM_HIT_S = 0.1
#: the model sometimes never releases a note (one held 18 s over three chords); no note is held
#: longer than two bars - the bar fills keep the harmony sounding after it
MAX_NOTE_S = 2 * BAR_S


@dataclass(frozen=True)
class Articulation:
    """How the arrangement plays a scene's valence, at |V| = 1 (scaled by V and the cue strength).

    Listeners hear detached, shorter, higher notes as happy and connected, low ones as sad
    (Juslin & Laukka 2003; Gabrielsson & Lindstrom 2010); the valence judge agreed in a probe
    (notes halved in length: judged more positive in 12 of 12 pieces; 4 semitones up: 10 of 12).
    Values chosen on selection seeds (model card, "Valence in the arrangement").
    """

    #: V > 0: notes of the staccato roles sound (1 - staccato * V) of their length (never under MIN_NOTE_S)
    staccato: float = 0.5
    #: V < 0: melody notes are held this share of the way to the next melody onset (at most a bar)
    legato: float = 1.0
    #: roles played detached in positive scenes (the bass too: a detached bass lifted the judge's
    #: mean valence of positive pieces from 0.32 to 0.42 on the selection seeds)
    staccato_roles: tuple[str, ...] = ("melody", "harmony", "bass")
    #: the melody of a scene is moved by whole octaves so its median pitch lands nearest to
    #: MELODY_CENTRE + register * V (semitones), with every note inside MELODY_RANGE
    register: float = 15.0


MIN_NOTE_S = 0.1
MELODY_CENTRE = 67  # G4: the melody's median at V = 0
#: where an octave shift may take a melody's notes: from middle C, where the melody role starts (a
#: flute's lowest note), to C7
MELODY_RANGE = (MELODY_MIN_PITCH, 96)


@dataclass(frozen=True)
class Part:
    """One track of the soundtrack: a role played by one GM program."""

    role: str
    program: int
    is_drum: bool
    notes: tuple[Note, ...]


def _onsets(notes: list[Note]) -> list[list[Note]]:
    """Pitched notes grouped into onsets (starts within ONSET_TOL_S), each sorted by pitch."""
    out: list[list[Note]] = []
    for n in sorted(notes, key=lambda n: n.start):
        if out and n.start - out[-1][0].start <= ONSET_TOL_S:
            out[-1].append(n)
        else:
            out.append([n])
    return [sorted(o, key=lambda n: n.pitch) for o in out]


def _into_range(pitch: int, lo: int, hi: int) -> int:
    while pitch > hi:
        pitch -= 12
    while pitch < lo:
        pitch += 12
    return pitch


def split_roles(pitched: list[Note]) -> dict[str, list[Note]]:
    """Melody = the top note of an onset from middle C up; bass = the model's bass notes and the lowest
    note of a 2+-note onset below G3 (moved into the bass range); harmony = the rest."""
    roles: dict[str, list[Note]] = {r: [] for r in ROLES}
    bass_group = 1
    for onset in _onsets(pitched):
        rest = [n for n in onset if n.group != bass_group]
        roles["bass"] += [replace(n, pitch=_into_range(n.pitch, *BASS_RANGE)) for n in onset if n.group == bass_group]
        if rest and rest[-1].pitch >= MELODY_MIN_PITCH:
            roles["melody"].append(rest.pop())
        if len(rest) >= 2 and rest[0].pitch < BASS_MAX_PITCH:
            low = rest.pop(0)
            roles["bass"].append(replace(low, pitch=_into_range(low.pitch, *BASS_RANGE)))
        roles["harmony"] += rest
    return roles


def _sounding(notes: list[Note], lo: float, hi: float) -> list[Note]:
    return [n for n in notes if n.start < hi and n.end > lo]


def _bar_pitch_classes(notes: list[Note], lo: float, hi: float) -> list[int]:
    """Up to three pitch classes that sound longest in [lo, hi)."""
    weight: Counter[int] = Counter()
    for n in _sounding(notes, lo, hi):
        weight[n.pitch % 12] += min(n.end, hi) - max(n.start, lo)
    return [pc for pc, _ in weight.most_common(3)]


def fill_bars(roles: dict[str, list[Note]], duration_s: float, fallback: list[int]) -> None:
    """Per bar: a held chord of the bar's pitch classes where the harmony is silent, and a bass note
    on the bar where no bass note sounds at its downbeat. Empty bars reuse the last bar's chord."""
    pitched = roles["melody"] + roles["harmony"] + roles["bass"]
    velocities = [n.velocity for n in pitched]
    soft = int(0.75 * np.median(velocities)) if velocities else 60
    last = fallback
    for k in range(int(np.ceil(duration_s / BAR_S))):
        lo, hi = k * BAR_S, min(duration_s, (k + 1) * BAR_S)
        if hi - lo < BEAT_S:
            break
        pcs = _bar_pitch_classes(pitched, lo, hi) or last
        last = pcs
        if not _sounding(roles["harmony"], lo, hi):
            roles["harmony"] += [Note(3, PAD_LOW + (pc - PAD_LOW) % 12, lo, hi, soft) for pc in pcs]
        bass_now = [n for n in roles["bass"] if n.start <= lo + BEAT_S and n.end > lo]
        if not bass_now:
            low = min(_sounding(pitched, lo, hi), key=lambda n: n.pitch, default=None)
            pc = low.pitch % 12 if low else pcs[0]
            nxt = min((n.start for n in roles["bass"] if lo < n.start < hi), default=hi)
            roles["bass"].append(Note(1, _into_range(36 + pc, *BASS_RANGE), lo, nxt, soft))


def _melody_octaves(melody: list[Note], scenes: tuple[SceneCondition, ...], strength: float, register: float) -> list[Note]:
    """Each scene's melody moved by whole octaves towards MELODY_CENTRE + register * V - up only in
    positive scenes, down only in negative ones, never at V = 0: one shift per scene, so the line
    keeps its shape."""
    starts = [s.start_s for s in scenes]
    by_scene: dict[int, list[int]] = {}
    for n in melody:
        by_scene.setdefault(scene_at(starts, n.start), []).append(n.pitch)
    shifts = {}
    for i, pitches in by_scene.items():
        v = strength * scenes[i].valence
        shift = 12 * round((MELODY_CENTRE + register * v - float(np.median(pitches))) / 12)
        shift = max(shift, 0) if v > 0 else min(shift, 0) if v < 0 else 0
        while shift > 0 and max(pitches) + shift > MELODY_RANGE[1]:
            shift -= 12
        while shift < 0 and min(pitches) + shift < MELODY_RANGE[0]:
            shift += 12
        shifts[i] = shift
    return [replace(n, pitch=n.pitch + shifts[scene_at(starts, n.start)]) for n in melody]


def articulate(
    roles: dict[str, list[Note]], scenes: tuple[SceneCondition, ...], duration_s: float, strength: float, gains: Articulation = Articulation()
) -> None:
    """Play each scene's valence: positive scenes detached (shorter melody, harmony and bass notes),
    negative scenes legato (melody notes held towards the next), the melody's octave by valence.
    Only lengths and octaves change: every onset, pitch class and velocity stays the model's."""
    if strength == 0 or not scenes:
        return
    scene_starts = [s.start_s for s in scenes]

    def valence(t: float) -> float:
        return strength * scenes[scene_at(scene_starts, t)].valence

    melody = _melody_octaves(roles["melody"], scenes, strength, gains.register)
    starts = sorted(n.start for n in melody)
    legato = []
    for n in melody:
        v = valence(n.start)
        later = bisect.bisect_right(starts, n.start)
        target = min(starts[later] if later < len(starts) else duration_s, n.start + BAR_S, duration_s)
        legato.append(replace(n, end=n.end + gains.legato * -v * (target - n.end)) if v < 0 and target > n.end else n)
    roles["melody"] = legato
    for role in gains.staccato_roles:
        roles[role] = [
            replace(n, end=n.start + max(MIN_NOTE_S, (n.end - n.start) * (1 - gains.staccato * valence(n.start))))
            if valence(n.start) > 0 and n.end - n.start > MIN_NOTE_S
            else n
            for n in roles[role]
        ]


def backbeat(scenes: tuple[SceneCondition, ...], duration_s: float, model_drums: list[Note]) -> list[Note]:
    """The model's drums inside high-arousal scenes, plus a backbeat on each such bar where the
    model played fewer than two drum hits; louder and busier with arousal."""
    starts = [s.start_s for s in scenes]

    def arousal(t: float) -> float:
        return scenes[scene_at(starts, t)].arousal

    out = [n for n in model_drums if arousal(n.start) >= DRUMS_AROUSAL]
    for k in range(int(duration_s / BAR_S) + 1):
        lo = k * BAR_S
        a = arousal(lo)
        if a < DRUMS_AROUSAL or lo >= duration_s or len(_sounding(out, lo, lo + BAR_S)) >= 2:
            continue
        velocity = int(60 + 40 * a)
        per_beat = 4 if a >= BUSY_AROUSAL else 2
        for pitch, beats in (*BACKBEAT, (HI_HAT, tuple(x / per_beat for x in range(4 * per_beat)))):
            for b in beats:
                t = lo + b * BEAT_S
                if t < duration_s:
                    out.append(Note(DRUMS, pitch, t, min(duration_s, t + DRUM_HIT_S), velocity - 15 * (pitch == HI_HAT)))
    return out


def arrange(
    notes: list[Note], scenes: tuple[SceneCondition, ...], duration_s: float, ensemble: Ensemble, valence_cues: float = 1.0
) -> list[Part]:
    """The model's notes dealt to the ensemble's roles, with the fills above and each scene's valence
    articulated (`valence_cues` is the sampler's cue strength: 0 leaves valence to the model alone);
    drums-free line-ups drop the model's drums too."""
    pitched = [replace(n, end=min(n.end, n.start + MAX_NOTE_S)) for n in notes if n.group != DRUMS]
    roles = split_roles(pitched)
    mean_valence = float(np.mean([s.valence for s in scenes])) if scenes else 0.0
    fallback = [0, 4, 7] if mean_valence >= 0 else [9, 0, 4]  # C major / A minor when nothing is pitched
    fill_bars(roles, duration_s, fallback)
    articulate(roles, scenes, duration_s, valence_cues)
    if ensemble.drums is not None:
        roles["drums"] = backbeat(scenes, duration_s, [n for n in notes if n.group == DRUMS])
    return [
        Part(role, int(ensemble.program(role)), role == "drums", tuple(sorted(roles[role], key=lambda n: (n.start, n.pitch))))
        for role in ROLES
        if roles[role] and ensemble.program(role) is not None
    ]


def parts_to_midi(parts: list[Part], cuts_s: list[float] | tuple[float, ...] = (), bar_times_s: list[float] = ()) -> bytes:
    """Type-1 MIDI: one track per role, named by the role, with its GM program; a marker per cut and a
    "bar" text event per generated bar line (the render turns those into the tempo map)."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=OUTPUT_TEMPO_BPM)
    pm.text_events = [pretty_midi.Text(BAR_MARKER, t) for t in bar_times_s]
    for p in parts:
        inst = pretty_midi.Instrument(program=p.program, is_drum=p.is_drum, name=p.role)
        inst.notes = [pretty_midi.Note(n.velocity, n.pitch, n.start, n.end) for n in p.notes if n.end > n.start]
        pm.instruments.append(inst)
    buf = io.BytesIO()
    pm.write(buf)
    return with_cut_markers(buf.getvalue(), list(cuts_s))
