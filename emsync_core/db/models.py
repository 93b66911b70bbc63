"""Core tables: catalogs, videos, runs, scenes, emotions, soundtracks, failures.

Unique constraints carry idempotence: every writer upserts on them, so a rerun or two concurrent runs
over the same catalog end with one row per fact. The study tables live in study_models.py on the same
`Base` (migration 0002_study).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from emsync_core.db.base import Base
from emsync_core.emotion.ekman import EKMAN


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Catalog(Base):
    """A catalog URI a run was asked to score (folder, glob, prefix or manifest)."""

    __tablename__ = "catalogs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Video(Base):
    """One version of one video file: identity (URI + content key), probe facts, pipeline status."""

    __tablename__ = "videos"
    __table_args__ = (UniqueConstraint("uri", "content_key"),)
    video_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    catalog_id: Mapped[int | None] = mapped_column(ForeignKey("catalogs.id"), nullable=True)
    uri: Mapped[str] = mapped_column(String(2048))
    content_key: Mapped[str] = mapped_column(String(256))
    size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(32))  # extracted | scored | failed
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    fps: Mapped[float | None] = mapped_column(Float, nullable=True)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rotation: Mapped[int | None] = mapped_column(Integer, nullable=True)
    has_audio: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    n_windows: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cuts_raw_s: Mapped[list[float] | None] = mapped_column(JSON, nullable=True)
    cuts_s: Mapped[list[float] | None] = mapped_column(JSON, nullable=True)
    backbones: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    features_uri: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    extract_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    damage: Mapped[str | None] = mapped_column(Text, nullable=True)  # cut off / broken part-way: scored up to it
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Run(Base):
    """One invocation of a job; `run_key` (catalog + output + config) lets a restart resume the same run."""

    __tablename__ = "runs"
    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    run_key: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    catalog_uri: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    out_uri: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    code_version: Mapped[str] = mapped_column(String(64))
    model_versions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(32))  # running | complete | incomplete
    n_videos: Mapped[int] = mapped_column(Integer, default=0)
    n_soundtracks: Mapped[int] = mapped_column(Integer, default=0)
    n_failures: Mapped[int] = mapped_column(Integer, default=0)
    video_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    timings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Scene(Base):
    """A span between thinned cuts of a video (scene_index as in the feature Parquet)."""

    __tablename__ = "scenes"
    __table_args__ = (UniqueConstraint("video_id", "scene_index"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[str] = mapped_column(ForeignKey("videos.video_id"))
    scene_index: Mapped[int] = mapped_column(Integer)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)


class Emotion(Base):
    """A classifier's verdict on one scene: Ekman-6 probabilities, valence/arousal, confidence."""

    __tablename__ = "emotions"
    __table_args__ = (UniqueConstraint("scene_id", "classifier_sha256"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scene_id: Mapped[int] = mapped_column(ForeignKey("scenes.id"), index=True)
    run_id: Mapped[str | None] = mapped_column(ForeignKey("runs.run_id"), nullable=True)
    classifier_version: Mapped[str] = mapped_column(String(128))
    classifier_sha256: Mapped[str] = mapped_column(String(64))
    anger: Mapped[float] = mapped_column(Float)
    disgust: Mapped[float] = mapped_column(Float)
    fear: Mapped[float] = mapped_column(Float)
    joy: Mapped[float] = mapped_column(Float)
    sadness: Mapped[float] = mapped_column(Float)
    surprise: Mapped[float] = mapped_column(Float)
    dominant: Mapped[str] = mapped_column(String(16), index=True)
    valence: Mapped[float] = mapped_column(Float, index=True)
    arousal: Mapped[float] = mapped_column(Float, index=True)
    confidence: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Soundtrack(Base):
    """A generated soundtrack and everything that made it (enough to reproduce the same MIDI).

    `variant_key` hashes the models, seed, per-scene seed overrides and render settings: the same
    request lands on the same row; a regenerated scene is a new variant with `parent_id` set.
    """

    __tablename__ = "soundtracks"
    __table_args__ = (UniqueConstraint("video_id", "variant_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[str] = mapped_column(ForeignKey("videos.video_id"), index=True)
    variant_key: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[str | None] = mapped_column(ForeignKey("runs.run_id"), nullable=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("soundtracks.id"), nullable=True)
    regenerated_scene: Mapped[int | None] = mapped_column(Integer, nullable=True)
    seed: Mapped[int] = mapped_column(Integer)
    scene_seeds: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    generator_version: Mapped[str] = mapped_column(String(128), index=True)
    generator_sha256: Mapped[str] = mapped_column(String(64))
    classifier_version: Mapped[str] = mapped_column(String(128), index=True)
    classifier_sha256: Mapped[str] = mapped_column(String(64))
    code_version: Mapped[str] = mapped_column(String(64))
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # per scene: start_s, end_s, valence, arousal
    cuts_s: Mapped[list[float]] = mapped_column(JSON)
    chord_onsets_s: Mapped[list[float]] = mapped_column(JSON)
    sampling: Mapped[dict[str, Any]] = mapped_column(JSON)
    render: Mapped[dict[str, Any]] = mapped_column(JSON)  # soundfont, loudness target, mux mode...
    midi_uri: Mapped[str] = mapped_column(String(2048))
    audio_uri: Mapped[str] = mapped_column(String(2048))
    video_uri: Mapped[str] = mapped_column(String(2048))
    plot_uri: Mapped[str] = mapped_column(String(2048))
    midi_sha256: Mapped[str] = mapped_column(String(64))
    audio_sha256: Mapped[str] = mapped_column(String(64))
    video_sha256: Mapped[str] = mapped_column(String(64))
    duration_s: Mapped[float] = mapped_column(Float)
    loudness_lufs: Mapped[float | None] = mapped_column(Float, nullable=True)
    n_tokens: Mapped[int] = mapped_column(Integer)
    n_cuts: Mapped[int] = mapped_column(Integer)
    n_cuts_matched: Mapped[int] = mapped_column(Integer)  # cuts with a chord onset within +/- 1 s
    mean_cut_offset_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    timings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Failure(Base):
    """A dead letter: one input that failed at one stage, with the reason; upserted per (video, stage)."""

    __tablename__ = "failures"
    __table_args__ = (UniqueConstraint("video_key", "stage"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_key: Mapped[str] = mapped_column(String(64))  # video_id, or a hash of the URI when it had none
    video_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    uri: Mapped[str] = mapped_column(String(2048))
    run_id: Mapped[str | None] = mapped_column(ForeignKey("runs.run_id"), nullable=True)
    stage: Mapped[str] = mapped_column(String(64))
    error_class: Mapped[str] = mapped_column(String(256))
    message: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
