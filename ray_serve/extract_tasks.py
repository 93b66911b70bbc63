"""The extraction on a Ray cluster: the same per-video unit as the Beam job (VideoFeatureExtractor), one
Ray task per video, sized by the backbones' declared Resources and spread over the nodes, so a cluster
job never decodes the archive in its driver. Also the switch `emsync score` extracts through.
"""

from __future__ import annotations

import logging
import threading

import ray

from beam_jobs.extract_pipeline import ExtractOptions, run_extract
from emsync_core.features.extract_plan import choose_engine, finish_extraction, plan_extraction, unit_resources
from emsync_core.features.extract_video import ExtractSettings, OutputLayout, VideoFeatureExtractor
from emsync_core.features.run_report import ExtractSummary, MarkerProgress
from emsync_core.store.catalog import VideoRef

TASK_NAME = "emsync_extract_video"  # what the task records (ray.util.state) call these tasks
MIB = 1024 * 1024
log = logging.getLogger(__name__)

_extractors: dict[str, VideoFeatureExtractor] = {}  # per worker process: backbones load once, not per video


def _extractor(settings: ExtractSettings, threads: int) -> VideoFeatureExtractor:
    key = settings.fingerprint()
    if key not in _extractors:
        _extractors[key] = VideoFeatureExtractor(settings, threads=threads)
        _extractors[key].setup()
    return _extractors[key]


@ray.remote(max_retries=2)  # a lost worker (node gone, out of memory) is retried; bad input is a dead letter
def extract_video_task(settings: ExtractSettings, out: str, ref: VideoRef, threads: int) -> str:
    return _extractor(settings, threads).run(ref, OutputLayout(out)).status


def _wait_all(refs: list[ray.ObjectRef]) -> None:
    for ref in refs:
        try:
            ray.get(ref)
        except ray.exceptions.RayError as exc:  # no marker gets written: the summary records it as missing
            log.warning("an extraction task failed for good: %s", exc)


def _fitting_cpus(wanted: float) -> float:
    """The unit's CPUs, capped at the largest node's: a request no node can meet would wait forever.
    (No CPU node yet, as on an autoscaling cluster that starts empty: ask for all, the autoscaler adds one.)"""
    largest = max((n["Resources"].get("CPU", 0.0) for n in ray.nodes() if n["Alive"]), default=0.0)
    if 0 < largest < wanted:
        log.warning("the backbones ask for %.2f CPUs per video; the largest node has %.0f: asking for that", wanted, largest)
        return largest
    return wanted


def run_extract_ray(options: ExtractOptions) -> ExtractSummary:
    """Extract the catalog's to-do videos as Ray tasks on the connected cluster (ray.init done)."""
    plan = plan_extraction(options.catalog, options.out, options.settings())
    if plan.todo:
        need = unit_resources(plan.settings)
        cpus = _fitting_cpus(need.cpus)
        task = extract_video_task.options(name=TASK_NAME, num_cpus=cpus, num_gpus=need.gpus,
                                          memory=need.memory_mb * MIB, scheduling_strategy="SPREAD")
        threads = max(1, round(cpus))
        refs = [task.remote(plan.settings, options.out, ref, threads) for ref in plan.todo]
        waiter = threading.Thread(target=_wait_all, args=(refs,), name="ray-extract", daemon=True)
        waiter.start()
        MarkerProgress(plan.layout, plan.todo, enabled=options.show_progress).follow(waiter)
    return finish_extraction(plan, options.show_progress)


def extract_for_score(options) -> ExtractSummary:
    """`emsync score`'s extraction on the engine `choose_engine` picks (options: ScoreOptions)."""
    from ray_serve.score_pipeline import ensure_ray

    extract = ExtractOptions(catalog=options.catalog, out=options.out, backbones=options.backbones,
                             window_s=options.window_s, workers=options.extract_workers,
                             retry_failed=options.retry_failed, show_progress=options.show_progress)
    if choose_engine(options.extract_engine, options.address, options.beam_args) == "ray":
        ensure_ray(options)
        return run_extract_ray(extract)
    return run_extract(extract, list(options.beam_args))
