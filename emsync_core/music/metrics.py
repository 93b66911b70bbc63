"""Measurements on note lists: cut alignment, density, key, musicality statistics, distribution overlap."""

from __future__ import annotations

import numpy as np
from scipy.stats import gaussian_kde

from emsync_core.music.tokens import DRUMS, Note

CHORD_ONSET_TOL_S = 0.05
#: Krumhansl-Kessler key profiles (Krumhansl 1990), the standard key-finding weights.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
MAJOR_SCALE = np.array([0, 2, 4, 5, 7, 9, 11])
MINOR_SCALE = np.array([0, 2, 3, 5, 7, 8, 10])


def pitched(notes: list[Note]) -> list[Note]:
    return [n for n in notes if n.group != DRUMS]


def chord_onsets(notes: list[Note], min_notes: int = 3) -> list[float]:
    """Times where >= min_notes distinct pitched notes start within 50 ms."""
    starts = sorted((n.start, n.pitch) for n in pitched(notes))
    out, i = [], 0
    while i < len(starts):
        j = i
        while j < len(starts) and starts[j][0] - starts[i][0] <= CHORD_ONSET_TOL_S:
            j += 1
        if len({p for _, p in starts[i:j]}) >= min_notes:
            out.append(starts[i][0])
        i = j
    return out


#: an audible chord's notes are accented: their mean velocity is at least this many MIDI velocity
#: steps above the median of the pitched notes starting within ACCENT_WINDOW_S around it
ACCENT_MARGIN = 0
ACCENT_WINDOW_S = 2.0
MIN_CUT_GAP_S = 4.0  # the method keeps cuts at least 4 s apart
EMPTY_WINDOW_S = 5.0


def audible_chords(notes: list[Note], min_notes: int = 3) -> list[float]:
    """Onsets a listener hears as a struck chord: >= min_notes distinct pitched notes (any
    instruments) starting within 50 ms, accented (louder than the median note around them)."""
    p = sorted(pitched(notes), key=lambda n: n.start)
    starts = np.array([n.start for n in p])
    vel = np.array([n.velocity for n in p], dtype=float)
    out, i = [], 0
    while i < len(p):
        j = int(np.searchsorted(starts, starts[i] + CHORD_ONSET_TOL_S, side="right"))
        if len({n.pitch for n in p[i:j]}) >= min_notes:
            lo, hi = np.searchsorted(starts, [starts[i] - ACCENT_WINDOW_S, starts[i] + ACCENT_WINDOW_S])
            if vel[i:j].mean() >= np.median(vel[lo:hi]) + ACCENT_MARGIN:
                out.append(float(starts[i]))
        i = j
    return out


def thin_cuts(cuts: list[float] | tuple[float, ...], gap: float = MIN_CUT_GAP_S) -> list[float]:
    """Cuts kept at least `gap` seconds after the previous kept one (the method's thinning)."""
    out: list[float] = []
    for c in sorted(cuts):
        if not out or c - out[-1] >= gap:
            out.append(c)
    return out


def empty_windows(notes: list[Note], duration: float, window: float = EMPTY_WINDOW_S, step: float = 0.5) -> int:
    """How many `window`-second windows (every `step` s) have no pitched note sounding."""
    spans = [(n.start, n.end) for n in pitched(notes)]
    count = 0
    for lo in np.arange(0.0, max(0.0, duration - window) + 1e-9, step):
        if not any(s < lo + window and e > lo for s, e in spans):
            count += 1
    return count


def cut_hit_rate(cuts: list[float], events: list[float], tol: float = 0.5) -> tuple[int, int]:
    """(hits, cuts): a cut is hit when some event lies within +/- tol seconds."""
    ev = np.asarray(sorted(events))
    hits = 0
    for c in cuts:
        if len(ev) and np.min(np.abs(ev - c)) <= tol:
            hits += 1
    return hits, len(cuts)


def note_density(notes: list[Note], duration: float) -> float:
    """Notes per second per sounding group (the arousal proxy used for labels)."""
    if not notes:
        return 0.0
    return len(notes) / duration / len({n.group for n in notes})


