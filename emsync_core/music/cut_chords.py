"""The chord a listener hears at a cut: what the decoder writes right after a cut's CHORD token.

In the method a CHORD token marks a held chord whose notes are accented. The model alone often
follows a CHORD with one or two notes, so at every cut the decoder writes the chord itself: an
accented velocity (above the music's current one and at least as loud as the loudest pitched note
of the last two seconds, so a soft note just before the cut does not make the accent quieter than
the music around it), a bass root and a close triad of the current key (the requested mode's key of
the notes so far), stepping through a short progression from cut to cut so each cut changes the
harmony, then the velocity the music had. Its notes are held for a beat before the model may
release them. The model then continues from these tokens as from its own.
"""

from __future__ import annotations

import numpy as np

from emsync_core.music.metrics import MAJOR_SCALE, MINOR_SCALE
from emsync_core.music.vocab import GROUPS, VOCAB

#: scale degrees (0 = tonic) of successive cut chords: I IV vi V (major), i VI iv v (minor)
PROGRESSION = {True: (0, 3, 5, 4), False: (0, 5, 3, 4)}
BASS_GROUP = GROUPS.index("bass")
CHORD_GROUP = GROUPS.index("piano")
BASS_LOW = 36  # the root in C2..B2
TRIAD_LOW = 55  # the triad's root in G3..F#4
ACCENT_BINS = 2  # velocity bins above the music's current one
ACCENT_MIN_BIN = 5
ACCENT_LOOKBACK_S = 2.0  # the accent is at least the loudest pitched note of this stretch before the cut
HOLD_S = 0.5  # a beat at 120 BPM


def triad(tonic: int, major: bool, degree: int) -> tuple[int, int, int]:
    """Pitch classes of the diatonic triad on a scale degree."""
    scale = MAJOR_SCALE if major else MINOR_SCALE
    return tuple(int((tonic + scale[(degree + k) % 7]) % 12) for k in (0, 2, 4))


def voicing(tonic: int, major: bool, index: int) -> list[tuple[int, int]]:
    """(group, pitch) of the cut chord number `index`: bass root, then the triad in close position."""
    root, third, fifth = triad(tonic, major, PROGRESSION[major][index % len(PROGRESSION[major])])
    low = TRIAD_LOW + (root - TRIAD_LOW) % 12
    above = [low + (pc - low) % 12 for pc in (third, fifth)]
    return [(BASS_GROUP, BASS_LOW + root % 12), (CHORD_GROUP, low)] + [(CHORD_GROUP, p) for p in above]


def chord_tokens(tonic: int, major: bool, index: int, velocity_bin: int, loudest_recent_bin: int) -> list[int]:
    """Accent, the chord's NOTE_ONs, then the velocity bin the music had."""
    accent = int(np.clip(max(velocity_bin + ACCENT_BINS, loudest_recent_bin, ACCENT_MIN_BIN), 0, 7))
    ons = [VOCAB.note_on(g, p) for g, p in voicing(tonic, major, index)]
    return [VOCAB.velocity(accent), *ons, VOCAB.velocity(velocity_bin)]
