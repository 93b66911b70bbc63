"""Valence cues: the tonal centre, the logit offsets, and their effect on generated music."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from emsync_core.music import GenerationRequest, SamplingSettings, SceneCondition, load_generator
from emsync_core.music.checkpoint import SHIPPED_CHECKPOINT
from emsync_core.music.evaluate import notes_of
from emsync_core.music.metrics import pitched
from emsync_core.music.tokens import DRUMS
from emsync_core.music.valence_cues import TONIC_MIN_NOTES, TonalCentre, cue_logits
from emsync_core.music.vocab import GROUPS, VOCAB

PIANO = GROUPS.index("piano")
C, E_FLAT, E, G = 60, 63, 64, 67


def _centre(pitches: list[int], group: int = PIANO) -> TonalCentre:
    centre = TonalCentre()
    for p in pitches:
        centre.add(VOCAB.note_on(group, p))
        centre.add(VOCAB.shift(10))
    return centre


C_MAJOR = [60, 64, 67, 72, 65, 69, 62, 67, 71, 60]


def test_tonal_centre_fits_the_key_in_the_requested_mode():
    assert _centre(C_MAJOR[: TONIC_MIN_NOTES - 1]).tonic(True) is None
    assert _centre(C_MAJOR).tonic(True) == 0
    assert _centre(C_MAJOR).tonic(False) == 9  # the same notes as A minor: turn minor by settling on A
    assert _centre([p + 7 for p in C_MAJOR]).tonic(True) == 7  # G major
    assert _centre(C_MAJOR, group=DRUMS).tonic(True) is None  # drum "pitches" are instruments, not notes


def test_cues_lean_on_the_requested_key_register_and_articulation():
    on = lambda p: VOCAB.note_on(PIANO, p)  # noqa: E731
    centre = _centre(C_MAJOR)
    pos, neg = cue_logits(0.8, centre, 1.0), cue_logits(-0.8, centre, 1.0)
    D, A, B, C_SHARP = 62, 69, 71, 61
    assert pos[on(C)] > pos[on(D)] and pos[on(E)] > pos[on(E_FLAT)]  # C major: the tonic, the major third
    assert neg[on(A)] > neg[on(B)] and neg[on(C)] > neg[on(C_SHARP)]  # A minor: the tonic A, the minor third C
    assert pos[on(G)] - pos[on(G - 12)] > 0 > neg[on(G)] - neg[on(G - 12)]  # register
    assert pos[VOCAB.note_off(PIANO, C)] > 0 and neg[VOCAB.note_off(PIANO, C)] == 0  # detached when positive only
    assert pos[VOCAB.note_on(DRUMS, 42)] == 0 and pos[VOCAB.chord] == 0
    assert not cue_logits(0.0, centre, 1.0).any() and not cue_logits(0.8, centre, 0.0).any()
    early = cue_logits(0.8, TonalCentre(), 1.0)  # no key yet: register and articulation only
    assert early[on(E)] - early[on(E_FLAT)] == pytest.approx(0.8 * 0.15 / 12)


def _request(seed: int, valence: float, cues: float = 1.0, duration: float = 4.0) -> GenerationRequest:
    return GenerationRequest(f"v{valence}_{seed}", duration, (SceneCondition(0.0, valence, 0.3),), (2.0,), seed,
                             SamplingSettings(max_tokens=300, valence_cues=cues))


def test_cues_change_valenced_music_only_and_keep_batches_invariant(tiny_generator):
    on, off = (tiny_generator.generate([_request(5, 0.8, c)])[0].midi_bytes for c in (1.0, 0.0))
    assert on != off
    neutral = [tiny_generator.generate([_request(5, 0.0, c)])[0].midi_bytes for c in (1.0, 0.0)]
    assert neutral[0] == neutral[1]  # V = 0: no cue at all
    mixed = tiny_generator.generate([_request(6, -0.8, 0.0), _request(5, 0.8), _request(7, 0.5, 2.0)])
    assert mixed[1].midi_bytes == on


@pytest.mark.skipif(not SHIPPED_CHECKPOINT.exists(), reason="shipped checkpoint not trained yet")
def test_shipped_model_with_cues_plays_positive_higher_and_shorter():
    gen = load_generator()
    reqs = [replace(_request(s, v, duration=10.0), sampling=SamplingSettings()) for s in (11, 12, 13) for v in (0.8, -0.8)]
    notes = [pitched(notes_of(r)) for r in gen.generate(reqs)]
    pitch = [np.mean([n.pitch for n in ns]) for ns in notes]
    length = [np.mean([n.end - n.start for n in ns]) for ns in notes]  # held notes get released sooner
    assert np.mean(pitch[0::2]) > np.mean(pitch[1::2]) + 2
    assert np.mean(length[0::2]) < np.mean(length[1::2])
