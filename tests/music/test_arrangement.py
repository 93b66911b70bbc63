"""What a listener hears: the chord written at each cut, the ensemble's roles, no silent stretches."""

from __future__ import annotations

import io
from dataclasses import replace

import pretty_midi
import pytest
import torch

from emsync_core.music import GenerationRequest, SamplingSettings, SceneCondition
from emsync_core.music.arrange import BAR_S, MIN_NOTE_S, arrange, articulate, backbeat, parts_to_midi
from emsync_core.music.cut_chords import voicing
from emsync_core.music.ensemble import PRESETS, parse_ensemble
from emsync_core.music.generator import _Sequence
from emsync_core.music.heard import soundtrack_stats
from emsync_core.music.metrics import audible_chords, empty_windows, thin_cuts
from emsync_core.music.tokens import DRUMS, Note
from emsync_core.music.vocab import GROUPS, VOCAB

PIANO = GROUPS.index("piano")


def test_ensembles_parse_presets_and_custom_programs():
    assert parse_ensemble("Band") is PRESETS["band"]
    custom = parse_ensemble("melody=73,harmony=48,bass=42,drums=48")
    assert (custom.melody, custom.harmony, custom.bass, custom.drums) == (73, 48, 42, 48)
    assert parse_ensemble(custom.spec) == custom
    assert parse_ensemble("melody=1,harmony=2,bass=3").drums is None
    for bad in ("kazoo", "melody=1,harmony=2", "melody=1,harmony=2,bass=300", "lead=1,harmony=2,bass=3"):
        with pytest.raises(ValueError, match="ensemble"):
            parse_ensemble(bad)


def test_audible_chords_need_three_accented_notes():
    quiet = [Note(PIANO, p, 1.0, 2.0, 40) for p in (60, 64, 67)]
    loud = [Note(PIANO, p, 3.0, 4.0, 100) for p in (60, 64, 67)]
    melody = [Note(PIANO, 72, t / 4, t / 4 + 0.2, 70) for t in range(16)]
    two = [Note(PIANO, p, 4.5, 5.0, 110) for p in (60, 64)]
    assert audible_chords(quiet + loud + melody + two) == [pytest.approx(3.0)]
    assert thin_cuts([1.0, 3.0, 5.5, 6.0, 9.6]) == [1.0, 5.5, 9.6]
    assert empty_windows(melody + two, 12.0) == 5  # windows starting 5.0..7.0 s hear nothing


def test_arrangement_deals_roles_and_fills_silence():
    notes = [Note(PIANO, p, 0.0, 1.0, 80) for p in (45, 60, 64, 72)] + [Note(PIANO, 76, 9.0, 9.5, 80)]
    notes += [Note(DRUMS, 36, t, t + 0.1, 90) for t in (0.5, 8.5)]
    scenes = (SceneCondition(0.0, 0.5, -0.5), SceneCondition(6.0, 0.5, 0.8))
    parts = {p.role: p for p in arrange(notes, scenes, 12.0, PRESETS["band"])}
    assert set(parts) == {"melody", "harmony", "bass", "drums"}
    assert [n.pitch for n in parts["melody"].notes] == [72, 76]
    assert min(n.pitch for n in parts["bass"].notes) < 53 and parts["bass"].program == PRESETS["band"].bass
    # every bar has harmony and bass; drums only in the high-arousal scene
    for k in range(int(12.0 / BAR_S)):
        assert any(n.start < (k + 1) * BAR_S and n.end > k * BAR_S for n in parts["harmony"].notes)
    assert all(n.start >= 6.0 for n in parts["drums"].notes) and parts["drums"].is_drum
    midi = parts_to_midi(list(parts.values()), (3.0,))
    assert soundtrack_stats(midi, (3.0,), 12.0).empty_windows == 0
    no_drums = arrange(notes, scenes, 12.0, PRESETS["strings"])
    assert {p.role for p in no_drums} == {"melody", "harmony", "bass"}


def test_valence_is_articulated_per_scene():
    # positive scene: detached notes, melody an octave up; negative scene: legato melody; V = 0 untouched
    line = [Note(PIANO, 62 + k % 3, k * 0.5, k * 0.5 + 0.3, 80) for k in range(8)]
    chords = [Note(PIANO, 55, k * BAR_S, (k + 1) * BAR_S, 60) for k in range(2)]

    def played(valence: float, strength: float = 1.0) -> dict[str, list[Note]]:
        roles = {"melody": list(line), "harmony": list(chords), "bass": [], "drums": []}
        articulate(roles, (SceneCondition(0.0, valence, 0.0),), 4.0, strength)
        return roles

    happy, sad, neutral = played(0.8), played(-0.8), played(0.8, strength=0.0)
    assert played(0.0) == neutral == {"melody": line, "harmony": chords, "bass": [], "drums": []}
    assert min(n.pitch for n in happy["melody"]) >= 74 and [n.start for n in happy["melody"]] == [n.start for n in line]
    assert all(MIN_NOTE_S <= h.end - h.start < n.end - n.start for h, n in zip(happy["melody"] + happy["harmony"], line + chords))
    assert [n.pitch for n in sad["melody"]] == [n.pitch for n in line]  # already low: not moved
    high = {"melody": [replace(n, pitch=n.pitch + 12) for n in line], "harmony": [], "bass": [], "drums": []}
    articulate(high, (SceneCondition(0.0, -0.8, 0.0),), 4.0, 1.0)
    assert [n.pitch for n in high["melody"]] == [n.pitch for n in line]  # high: down an octave, not below middle C
    assert all(s.end > n.end for s, n in zip(sad["melody"][:-1], line)) and sad["harmony"] == chords
    assert all(a.end <= b.start + 1e-9 for a, b in zip(sad["melody"], sad["melody"][1:]))  # held to the next, not over it
    assert line[-1].end < sad["melody"][-1].end <= 4.0  # the last one towards the end, not past it


