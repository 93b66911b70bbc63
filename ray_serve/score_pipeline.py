"""The scoring stages on Ray: classify+plan and generate as actor pools (each loads its model once),
finish as CPU tasks, each sized by the Resources its stage declares. Everything else - what to skip,
what to record, what a failure means - is the run's (emsync_core.scoring.run); this file only moves
the stages' typed outputs between the workers and the run, batching generation requests across
videos while a generator is busy.

Actors ask for fractional CPUs by default (whole-CPU actors leave a 2-core machine nothing for the
render tasks) and GPUs when the options say so (a KubeRay cluster with GPU workers).
"""

from __future__ import annotations

import logging
import threading
import time

import ray

from emsync_core.features.base import Resources
from emsync_core.music import GenerationRequest
from emsync_core.scoring.options import ScoreOptions
from emsync_core.scoring.report import ScoreSummary
from emsync_core.scoring.run import JobFeed, ScoreRun, run_score as run_in_core
from emsync_core.scoring.stages import ClassifyAndPlan, Generate, finish_resources, finish_video

log = logging.getLogger(__name__)
MIB = 1024 * 1024
FEED_POLL_S = 0.5  # how often the driver looks for newly extracted videos while stage results are pending
_init_lock = threading.Lock()  # an overlapped run's extraction thread may bring Ray up at the same time


def ray_options(resources: Resources) -> dict:
    """A stage's declared Resources as Ray resource requests."""
    return {"num_cpus": resources.cpus, "num_gpus": resources.gpus, "memory": resources.memory_mb * MIB}


@ray.remote(max_restarts=1)
class StageActor:
    """Holds one stage instance (its model loaded once) and runs it on what the driver sends."""

    def __init__(self, stage: type, *args) -> None:
        self.stage = stage(*args)

    def run(self, *args):
        return self.stage(*args)


finish_task = ray.remote(finish_video)


def ensure_ray(options: ScoreOptions) -> float:
    """Connect to the given cluster or start a local Ray; returns the seconds it took (0 when already up)."""
    with _init_lock:
        if ray.is_initialized():
            return 0.0
        t0 = time.perf_counter()
        if options.address:
            ray.init(address=options.address, log_to_driver=False)
        else:
            ray.init(num_cpus=options.num_cpus, include_dashboard=False, log_to_driver=False)
        return time.perf_counter() - t0


def stop_ray() -> None:
    """Shut down the Ray this process started or joined (benchmarks give each job a fresh one)."""
    with _init_lock:
        ray.shutdown()


class RayEngine:
    """The ScoreEngine on Ray (a local Ray, or the cluster at options.address)."""

    def extract(self, options: ScoreOptions):
        from ray_serve.extract_tasks import extract_for_score

        return extract_for_score(options)

    def start(self, options: ScoreOptions) -> float:
        return ensure_ray(options)

    def score(self, run: ScoreRun, feed: JobFeed) -> None:
        cluster_cpus = ray.cluster_resources().get("CPU", 0.0)
        o = run.options.fitted_to(cluster_cpus)
        if o is not run.options:
            log.warning("the stages ask for more CPUs than the cluster's %g: actors get %g CPUs each, a render %g",
                        cluster_cpus, o.actor_cpus, o.render_cpus)
        threads = max(1, int(o.actor_cpus))
        classifiers = [StageActor.options(**ray_options(ClassifyAndPlan.resources(o.actor_cpus)))
                       .remote(ClassifyAndPlan, o.models, run.settings, threads) for _ in range(o.classify_actors)]
        generators = [StageActor.options(**ray_options(Generate.resources(o.actor_cpus, o.generator_gpus)))
                      .remote(Generate, o.models, threads) for _ in range(o.generate_actors)]
        finisher = finish_task.options(**ray_options(finish_resources(o.render_cpus)))
        try:
            _Flow(run, classifiers, generators, finisher).drive(feed)
        finally:
            for actor in classifiers + generators:
                ray.kill(actor)


class _Flow:
    """The driver loop: each video the feed hands over goes to a classifier at once (they queue there),
    generation requests wait until a batch is full (or no more can come) and go to an idle generator,
    each finished video's render is a task. Full batches: on a CPU a batch of 8 lockstep requests
    costs about 0.4 of the CPU seconds of the 8 one by one, and the CPU a waiting generator leaves
    goes to the extraction and the renders meanwhile."""

    def __init__(self, run: ScoreRun, classifiers: list, generators: list, finisher) -> None:
        self.run, self.classifiers, self.finisher = run, classifiers, finisher
        self.idle = list(generators)
        self.waiting: list[GenerationRequest] = []
        self.refs: dict[ray.ObjectRef, tuple[str, object]] = {}

    def drive(self, feed: JobFeed) -> None:
        n = 0
        while True:
            for job in feed.take():
                self.refs[self.classifiers[n % len(self.classifiers)].run.remote(job)] = ("classify", job)
                n += 1
            self._dispatch(more_coming=not feed.closed or any(s == "classify" for s, _ in self.refs.values()))
            if not self.refs:
                if feed.closed:
                    return
                time.sleep(FEED_POLL_S)
                continue
            ready, _ = ray.wait(list(self.refs), num_returns=1, timeout=None if feed.closed else FEED_POLL_S)
            for ref in ready:
                self._take(ref, *self.refs.pop(ref))

    def _dispatch(self, more_coming: bool) -> None:
        batch = self.run.options.generate_batch
        while self.idle and self.waiting and (len(self.waiting) >= batch or not more_coming):
            actor, requests = self.idle.pop(), self.waiting[:batch]
            del self.waiting[:batch]
            self.refs[actor.run.remote(requests)] = ("generate", (actor, requests))

    def _take(self, ref: ray.ObjectRef, stage: str, what) -> None:
        try:
            out = ray.get(ref)
        except Exception as exc:  # the worker died (out of memory, node lost): these videos fail, the run goes on
            out = exc
        if stage == "classify":
            if isinstance(out, Exception):
                self.run.crashed(what.video_id, "classify", out)
            else:
                self.waiting += self.run.planned(out)
        elif stage == "generate":
            actor, requests = what
            self.idle.append(actor)
            results, seconds = ([out] * len(requests), 0.0) if isinstance(out, Exception) else out
            for request, result in zip(requests, results):
                inp = self.run.generated(request.request_id, result, seconds / len(requests))
                if inp is not None:
                    self.refs[self.finisher.remote(inp, self.run.options.render)] = ("finish", inp)
        elif isinstance(out, Exception):
            self.run.crashed(what.plan.video_id, "render", out)
        else:
            self.run.finished(out)


def run_score(options: ScoreOptions) -> ScoreSummary:
    """`emsync score`'s whole job on Ray (see emsync_core.scoring.run.run_score). A Ray this call
    started is shut down when it ends; one already up (the served app's, a caller's) is left running."""
    started_here = not ray.is_initialized()
    try:
        return run_in_core(options, RayEngine())
    finally:
        if started_here:
            stop_ray()
