"""The generator contract other stages rely on (Ray actors, CLI, database records)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SceneCondition:
    """Emotion of one scene; V/A in [-1, 1]; a scene runs until the next one's start."""

    start_s: float
    valence: float
    arousal: float


@dataclass(frozen=True)
class SamplingSettings:
    """Reference sampling defaults. When top-p leaves <= 2 tokens, the temperature is multiplied by
    `repetition_penalty` and the nucleus recomputed (the reference's anti-repetition rule).

    `chord_gate_s` (beyond the reference, off by default): when set, a CHORD may only be sampled
    within that many seconds of a pending cut, so harmony-change marks are kept for the cuts.
    """

    temperature: float = 1.35
    top_p: float = 0.6
    repetition_penalty: float = 1.2
    max_tokens: int = 40_000
    chord_gate_s: float | None = None


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
