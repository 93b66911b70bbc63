"""Parsing a brief into what the soundtrack can follow.

Mood words -> a valence/arousal centre (the mean of the words' points, lexicon.py); ensemble words ->
a line-up name for the generator's `ensemble` setting; "major"/"minor" -> the mode; tempo words or
"<n> bpm" -> a tempo. An unknown word is an error that names it (and the nearest known words), so
nothing is silently ignored.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from emsync_core.brief.lexicon import (ENSEMBLE_WORDS, FILLER_WORDS, MODE_WORDS, RUSSELL_1980_DEGREES, TEMPO_WORDS,
                                       known_words, mood_va)

_BPM = re.compile(r"^(\d{2,3})\s*bpm$")
_MULTI_WORD = sorted((w for w in RUSSELL_1980_DEGREES if " " in w), key=len, reverse=True)


class BriefError(ValueError):
    """A brief with a word we cannot place."""


@dataclass(frozen=True)
class Brief:
    """What a brief asks for; None where it says nothing."""

    text: str
    valence: float | None = None
    arousal: float | None = None
    mode: str | None = None  # "major" | "minor"
    ensemble: str | None = None  # the generator's line-up name
    tempo_bpm: float | None = None
    mood_words: tuple[str, ...] = ()

    @property
    def has_mood(self) -> bool:
        return self.valence is not None

    def to_dict(self) -> dict:
        return {"text": self.text, "valence": self.valence, "arousal": self.arousal, "mode": self.mode,
                "ensemble": self.ensemble, "tempo_bpm": self.tempo_bpm, "mood_words": list(self.mood_words)}


def _unknown(word: str) -> BriefError:
    near = difflib.get_close_matches(word, known_words(), n=3)
    hint = f"; did you mean {', '.join(near)}?" if near else "; see docs/BRIEF.md for the words"
    return BriefError(f"unknown brief word {word!r}{hint}")


def parse_brief(text: str) -> Brief:
    """Parse comma/space separated words; raises BriefError on an unknown word or conflicting settings."""
    phrases = [p.strip().lower() for p in re.split(r"[,;]", text) if p.strip()]
    if not phrases:
        raise BriefError("the brief is empty")
    points, moods, modes, ensembles, tempi = [], [], set(), set(), []
    for phrase in phrases:
        if m := _BPM.match(phrase):
            tempi.append(float(m.group(1)))
            continue
        for multi in _MULTI_WORD:
            if multi in phrase:
                phrase = phrase.replace(multi, "")
                points.append(mood_va(multi))
                moods.append(multi)
        for word in phrase.split():
            va = mood_va(word)
            if va is not None:
                points.append(va)
                moods.append(word)
            elif word in ENSEMBLE_WORDS:
                ensembles.add(ENSEMBLE_WORDS[word])
            elif word in MODE_WORDS:
                modes.add(MODE_WORDS[word])
            elif word in TEMPO_WORDS:
                tempi.append(TEMPO_WORDS[word])
            elif word not in FILLER_WORDS:
                raise _unknown(word)
    if len(modes) > 1:
        raise BriefError("the brief asks for both major and minor")
    if len(ensembles) > 1:
        raise BriefError(f"the brief names more than one ensemble: {', '.join(sorted(ensembles))}")
    valence = arousal = None
    if points:
        valence = round(sum(p[0] for p in points) / len(points), 4)
        arousal = round(sum(p[1] for p in points) / len(points), 4)
    return Brief(text.strip(), valence, arousal, next(iter(modes), None), next(iter(ensembles), None),
                 sum(tempi) / len(tempi) if tempi else None, tuple(moods))
