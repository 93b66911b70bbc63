"""The scoring brief: words to settings, the mixing rules, and words we cannot place."""

from __future__ import annotations

import pytest

from emsync_core.brief import BriefError, parse_brief
from emsync_core.brief.lexicon import FILM_WORDS, RUSSELL_1980_DEGREES, mood_va
from emsync_core.brief.mix import MODE_MARGIN, SWING, apply_brief
from emsync_core.scoring.plan import SceneMood


def test_brief_words_map_to_mood_ensemble_mode_and_tempo():
    b = parse_brief("tense, orchestral, minor key")
    assert b.mood_words == ("tense",) and b.ensemble == "orchestra" and b.mode == "minor" and b.tempo_bpm is None
    assert b.arousal > 0.7 and abs(b.valence) < 0.1  # Russell places "tense" straight up the arousal axis
    joyful, melancholic = parse_brief("joyful"), parse_brief("Melancholic, piano, 72 bpm")
    assert joyful.valence > 0.5 > -0.5 > melancholic.valence
    assert melancholic.ensemble == "piano" and melancholic.tempo_bpm == 72.0
    assert parse_brief("at ease").arousal < 0 < parse_brief("at ease").valence


def test_every_film_word_sits_on_a_published_word():
    assert set(FILM_WORDS.values()) <= set(RUSSELL_1980_DEGREES)
    assert all(-1 <= c <= 1 for w in FILM_WORDS for c in mood_va(w))


@pytest.mark.parametrize("text, message", [
    ("tense, orchestrral", "unknown brief word 'orchestrral'; did you mean orchestral"),
    ("major, minor", "both major and minor"),
    ("piano, orchestral", "more than one ensemble"),
    (" , ", "empty"),
])
def test_bad_briefs_name_the_problem(text, message):
    with pytest.raises(BriefError, match=message):
        parse_brief(text)


MOODS = (SceneMood(0, 0.0, 4.0, 0.2, 0.0), SceneMood(1, 4.0, 8.0, -0.2, 0.4), SceneMood(2, 8.0, 12.0, 0.0, -0.4))


def test_centre_rule_moves_scenes_around_the_brief_and_weak_scenes_take_the_brief():
    brief = parse_brief("melancholic")
    out = apply_brief(MOODS, brief, "centre", confidence={0: 0.5, 1: 0.5, 2: 0.01})
    assert out[0].valence == pytest.approx(brief.valence + SWING * 0.2, abs=1e-6)
    assert out[1].arousal == pytest.approx(brief.arousal + SWING * (0.4 - 0.0), abs=1e-6)
    assert (out[2].valence, out[2].arousal) == pytest.approx((brief.valence, brief.arousal), abs=1e-6)
    assert out[0].valence > out[1].valence  # the video's order is kept
    assert {m.source for m in out} == {"brief"}


def test_replace_rule_mode_and_tempo():
    out = apply_brief(MOODS, parse_brief("joyful"), "replace")
    assert len({(m.valence, m.arousal) for m in out}) == 1
    minor = apply_brief(MOODS, parse_brief("minor, fast"), "centre")
    assert all(m.valence <= -MODE_MARGIN for m in minor)
    assert [m.arousal for m in minor] == pytest.approx([m.arousal + 0.3 for m in MOODS])  # no mood words: V/A kept
    with pytest.raises(ValueError, match="rule"):
        apply_brief(MOODS, parse_brief("joyful"), "louder")