def mean_velocity(notes: list[Note]) -> float:
    return float(np.mean([n.velocity for n in notes])) if notes else 0.0


def pitch_class_histogram(notes: list[Note]) -> np.ndarray:
    h = np.zeros(12)
    for n in pitched(notes):
        h[n.pitch % 12] += n.end - n.start
    return h


#: The 24 keys' profiles, z-scored: rows 0-11 major with tonic 0..11, rows 12-23 minor.
_KEY_PROFILES = np.stack([np.roll(p, k) for p in (MAJOR_PROFILE, MINOR_PROFILE) for k in range(12)])
KEY_PROFILES_Z = (_KEY_PROFILES - _KEY_PROFILES.mean(1, keepdims=True)) / _KEY_PROFILES.std(1, keepdims=True)


def key_scores(histogram: np.ndarray, keys: slice = slice(None)) -> np.ndarray:
    """Krumhansl-Schmuckler scores of a pitch-class histogram for the keys' rows of KEY_PROFILES_Z
    (12 x their Pearson correlations: the same ranking)."""
    z = (histogram - histogram.mean()) / histogram.std()
    return KEY_PROFILES_Z[keys] @ z


def key_mode(notes: list[Note]) -> str | None:
    """'major' or 'minor' by the best Krumhansl-Schmuckler correlation; None without pitched notes."""
    h = pitch_class_histogram(notes)
    if h.sum() == 0:
        return None
    return "major" if int(np.argmax(key_scores(h))) < 12 else "minor"


def pitch_class_entropy(notes: list[Note]) -> float:
    h = np.zeros(12)
    for n in pitched(notes):
        h[n.pitch % 12] += 1
    if h.sum() == 0:
        return float("nan")
    p = h[h > 0] / h.sum()
    return float(-(p * np.log2(p)).sum())


def scale_consistency(notes: list[Note]) -> float:
    """Largest share of pitched notes inside one major or minor scale."""
    pcs = np.array([n.pitch % 12 for n in pitched(notes)])
    if not len(pcs):
        return float("nan")
    best = 0.0
    for scale in (MAJOR_SCALE, MINOR_SCALE):
        for k in range(12):
            best = max(best, float(np.isin(pcs, (scale + k) % 12).mean()))
    return best


def polyphony(notes: list[Note], step: float = 0.05) -> float:
    """Mean number of sounding pitched notes over the time where at least one sounds."""
    p = pitched(notes)
    if not p:
        return float("nan")
    end = max(n.end for n in p)
    grid = np.zeros(int(end / step) + 1)
    for n in p:
        grid[int(n.start / step) : max(int(n.start / step) + 1, int(n.end / step))] += 1
    sounding = grid[grid > 0]
    return float(sounding.mean()) if len(sounding) else float("nan")


def note_length(notes: list[Note]) -> float:
    """Mean duration (s) of the pitched notes."""
    p = pitched(notes)
    return float(np.mean([n.end - n.start for n in p])) if p else float("nan")


def inter_onset_interval(notes: list[Note]) -> float:
    """Mean time (s) between successive distinct pitched onsets (chords count once)."""
    starts = np.unique(np.round([n.start for n in pitched(notes)], 2))
    return float(np.mean(np.diff(starts))) if len(starts) > 1 else float("nan")


def overlapping_area(a: list[float], b: list[float]) -> float:
    """Overlap (0..1) of two Gaussian-KDE densities: 1 = same distribution."""
    a = np.asarray([x for x in a if np.isfinite(x)])
    b = np.asarray([x for x in b if np.isfinite(x)])
    if len(a) < 3 or len(b) < 3 or np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    lo, hi = min(a.min(), b.min()), max(a.max(), b.max())
    pad = 0.1 * (hi - lo)
    xs = np.linspace(lo - pad, hi + pad, 512)
    fa, fb = gaussian_kde(a)(xs), gaussian_kde(b)(xs)
    return float(np.trapezoid(np.minimum(fa, fb), xs))
