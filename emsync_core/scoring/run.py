"""One scoring run, whatever engine runs its stages: the run key and its lease, the clean-up of a dead
run's drafts, the call into extraction, which videos are already done (skipped), the plan settings,
every database write, and what a video's failure at any stage means. An engine (ray_serve) places
the stages (stages.py) on its workers and calls back here with each stage's typed output.

    run_score(options, engine)
      lease + heartbeat -> drafts clean-up -> engine.extract (on a thread) -> open run
      -> JobFeed: each video whose features complete is recorded, skipped when its variant exists,
         else handed to engine.score: classify+plan -> generate -> finish
      -> run.planned / run.generated / run.finished record as results arrive -> close run

Overlapped (the default), a video is scored while the others are still being extracted; sequential
(`overlap=False`, and always with catalog normalisation, which needs every scene first) extracts
the whole catalog before the first video is scored. Both make the same records and files.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from typing import Protocol

import pyarrow.parquet as pq

from emsync_core import __version__
from emsync_core.db.engine import open_database
from emsync_core.db.record import FailureRecord, Recorder, SoundtrackRecord, VideoFacts
from emsync_core.features.run_report import ExtractSummary
from emsync_core.music import GenerationRequest, GenerationResult
from emsync_core.scoring.assemble import Piece
from emsync_core.scoring.finish import FinishInput
from emsync_core.scoring.lease import Heartbeat, RunLeaseHandle, acquire, clean_dead_drafts, others_live_in
from emsync_core.scoring.models import ModelIdentity, ModelSpec, identity, load_classifier, load_generator
from emsync_core.scoring.moods import CatalogNorm, fit_catalog_norm
from emsync_core.scoring.options import ScoreOptions
from emsync_core.scoring.plan import Chunk
from emsync_core.scoring.report import ScoreSummary, VideoProgress, collect_extracted
from emsync_core.scoring.stages import PlannedVideo, PlanSettings, VideoJob, failure
from emsync_core.store import uri as store
from emsync_core.store.catalog import list_catalog_uris

STAT_THREADS = 16  # stat round-trips to object stores run in parallel


class ScoreEngine(Protocol):
    """What runs the stages: extraction, then classify+plan -> generate -> finish over the jobs."""

    def extract(self, options: ScoreOptions) -> ExtractSummary: ...

    def start(self, options: ScoreOptions) -> float:
        """Bring the workers' engine up; the seconds it took (0 when already up)."""

    def score(self, run: "ScoreRun", feed: "JobFeed") -> None:
        """Run every job the feed hands over through the stages (polling it until it is closed), calling
        run.planned / run.generated / run.finished with their outputs."""


@dataclass(frozen=True)
class ModelIds:
    classifier: ModelIdentity
    generator: ModelIdentity


def model_identities(models: ModelSpec) -> ModelIds:
    """Version + checksum of both models (loaded once in the driver: they decide which work is done)."""
    return ModelIds(identity(load_classifier(models)), identity(load_generator(models)))


def features_uri(facts: VideoFacts, out: str) -> str:
    return facts.features_uri or store.join(out, "features", f"{facts.video_id}.parquet")


def catalog_norm(models: ModelSpec, markers: list[VideoFacts], out: str) -> CatalogNorm | None:
    """Classify every extracted video of the catalog in the driver (the head is cheap) and fit the
    catalog's scene V/A normalisation over all their scenes."""
    classifier = load_classifier(models)
    va = []
    for facts in markers:
        try:
            with store.open_read(features_uri(facts, out)) as fh:
                table = pq.read_table(fh)
            va.extend((s.valence, s.arousal) for s in classifier.classify(table))
        except Exception:  # this video's failure is recorded by the classify stage; the others still set the norm
            continue
    return fit_catalog_norm(va) if va else None


def catalog_uris(catalog: str) -> set[str]:
    """The catalog's videos as the extraction's markers name them (local paths resolved); a wrong
    catalog raises here. One that cannot be stat-ed is left to the extraction's report."""
    def one(uri: str) -> str:
        try:
            return store.stat(uri).uri
        except Exception:
            return uri

    uris = list_catalog_uris(catalog)
    with ThreadPoolExecutor(STAT_THREADS) as pool:
        return set(pool.map(one, uris))


