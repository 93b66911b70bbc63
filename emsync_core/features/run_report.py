"""What an extraction run did: live progress from completion markers, the closing summary, and the
compiled summary / dead-letter tables (rebuilt from the per-video records, so they are always whole)."""

from __future__ import annotations

import io
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from emsync_core.features.extract_video import ExtractSettings, OutputLayout
from emsync_core.store import uri as store
from emsync_core.store.catalog import VideoRef, video_id_for

POLL_S = 1.0


def _records(prefix: str) -> list[dict]:
    return [json.loads(store.read_bytes(u)) for u in store.list_prefix(prefix, "*.json")]


@dataclass
class ExtractSummary:
    """Counts and facts of one run; `complete` is False when any input failed or was stopped by a fault.

    `faulted`: videos a storage / network / permission fault stopped (not dead letters: rerun them)."""

    ok: list[dict] = field(default_factory=list)
    skipped: list[VideoRef] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    faulted: list[dict] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def complete(self) -> bool:
        return not self.failed and not self.faulted

    @property
    def video_seconds(self) -> float:
        return sum(r.get("duration_s", 0.0) for r in self.ok)

    @property
    def frames(self) -> int:
        return sum(r.get("n_frames", 0) for r in self.ok)

    @classmethod
    def collect(
        cls,
        layout: OutputLayout,
        todo: list[VideoRef],
        done: list[VideoRef],
        unreadable: list[tuple[str, Exception]],
        settings: ExtractSettings,
        wall_s: float,
        faulted: list[tuple[str, Exception]] = (),
    ) -> "ExtractSummary":
        summary = cls(skipped=list(done), wall_s=wall_s)
        summary.faulted = [{"uri": uri, "video_id": None, "error_class": type(exc).__name__, "message": str(exc)}
                           for uri, exc in faulted]
        for ref in todo:
            marker, dead = layout.marker(ref.video_id), layout.dead_letter(ref.video_id)
            if store.exists(marker) and json.loads(store.read_bytes(marker)).get("content_key") == ref.content_key:
                summary.ok.append(json.loads(store.read_bytes(marker)))
            elif store.exists(dead):
                summary.failed.append(json.loads(store.read_bytes(dead)))
            else:  # stopped by a fault (or its dead letter could not be written): not the input's fault
                summary.faulted.append(_fault_record(layout, ref))
        for uri, exc in unreadable:
            summary.failed.append(_dead_letter(layout, uri, video_id_for(uri, "unreadable"), "list", type(exc).__name__, str(exc), settings))
        return summary


def _fault_record(layout: OutputLayout, ref: VideoRef) -> dict:
    try:
        return json.loads(store.read_bytes(layout.fault(ref.video_id)))
    except Exception:  # the storage that failed the video may fail this read too
        return {"video_id": ref.video_id, "uri": ref.uri, "error_class": "Fault", "message": "no output was written"}


def _dead_letter(layout: OutputLayout, uri: str, video_id: str, stage: str, error_class: str, message: str, settings: ExtractSettings) -> dict:
    record = {
        "video_id": video_id,
        "uri": uri,
        "content_key": None,
        "stage": stage,
        "error_class": error_class,
        "message": message,
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "fingerprint": settings.fingerprint(),
    }
    store.write_bytes_atomic(layout.dead_letter(video_id), json.dumps(record, indent=1).encode())
    return record


SUMMARY_COLUMNS = ("video_id", "uri", "content_key", "duration_s", "fps", "width", "height", "rotation", "has_audio", "n_frames", "n_windows", "cuts_raw_s", "cuts_s", "features_uri", "seconds", "peak_rss_mb", "finished_at")
DEAD_LETTER_COLUMNS = ("video_id", "uri", "content_key", "stage", "error_class", "message", "at")


def _write_table(uri: str, rows: list[dict], columns: tuple[str, ...]) -> None:
    table = pa.Table.from_pylist([{c: r.get(c) for c in columns} for r in rows]) if rows else pa.table({c: pa.array([], pa.string()) for c in columns})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    store.write_bytes_atomic(uri, buffer.getvalue())


def compile_tables(layout: OutputLayout) -> None:
    """summary.parquet and dead_letter.parquet from every record under the output root."""
    _write_table(store.join(layout.root, "summary.parquet"), _records(store.join(layout.root, "videos")), SUMMARY_COLUMNS)
    _write_table(store.join(layout.root, "dead_letter.parquet"), _records(store.join(layout.root, "dead_letter")), DEAD_LETTER_COLUMNS)


class MarkerProgress:
    """A progress bar fed by polling for the completion markers and dead letters of the to-do videos."""

    def __init__(self, layout: OutputLayout, todo: list[VideoRef], enabled: bool = True) -> None:
        self._layout = layout
        self._pending = {ref.video_id for ref in todo}
        self._total = len(todo)
        self._enabled = enabled

    def _finished_now(self) -> set[str]:
        names = {u.rsplit("/", 1)[-1].removesuffix(".json") for sub in ("videos", "dead_letter") for u in store.list_prefix(store.join(self._layout.root, sub), "*.json")}
        return self._pending & names

    def follow(self, worker: threading.Thread) -> None:
        if not self._enabled:
            worker.join()
            return
        columns = (TextColumn("extract"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
        with Progress(*columns, console=Console(stderr=True)) as bar:
            task = bar.add_task("videos", total=self._total)
            while worker.is_alive():
                worker.join(POLL_S)
                bar.update(task, completed=len(self._finished_now()))
            bar.update(task, completed=len(self._finished_now()))


def print_summary(summary: ExtractSummary, console: Console | None = None) -> None:
    console = console or Console(stderr=True)
    table = Table(title="emsync extract: summary", show_header=False)
    table.add_row("videos ok", str(len(summary.ok)))
    table.add_row("videos skipped (unchanged)", str(len(summary.skipped)))
    table.add_row("videos failed", str(len(summary.failed)))
    table.add_row("videos stopped by a storage/network fault (rerun)", str(len(summary.faulted)))
    damaged = [r for r in summary.ok if r.get("damage")]
    table.add_row("videos damaged (processed up to the damage)", str(len(damaged)))
    table.add_row("seconds of video processed", f"{summary.video_seconds:.1f}")
    table.add_row("wall time", f"{summary.wall_s:.1f} s")
    if summary.wall_s > 0 and summary.ok:
        table.add_row("throughput", f"{summary.video_seconds / summary.wall_s:.2f} s of video per s, {summary.frames / summary.wall_s:.0f} frames/s")
    console.print(table)
    if summary.failed:
        failures = Table(title="failures (dead letters)")
        for column in ("uri", "stage", "error"):
            failures.add_column(column)
        for record in summary.failed:
            failures.add_row(record["uri"], record["stage"], f"{record['error_class']}: {record['message'].splitlines()[0][:120]}")
        console.print(failures)
