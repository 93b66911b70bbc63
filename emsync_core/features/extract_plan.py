"""What an extraction run has to do, whatever engine does it: list the catalog, skip the videos already
complete, size the per-video unit from the backbones' Resources, and close the run with its summary.

Beam (beam_jobs.extract_pipeline) and Ray (ray_serve.extract_tasks) both run `plan.todo` through
VideoFeatureExtractor; this module decides everything around that and imports neither engine.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from emsync_core.features.base import Resources
from emsync_core.features.extract_video import ExtractSettings, OutputLayout, is_done
from emsync_core.features.registry import resolve
from emsync_core.features.run_report import ExtractSummary, compile_tables, print_summary
from emsync_core.store.catalog import VideoRef, list_catalog_uris, resolve_ref
from emsync_core.store.faults import is_environment_fault

# "auto": Beam when pipeline options name a runner or no cluster is given (DirectRunner locally,
# Dataflow/Flink/Spark by options); Ray tasks on the cluster when `--address` is given without one.
EXTRACT_ENGINES = ("auto", "beam", "ray")
RESOLVE_THREADS = 16  # stat round-trips to object stores run in parallel


@dataclass
class ExtractPlan:
    """The to-do list of one extraction run and what was skipped, unreadable (the input's fault) or faulted
    (storage, network or permissions: not marked bad, retried by the next run)."""

    layout: OutputLayout
    settings: ExtractSettings
    todo: list[VideoRef]
    done: list[VideoRef]
    unreadable: list[tuple[str, Exception]]
    faulted: list[tuple[str, Exception]] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)


def plan_extraction(catalog: str, out: str, settings: ExtractSettings) -> ExtractPlan:
    """Stat every catalog entry and split it into to-do and already complete (same fingerprint)."""
    started = time.perf_counter()
    layout = OutputLayout(out)

    def one(uri: str) -> tuple[str, VideoRef | Exception, bool]:
        try:
            ref = resolve_ref(uri)
            return uri, ref, is_done(layout, ref, settings)
        except Exception as exc:  # a vanished or unreadable object is that input's failure alone
            return uri, exc, False

    todo, done, unreadable, faulted = [], [], [], []
    with ThreadPoolExecutor(max_workers=RESOLVE_THREADS) as pool:
        for uri, ref, finished in pool.map(one, list_catalog_uris(catalog)):
            if isinstance(ref, Exception):
                (faulted if is_environment_fault(ref) else unreadable).append((uri, ref))
            else:
                (done if finished else todo).append(ref)
    return ExtractPlan(layout, settings, todo, done, unreadable, faulted, started)


def finish_extraction(plan: ExtractPlan, show_progress: bool) -> ExtractSummary:
    """The run's summary from the markers and dead letters, and the compiled tables."""
    summary = ExtractSummary.collect(plan.layout, plan.todo, plan.done, plan.unreadable, plan.settings,
                                     time.perf_counter() - plan.started, plan.faulted)
    compile_tables(plan.layout)
    if show_progress:
        print_summary(summary)
    return summary


def unit_resources(settings: ExtractSettings) -> Resources:
    """One per-video unit holds every backbone at once: the sum of their declared Resources."""
    declared = [resolve(name).resources for name in settings.backbones]
    return Resources(cpus=sum(r.cpus for r in declared), gpus=sum(r.gpus for r in declared),
                     memory_mb=sum(r.memory_mb for r in declared))


def choose_engine(requested: str, address: str | None, beam_args: tuple[str, ...]) -> str:
    """The engine `emsync score` extracts with (see EXTRACT_ENGINES): never the driver of a cluster job."""
    if requested not in EXTRACT_ENGINES:
        raise ValueError(f"extract engine must be one of {EXTRACT_ENGINES}, not {requested!r}")
    if requested != "auto":
        return requested
    names_runner = any(a.startswith("--runner") for a in beam_args)
    return "ray" if address and not names_runner else "beam"