def _stamp(uri: str) -> str:
    try:
        st = store.stat(uri)
    except OSError:
        return ""
    return f"{st.size}:{st.content_key}"


def _finished(extract: ExtractSummary) -> Future:
    future: Future = Future()
    future.set_result(extract)
    return future


class JobFeed:
    """Extracted videos handed to the stages: while the extraction runs, each whose completion marker
    appears (overlapped); once it is over, every one its report names that was not handed over yet.
    Each goes through ScoreRun.accept (recorded, skipped when done), as in a sequential run."""

    def __init__(self, run: "ScoreRun", catalog: set[str]) -> None:
        """`catalog`: the catalog's URIs to hand over as they complete (empty: only at the end). Set
        `extraction` (its future) before the first `take`."""
        self.run, self.catalog = run, catalog
        self.extraction: Future | None = None
        self.closed = False
        self._seen: set[str] = set()
        self._markers = store.join(run.options.out, "videos")
        # markers already there belong to earlier extractions (maybe with other settings): only the
        # finished extraction's report says whether they count
        self._before = {u: _stamp(u) for u in store.list_prefix(self._markers, "*.json")} if catalog else {}

    def take(self) -> list[VideoJob]:
        """The jobs ready since the last call (never waits); `closed` once the extraction is over."""
        if self.closed:
            return []
        done = self.extraction.done()  # before the markers: none written before it ended is missed
        facts = self._fresh_markers() if self.catalog else []
        if done:
            extract = self.extraction.result()  # an extraction that crashed stops the run here
            markers, failures = collect_extracted(extract, self.run.options.out)
            facts += [f for f in markers if f.video_id not in self._seen | {g.video_id for g in facts}]
            self.run.extracted(extract, markers, failures)
            self.closed = True
        jobs = []
        for f in facts:
            self._seen.add(f.video_id)
            job = self.run.accept(f)
            if job is not None:
                jobs.append(job)
        return jobs

    def _fresh_markers(self) -> list[VideoFacts]:
        fresh = []
        for uri in store.list_prefix(self._markers, "*.json"):
            if uri.rsplit("/", 1)[-1].removesuffix(".json") in self._seen or self._before.get(uri) == _stamp(uri):
                continue
            try:
                facts = VideoFacts.from_marker(json.loads(store.read_bytes(uri)))
            except (OSError, ValueError):  # vanished meanwhile: the extraction's report decides
                continue
            if facts.uri in self.catalog:  # another catalog's run may share the output folder
                fresh.append(facts)
        return fresh


@dataclass
class _InFlight:
    """A video between classify and finish: its plan and the generated parts gathered so far."""

    planned: PlannedVideo
    pieces: dict[int, Piece] = field(default_factory=dict)


