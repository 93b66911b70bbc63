"""The scoring job, in order: extract (Beam) -> feature Parquet read with Ray Data -> windows grouped per
video -> classify + plan (actor pool) -> generate (actor pool, batched) -> render + mux (CPU tasks)
-> record (database, in the driver, after each video's files are in place).

The stages are emsync_core functions; this file only moves data, batches and declares resources.
Actors ask for fractional CPUs (whole-CPU actor pools deadlock Ray Data on a 2-core machine) and GPUs
when the options say so (a KubeRay cluster with GPU workers).
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import time
from dataclasses import asdict, dataclass, field

import pyarrow as pa
import pyarrow.parquet as pq
import ray

from emsync_core import __version__
from emsync_core.db.engine import default_url, open_database
from emsync_core.db.record import FailureRecord, Recorder, SceneVerdict, SoundtrackRecord
from emsync_core.features.registry import DEFAULT_BACKBONES
from emsync_core.music import SamplingSettings
from emsync_core.music.ensemble import DEFAULT_ENSEMBLE
from emsync_core.render.pipeline import RenderSettings
from emsync_core.scoring.assemble import Piece
from emsync_core.scoring.finish import FinishInput, finish
from emsync_core.scoring.lease import Heartbeat, acquire, clean_dead_drafts, others_live_in
from emsync_core.scoring.models import ModelIdentity, ModelSpec, identity, load_classifier, load_generator
from emsync_core.scoring.moods import MoodSettings, fit_catalog_norm, scene_moods
from emsync_core.scoring.plan import DEFAULT_MAX_CHUNK_S, Chunk, ScorePlan, chunk_requests, variant_key
from emsync_core.scoring.report import ScoreSummary, VideoProgress
from emsync_core.store import uri as store

CHUNK_FIELDS = [
    pa.field("video_id", pa.string()), pa.field("chunk_index", pa.int32()), pa.field("n_chunks", pa.int32()),
    pa.field("start_s", pa.float64()), pa.field("end_s", pa.float64()), pa.field("request", pa.binary()),
    pa.field("verdicts", pa.string()), pa.field("classify_s", pa.float64()), pa.field("error_stage", pa.string()),
    pa.field("error_class", pa.string()), pa.field("error_message", pa.string()),
]
GEN_FIELDS = [pa.field("midi", pa.binary()), pa.field("chord_onsets", pa.string()), pa.field("n_tokens", pa.int64()),
              pa.field("generate_s", pa.float64())]
CHUNK_SCHEMA = pa.schema(CHUNK_FIELDS)
GEN_SCHEMA = pa.schema(CHUNK_FIELDS + GEN_FIELDS)


@dataclass(frozen=True)
class ScoreOptions:
    catalog: str
    out: str
    db: str | None = None
    address: str | None = None  # an existing cluster (e.g. ray://head:10001); None starts a local Ray
    num_cpus: int | None = None  # local Ray only
    seed: int = 0
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    max_chunk_s: float = DEFAULT_MAX_CHUNK_S
    render: RenderSettings = field(default_factory=RenderSettings)
    models: ModelSpec = field(default_factory=ModelSpec)
    generate_batch: int = 8
    classify_actors: int = 1
    generate_actors: int = 1
    actor_cpus: float = 0.5
    generator_gpus: float = 0.0
    render_cpus: float = 0.5
    read_cpus: float = 0.25
    backbones: tuple[str, ...] = DEFAULT_BACKBONES
    window_s: float = 2.0  # the extraction's default window
    extract_workers: int = 0
    extract_engine: str = "auto"  # see emsync_core.features.extract_plan.EXTRACT_ENGINES
    beam_args: tuple[str, ...] = ()  # Beam pipeline options for the extraction (e.g. --runner=DataflowRunner)
    show_progress: bool = True
    brief: str = ""  # a scoring brief ("tense, orchestral, minor key"); see emsync_core/brief
    brief_rule: str = "centre"  # how the brief mixes with the scene moods: centre | replace
    normalise_catalog: bool = False  # spread scene V/A relative to the catalog's other scenes
    retry_failed: bool = False  # re-extract inputs with a dead letter (after fixing them, or a decoder)
    lease_wait_s: float = 0.0  # how long to wait for another live run of the same key before giving up

    def mood_settings(self, norm=None) -> MoodSettings:
        """The brief parsed (BriefError on an unknown word) with the rule and the catalog normalisation."""
        from emsync_core.brief import parse_brief

        return MoodSettings(parse_brief(self.brief) if self.brief else None, self.brief_rule, norm)

    def plan_extras(self) -> dict:
        """ScorePlan fields that come from the brief (its line-up counts unless --ensemble named another)."""
        settings = self.mood_settings()
        if not settings.brief:
            return {}
        explicit = self.sampling.ensemble != DEFAULT_ENSEMBLE
        return {"brief": self.brief, "ensemble": None if explicit else settings.brief.ensemble}

    def db_url(self) -> str:
        return self.db or default_url(self.out)

    def identity_config(self) -> dict:
        """What decides the outputs (hashed into the run key: same arguments -> same, resumable run)."""
        return {"seed": self.seed, "sampling": asdict(self.sampling), "max_chunk_s": self.max_chunk_s,
                "render": self.render.as_dict(), "models": asdict(self.models), "backbones": list(self.backbones),
                "window_s": self.window_s,
                **({"brief": self.brief, "brief_rule": self.brief_rule} if self.brief else {}),
                **({"normalise_catalog": True} if self.normalise_catalog else {})}

    def run_key(self) -> str:
        blob = json.dumps({"catalog": self.catalog, "out": self.out, **self.identity_config()}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class VideoJob:
    """What the actors need to know about one video besides its feature rows."""

    video_id: str
    uri: str
    duration_s: float
    cuts_s: tuple[float, ...]
    features_uri: str


def _error_row(video_id: str, stage: str, exc: BaseException, **extra) -> dict:
    row = {f.name: None for f in CHUNK_FIELDS}
    row.update(video_id=video_id, chunk_index=0, n_chunks=1, error_stage=stage, error_class=type(exc).__name__,
               error_message=str(exc)[:2000] or repr(exc), **extra)
    return row


def _schema_metadata(features_uri: str) -> dict:
    with store.open_read(features_uri) as fh:
        return pq.read_schema(fh).metadata or {}


class ClassifyAndPlan:
    """Actor: loads the classifier once; per video (its window rows), classifies scenes and plans chunks."""

    def __init__(self, models: ModelSpec, jobs: dict[str, VideoJob], seed: int, sampling: SamplingSettings,
                 max_chunk_s: float, moods: MoodSettings = MoodSettings(), plan_extras: dict | None = None) -> None:
        import torch

        torch.set_num_threads(1)
        self.classifier = load_classifier(models)
        self.jobs, self.seed, self.sampling, self.max_chunk_s = jobs, seed, sampling, max_chunk_s
        self.moods, self.plan_extras = moods, plan_extras or {}

    def __call__(self, table: pa.Table) -> pa.Table:
        video_id = table["video_id"][0].as_py()
        t0 = time.perf_counter()
        try:
            job = self.jobs[video_id]
            table = table.sort_by("window_index").replace_schema_metadata(_schema_metadata(job.features_uri))
            verdicts = [SceneVerdict.of(v) for v in self.classifier.classify(table)]
            plan = ScorePlan(video_id, job.duration_s, job.cuts_s, scene_moods(verdicts, self.moods), self.seed,
                             self.sampling, self.max_chunk_s, **self.plan_extras)
            chunks = chunk_requests(plan)
            verdicts_json = json.dumps([{"scene_index": int(v.scene_index), "start_s": float(v.start_s), "end_s": float(v.end_s),
                                         "probs": v.probs} for v in verdicts])
        except Exception as exc:  # this video's failure alone
            return pa.Table.from_pylist([_error_row(video_id, "classify", exc)], schema=CHUNK_SCHEMA)
        seconds = time.perf_counter() - t0
        rows = [{"video_id": video_id, "chunk_index": c.index, "n_chunks": len(chunks), "start_s": c.start_s, "end_s": c.end_s,
                 "request": pickle.dumps(r), "verdicts": verdicts_json, "classify_s": seconds / len(chunks),
                 "error_stage": None, "error_class": None, "error_message": None} for c, r in chunks]
        return pa.Table.from_pylist(rows, schema=CHUNK_SCHEMA)


class Generate:
    """Actor: loads the generator once; generates a batch of chunk requests together (KV-cached, lockstep)."""

    def __init__(self, models: ModelSpec, threads: int) -> None:
        import torch

        torch.set_num_threads(threads)
        self.generator = load_generator(models)

    def _one_by_one(self, requests):
        out = []
        for r in requests:
            try:
                out.append(self.generator.generate([r])[0])
            except Exception as exc:
                out.append(exc)
        return out

    def __call__(self, batch: pa.Table) -> pa.Table:
        rows = batch.to_pylist()
        live = [r for r in rows if not r["error_stage"]]
        t0 = time.perf_counter()
        requests = [pickle.loads(r["request"]) for r in live]
        try:
            results = self.generator.generate(requests) if requests else []
        except Exception:  # find the culprit: one bad request must not sink its batch-mates
            results = self._one_by_one(requests)
        share = (time.perf_counter() - t0) / max(1, len(live))
        for row, res in zip(live, results):
            if isinstance(res, Exception):
                row.update(error_stage="generate", error_class=type(res).__name__, error_message=str(res)[:2000])
            else:
                row.update(midi=res.midi_bytes, chord_onsets=json.dumps(list(res.chord_onsets_s)), n_tokens=res.n_tokens,
                           generate_s=share)
        for row in rows:
            for f in GEN_FIELDS:
                row.setdefault(f.name, None)
        return pa.Table.from_pylist(rows, schema=GEN_SCHEMA)


@ray.remote
def finish_task(inp: FinishInput, settings: RenderSettings) -> SoundtrackRecord | FailureRecord:
    """CPU task: assemble, render, mux and commit one video's soundtrack files."""
    try:
        return finish(inp, settings)
    except Exception as exc:
        return FailureRecord(inp.video_uri, "render", type(exc).__name__, str(exc)[:2000], video_id=inp.plan.video_id)


