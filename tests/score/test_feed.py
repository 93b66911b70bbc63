"""The overlapped hand-off from extraction to scoring (emsync_core.scoring.run.JobFeed): a video is
handed over as soon as this extraction writes its marker; a marker an earlier extraction left (maybe
with other settings) only once the finished extraction's report names it; another catalog's never."""

from __future__ import annotations

import json
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from emsync_core.db.record import FailureRecord, VideoFacts
from emsync_core.features.run_report import ExtractSummary
from emsync_core.scoring.run import JobFeed
from emsync_core.scoring.stages import VideoJob
from emsync_core.store.catalog import VideoRef


@dataclass
class _Options:
    out: str


@dataclass
class _Run:
    """Stands in for ScoreRun's side of the feed: what it was handed and the extraction's close."""

    options: _Options
    accepted: list[str] = field(default_factory=list)
    closed_with: list[str] | None = None

    def accept(self, facts: VideoFacts) -> VideoJob:
        self.accepted.append(facts.video_id)
        return VideoJob(facts.video_id, facts.uri, float(facts.duration_s), tuple(facts.cuts_s), "")

    def extracted(self, extract: ExtractSummary, markers: list[VideoFacts], failures: list[FailureRecord]) -> None:
        self.closed_with = sorted(m.video_id for m in markers)


def _marker(out: Path, video_id: str, uri: str) -> dict:
    marker = {"video_id": video_id, "uri": uri, "content_key": "k", "duration_s": 10.0, "cuts_s": [4.0]}
    (out / "videos").mkdir(parents=True, exist_ok=True)
    (out / "videos" / f"{video_id}.json").write_text(json.dumps(marker))
    return marker


def test_fresh_markers_flow_at_once_stale_ones_wait_for_the_report_foreign_ones_never(tmp_path):
    out = tmp_path / "out"
    stale = _marker(out, "stale", "/cat/old.mp4")  # an earlier extraction's, re-extracted by this one
    _marker(out, "other", "/elsewhere/x.mp4")  # another catalog's, sharing the output folder
    _marker(out, "done", "/cat/done.mp4")  # complete from an earlier run: the extraction skips it
    run, extraction = _Run(_Options(str(out))), Future()
    feed = JobFeed(run, {"/cat/old.mp4", "/cat/new.mp4", "/cat/done.mp4"})
    feed.extraction = extraction
    assert feed.take() == [] and not feed.closed  # nothing new yet: the stale and done ones wait

    fresh = _marker(out, "new", "/cat/new.mp4")
    assert [j.video_id for j in feed.take()] == ["new"]
    assert feed.take() == []  # handed over once

    extraction.set_result(ExtractSummary(ok=[fresh, stale], skipped=[VideoRef("done", "/cat/done.mp4", 1, "k")]))
    assert sorted(j.video_id for j in feed.take()) == ["done", "stale"] and feed.closed
    assert sorted(run.accepted) == ["done", "new", "stale"]
    assert run.closed_with == ["done", "new", "stale"]
    assert feed.take() == []
