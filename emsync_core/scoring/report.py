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
    faulted: list[dict] = field(default_factory=list)  # stopped by storage / network / permission: rerun
    damaged: list[VideoFacts] = field(default_factory=list)  # cut off or broken part-way: scored up to it
    drafts_removed: int = 0  # half-written files of a dead run, removed at the start

    @property
    def complete(self) -> bool:
        return not self.failed and not self.faulted

    def as_json(self) -> dict:
        """The machine-readable summary (`emsync score --summary-json`)."""
        return {
            "run_id": self.run_id, "resumed": self.resumed, "n_catalog": self.n_catalog,
            "scored": [r.video_id for r in self.scored], "already_done": list(self.already_done),
            "failed": [{"uri": f.uri, "video_id": f.video_id, "stage": f.stage, "error_class": f.error_class,
                        "message": f.message} for f in self.failed],
            "faulted": [{k: f.get(k) for k in ("uri", "video_id", "error_class", "message")} for f in self.faulted],
            "damaged": [{"uri": f.uri, "video_id": f.video_id, "damage": f.damage} for f in self.damaged],
            "drafts_removed": self.drafts_removed, "video_seconds": round(self.video_seconds, 3),
            "wall_s": round(self.wall_s, 3), "timings": self.rounded_timings(),
        }

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
    t.add_row("failures (bad inputs, recorded)", str(len(summary.failed)))
    t.add_row("stopped by storage/network faults (rerun)", str(len(summary.faulted)))
    t.add_row("damaged inputs (scored up to the damage)", str(len(summary.damaged)))
    if summary.drafts_removed:
        t.add_row("half-written files of a dead run removed", str(summary.drafts_removed))
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
    _listing(console, "failures (also in the failures table)", ("uri", "stage", "reason"),
             [(r.uri, r.stage, f"{r.error_class}: {_first_line(r.message)}") for r in summary.failed])
    _listing(console, "stopped by a fault of the storage, network or permissions (not marked bad: fix and rerun)",
             ("uri", "reason"), [(str(r.get("uri")), f"{r.get('error_class')}: {_first_line(r.get('message'))}")
                                 for r in summary.faulted])
    _listing(console, "damaged inputs (scored up to the damage)", ("uri", "damage"),
             [(f.uri, f.damage or "") for f in summary.damaged])


def _first_line(text: str | None) -> str:
    return (str(text or "").splitlines() or [""])[0][:160]


def _listing(console: Console, title: str, columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    if not rows:
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console.print(table)


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
