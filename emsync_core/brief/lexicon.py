"""Mood words -> valence/arousal, ensemble words -> a line-up name, and the other words a brief may use.

Valence/arousal come from a published affective norm table: the direct circular scaling of 28
English affect words in Russell (1980), "A circumplex model of affect", Journal of Personality and
Social Psychology 39(6), 1161-1178, Table 3 (angle of each word on the valence (0 deg) / arousal
(90 deg) circle). A word at angle t sits at (cos t, sin t) * RADIUS. The published angles are
factual measurements quoted for scholarly use; the paper itself is (c) the American Psychological
Association. Film-scoring words that are not among the 28 are mapped to the nearest Russell word
by meaning (our choice, listed below, so anyone can change it).
"""

from __future__ import annotations

import math

RADIUS = 0.8  # the circle's radius on our [-1, 1] scale: the labelled images rarely go beyond 0.8

#: Russell (1980), Table 3: direct circular scaling, degrees counter-clockwise from pleasure.
RUSSELL_1980_DEGREES: dict[str, float] = {
    "happy": 7.8, "glad": 8.4, "pleased": 11.8, "delighted": 24.9, "excited": 48.6, "astonished": 69.8,
    "aroused": 73.8, "tense": 92.8, "alarmed": 96.5, "angry": 99.0, "afraid": 116.9, "annoyed": 123.0,
    "distressed": 137.6, "frustrated": 141.5, "miserable": 188.7, "sad": 207.5, "gloomy": 209.0,
    "depressed": 210.0, "bored": 241.9, "droopy": 256.7, "tired": 267.7, "sleepy": 271.9, "calm": 316.2,
    "relaxed": 318.0, "satisfied": 319.8, "at ease": 321.0, "content": 323.0, "serene": 328.6,
}

#: Common film-scoring mood words -> the Russell word they are placed at.
FILM_WORDS: dict[str, str] = {
    "joyful": "delighted", "joy": "delighted", "cheerful": "glad", "playful": "delighted", "uplifting": "pleased",
    "hopeful": "pleased", "bright": "glad", "triumphant": "excited", "heroic": "excited", "energetic": "excited",
    "exciting": "excited", "upbeat": "excited", "epic": "aroused", "dramatic": "aroused", "intense": "aroused",
    "surprising": "astonished", "suspenseful": "tense", "suspense": "tense", "anxious": "alarmed", "urgent": "alarmed",
    "aggressive": "angry", "furious": "angry", "ominous": "afraid", "scary": "afraid", "frightening": "afraid",
    "eerie": "afraid", "menacing": "afraid", "horror": "afraid", "fearful": "afraid", "dark": "gloomy",
    "sombre": "gloomy", "somber": "gloomy", "melancholic": "sad", "melancholy": "sad", "sorrowful": "sad",
    "mournful": "miserable", "tragic": "miserable", "grief": "miserable", "depressing": "depressed",
    "lonely": "depressed", "boring": "bored", "dull": "bored", "sluggish": "droopy", "weary": "tired",
    "dreamy": "sleepy", "peaceful": "serene", "tranquil": "serene", "gentle": "at ease", "tender": "content",
    "warm": "content", "romantic": "content", "soothing": "relaxed", "relaxing": "relaxed", "happiness": "happy",
}

#: Ensemble words -> the generator's line-up preset (emsync_core.music.ensemble.PRESETS).
ENSEMBLE_WORDS: dict[str, str] = {
    "orchestral": "orchestra", "orchestra": "orchestra", "symphonic": "orchestra", "cinematic": "orchestra",
    "piano": "piano", "strings": "strings", "string": "strings", "quartet": "strings", "chamber": "strings",
    "brass": "brass", "choir": "choir", "choral": "choir", "rock": "band", "band": "band",
    "jazz": "jazz", "electronic": "electronic", "synth": "electronic", "acoustic": "acoustic",
    "guitar": "acoustic",
}

MODE_WORDS = {"major": "major", "minor": "minor"}
#: Tempo words -> beats per minute asked for (see brief.py for how the generator can use it).
TEMPO_WORDS: dict[str, float] = {"slow": 70.0, "moderate": 100.0, "fast": 140.0, "driving": 140.0, "brisk": 130.0}
#: Words a brief may contain that carry no mood, ensemble, mode or tempo.
FILLER_WORDS = frozenset({"a", "an", "and", "the", "with", "in", "key", "music", "score", "feel", "feeling", "mood",
                          "tone", "style", "sound", "but", "of", "very", "quite", "some"})


def mood_va(word: str) -> tuple[float, float] | None:
    """(valence, arousal) of a mood word (Russell's own or a film word placed at one), else None."""
    anchor = word if word in RUSSELL_1980_DEGREES else FILM_WORDS.get(word)
    if anchor is None:
        return None
    angle = math.radians(RUSSELL_1980_DEGREES[anchor])
    return RADIUS * math.cos(angle), RADIUS * math.sin(angle)


def known_words() -> list[str]:
    return sorted({*RUSSELL_1980_DEGREES, *FILM_WORDS, *ENSEMBLE_WORDS, *MODE_WORDS, *TEMPO_WORDS})