def ensure_ray(options: ScoreOptions) -> float:
    """Connect to the given cluster or start a local Ray; returns the seconds it took (0 when already up)."""
    if ray.is_initialized():
        return 0.0
    t0 = time.perf_counter()
    if options.address:
        ray.init(address=options.address, log_to_driver=False)
    else:
        ray.init(num_cpus=options.num_cpus, include_dashboard=False, log_to_driver=False)
    return time.perf_counter() - t0


def _quiet_ray_data() -> None:
    from ray.data.context import DataContext, ShuffleStrategy

    ctx = DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.shuffle_strategy = ShuffleStrategy.SORT_SHUFFLE_PULL_BASED  # faster than hash shuffle for small groups
    logging.getLogger("ray.data").setLevel(logging.WARNING)


def _dataset(options: ScoreOptions, jobs: dict[str, VideoJob], moods: MoodSettings):
    """Feature Parquet -> per-video groups -> classify+plan actors -> generator actors (lazy, streaming)."""
    _quiet_ray_data()
    # reads ask for a fraction of a CPU too: with the actors holding theirs, a whole-CPU read task may never fit
    ds = ray.data.read_parquet([j.features_uri for j in jobs.values()], num_cpus=options.read_cpus)
    planned = ds.groupby("video_id").map_groups(
        ClassifyAndPlan, batch_format="pyarrow", compute=ray.data.ActorPoolStrategy(size=options.classify_actors),
        num_cpus=options.actor_cpus,
        fn_constructor_kwargs={"models": options.models, "jobs": jobs, "seed": options.seed, "sampling": options.sampling,
                               "max_chunk_s": options.max_chunk_s, "moods": moods, "plan_extras": options.plan_extras()})
    return planned.map_batches(
        Generate, batch_size=options.generate_batch, batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=options.generate_actors),
        num_cpus=options.actor_cpus, num_gpus=options.generator_gpus or None,
        fn_constructor_kwargs={"models": options.models, "threads": max(1, int(options.actor_cpus))})


