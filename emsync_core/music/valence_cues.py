"""Valence cues at sampling: mode, register and articulation follow the scene's valence.

The learned valence condition barely changes the music (about 2,000 valence-labelled pieces, most
of them piano), so the sampler adds cues listeners use to hear valence in music (Gabrielsson &
Lindstrom 2010; Juslin & Laukka 2003): major vs minor mode, higher vs lower pitch, detached notes
for positive music. Each cue is a logit offset scaled by the valence of the scene the next token
falls in, so every note still comes from the model and the cues change with the scenes. Mode is
cued by the scale plus its tonic and third, not by the probe-tone key profile: that profile's
weight on the tonic, inside the sampling nucleus, left 30 s pieces with two or three pitch classes
(see the model card's sweep).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from emsync_core.music.metrics import MAJOR_SCALE, MINOR_SCALE, key_scores
from emsync_core.music.tokens import DRUMS
from emsync_core.music.vocab import GROUPS, N_PITCH, PITCH_LO, VOCAB

MIDDLE_C = 60
#: Pitched NOTE_ONs needed before the tonal centre is trusted; until then only register and
#: articulation cues apply.
TONIC_MIN_NOTES = 8


@dataclass(frozen=True)
class CueGains:
    """Logit offsets at |valence| = 1 (before the sampling temperature divides them)."""

    #: off pitched NOTE_ONs outside the requested mode's scale at the tonic. Scale membership, not
    #: the probe-tone profile: the profile favours the tonic so much that inside the nucleus the
    #: music collapsed onto two pitch classes (see the model card's sweep)
    outside: float = 2.0
    #: on the tonic: the home note that, with the third, tells the mode
    tonic: float = 1.0
    #: on the requested mode's third above the tonic: the model often plays only tonic, second and
    #: fifth, which leave the mode unstated
    third: float = 1.5
    register: float = 0.15  # per octave above (V > 0) or below (V < 0) middle C
    #: on NOTE_OFFs of sounding pitched notes when V > 0: detached, shorter notes. Not mirrored for
    #: V < 0: holding notes longer piled up twice the polyphony of real music.
    articulation: float = 1.5


def _pitched_tokens(base: int) -> tuple[torch.Tensor, np.ndarray]:
    """Token ids and pitches of every pitched (non-drum) NOTE_ON or NOTE_OFF starting at `base`."""
    groups = [g for g in range(len(GROUPS)) if g != DRUMS]
    ids = torch.tensor([base + g * N_PITCH + p for g in groups for p in range(N_PITCH)])
    pitches = np.array([PITCH_LO + p for _ in groups for p in range(N_PITCH)])
    return ids, pitches


_ON_IDS, _ON_PITCHES = _pitched_tokens(VOCAB.on0)
_OFF_IDS, _ = _pitched_tokens(VOCAB.off0)


def _vector(ids: torch.Tensor, values: np.ndarray | float) -> torch.Tensor:
    v = torch.zeros(VOCAB.size)
    v[ids] = torch.as_tensor(values, dtype=torch.float32)
    return v


REGISTER = _vector(_ON_IDS, (_ON_PITCHES - MIDDLE_C) / 12.0)
RELEASE = _vector(_OFF_IDS, 1.0)


def _degree_table(degrees_of: dict[bool, np.ndarray]) -> torch.Tensor:
    """TABLE[major?][tonic]: 1 on pitched NOTE_ONs whose pitch class is one of that mode's degrees."""
    return torch.stack(
        [torch.stack([_vector(_ON_IDS, np.isin((_ON_PITCHES - tonic) % 12, degrees_of[major])) for tonic in range(12)]) for major in (False, True)]
    )


OUTSIDE = _degree_table({major: np.setdiff1d(np.arange(12), scale) for major, scale in ((True, MAJOR_SCALE), (False, MINOR_SCALE))})
TONIC = _degree_table({True: np.array([0]), False: np.array([0])})
THIRD = _degree_table({True: np.array([4]), False: np.array([3])})  # the major or minor third


class TonalCentre:
    """Pitch-class counts of the pitched NOTE_ONs so far, and the tonic of their best-fitting key in
    a given mode (Krumhansl-Schmuckler). Fitting in the requested mode means a piece turns minor by
    settling on the relative minor of the notes it already plays (C major -> A minor) rather than by
    fighting them; the profile cue then gives that tonic the weight of a home note.

    Within a piece the mode changes to the parallel key instead (A minor -> A major, see
    change_mode): the relative key shares every note with the old one, so a scene whose valence
    turns would otherwise sound like the last one, re-centred.
    """

    def __init__(self) -> None:
        self.counts = np.zeros(12)
        self._tonics: dict[bool, int | None] = {}
        self.pinned: dict[bool, int] = {}  # mode -> tonic kept since a change of mode

    def change_mode(self, to_major: bool) -> None:
        """The music turns to the other mode (a scene of the opposite valence): keep the tonic of
        the mode it leaves, so the new scene moves to the parallel key (3 of 7 scale notes change)."""
        tonic = self.tonic(not to_major)
        self.pinned = {} if tonic is None else {to_major: tonic}

    def add(self, token: int) -> None:
        if not VOCAB.is_on(token):
            return
        group, pitch = VOCAB.note_of(token)
        if group != DRUMS:
            self.counts[pitch % 12] += 1
            self._tonics.clear()

    def tonic(self, major: bool) -> int | None:
        if major in self.pinned:
            return self.pinned[major]
        if major not in self._tonics:  # asked every step, changed only by a pitched note
            settled = self.counts.sum() >= TONIC_MIN_NOTES and np.ptp(self.counts) > 0
            self._tonics[major] = int(np.argmax(key_scores(self.counts, slice(0, 12) if major else slice(12, 24)))) if settled else None
        return self._tonics[major]

    def key(self, valence: float) -> tuple[int, bool]:
        """(tonic, major?) for a chord: the requested mode's key (V > 0 major, V < 0 minor), the best
        of both at V = 0; C major / A minor before enough notes are down."""
        if self.counts.sum() < TONIC_MIN_NOTES or np.ptp(self.counts) == 0:
            return (0, True) if valence >= 0 else (9, False)
        if valence == 0:
            best = int(np.argmax(key_scores(self.counts)))
            return best % 12, best < 12
        return int(self.tonic(valence > 0)), valence > 0


def cue_logits(valence: float, centre: TonalCentre, strength: float, gains: CueGains = CueGains()) -> torch.Tensor:
    """(V,) logit offsets for the next token of a scene with this valence; zeros at V = 0 or strength 0.
    Shared between calls (asked every step, it changes only with the scene or the tonic): do not modify."""
    return _cue_logits(valence, centre.tonic(valence > 0) if valence != 0 else None, strength, gains)


@functools.lru_cache(maxsize=1024)  # a few scenes' valences x 12 tonics per soundtrack
def _cue_logits(valence: float, tonic: int | None, strength: float, gains: CueGains) -> torch.Tensor:
    v = strength * valence
    out = v * gains.register * REGISTER + max(v, 0.0) * gains.articulation * RELEASE
    if tonic is not None:
        major = int(valence > 0)
        out = out + abs(v) * (gains.tonic * TONIC[major, tonic] + gains.third * THIRD[major, tonic] - gains.outside * OUTSIDE[major, tonic])
    return out
