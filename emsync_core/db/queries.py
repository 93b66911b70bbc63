"""Retrieval: soundtracks by video, run or model version; scenes by emotion or valence/arousal range.

Every query returns plain dicts (JSON-ready) so the CLI table and the HTTP API show the same thing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from emsync_core.db.models import EKMAN, Emotion, Failure, Run, Scene, Soundtrack, Video

SOUNDTRACK_FIELDS = ("id", "video_id", "variant_key", "run_id", "seed", "regenerated_scene", "generator_version",
                     "classifier_version", "duration_s", "n_cuts", "n_cuts_matched", "mean_cut_offset_s",
                     "loudness_lufs", "midi_uri", "audio_uri", "video_uri", "plot_uri", "created_at")


def _row(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    out = {f: getattr(obj, f) for f in fields}
    for key, value in out.items():
        if hasattr(value, "isoformat"):
            out[key] = value.isoformat()
    return out


def soundtracks(session: Session, *, video_id: str | None = None, run_id: str | None = None,
                model_version: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Soundtracks, newest first; model_version matches the generator or the classifier version."""
    q = select(Soundtrack, Video.uri).join(Video, Video.video_id == Soundtrack.video_id)
    if video_id:
        q = q.where(Soundtrack.video_id.startswith(video_id, autoescape=True))
    if run_id:
        q = q.where(Soundtrack.run_id.startswith(run_id, autoescape=True))
    if model_version:
        q = q.where((Soundtrack.generator_version == model_version) | (Soundtrack.classifier_version == model_version))
    rows = session.execute(q.order_by(Soundtrack.created_at.desc(), Soundtrack.id.desc()).limit(limit)).all()
    return [{**_row(st, SOUNDTRACK_FIELDS), "uri": uri} for st, uri in rows]


def scenes(session: Session, *, video_id: str | None = None, emotion: str | None = None, min_prob: float = 0.0,
           valence: tuple[float, float] | None = None, arousal: tuple[float, float] | None = None,
           model_version: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Scenes with their emotion; filter by dominant emotion (and its probability) or a V/A box."""
    if emotion is not None and emotion not in EKMAN:
        raise ValueError(f"emotion must be one of {EKMAN}, not {emotion!r}")
    q = (select(Scene, Emotion, Video.uri).join(Emotion, Emotion.scene_id == Scene.id)
         .join(Video, Video.video_id == Scene.video_id))
    conds = []
    if video_id:
        conds.append(Scene.video_id.startswith(video_id, autoescape=True))
    if emotion:
        conds += [Emotion.dominant == emotion, getattr(Emotion, emotion) >= min_prob]
    if valence:
        conds += [Emotion.valence >= valence[0], Emotion.valence <= valence[1]]
    if arousal:
        conds += [Emotion.arousal >= arousal[0], Emotion.arousal <= arousal[1]]
    if model_version:
        conds.append(Emotion.classifier_version == model_version)
    if conds:
        q = q.where(and_(*conds))
    rows = session.execute(q.order_by(Scene.video_id, Scene.scene_index).limit(limit)).all()
    return [{"video_id": sc.video_id, "uri": uri, "scene_index": sc.scene_index, "start_s": sc.start_s, "end_s": sc.end_s,
             "dominant": em.dominant, "probability": getattr(em, em.dominant), "valence": em.valence,
             "arousal": em.arousal, "confidence": em.confidence, "classifier_version": em.classifier_version,
             **{k: getattr(em, k) for k in EKMAN}} for sc, em, uri in rows]


def runs(session: Session, *, run_id: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    q = select(Run)
    if run_id:
        q = q.where(Run.run_id.startswith(run_id, autoescape=True))
    fields = ("run_id", "kind", "status", "catalog_uri", "out_uri", "config", "code_version", "model_versions", "n_videos",
              "n_soundtracks", "n_failures", "video_seconds", "timings", "started_at", "finished_at")
    return [_row(r, fields) for r in session.scalars(q.order_by(Run.started_at.desc()).limit(limit))]


def failures(session: Session, *, run_id: str | None = None, unresolved_only: bool = True,
             limit: int = 100) -> list[dict[str, Any]]:
    q = select(Failure)
    if run_id:
        q = q.where(Failure.run_id.startswith(run_id, autoescape=True))
    if unresolved_only:
        q = q.where(Failure.resolved_at.is_(None))
    fields = ("video_id", "uri", "run_id", "stage", "error_class", "message", "attempts", "at")
    return [_row(f, fields) for f in session.scalars(q.order_by(Failure.at).limit(limit))]


def videos(session: Session, *, video_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    q = select(Video)
    if video_id:
        q = q.where(Video.video_id.startswith(video_id, autoescape=True))
    fields = ("video_id", "uri", "status", "duration_s", "fps", "width", "height", "has_audio", "cuts_s", "damage", "updated_at")
    return [_row(v, fields) for v in session.scalars(q.order_by(Video.uri).limit(limit))]


def flatten_settings(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested settings as one level of dotted keys (sampling.temperature), to compare runs key by key."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(flatten_settings(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def differing_settings(configs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each config reduced to the dotted keys whose values differ among them (all keys when only one)."""
    flat = [flatten_settings(c) for c in configs]
    if len(flat) < 2:
        return flat
    keys = {k for f in flat for k in f if len({repr(g.get(k)) for g in flat}) > 1}
    return [{k: v for k, v in sorted(f.items()) if k in keys} for f in flat]