@dataclass
class _Ids:
    classifier: ModelIdentity
    generator: ModelIdentity


def model_identities(models: ModelSpec) -> _Ids:
    """Version + checksum of both models (loaded once in the driver: they decide which work is done)."""
    return _Ids(identity(load_classifier(models)), identity(load_generator(models)))


def score_videos(options: ScoreOptions, jobs: dict[str, VideoJob], ids: _Ids, recorder: Recorder, run_id: str,
                 summary: ScoreSummary, progress: VideoProgress, moods: MoodSettings = MoodSettings()) -> None:
    """Run the Ray stages over `jobs` and record each video as its soundtrack commits (or fails)."""
    chunks: dict[str, list[dict]] = {}
    futures: dict[ray.ObjectRef, str] = {}
    finished: set[str] = set()

    def fail(video_id: str, stage: str, error_class: str, message: str) -> None:
        rec = FailureRecord(jobs[video_id].uri, stage, error_class, message, video_id=video_id)
        t0 = time.perf_counter()
        recorder.record_failure(rec, run_id=run_id)
        recorder.set_video_status(video_id, "failed")
        summary.timings["record_s"] += time.perf_counter() - t0
        summary.failed.append(rec)
        finished.add(video_id)
        progress.advance()

    def harvest(block: bool) -> None:
        if not futures:
            return
        ready, _ = ray.wait(list(futures), num_returns=len(futures) if block else 1, timeout=None if block else 0)
        for ref in ready:
            video_id = futures.pop(ref)
            try:
                out = ray.get(ref)
            except Exception as exc:  # the task's worker died (e.g. out of memory): this video's failure
                out = FailureRecord(jobs[video_id].uri, "render", type(exc).__name__, str(exc)[:2000], video_id=video_id)
            if isinstance(out, FailureRecord):
                fail(video_id, out.stage, out.error_class, out.message)
                continue
            t0 = time.perf_counter()
            recorder.record_soundtrack(out, run_id=run_id)  # the row is the commit: files are already in place
            summary.timings["record_s"] += time.perf_counter() - t0
            summary.timings["render_s"] += sum(out.timings.values())
            summary.scored.append(out)
            finished.add(video_id)
            progress.advance()

    def on_row(row: dict) -> None:
        """Gather a video's generated chunks; when all are in, record its emotions and start its render."""
        video_id = row["video_id"]
        summary.timings["classify_s"] += row["classify_s"] or 0.0
        summary.timings["generate_s"] += row["generate_s"] or 0.0
        if video_id in finished:
            return
        if row["error_stage"]:
            fail(video_id, row["error_stage"], row["error_class"], row["error_message"])
            chunks.pop(video_id, None)
            return
        parts = chunks.setdefault(video_id, [])
        parts.append(row)
        if len(parts) < row["n_chunks"]:
            return
        job, parts = jobs[video_id], sorted(chunks.pop(video_id), key=lambda r: r["chunk_index"])
        verdicts = [SceneVerdict(v["scene_index"], v["start_s"], v["end_s"], v["probs"]) for v in json.loads(parts[0]["verdicts"])]
        t0 = time.perf_counter()
        recorder.record_emotions(video_id, verdicts, classifier_version=ids.classifier.version,
                                 classifier_sha256=ids.classifier.sha256, run_id=run_id)
        summary.timings["record_s"] += time.perf_counter() - t0
        plan = ScorePlan(video_id, job.duration_s, job.cuts_s, scene_moods(verdicts, moods), options.seed,
                         options.sampling, options.max_chunk_s, **options.plan_extras())
        pieces = tuple(Piece(Chunk(r["chunk_index"], r["start_s"], r["end_s"]), r["midi"], tuple(json.loads(r["chord_onsets"])),
                             r["n_tokens"]) for r in parts)
        inp = FinishInput(plan, pieces, job.uri, options.out, ids.generator, ids.classifier)
        futures[finish_task.options(num_cpus=options.render_cpus).remote(inp, options.render)] = video_id
        harvest(block=False)

    try:
        for row in _dataset(options, jobs, moods).iter_rows():
            on_row(row)
    except Exception as exc:  # a stage's actors died for good: the unfinished videos fail, the run is recorded
        for video_id in jobs:
            if video_id not in finished and video_id not in futures.values():
                fail(video_id, "ray", type(exc).__name__, str(exc)[:2000])
    harvest(block=True)
    for video_id in jobs:
        if video_id not in finished:
            fail(video_id, "classify", "NoFeatures", "the feature Parquet gave no window rows for this video")


