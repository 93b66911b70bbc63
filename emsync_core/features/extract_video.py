"""The extraction stage for one video: scan (cuts + windows), run every backbone, write the feature
Parquet, then the completion marker last. A failure caused by the input becomes a dead-letter record;
a storage, network or permission fault is retried and, if it persists, recorded as a fault (never
against the input), so the next run does the work."""

from __future__ import annotations

import hashlib
import json
import resource
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

import numpy as np

from emsync_core.features.base import Backbone, BackboneSession, Vector, VideoInfo, Window
from emsync_core.features.registry import DEFAULT_BACKBONES, resolve
from emsync_core.features.worker_memory import pin_mmap_threshold
from emsync_core.media.errors import MediaError
from emsync_core.media.scan import ScanSettings, VideoScan
from emsync_core.store import uri as store
from emsync_core.store.catalog import VideoRef
from emsync_core.store.faults import is_environment_fault, retrying
from emsync_core.store.feature_parquet import FeatureParquetWriter, column_name


@dataclass(frozen=True)
class ExtractSettings:
    backbones: tuple[str, ...] = DEFAULT_BACKBONES
    scan: ScanSettings = field(default_factory=ScanSettings)
    retry_failed: bool = False
    fault_attempts: int = 3  # tries of a video under storage / network / permission faults
    fault_backoff_s: float = 1.0

    def backbone_specs(self) -> list[dict[str, object]]:
        return [resolve(name).spec() for name in self.backbones]

    def fingerprint(self) -> str:
        """Changes when the outputs would: other backbones, versions or scan settings."""
        blob = json.dumps({"backbones": self.backbone_specs(), "scan": asdict(self.scan)}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class OutputLayout:
    """Where one extraction run's outputs live under `root` (a folder or object store prefix)."""

    root: str

    def features(self, video_id: str) -> str:
        return store.join(self.root, "features", f"{video_id}.parquet")

    def marker(self, video_id: str) -> str:
        return store.join(self.root, "videos", f"{video_id}.json")

    def dead_letter(self, video_id: str) -> str:
        return store.join(self.root, "dead_letter", f"{video_id}.json")

    def fault(self, video_id: str) -> str:
        """Why the environment stopped this video (best effort: the storage may be what failed)."""
        return store.join(self.root, "faults", f"{video_id}.json")

    def annotations(self, video_id: str, backbone: str) -> str:
        return store.join(self.root, "annotations", video_id, f"{backbone}.json")


@dataclass(frozen=True)
class VideoOutcome:
    video_id: str
    uri: str
    status: Literal["ok", "failed", "fault"]
    record: dict[str, Any]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def is_done(layout: OutputLayout, ref: VideoRef, settings: ExtractSettings) -> bool:
    """A completion marker (or, unless retrying, a dead letter) with this run's fingerprint exists."""
    fingerprint = settings.fingerprint()
    paths = [layout.marker(ref.video_id)] + ([] if settings.retry_failed else [layout.dead_letter(ref.video_id)])
    for path in paths:
        if store.exists(path):
            try:
                if json.loads(store.read_bytes(path)).get("fingerprint") == fingerprint:
                    return True
            except (ValueError, OSError):
                continue
    return False


class _WindowJoin:
    """Collects each backbone's vector per window and releases complete rows in window order."""

    def __init__(self, names: list[str]) -> None:
        self._names = names
        self._partial: dict[int, dict[str, Vector]] = {}
        self._meta: dict[int, tuple[float, float, int]] = {}
        self._next = 0

    def add_window(self, index: int, start_s: float, end_s: float, scene: int) -> None:
        self._meta[index] = (start_s, end_s, scene)
        self._partial.setdefault(index, {})

    def add(self, name: str, results: list[tuple[int, Vector]]) -> None:
        for index, vector in results:
            self._partial.setdefault(index, {})[name] = vector

    def ready(self) -> list[tuple[int, tuple[float, float, int], dict[str, Vector]]]:
        rows = []
        while self._next in self._partial and len(self._partial[self._next]) == len(self._names) and self._next in self._meta:
            rows.append((self._next, self._meta.pop(self._next), self._partial.pop(self._next)))
            self._next += 1
        return rows


class VideoFeatureExtractor:
    """Loads the backbones once (per worker) and extracts any number of videos.

    `threads`: the worker's share of the machine's cores, given to backbones that run on torch. The
    default backbones do not (ONNX Runtime sessions and the decoder run one thread each: a worker runs
    per core), and torch is then never imported: ~200 MB resident per worker.
    """

    def __init__(self, settings: ExtractSettings, threads: int = 1) -> None:
        self.settings = settings
        self.threads = threads
        self._backbones: list[Backbone] = []

    def setup(self) -> None:
        if not self._backbones:
            pin_mmap_threshold()
            self._backbones = [resolve(name)() for name in self.settings.backbones]
            for backbone in self._backbones:
                backbone.load()
            torch = sys.modules.get("torch")  # imported by a backbone that needs it, never for this
            if torch is not None:
                torch.set_num_threads(self.threads)

    def run(self, ref: VideoRef, layout: OutputLayout) -> VideoOutcome:
        self.setup()
        started = time.perf_counter()
        where = {"stage": "probe"}
        try:
            for attempt in retrying(self.settings.fault_attempts, self.settings.fault_backoff_s):
                with attempt:
                    record = self._attempt(ref, layout, where, started)
        except Exception as exc:  # one bad input (or one storage fault) must never take the run down
            if is_environment_fault(exc):
                return self._fault(ref, layout, exc)
            return self._dead_letter(ref, layout, exc, where["stage"])
        store.delete(layout.fault(ref.video_id))
        return VideoOutcome(ref.video_id, ref.uri, "ok", record)

    def _attempt(self, ref: VideoRef, layout: OutputLayout, where: dict[str, str], started: float) -> dict[str, Any]:
        where["stage"] = "probe"
        scan = VideoScan(lambda: store.open_read(ref.uri), self.settings.scan)
        where["stage"] = "decode"
        try:
            record = self._extract(ref, layout, scan)
        finally:
            scan.close()
        where["stage"] = "write"
        record["seconds"] = round(time.perf_counter() - started, 3)
        record["peak_rss_mb"] = round(_peak_rss_mb(), 1)
        store.write_bytes_atomic(layout.marker(ref.video_id), json.dumps(record, indent=1).encode())
        store.delete(layout.dead_letter(ref.video_id))  # an earlier failure of this version is resolved
        return record

    def _dead_letter(self, ref: VideoRef, layout: OutputLayout, exc: Exception, stage: str) -> VideoOutcome:
        failure = {
            "video_id": ref.video_id,
            "uri": ref.uri,
            "content_key": ref.content_key,
            "stage": exc.stage if isinstance(exc, MediaError) else stage,
            "error_class": type(exc).__name__,
            "message": str(exc) if isinstance(exc, MediaError) else f"{exc}\n{traceback.format_exc(limit=3)}",
            "at": _now(),
            "fingerprint": self.settings.fingerprint(),
        }
        try:
            store.write_bytes_atomic(layout.dead_letter(ref.video_id), json.dumps(failure, indent=1).encode())
        except Exception as write_error:  # this video fails (as a fault: nothing recorded it); the run goes on
            return self._fault(ref, layout, write_error)
        return VideoOutcome(ref.video_id, ref.uri, "failed", failure)

    def _fault(self, ref: VideoRef, layout: OutputLayout, exc: Exception) -> VideoOutcome:
        fault = {"video_id": ref.video_id, "uri": ref.uri, "error_class": type(exc).__name__, "message": str(exc)[:2000],
                 "at": _now()}
        try:
            store.write_bytes_atomic(layout.fault(ref.video_id), json.dumps(fault, indent=1).encode())
        except Exception:  # the storage itself is what failed: the driver reports the video without a reason
            pass
        return VideoOutcome(ref.video_id, ref.uri, "fault", fault)

    def _extract(self, ref: VideoRef, layout: OutputLayout, scan: VideoScan) -> dict[str, Any]:
        probe = scan.report.probe
        info = VideoInfo(
            video_id=ref.video_id,
            uri=ref.uri,
            duration_s=probe.duration_s or 0.0,
            fps=probe.fps,
            has_audio=probe.has_audio,
            audio_sample_rate=self.settings.scan.audio_sample_rate,
        )
        names = [b.name for b in self._backbones]
        sessions: list[BackboneSession] = [b.start(info) for b in self._backbones]
        join = _WindowJoin(names)
        writer = FeatureParquetWriter(layout.features(ref.video_id), {b.name: b.dim for b in self._backbones})
        dims = {b.name: b.dim for b in self._backbones}
        clock = scan.clock

        def emit() -> None:
            started = time.process_time()
            for index, (start, end, scene), vectors in join.ready():
                row: dict[str, Any] = {"video_id": ref.video_id, "window_index": index, "start_s": start, "end_s": end, "scene_index": scene}
                for name in names:
                    vector = vectors[name]
                    if vector is not None and np.asarray(vector).size != dims[name]:
                        raise ValueError(f"backbone {name} returned {np.asarray(vector).size} values, declared {dims[name]}")
                    row[column_name(name)] = vector
                writer.append(row)
            clock.add("parquet", started)

        def feed(name: str, session: BackboneSession, window: Window | None) -> None:
            started = time.process_time()
            join.add(name, session.push(window) if window is not None else session.finish())
            clock.add(f"backbone {name}", started)

        try:
            for window in scan.windows():
                midpoint = 0.5 * (window.start_s + window.end_s)
                thinned = scan.thinned_cuts_so_far()
                join.add_window(window.index, window.start_s, window.end_s, sum(1 for c in thinned if c <= midpoint))
                for name, session in zip(names, sessions):
                    feed(name, session, window)
                emit()
            for name, session in zip(names, sessions):
                feed(name, session, None)
            emit()
            report = scan.report
            metadata = {
                "video_id": ref.video_id,
                "uri": ref.uri,
                "duration_s": report.duration_s,
                "fps": probe.fps,
                "window_s": self.settings.scan.window_s,
                "cuts_raw_s": report.cuts_raw_s,
                "cuts_s": report.cuts_s,
                "backbones": [type(b).spec() for b in self._backbones],
            }
            started = time.process_time()
            writer.commit(metadata)
            clock.add("parquet", started)
        except BaseException:
            writer.abort()
            raise
        annotation_uris = {}
        for name, session in zip(names, sessions):
            data = session.annotations()
            if data is not None:
                annotation_uris[name] = layout.annotations(ref.video_id, name)
                store.write_bytes_atomic(annotation_uris[name], json.dumps(data, indent=1).encode())
        return {
            **metadata,
            "content_key": ref.content_key,
            "size": ref.size,
            "status": "ok",
            "fingerprint": self.settings.fingerprint(),
            "width": probe.width,
            "height": probe.height,
            "rotation": scan.rotation,
            "container": probe.container,
            "video_codec": probe.video_codec,
            "has_audio": probe.has_audio,
            "audio_codec": probe.audio_codec,
            "n_frames": report.n_frames,
            "n_windows": writer.n_rows,
            "stage_s": clock.rounded(),
            "warnings": report.warnings,
            "damage": report.damage,
            "features_uri": layout.features(ref.video_id),
            "annotation_uris": annotation_uris,
            "finished_at": _now(),
        }
