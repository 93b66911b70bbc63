"""How a brief and the classifier's per-scene moods make the moods the music follows.

Rule "centre" (the default): the brief sets the centre, the video moves around it. Each scene keeps
SWING times its distance from the video's own (duration-weighted) mean mood, added to the brief's
point; a scene whose classifier confidence is below WEAK_CONFIDENCE takes the brief's point alone
(weak evidence does not steer). Rule "replace": every scene takes the brief's point.
Then, whatever the rule:
- mode: the generator picks major or minor by the sign of a scene's valence (its valence cues), so
  "minor" keeps every scene's valence at or below -MODE_MARGIN and "major" at or above +MODE_MARGIN;
- tempo: the generator writes at a fixed tempo and cannot honour a BPM; its note density follows
  arousal, so a tempo shifts arousal by TEMPO_GAIN per 40 BPM away from 100 (at most one step).
A brief with no mood words leaves the scene moods as the classifier gave them (mode and tempo apply).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from emsync_core.brief.parse import Brief
from emsync_core.scoring.plan import SceneMood

BRIEF_RULES = ("centre", "replace")
SWING = 0.6
WEAK_CONFIDENCE = 0.05  # bottom of what the v2 head gives video scenes; images below ~0.26 are still right 39 % of the time
MODE_MARGIN = 0.05
TEMPO_GAIN = 0.3
NEUTRAL_BPM, BPM_STEP = 100.0, 40.0


def apply_brief(moods: tuple[SceneMood, ...], brief: Brief, rule: str = "centre",
                confidence: dict[int, float] | None = None) -> tuple[SceneMood, ...]:
    """The scene moods under the brief; each changed scene records `source="brief"`."""
    if rule not in BRIEF_RULES:
        raise ValueError(f"brief rule must be one of {BRIEF_RULES}, not {rule!r}")
    confidence = confidence or {}
    va = np.array([(m.valence, m.arousal) for m in moods], dtype=float)
    if brief.has_mood:
        centre = np.array([brief.valence, brief.arousal])
        if rule == "replace":
            va[:] = centre
        else:
            weights = np.array([max(m.end_s - m.start_s, 1e-3) for m in moods])
            mean = (weights[:, None] * va).sum(axis=0) / weights.sum()
            strong = np.array([confidence.get(m.scene_index, 1.0) >= WEAK_CONFIDENCE for m in moods])
            va = centre + SWING * (va - mean) * strong[:, None]
    if brief.tempo_bpm is not None:
        va[:, 1] += TEMPO_GAIN * np.clip((brief.tempo_bpm - NEUTRAL_BPM) / BPM_STEP, -1.0, 1.0)
    if brief.mode == "minor":
        va[:, 0] = np.minimum(va[:, 0], -MODE_MARGIN)
    elif brief.mode == "major":
        va[:, 0] = np.maximum(va[:, 0], MODE_MARGIN)
    va = np.clip(va, -1.0, 1.0).round(6)
    return tuple(replace(m, valence=float(v), arousal=float(a), source="brief") for m, (v, a) in zip(moods, va))