def soundtrack_key(options: ScoreOptions, ids: _Ids, video_id: str) -> str:
    """The variant key a video's soundtrack gets under these options (cuts and moods do not enter it)."""
    plan = ScorePlan(video_id, 1.0, (), (), options.seed, options.sampling, options.max_chunk_s, **options.plan_extras())
    return variant_key(plan, generator_sha256=ids.generator.sha256, classifier_sha256=ids.classifier.sha256,
                       render=options.render.as_dict())


def catalog_norm(models: ModelSpec, markers, out: str):
    """Classify every extracted video of the catalog in the driver (the head is cheap) and fit the
    catalog's scene V/A normalisation over all their scenes."""
    classifier = load_classifier(models)
    va = []
    for facts in markers:
        uri = facts.features_uri or store.join(out, "features", f"{facts.video_id}.parquet")
        try:
            with store.open_read(uri) as fh:
                table = pq.read_table(fh)
            va.extend((s.valence, s.arousal) for s in classifier.classify(table))
        except Exception:  # this video's failure is recorded by the classify stage; the others still set the norm
            continue
    return fit_catalog_norm(va) if va else None


def run_score(options: ScoreOptions) -> ScoreSummary:
    """extract -> score -> record for a whole catalog; resumable and idempotent (see module docstring).

    The database is opened (and so checked) before any extraction, and the run holds the lease of its
    run key throughout: a second run of the same catalog and configuration cannot collide with it."""
    sessions = open_database(options.db_url())
    lease = acquire(sessions, options.run_key(), options.out, wait_s=options.lease_wait_s)
    with Heartbeat(lease):
        return _run_score(options, Recorder(sessions), lease)


