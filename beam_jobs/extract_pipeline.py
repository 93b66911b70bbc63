"""The extraction job, in order: list catalog -> resolve versions -> skip done -> shard -> extract
(cuts + features per video, dead letters for bad input) -> compile summary tables.

The per-video work is emsync_core's VideoFeatureExtractor; this file only moves data and declares
parallelism. It runs on the DirectRunner by default; Dataflow/Flink/Spark through pipeline options.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

from emsync_core.features.extract_plan import finish_extraction, plan_extraction
from emsync_core.features.extract_video import ExtractSettings, OutputLayout, VideoFeatureExtractor
from emsync_core.features.run_report import ExtractSummary, MarkerProgress
from emsync_core.features.registry import DEFAULT_BACKBONES
from emsync_core.media.cuts import CutSettings
from emsync_core.media.scan import ScanSettings
from emsync_core.store.catalog import VideoRef


@dataclass(frozen=True)
class ExtractOptions:
    catalog: str
    out: str
    backbones: tuple[str, ...] = DEFAULT_BACKBONES
    window_s: float = 2.0
    frames_per_window: int = 1
    min_cut_gap_s: float = 4.0
    workers: int = 0
    retry_failed: bool = False
    show_progress: bool = True

    def settings(self) -> ExtractSettings:
        scan = ScanSettings(window_s=self.window_s, frames_per_window=self.frames_per_window, cuts=CutSettings(min_gap_s=self.min_cut_gap_s))
        return ExtractSettings(backbones=self.backbones, scan=scan, retry_failed=self.retry_failed)


class ExtractVideoFn(beam.DoFn):
    """Loads the backbones once per worker (setup) and extracts one video per element."""

    def __init__(self, settings: ExtractSettings, out: str, threads_per_worker: int) -> None:
        self._settings = settings
        self._out = out
        self._threads = threads_per_worker
        self._extractor: VideoFeatureExtractor | None = None

    def setup(self) -> None:
        self._extractor = VideoFeatureExtractor(self._settings, threads=self._threads)
        self._extractor.setup()

    def process(self, ref: VideoRef):
        assert self._extractor is not None
        outcome = self._extractor.run(ref, OutputLayout(self._out))
        beam.metrics.Metrics.counter("emsync", f"videos_{outcome.status}").inc()
        yield outcome.video_id, outcome.status


def pipeline_options(workers: int, beam_args: list[str]) -> PipelineOptions:
    joined = " ".join(beam_args)
    if "--default_sdk_harness_log_level" not in joined:
        beam_args = [*beam_args, "--default_sdk_harness_log_level=WARNING"]
    options = PipelineOptions(beam_args)
    if options.view_as(StandardOptions).runner in (None, "DirectRunner"):
        direct = options.view_as(DirectOptions)
        if "--direct_num_workers" not in joined:
            direct.direct_num_workers = workers
        if "--direct_running_mode" not in joined:
            direct.direct_running_mode = "multi_processing" if workers > 1 else "in_memory"
        options.view_as(StandardOptions).runner = "DirectRunner"
    return options


def run_extract(options: ExtractOptions, beam_args: list[str] | None = None) -> ExtractSummary:
    """Run the job to completion and return (and print) what happened."""
    plan = plan_extraction(options.catalog, options.out, options.settings())
    workers = options.workers or os.cpu_count() or 1
    threads = max(1, (os.cpu_count() or 1) // workers)
    todo = plan.todo

    progress = MarkerProgress(plan.layout, todo, enabled=options.show_progress)
    if todo:
        result_box: dict[str, object] = {}

        def run_pipeline() -> None:
            try:
                with beam.Pipeline(options=pipeline_options(min(workers, len(todo)), beam_args or [])) as pipeline:
                    (
                        pipeline
                        | "Videos" >> beam.Create(todo)
                        | "Shard" >> beam.Reshuffle()
                        | "Extract" >> beam.ParDo(ExtractVideoFn(plan.settings, options.out, threads))
                    )
            except BaseException as exc:  # surfaced in the driver below
                result_box["error"] = exc

        worker = threading.Thread(target=run_pipeline, name="beam-pipeline", daemon=True)
        worker.start()
        progress.follow(worker)
        if "error" in result_box:
            raise result_box["error"]  # type: ignore[misc]
    return finish_extraction(plan, options.show_progress)