class ScoreRun:
    """The driver's side of one run: the feed calls `accept` and `extracted`, engines call `planned`,
    `generated`, `finished` and `crashed` with each stage's output; every database write of a scoring
    run happens here."""

    def __init__(self, options: ScoreOptions, recorder: Recorder, lease: RunLeaseHandle) -> None:
        self.options, self.recorder, self.lease = options, recorder, lease
        self.summary = ScoreSummary(out=options.out, db_url=options.db_url())
        self.settings: PlanSettings = options.plan_settings()
        self.ids: ModelIds | None = None
        self.run_id = ""
        self.catalog_id: int | None = None
        self.jobs: dict[str, VideoJob] = {}
        self._flying: dict[str, _InFlight] = {}
        self._parts: dict[str, tuple[str, Chunk]] = {}  # request id -> (video id, chunk)
        self._done: set[str] = set()
        self.progress = VideoProgress(0, enabled=False)

    # --- the run's frame -------------------------------------------------------------------------
    def execute(self, engine: ScoreEngine) -> ScoreSummary:
        options, recorder, summary = self.options, self.recorder, self.summary
        started = time.perf_counter()
        if not others_live_in(recorder.sessions, options.out, self.lease.holder):
            summary.drafts_removed = clean_dead_drafts(options.out)  # what a killed run left half-written
        with ThreadPoolExecutor(1, thread_name_prefix="extract") as pool:
            if options.overlapped:
                catalog = catalog_uris(options.catalog)  # a catalog that cannot be read stops the run before anything starts
                # then the engine: starting Ray forks its daemons, which aborts while the extraction's gRPC threads run
                summary.timings["ray_init_s"] = engine.start(options)
                feed = JobFeed(self, catalog)
                feed.extraction = pool.submit(engine.extract, replace(options, show_progress=False))
                self._open(None)  # (loads both models in the driver, while the extraction starts)
                total = len(feed.catalog)
            else:
                extract = engine.extract(options)
                markers, failures = collect_extracted(extract, options.out)
                self._open(catalog_norm(options.models, markers, options.out) if options.normalise_catalog else None)
                feed, total = JobFeed(self, set()), len(markers) + len(failures)
                feed.extraction = _finished(extract)
                summary.timings["ray_init_s"] = engine.start(options)
            t0 = time.perf_counter()
            with VideoProgress(total, enabled=options.show_progress) as self.progress:
                engine.score(self, feed)
            summary.timings["score_wall_s"] = time.perf_counter() - t0
        for video_id, job in self.jobs.items():
            if video_id not in self._done:  # an engine that lost track of a video: its failure, not a silent gap
                self._fail(FailureRecord(job.uri, "score", "NoResult", "no stage gave a result for this video", video_id=video_id))
        summary.video_seconds = sum(j.duration_s for j in self.jobs.values())
        summary.wall_s = time.perf_counter() - started
        recorder.close_run(self.run_id, complete=summary.complete, n_videos=summary.n_catalog,
                           n_soundtracks=len(summary.scored) + len(summary.already_done), n_failures=len(summary.failed),
                           video_seconds=summary.video_seconds, timings=summary.rounded_timings())
        return summary

    def _open(self, norm: CatalogNorm | None) -> None:
        """The run row (a restart reopens its unfinished one), with the models and plan settings it uses."""
        options, summary = self.options, self.summary
        self.catalog_id = self.recorder.ensure_catalog(options.catalog)
        self.ids = model_identities(options.models)
        self.settings = options.plan_settings(norm)
        config = options.identity_config() | ({"catalog_normalisation": norm.to_dict()} if norm else {})
        self.run_id, summary.resumed = self.recorder.open_run(
            "score", options.run_key(), catalog_uri=options.catalog, out_uri=options.out, config=config,
            code_version=__version__, model_versions={"classifier": asdict(self.ids.classifier), "generator": asdict(self.ids.generator)})
        self.lease.set_run_id(self.run_id)
        summary.run_id = self.run_id

    def accept(self, facts: VideoFacts) -> VideoJob | None:
        """An extracted video, recorded; its job, or None when its soundtrack under these settings exists
        (marked scored and skipped)."""
        self.recorder.record_video(facts, status="extracted", catalog_id=self.catalog_id)
        if facts.damage:
            self.summary.damaged.append(facts)
        key = self.settings.variant_key(facts.video_id, self.ids.generator, self.ids.classifier, self.options.render)
        if self.recorder.soundtrack_id(facts.video_id, key) is not None:
            self.recorder.set_video_status(facts.video_id, "scored")
            self.summary.already_done.append(facts.video_id)
            self.progress.advance()
            return None
        job = VideoJob(facts.video_id, facts.uri, float(facts.duration_s), tuple(facts.cuts_s), features_uri(facts, self.options.out))
        self.jobs[job.video_id] = job
        return job

    def extracted(self, extract: ExtractSummary, markers: list[VideoFacts], failures: list[FailureRecord]) -> None:
        """The extraction is over: its dead letters recorded, its faults kept for the summary."""
        summary = self.summary
        summary.timings["extract_s"] = extract.wall_s
        summary.faulted = list(extract.faulted)
        for rec in failures:
            self.recorder.record_failure(rec, run_id=self.run_id)
            self.progress.advance()
        summary.failed.extend(failures)
        summary.n_catalog = len(markers) + len(failures) + len(summary.faulted)

    # --- the stages' results, in the driver ------------------------------------------------------
    def planned(self, out: PlannedVideo | FailureRecord) -> list[GenerationRequest]:
        """A video classified and planned: its generation requests (none when it failed)."""
        if isinstance(out, FailureRecord):
            self._fail(out)
            return []
        self.summary.timings["classify_s"] += out.seconds
        self._flying[out.job.video_id] = _InFlight(out)
        for chunk, request in out.requests:
            self._parts[request.request_id] = (out.job.video_id, chunk)
        return [request for _, request in out.requests]

    def generated(self, request_id: str, result: GenerationResult | BaseException, seconds: float) -> FinishInput | None:
        """One chunk generated (or failed). When a video's last chunk is in, its emotions are recorded and
        its finish input is returned for the engine to render."""
        self.summary.timings["generate_s"] += seconds
        video_id, chunk = self._parts.pop(request_id)
        flying = self._flying.get(video_id)
        if flying is None:  # the video failed already (another chunk)
            return None
        job = flying.planned.job
        if isinstance(result, BaseException):
            self._flying.pop(video_id)
            self._fail(failure(job.uri, video_id, "generate", result))
            return None
        flying.pieces[chunk.index] = Piece(chunk, result.midi_bytes, tuple(result.chord_onsets_s), result.n_tokens)
        if len(flying.pieces) < len(flying.planned.requests):
            return None
        self._flying.pop(video_id)
        t0 = time.perf_counter()
        self.recorder.record_emotions(video_id, flying.planned.verdicts, classifier_version=self.ids.classifier.version,
                                      classifier_sha256=self.ids.classifier.sha256, run_id=self.run_id)
        self.summary.timings["record_s"] += time.perf_counter() - t0
        pieces = tuple(flying.pieces[i] for i in sorted(flying.pieces))
        return FinishInput(flying.planned.plan, pieces, job.uri, self.options.out, self.ids.generator, self.ids.classifier)

    def finished(self, out: SoundtrackRecord | FailureRecord) -> None:
        """A video's soundtrack files are in place (its row is the commit), or its render failed."""
        if isinstance(out, FailureRecord):
            self._fail(out)
            return
        t0 = time.perf_counter()
        self.recorder.record_soundtrack(out, run_id=self.run_id)
        self.summary.timings["record_s"] += time.perf_counter() - t0
        self.summary.timings["render_s"] += sum(out.timings.values())
        self.summary.scored.append(out)
        self._done.add(out.video_id)
        self.progress.advance()

    def crashed(self, video_id: str, stage: str, exc: BaseException) -> None:
        """The engine lost the worker running this video's stage (died, out of memory): its failure."""
        self._flying.pop(video_id, None)
        self._fail(failure(self.jobs[video_id].uri, video_id, stage, exc))

    def _fail(self, rec: FailureRecord) -> None:
        if rec.video_id in self._done:
            return
        t0 = time.perf_counter()
        self.recorder.record_failure(rec, run_id=self.run_id)
        self.recorder.set_video_status(rec.video_id, "failed")
        self.summary.timings["record_s"] += time.perf_counter() - t0
        self.summary.failed.append(rec)
        self._done.add(rec.video_id)
        self.progress.advance()


def run_score(options: ScoreOptions, engine: ScoreEngine) -> ScoreSummary:
    """extract -> score -> record for a whole catalog; resumable and idempotent.

    The database is opened (and so checked) before any extraction, and the run holds the lease of its
    run key throughout: a second run of the same catalog and configuration cannot collide with it."""
    options.mood_settings()  # a bad brief fails here, before any work
    sessions = open_database(options.db_url())
    lease = acquire(sessions, options.run_key(), options.out, wait_s=options.lease_wait_s)
    with Heartbeat(lease):
        return ScoreRun(options, Recorder(sessions), lease).execute(engine)