def _run_score(options: ScoreOptions, recorder: Recorder, lease) -> ScoreSummary:
    from emsync_core.scoring.report import collect_extracted
    from ray_serve.extract_tasks import extract_for_score

    summary = ScoreSummary(out=options.out, db_url=options.db_url())
    started = time.perf_counter()
    options.mood_settings()  # a bad brief fails here, before any work
    if not others_live_in(recorder.sessions, options.out, lease.holder):
        summary.drafts_removed = clean_dead_drafts(options.out)  # what a killed run left half-written
    extract = extract_for_score(options)
    summary.timings["extract_s"] = extract.wall_s
    markers, extract_failures = collect_extracted(extract, options.out)
    summary.faulted = list(extract.faulted)

    catalog_id = recorder.ensure_catalog(options.catalog)
    ids = model_identities(options.models)
    norm = catalog_norm(options.models, markers, options.out) if options.normalise_catalog else None
    moods = options.mood_settings(norm)
    config = options.identity_config() | ({"catalog_normalisation": norm.to_dict()} if norm else {})
    run_id, resumed = recorder.open_run(
        "score", options.run_key(), catalog_uri=options.catalog, out_uri=options.out, config=config,
        code_version=__version__, model_versions={"classifier": asdict(ids.classifier), "generator": asdict(ids.generator)})
    lease.set_run_id(run_id)
    summary.run_id, summary.resumed = run_id, resumed
    for facts in markers:
        recorder.record_video(facts, status="extracted", catalog_id=catalog_id)
    for rec in extract_failures:
        recorder.record_failure(rec, run_id=run_id)
    summary.failed.extend(extract_failures)
    summary.damaged = [f for f in markers if f.damage]

    jobs: dict[str, VideoJob] = {}
    for facts in markers:
        existing = recorder.soundtrack_id(facts.video_id, soundtrack_key(options, ids, facts.video_id))
        if existing is not None:
            recorder.set_video_status(facts.video_id, "scored")
            summary.already_done.append(facts.video_id)
        else:
            jobs[facts.video_id] = VideoJob(facts.video_id, facts.uri, float(facts.duration_s), tuple(facts.cuts_s),
                                            facts.features_uri or store.join(options.out, "features", f"{facts.video_id}.parquet"))
    summary.video_seconds = sum(float(f.duration_s or 0.0) for f in markers if f.video_id in jobs)
    if jobs:
        summary.timings["ray_init_s"] = ensure_ray(options)
        t0 = time.perf_counter()
        with VideoProgress(len(jobs), enabled=options.show_progress) as progress:
            score_videos(options, jobs, ids, recorder, run_id, summary, progress, moods)
        summary.timings["score_wall_s"] = time.perf_counter() - t0
    summary.wall_s = time.perf_counter() - started
    summary.n_catalog = len(markers) + len(extract_failures) + len(summary.faulted)
    recorder.close_run(run_id, complete=summary.complete, n_videos=summary.n_catalog,
                       n_soundtracks=len(summary.scored) + len(summary.already_done), n_failures=len(summary.failed),
                       video_seconds=summary.video_seconds, timings=summary.rounded_timings())
    return summary
