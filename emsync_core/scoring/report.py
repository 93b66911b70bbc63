"""What a scoring run did: the extraction results it starts from, live progress, the closing summary."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from emsync_core.db.record import FailureRecord, SoundtrackRecord, VideoFacts
from emsync_core.store import uri as store

STAGES = ("extract_s", "classify_s", "generate_s", "render_s", "record_s")


def _dead_letter(rec: dict) -> FailureRecord:
    return FailureRecord(uri=rec.get("uri") or "?", stage=rec.get("stage") or "extract",
                         error_class=rec.get("error_class") or "Error", message=rec.get("message") or "",
                         video_id=rec.get("video_id"))


def collect_extracted(extract, out: str) -> tuple[list[VideoFacts], list[FailureRecord]]:
    """Videos with a completion marker (new or from an earlier run) and the extraction's dead letters."""
    markers = [VideoFacts.from_marker(m) for m in extract.ok]
    failures = [_dead_letter(d) for d in extract.failed]
    for ref in extract.skipped:  # done earlier: a marker, or a dead letter that is not being retried
        marker = store.join(out, "videos", f"{ref.video_id}.json")
        dead = store.join(out, "dead_letter", f"{ref.video_id}.json")
        if store.exists(marker):
            markers.append(VideoFacts.from_marker(json.loads(store.read_bytes(marker))))
        elif store.exists(dead):
            failures.append(_dead_letter(json.loads(store.read_bytes(dead))))
    return sorted(markers, key=lambda f: f.uri), failures


@dataclass
class ScoreSummary:
    out: str
    db_url: str
    run_id: str = ""
    resumed: bool = False
    n_catalog: int = 0
    scored: list[SoundtrackRecord] = field(default_factory=list)
    already_done: list[str] = field(default_factory=list)
    failed: list[FailureRecord] = field(default_factory=list)
    video_seconds: float = 0.0  # of the videos scored in this invocation
    wall_s: float = 0.0
    timings: dict[str, float] = field(default_factory=lambda: {k: 0.0 for k in STAGES})

    @property
    def complete(self) -> bool:
        return not self.failed

    def rounded_timings(self) -> dict[str, float]:
        return {k: round(v, 3) for k, v in self.timings.items()}


class VideoProgress:
    """A rich progress bar over the videos being scored (no-op when disabled)."""

    def __init__(self, total: int, enabled: bool = True) -> None:
        self._bar = Progress(TextColumn("score"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                             TimeRemainingColumn(), console=Console(stderr=True)) if enabled else None
        self._total = total

    def __enter__(self) -> "VideoProgress":
        if self._bar:
            self._bar.start()
            self._task = self._bar.add_task("videos", total=self._total)
        return self

    def advance(self) -> None:
        if self._bar:
            self._bar.advance(self._task)

    def __exit__(self, *exc) -> None:
        if self._bar:
            self._bar.stop()


def print_summary(summary: ScoreSummary, console: Console | None = None) -> None:
    console = console or Console(stderr=True)
    t = Table(title=f"emsync score: summary (run {summary.run_id[:12]}{', resumed' if summary.resumed else ''})",
              show_header=False)
    t.add_row("videos in catalog", str(summary.n_catalog))
    t.add_row("soundtracks written now", str(len(summary.scored)))
    t.add_row("already scored (skipped)", str(len(summary.already_done)))
    t.add_row("failures", str(len(summary.failed)))
    t.add_row("minutes of video scored now", f"{summary.video_seconds / 60:.2f}")
    t.add_row("wall time", f"{summary.wall_s:.1f} s")
    if summary.video_seconds and summary.wall_s:
        t.add_row("throughput", f"{summary.video_seconds / summary.wall_s:.3f} s of video per wall second")
    for k, v in summary.timings.items():
        t.add_row(f"  {k.removesuffix('_s')} (s, summed over workers)" if k in STAGES[1:4] else f"  {k.removesuffix('_s')} (s)",
                  f"{v:.1f}")
    t.add_row("outputs", store.join(summary.out, "soundtracks"))
    t.add_row("database", summary.db_url.split("@")[-1])
    console.print(t)
    print_heard(summary.scored, console)
    if summary.failed:
        f = Table(title="failures (also in the failures table)")
        for column in ("uri", "stage", "reason"):
            f.add_column(column)
        for rec in summary.failed:
            f.add_row(rec.uri, rec.stage, f"{rec.error_class}: {(rec.message.splitlines() or [''])[0][:120]}")
        console.print(f)


def print_heard(records: list[SoundtrackRecord], console: Console) -> None:
    """Per soundtrack, what a listener hears (recorded under the soundtrack's render["heard"])."""
    rows = [(r, r.render.get("heard")) for r in records if r.render.get("heard")]
    if not rows:
        return
    t = Table(title="what each soundtrack sounds like")
    for column in ("video", "line-up", "instrument groups", "pitch-class entropy", "audible chords at cuts", "empty 5 s windows"):
        t.add_column(column)
    for r, h in rows:
        t.add_row(r.video_id[:16], str(r.sampling.get("ensemble", "?")), ", ".join(h["groups"]), f"{h['pitch_class_entropy']:.2f}",
                  f"{h['audible_cut_chords']}/{h['cuts']}", str(h["empty_windows"]))
    console.print(t)
