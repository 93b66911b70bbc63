"""From a video's scenes and emotions to generation requests: chunked, seeded, reproducible.

Long videos are cut into chunks (at scene cuts when possible) no longer than `max_chunk_s`, each a
separate request, so one long file is spread over generator actors instead of stalling one. Each
chunk's seed derives from the run seed, the video and the chunk index; a regenerated scene gets its
own request over the scene span with the user's seed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Iterable

from emsync_core.emotion.scene import SceneEmotion
from emsync_core.music import GenerationRequest, SamplingSettings, SceneCondition
from emsync_core.scoring.models import ModelIdentity

DEFAULT_MAX_CHUNK_S = 120.0


@dataclass(frozen=True)
class SceneMood:
    """A scene's span and the V/A that conditions its music, and who set it (classifier, brief, override)."""

    scene_index: int
    start_s: float
    end_s: float
    valence: float
    arousal: float
    source: str = "classifier"


@dataclass(frozen=True)
class Chunk:
    index: int
    start_s: float
    end_s: float


@dataclass(frozen=True)
class ScorePlan:
    """Everything that decides a soundtrack besides the models; hashed into the variant key."""

    video_id: str
    duration_s: float
    cuts_s: tuple[float, ...]
    moods: tuple[SceneMood, ...]
    seed: int
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    max_chunk_s: float = DEFAULT_MAX_CHUNK_S
    scene_seeds: tuple[tuple[int, int], ...] = ()  # (scene_index, seed) overrides, in the order applied
    brief: str = ""  # the scoring brief's text ("" = none); its moods are already in `moods`
    #: the line-up the brief names; it replaces the sampling settings' ensemble in every request
    ensemble: str | None = None

    def conditions(self) -> list[dict[str, Any]]:
        return [{"scene_index": m.scene_index, "start_s": m.start_s, "end_s": m.end_s, "valence": m.valence,
                 "arousal": m.arousal, "source": m.source} for m in self.moods]


def moods_from_verdicts(verdicts: Iterable[SceneEmotion]) -> tuple[SceneMood, ...]:
    """The classifier's scene emotions as scene moods, in time order."""
    moods = sorted((SceneMood(int(v.scene_index), float(v.start_s), float(v.end_s), float(v.valence), float(v.arousal))
                    for v in verdicts), key=lambda m: m.start_s)
    if not moods:
        raise ValueError("the classifier returned no scenes")
    return tuple(moods)


def chunk_spans(duration_s: float, cuts_s: tuple[float, ...], max_chunk_s: float) -> list[Chunk]:
    """Spans covering [0, duration) of at most max_chunk_s, ending on the last cut that fits when any."""
    if duration_s <= 0:
        raise ValueError(f"duration {duration_s} s is not positive")
    chunks, start = [], 0.0
    while duration_s - start > max_chunk_s:
        inside = [c for c in cuts_s if start + 0.25 * max_chunk_s < c <= start + max_chunk_s]
        end = inside[-1] if inside else start + max_chunk_s
        chunks.append(Chunk(len(chunks), start, end))
        start = end
    chunks.append(Chunk(len(chunks), start, duration_s))
    return chunks


def derived_seed(seed: int, video_id: str, part: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{video_id}:{part}".encode()).digest()[:4], "big") & 0x7FFFFFFF


def _request(plan: ScorePlan, request_id: str, start_s: float, end_s: float, seed: int) -> GenerationRequest:
    moods = [m for m in plan.moods if m.end_s > start_s and m.start_s < end_s] or [
        min(plan.moods, key=lambda m: abs(m.start_s - start_s))]
    scenes = tuple(SceneCondition(max(0.0, m.start_s - start_s), m.valence, m.arousal) for m in moods)
    scenes = (SceneCondition(0.0, scenes[0].valence, scenes[0].arousal),) + scenes[1:]
    cuts = tuple(round(c - start_s, 6) for c in plan.cuts_s if start_s < c < end_s)
    sampling = replace(plan.sampling, ensemble=plan.ensemble) if plan.ensemble else plan.sampling
    return GenerationRequest(request_id=request_id, duration_s=round(end_s - start_s, 6), scenes=scenes, cuts_s=cuts,
                             seed=seed, sampling=sampling)


def chunk_requests(plan: ScorePlan) -> list[tuple[Chunk, GenerationRequest]]:
    """The base soundtrack's requests, one per chunk; request ids are `<video_id>/c<index>`."""
    return [(c, _request(plan, f"{plan.video_id}/c{c.index}", c.start_s, c.end_s,
                         derived_seed(plan.seed, plan.video_id, f"c{c.index}")))
            for c in chunk_spans(plan.duration_s, plan.cuts_s, plan.max_chunk_s)]


def scene_request(plan: ScorePlan, scene_index: int, seed: int) -> tuple[Chunk, GenerationRequest]:
    """A request over one scene's span alone (for regenerating it with `seed`)."""
    mood = next((m for m in plan.moods if m.scene_index == scene_index), None)
    if mood is None:
        raise ValueError(f"video {plan.video_id} has no scene {scene_index} (scenes: {[m.scene_index for m in plan.moods]})")
    return Chunk(-1, mood.start_s, mood.end_s), _request(plan, f"{plan.video_id}/s{scene_index}", mood.start_s, mood.end_s, seed)


def variant_key(plan: ScorePlan, *, generator: ModelIdentity, classifier: ModelIdentity, render: dict[str, Any]) -> str:
    """Same models (weights and version) + same plan settings + same render settings -> same key (the soundtrack's identity)."""
    blob = json.dumps({"g": [generator.sha256, generator.version], "c": [classifier.sha256, classifier.version], "seed": plan.seed, "sampling": asdict(plan.sampling),
                       "chunk": plan.max_chunk_s, "scene_seeds": list(plan.scene_seeds), "render": render,
                       **({"brief": plan.brief, "ensemble": plan.ensemble} if plan.brief else {}),
                       **({"moods": [(m.scene_index, m.valence, m.arousal, m.source) for m in plan.moods]}
                          if any(m.source.startswith("override") for m in plan.moods) else {})},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]
