"""The generator contract other stages rely on (Ray actors, CLI, database records)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from emsync_core.music.ensemble import DEFAULT_ENSEMBLE


@dataclass(frozen=True)
class SceneCondition:
    """Emotion of one scene; V/A in [-1, 1]; a scene runs until the next one's start."""

    start_s: float
    valence: float
    arousal: float


def scene_at(starts: list[float], t: float) -> int:
    """Index of the scene sounding at time t, from the scenes' start times in order (the first scene
    before its start). Callers build `starts` once: this is asked per note or per decoded token."""
    return max(0, bisect.bisect_right(starts, t) - 1)


@dataclass(frozen=True)
class SamplingSettings:
    """Sampling defaults: the reference's temperature and repetition rule, a wider nucleus than its
    top-p 0.6 (which, with the valence cues, left two or three pitch classes; see the model card's
    sweep). When top-p leaves <= 2 tokens, the temperature is multiplied by
    `repetition_penalty` and the nucleus recomputed (the reference's anti-repetition rule).

    `chord_gate_s` (beyond the reference, off by default): when set, a CHORD may only be sampled
    within that many seconds of a pending cut, so harmony-change marks are kept for the cuts.

    `valence_guidance` (beyond the reference): classifier-free guidance on the valence condition.
    Each step also runs the request with its valence replaced by the learned null vector (the model
    learns it from unlabelled music and valence dropout; arousal and cuts stay) and pushes the logits
    away from that valence-free prediction: 1 is plain conditional sampling, larger follows the
    requested valence more strongly, at the cost of one more batch row per request.

    `valence_cues` (beyond the reference): strength of the sampler's valence cues (mode, register,
    articulation; see `valence_cues.py`) and of the arrangement's valence articulation (detached,
    higher lines for positive scenes, legato for negative; see `arrange.articulate`), scaled by
    each scene's valence; 0 leaves valence to the learned condition alone.

    `ensemble` (beyond the reference): the line-up the arrangement step plays the notes with - a
    preset (piano, strings, band, orchestra) or `role=program` pairs (see `ensemble.py`). It is part
    of the settings so it is recorded with every soundtrack and honoured when one scene is regenerated.
    """

    temperature: float = 1.35
    top_p: float = 0.8
    repetition_penalty: float = 1.2
    max_tokens: int = 40_000
    chord_gate_s: float | None = None
    valence_guidance: float = 1.0
    valence_cues: float = 1.0
    ensemble: str = DEFAULT_ENSEMBLE


@dataclass(frozen=True)
class GenerationRequest:
    request_id: str
    duration_s: float
    scenes: tuple[SceneCondition, ...]
    cuts_s: tuple[float, ...]
    seed: int
    sampling: SamplingSettings = field(default_factory=SamplingSettings)


@dataclass
class GenerationResult:
    """Type-1 MIDI (one named track per instrument, GM programs, tempo, a marker per cut) and its record."""

    request_id: str
    midi_bytes: bytes
    chord_onsets_s: list[float]
    n_tokens: int
    seconds: float
    model_version: str
    model_sha256: str
