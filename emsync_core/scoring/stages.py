"""The scoring stages as typed functions: classify and plan (per video), generate (a batch of chunk
requests), finish (assemble, render, mux one video). Each declares the Resources an engine reserves
for one instance of it; engines (ray_serve) only place them, the run (run.py) decides around them.

A stage never raises for one video's bad data: it hands back a FailureRecord naming itself, so the
run records that video's failure and goes on with the others.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pyarrow.parquet as pq

from emsync_core.db.record import FailureRecord, SoundtrackRecord
from emsync_core.emotion.scene import SceneEmotion
from emsync_core.features.base import Resources
from emsync_core.music import GenerationRequest, GenerationResult, SamplingSettings
from emsync_core.render.pipeline import RenderSettings
from emsync_core.scoring.finish import FinishInput, finish
from emsync_core.scoring.models import ModelIdentity, ModelSpec, load_classifier, load_generator
from emsync_core.scoring.moods import MoodSettings, scene_moods
from emsync_core.scoring.plan import DEFAULT_MAX_CHUNK_S, Chunk, ScorePlan, chunk_requests, variant_key
from emsync_core.store import uri as store

MESSAGE_CHARS = 2000  # a failure's message is cut here (tracebacks of native code can be huge)
# Resident memory of one instance: the peak RSS of the Ray worker holding it during `emsync bench
# score` (shipped models, clips up to 30 s; each model actor stayed under 560 MB, a render under
# 810 MB), rounded up; engines reserve it so a node is not overfilled.
CLASSIFY_MEMORY_MB = 600
GENERATE_MEMORY_MB = 600
FINISH_MEMORY_MB = 900


def failure(uri: str, video_id: str, stage: str, exc: BaseException) -> FailureRecord:
    return FailureRecord(uri, stage, type(exc).__name__, str(exc)[:MESSAGE_CHARS] or repr(exc), video_id=video_id)


@dataclass(frozen=True)
class VideoJob:
    """One extracted video the run scores: what the stages need besides its feature rows."""

    video_id: str
    uri: str
    duration_s: float
    cuts_s: tuple[float, ...]
    features_uri: str


@dataclass(frozen=True)
class PlanSettings:
    """How a video's plan is made from its scene verdicts (the run's seed, sampling, chunking, moods)."""

    seed: int = 0
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    max_chunk_s: float = DEFAULT_MAX_CHUNK_S
    moods: MoodSettings = MoodSettings()
    brief: str = ""
    ensemble: str | None = None  # the brief's line-up, when it names one and --ensemble did not

    def plan(self, job: VideoJob, verdicts: tuple[SceneEmotion, ...]) -> ScorePlan:
        return ScorePlan(job.video_id, job.duration_s, job.cuts_s, scene_moods(verdicts, self.moods), self.seed,
                         self.sampling, self.max_chunk_s, brief=self.brief, ensemble=self.ensemble)

    def variant_key(self, video_id: str, generator: ModelIdentity, classifier: ModelIdentity, render: RenderSettings) -> str:
        """The key a video's soundtrack gets under these settings, before its cuts and moods are known
        (they do not enter a base soundtrack's key)."""
        blank = ScorePlan(video_id, 1.0, (), (), self.seed, self.sampling, self.max_chunk_s, brief=self.brief,
                          ensemble=self.ensemble)
        return variant_key(blank, generator=generator, classifier=classifier,
                           render=render.as_dict())


@dataclass(frozen=True)
class PlannedVideo:
    """Classify-and-plan's output: the scenes as the classifier saw them and the chunks to generate."""

    job: VideoJob
    verdicts: tuple[SceneEmotion, ...]
    plan: ScorePlan
    requests: tuple[tuple[Chunk, GenerationRequest], ...]
    seconds: float


class ClassifyAndPlan:
    """Loads the classifier once; per video, reads its feature Parquet, classifies its scenes and plans
    its generation requests."""

    @staticmethod
    def resources(cpus: float) -> Resources:
        return Resources(cpus=cpus, memory_mb=CLASSIFY_MEMORY_MB)

    def __init__(self, models: ModelSpec, settings: PlanSettings, threads: int = 1) -> None:
        import torch

        torch.set_num_threads(threads)
        self.classifier = load_classifier(models)
        self.settings = settings

    def __call__(self, job: VideoJob) -> PlannedVideo | FailureRecord:
        t0 = time.perf_counter()
        try:
            with store.open_read(job.features_uri) as fh:
                table = pq.read_table(fh)
            if table.num_rows == 0:
                return FailureRecord(job.uri, "classify", "NoFeatures", "the feature Parquet gave no window rows for this video",
                                     video_id=job.video_id)
            verdicts = tuple(self.classifier.classify(table.sort_by("window_index")))
            plan = self.settings.plan(job, verdicts)
            requests = tuple(chunk_requests(plan))
        except Exception as exc:  # this video's failure alone
            return failure(job.uri, job.video_id, "classify", exc)
        return PlannedVideo(job, verdicts, plan, requests, time.perf_counter() - t0)


class Generate:
    """Loads the generator once; generates a batch of chunk requests together (KV-cached, lockstep)."""

    @staticmethod
    def resources(cpus: float, gpus: float) -> Resources:
        return Resources(cpus=cpus, gpus=gpus, memory_mb=GENERATE_MEMORY_MB)

    def __init__(self, models: ModelSpec, threads: int = 1) -> None:
        import torch

        torch.set_num_threads(threads)
        self.generator = load_generator(models)

    def __call__(self, requests: list[GenerationRequest]) -> tuple[list[GenerationResult | Exception], float]:
        """Each request's result or its exception, and the seconds the batch took."""
        t0 = time.perf_counter()
        try:
            results: list[GenerationResult | Exception] = list(self.generator.generate(requests)) if requests else []
        except Exception:  # find the culprit: one bad request must not sink its batch-mates
            results = []
            for r in requests:
                try:
                    results.append(self.generator.generate([r])[0])
                except Exception as exc:
                    results.append(exc)
        return results, time.perf_counter() - t0


def finish_resources(cpus: float) -> Resources:
    return Resources(cpus=cpus, memory_mb=FINISH_MEMORY_MB)


def finish_video(inp: FinishInput, settings: RenderSettings) -> SoundtrackRecord | FailureRecord:
    """Assemble, render, mux and commit one video's soundtrack files (its record is written by the run)."""
    try:
        return finish(inp, settings)
    except Exception as exc:
        return failure(inp.video_uri, inp.plan.video_id, "render", exc)
