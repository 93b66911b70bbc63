"""The recording API the stages call: upserts keyed on the unique constraints, so reruns duplicate nothing.

Only the job driver writes (one writer per run); concurrent runs are still safe because every write
is an INSERT ... ON CONFLICT on a natural key (SQLite and PostgreSQL both support it).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from emsync_core.db.models import EKMAN, Catalog, Emotion, Failure, Run, Scene, Soundtrack, Video, utcnow
from emsync_core.emotion.scene import SceneEmotion


@dataclass(frozen=True)
class VideoFacts:
    """What the extraction marker (OUT/videos/{id}.json) says about a video."""

    video_id: str
    uri: str
    content_key: str
    size: int | None = None
    duration_s: float | None = None
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    rotation: int | None = None
    has_audio: bool | None = None
    n_windows: int | None = None
    cuts_raw_s: tuple[float, ...] = ()
    cuts_s: tuple[float, ...] = ()
    backbones: tuple[dict[str, Any], ...] = ()
    features_uri: str | None = None
    seconds: float | None = None
    damage: str | None = None

    @classmethod
    def from_marker(cls, marker: dict[str, Any]) -> "VideoFacts":
        names = set(cls.__dataclass_fields__)
        values = {k: v for k, v in marker.items() if k in names}
        for key in ("cuts_raw_s", "cuts_s", "backbones"):
            values[key] = tuple(values.get(key) or ())
        return cls(**values)


@dataclass(frozen=True)
class SoundtrackRecord:
    """Everything that made one soundtrack, with where its files are and how well it meets the cuts."""

    video_id: str
    variant_key: str
    seed: int
    generator_version: str
    generator_sha256: str
    classifier_version: str
    classifier_sha256: str
    code_version: str
    conditions: list[dict[str, Any]]
    cuts_s: list[float]
    chord_onsets_s: list[float]
    sampling: dict[str, Any]
    render: dict[str, Any]
    midi_uri: str
    audio_uri: str
    video_uri: str
    plot_uri: str
    midi_sha256: str
    audio_sha256: str
    video_sha256: str
    duration_s: float
    n_tokens: int
    n_cuts: int
    n_cuts_matched: int
    mean_cut_offset_s: float | None
    loudness_lufs: float | None = None
    scene_seeds: dict[str, int] = field(default_factory=dict)
    parent_id: int | None = None
    regenerated_scene: int | None = None
    timings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FailureRecord:
    """A dead letter: the input, the stage it failed at, and why."""

    uri: str
    stage: str
    error_class: str
    message: str
    video_id: str | None = None
    at: datetime | None = None

    @property
    def video_key(self) -> str:
        return self.video_id or hashlib.sha256(self.uri.encode()).hexdigest()[:20]


OUTPUT_URI_FIELDS = ("midi_uri", "audio_uri", "video_uri", "plot_uri")


def _absolute(uri: str) -> str:
    """A local output path as an absolute path (URIs with a scheme, like gs://, and empty values unchanged)."""
    return uri if not uri or "://" in uri or os.path.isabs(uri) else os.path.abspath(uri)


def _insert(session: Session, model):
    return (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(model)


class Recorder:
    """Writes runs, videos, scenes, emotions, soundtracks and failures; every method is idempotent."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def ensure_catalog(self, uri: str) -> int:
        with self.sessions.begin() as s:
            s.execute(_insert(s, Catalog).values(uri=uri, created_at=utcnow()).on_conflict_do_nothing(index_elements=["uri"]))
            return s.scalar(select(Catalog.id).where(Catalog.uri == uri))

    def open_run(
        self, kind: str, run_key: str, *, catalog_uri: str | None, out_uri: str | None,
        config: dict[str, Any], code_version: str, model_versions: dict[str, Any],
    ) -> tuple[str, bool]:
        """The unfinished run with this key (a restart resumes it), else a new one. Returns (run_id, resumed)."""
        with self.sessions.begin() as s:
            open_id = s.scalar(
                select(Run.run_id).where(Run.run_key == run_key, Run.status != "complete").order_by(Run.started_at.desc()).limit(1)
            )
            if open_id is not None:
                s.execute(update(Run).where(Run.run_id == open_id).values(status="running", model_versions=model_versions))
                return open_id, True
            run_id = uuid.uuid4().hex
            s.add(Run(run_id=run_id, run_key=run_key, kind=kind, catalog_uri=catalog_uri, out_uri=out_uri, config=config,
                      code_version=code_version, model_versions=model_versions, status="running"))
            return run_id, False

    def close_run(self, run_id: str, *, complete: bool, n_videos: int, n_soundtracks: int, n_failures: int,
                  video_seconds: float, timings: dict[str, Any]) -> None:
        with self.sessions.begin() as s:
            s.execute(update(Run).where(Run.run_id == run_id).values(
                status="complete" if complete else "incomplete", n_videos=n_videos, n_soundtracks=n_soundtracks,
                n_failures=n_failures, video_seconds=video_seconds, timings=timings, finished_at=utcnow()))

    def record_video(self, facts: VideoFacts, *, status: str, catalog_id: int | None = None) -> None:
        values = dict(
            video_id=facts.video_id, catalog_id=catalog_id, uri=facts.uri, content_key=facts.content_key, size=facts.size,
            status=status, duration_s=facts.duration_s, fps=facts.fps, width=facts.width, height=facts.height,
            rotation=facts.rotation, has_audio=facts.has_audio, n_windows=facts.n_windows,
            cuts_raw_s=list(facts.cuts_raw_s), cuts_s=list(facts.cuts_s), backbones=list(facts.backbones),
            features_uri=facts.features_uri, extract_seconds=facts.seconds, damage=facts.damage, first_seen=utcnow(), updated_at=utcnow(),
        )
        keep = {"video_id", "first_seen"}
        with self.sessions.begin() as s:
            ins = _insert(s, Video).values(**values)
            s.execute(ins.on_conflict_do_update(
                index_elements=["video_id"], set_={k: ins.excluded[k] for k in values if k not in keep}))

    def set_video_status(self, video_id: str, status: str) -> None:
        with self.sessions.begin() as s:
            s.execute(update(Video).where(Video.video_id == video_id).values(status=status, updated_at=utcnow()))

    def record_emotions(self, video_id: str, verdicts: Iterable[SceneEmotion], *, classifier_version: str,
                        classifier_sha256: str, run_id: str | None) -> int:
        """Scenes and their emotions; returns how many scenes were written."""
        n = 0
        with self.sessions.begin() as s:
            for v in verdicts:
                ins = _insert(s, Scene).values(video_id=video_id, scene_index=v.scene_index, start_s=v.start_s, end_s=v.end_s)
                s.execute(ins.on_conflict_do_update(index_elements=["video_id", "scene_index"],
                                                    set_={"start_s": ins.excluded.start_s, "end_s": ins.excluded.end_s}))
                scene_id = s.scalar(select(Scene.id).where(Scene.video_id == video_id, Scene.scene_index == v.scene_index))
                values = {k: float(v.probs.get(k, 0.0)) for k in EKMAN}
                values.update(scene_id=scene_id, run_id=run_id, classifier_version=classifier_version,
                              classifier_sha256=classifier_sha256, dominant=v.dominant, valence=float(v.valence),
                              arousal=float(v.arousal), confidence=float(v.confidence), created_at=utcnow())
                s.execute(_insert(s, Emotion).values(**values).on_conflict_do_nothing(
                    index_elements=["scene_id", "classifier_sha256"]))
                n += 1
        return n

    def soundtrack_id(self, video_id: str, variant_key: str) -> int | None:
        with self.sessions() as s:
            return s.scalar(select(Soundtrack.id).where(Soundtrack.video_id == video_id, Soundtrack.variant_key == variant_key))

    def record_soundtrack(self, rec: SoundtrackRecord, *, run_id: str | None) -> int:
        """The soundtrack row, written after its files are in place (the row is the commit)."""
        values = {k: getattr(rec, k) for k in rec.__dataclass_fields__}
        values.update({k: _absolute(values[k]) for k in OUTPUT_URI_FIELDS})  # later commands run from anywhere
        values.update(run_id=run_id, created_at=utcnow())
        with self.sessions.begin() as s:
            s.execute(_insert(s, Soundtrack).values(**values).on_conflict_do_nothing(index_elements=["video_id", "variant_key"]))
            s.execute(update(Video).where(Video.video_id == rec.video_id).values(status="scored", updated_at=utcnow()))
            s.execute(update(Failure).where(Failure.video_id == rec.video_id, Failure.resolved_at.is_(None))
                      .values(resolved_at=utcnow()))
            return s.scalar(select(Soundtrack.id).where(Soundtrack.video_id == rec.video_id,
                                                        Soundtrack.variant_key == rec.variant_key))

    def record_failure(self, rec: FailureRecord, *, run_id: str | None) -> None:
        at = rec.at or datetime.now(timezone.utc)
        values = dict(video_key=rec.video_key, video_id=rec.video_id, uri=rec.uri, run_id=run_id, stage=rec.stage,
                      error_class=rec.error_class, message=rec.message, attempts=1, at=at, resolved_at=None)
        with self.sessions.begin() as s:
            ins = _insert(s, Failure).values(**values)
            s.execute(ins.on_conflict_do_update(index_elements=["video_key", "stage"], set_={
                "run_id": ins.excluded.run_id, "error_class": ins.excluded.error_class, "message": ins.excluded.message,
                "at": ins.excluded.at, "resolved_at": None, "attempts": Failure.attempts + 1}))
