"""Planning and assembling: chunks end on cuts, seeds are reproducible, splicing keeps onsets in place."""

from __future__ import annotations

import pretty_midi
import pytest

from emsync_core.render import midi as midi_tools
from emsync_core.scoring.assemble import Assembled, Piece, assemble, cut_alignment
from emsync_core.scoring.models import ModelIdentity
from emsync_core.scoring.plan import Chunk, ScorePlan, SceneMood, chunk_requests, chunk_spans, scene_request, variant_key


def _plan(duration=300.0, cuts=(50.0, 100.0, 170.0, 230.0), max_chunk=120.0, seed=3):
    bounds = [0.0, *cuts, duration]
    moods = tuple(SceneMood(i, bounds[i], bounds[i + 1], (-1) ** i * 0.5, 0.1 * i) for i in range(len(bounds) - 1))
    return ScorePlan("vid", duration, tuple(cuts), moods, seed, max_chunk_s=max_chunk)


def test_chunks_cover_the_video_end_on_cuts_and_respect_the_limit():
    chunks = chunk_spans(300.0, (50.0, 100.0, 170.0, 230.0), 120.0)
    assert [(c.start_s, c.end_s) for c in chunks] == [(0.0, 100.0), (100.0, 170.0), (170.0, 230.0), (230.0, 300.0)]
    assert chunk_spans(30.0, (), 120.0) == [Chunk(0, 0.0, 30.0)]
    assert [c.end_s - c.start_s for c in chunk_spans(250.0, (), 100.0)] == [100.0, 100.0, 50.0]
    with pytest.raises(ValueError):
        chunk_spans(0.0, (), 10.0)


def test_requests_carry_relative_scenes_and_cuts_and_stable_seeds():
    plan = _plan()
    reqs = chunk_requests(plan)
    assert [r.request_id for _, r in reqs] == ["vid/c0", "vid/c1", "vid/c2", "vid/c3"]
    chunk, second = reqs[1]
    assert second.duration_s == 70.0 and second.cuts_s == () and second.scenes[0].start_s == 0.0
    assert reqs[0][1].cuts_s == (50.0,) and [s.start_s for s in reqs[0][1].scenes] == [0.0, 50.0]
    assert [r.seed for _, r in reqs] == [r.seed for _, r in chunk_requests(_plan())]  # reproducible
    assert len({r.seed for _, r in reqs}) == 4 and reqs[0][1].seed != chunk_requests(_plan(seed=4))[0][1].seed
    span, req = scene_request(plan, 2, 99)
    assert (span.start_s, span.end_s, req.seed, req.duration_s) == (100.0, 170.0, 99, 70.0)
    with pytest.raises(ValueError, match="no scene 9"):
        scene_request(plan, 9, 1)


def test_variant_key_changes_with_what_changes_the_music():
    base = dict(generator=ModelIdentity("g1", "g"), classifier=ModelIdentity("c1", "c"), render={"lufs": -16})
    key = variant_key(_plan(), **base)
    assert key == variant_key(_plan(), **base)
    assert key != variant_key(_plan(seed=4), **base)
    assert key != variant_key(_plan(), **{**base, "generator": ModelIdentity("g1", "h")})
    assert key != variant_key(_plan(), **{**base, "classifier": ModelIdentity("c1+rules-2", "c")})  # same weights, other scene rules
    assert key != variant_key(_plan(), **{**base, "render": {"lufs": -23}})


def _piece_midi(pitch: int, length: float) -> bytes:
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(0)
    inst.notes = [pretty_midi.Note(80, pitch, t, t + 0.5) for t in range(int(length))]
    pm.instruments.append(inst)
    return midi_tools.dump(pm)


def test_assembling_chunks_places_notes_and_onsets_on_the_video_timeline():
    pieces = [Piece(Chunk(0, 0.0, 5.0), _piece_midi(60, 6), (0.0, 4.9), 10),
              Piece(Chunk(1, 5.0, 9.0), _piece_midi(64, 4), (0.0, 2.0), 20)]
    music = assemble(pieces)
    notes = sorted((n.start, n.pitch) for i in midi_tools.load(music.midi_bytes).instruments for n in i.notes)
    assert [p for t, p in notes if t < 5.0] == [60] * 5 and [p for t, p in notes if t >= 5.0] == [64] * 4
    assert music.chord_onsets_s == (0.0, 4.9, 5.0, 7.0) and music.n_tokens == 30
    regen = assemble([Piece(Chunk(-1, 5.0, 9.0), _piece_midi(67, 4), (1.0,), 7)], base=music)
    assert regen.chord_onsets_s == (0.0, 4.9, 6.0)
    assert isinstance(regen, Assembled)


def test_cut_alignment_counts_chords_within_a_second():
    a = cut_alignment([5.0, 10.0, 20.0], [0.0, 5.2, 10.9, 14.0])
    assert (a.n_cuts, a.n_matched) == (3, 2) and a.mean_offset_s == pytest.approx(0.55)
    assert cut_alignment([], [1.0]).mean_offset_s is None
