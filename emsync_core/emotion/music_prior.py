"""Where vibenet's music valence/energy sit on labelled music, so the music pathway nudges a scene's mood
by what the soundtrack says beyond neutral instead of by vibenet's raw 0-1 scale.

vibenet reads Spotify-style features whose 0.5 is not neutral: on rendered EMOPIA clips its valence sits
well below 0.5 for positive and negative pieces alike. EMOPIA labels each clip with a quadrant of the
valence/arousal plane (Q1 +V +A, Q2 -V +A, Q3 -V -A, Q4 +V -A); a least-squares line from vibenet's
valence to the valence sign (and from its energy to the arousal sign) gives the expected sign of the
music's mood, centred where vibenet cannot tell the halves apart. The fit is a command (`emsync emotion
music-prior`); its numbers are constants of the classifier, with the command in the model card.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

CONTEXT_S = 10.0  # the extraction's music_affect chunk: vibenet hears 10 s at a time
QUADRANT_SIGNS = {1: (1, 1), 2: (-1, 1), 3: (-1, -1), 4: (1, -1)}  # EMOPIA quadrant -> (valence, arousal) sign


@dataclass(frozen=True)
class SignLine:
    """E[sign | x] ~ slope * (x - centre), the least-squares line; auc: how well x orders the two halves."""

    centre: float
    slope: float
    auc: float


@dataclass(frozen=True)
class MusicPriorFit:
    valence: SignLine  # from vibenet valence
    arousal: SignLine  # from vibenet energy
    n_clips: int

    def to_dict(self) -> dict:
        return asdict(self)


def sign_line(x: np.ndarray, sign: np.ndarray) -> SignLine:
    slope, intercept = np.polyfit(x, sign, 1)
    pos, neg = x[sign > 0], x[sign < 0]
    auc = float(np.mean(pos[:, None] > neg[None, :]) + 0.5 * np.mean(pos[:, None] == neg[None, :]))
    return SignLine(float(-intercept / slope), float(slope), auc)


def emopia_clips(root: Path, per_quadrant: int, seed: int = 0) -> list[tuple[Path, int]]:
    """A seeded sample of (MIDI file, quadrant) from EMOPIA's label.csv, `per_quadrant` of each."""
    with open(root / "label.csv", newline="") as fh:
        rows = [(r["ID"], int(r["4Q"])) for r in csv.DictReader(fh)]
    rng = np.random.default_rng(seed)
    out = []
    for q in sorted(QUADRANT_SIGNS):
        ids = [i for i, quadrant in rows if quadrant == q and (root / "midis" / f"{i}.mid").exists()]
        out += [(root / "midis" / f"{i}.mid", q) for i in rng.permutation(ids)[:per_quadrant]]
    return out


def vibenet_readings(clips: list[tuple[Path, int]], progress=None) -> np.ndarray:
    """(N, 2) vibenet (valence, energy) of the first CONTEXT_S of each clip rendered with FluidSynth."""
    import pretty_midi

    from emsync_core.features.music_affect import load_single_threaded_vibenet
    from emsync_core.music.evaluate import RENDER_SR, SOUNDFONT

    model = load_single_threaded_vibenet()
    out = []
    for path, _ in clips:
        audio = pretty_midi.PrettyMIDI(io.BytesIO(path.read_bytes())).fluidsynth(fs=RENDER_SR, synthesizer=SOUNDFONT)
        result = model.predict(audio[: int(CONTEXT_S * RENDER_SR)].astype(np.float32), sr=RENDER_SR)[0]
        out.append((result.valence, result.energy))
        if progress:
            progress()
    return np.array(out, dtype=float)


def fit_music_prior(clips: list[tuple[Path, int]], readings: np.ndarray) -> MusicPriorFit:
    signs = np.array([QUADRANT_SIGNS[q] for _, q in clips], dtype=float)
    return MusicPriorFit(sign_line(readings[:, 0], signs[:, 0]), sign_line(readings[:, 1], signs[:, 1]), len(clips))