def test_drums_get_busier_with_arousal():
    # the backbeat carries arousal like the rest of the music: more hits per bar in a more aroused scene
    scenes = (SceneCondition(0.0, 0.0, 0.4), SceneCondition(4 * BAR_S, 0.0, 0.9))
    drums = backbeat(scenes, 8 * BAR_S, [])
    calm = [n for n in drums if n.start < 4 * BAR_S]
    busy = [n for n in drums if n.start >= 4 * BAR_S]
    assert len(busy) > len(calm) > 0
    assert not backbeat((SceneCondition(0.0, 0.0, 0.0),), 8 * BAR_S, [])


def test_drums_only_music_still_gets_pitched_notes():
    drums = [Note(DRUMS, 38, t / 2, t / 2 + 0.1, 90) for t in range(20)]
    parts = arrange(drums, (SceneCondition(0.0, -0.5, 0.9),), 10.0, PRESETS["orchestra"])
    stats = soundtrack_stats(parts_to_midi(parts), (), 10.0)
    assert not stats.drums_only and stats.empty_windows == 0 and len(stats.groups) >= 3


def test_a_shift_over_a_cut_lands_on_it_and_the_chord_follows():
    req = GenerationRequest("s", 10.0, (SceneCondition(0.0, -0.5, 0.0),), (1.0,), seed=0)
    s = _Sequence(req, torch.Generator(), use_boundary=True, pending=[1.0])
    s.push(VOCAB.start)
    s.accept(VOCAB.shift(100))  # 0.8 s
    s.accept(VOCAB.shift(100))  # would cross 1.0 s: cut short to land on it
    assert s.now == pytest.approx(1.0)
    for _ in range(7):
        s.accept(VOCAB.bar)  # whatever the model samples, the decoder writes CHORD and the chord
    assert s.tokens[-7] == VOCAB.chord and s.pending == []
    ons = [VOCAB.note_of(t) for t in s.tokens[-5:-1]]
    assert ons == voicing(9, False, 0)  # A minor before the key is known: A, C, E over a bass A
    off = VOCAB.note_off(*ons[1])
    assert s.banned()[off]  # held for a beat
    s.accept(VOCAB.shift(70))
    assert not s.banned()[off]


def test_every_cut_gets_an_audible_chord_and_the_ensemble_is_honoured(tiny_generator):
    custom = "melody=71,harmony=19,bass=32"
    reqs = [
        GenerationRequest(f"e{i}", 12.0, (SceneCondition(0.0, 0.4, 0.6),), (2.0, 6.5, 10.5), seed=i,
                          sampling=SamplingSettings(max_tokens=400, ensemble=ensemble))
        for i, ensemble in enumerate(("band", custom))
    ]
    band, own = tiny_generator.generate(reqs)
    for res in (band, own):
        stats = soundtrack_stats(res.midi_bytes, (2.0, 6.5, 10.5), 12.0)
        assert stats.audible_cut_chords == stats.cuts == 3 and stats.empty_windows == 0
    programs = {i.name: (i.program, i.is_drum) for i in pretty_midi.PrettyMIDI(io.BytesIO(own.midi_bytes)).instruments}
    assert programs == {"melody": (71, False), "harmony": (19, False), "bass": (32, False)}
    band_programs = {i.name: i.program for i in pretty_midi.PrettyMIDI(io.BytesIO(band.midi_bytes)).instruments}
    assert band_programs["bass"] == PRESETS["band"].bass and "drums" in band_programs
    with pytest.raises(ValueError, match="ensemble"):
        tiny_generator.generate([GenerationRequest("x", 2.0, reqs[0].scenes, (), seed=0, sampling=SamplingSettings(ensemble="kazoo"))])


def test_cut_chord_accent_is_never_quieter_than_the_music_just_before():
    from emsync_core.music.cut_chords import ACCENT_MIN_BIN, chord_tokens
    from emsync_core.music.vocab import VOCAB

    # a soft note right before the cut after loud ones: the accent follows the loud ones, then the soft bin resumes
    toks = chord_tokens(0, True, 0, velocity_bin=3, loudest_recent_bin=7)
    assert toks[0] == VOCAB.velocity(7) and toks[-1] == VOCAB.velocity(3)
    # quiet music: two bins above it, at least the minimum accent
    assert chord_tokens(0, True, 0, velocity_bin=2, loudest_recent_bin=2)[0] == VOCAB.velocity(ACCENT_MIN_BIN)
    assert chord_tokens(0, True, 0, velocity_bin=5, loudest_recent_bin=4)[0] == VOCAB.velocity(7)
