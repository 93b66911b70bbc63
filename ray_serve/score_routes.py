"""Scoring and retrieval over HTTP: POST a video URI (or upload the bytes), poll, GET results as JSON.

A POSTed video is scored by the same job as `emsync score` (extract -> Ray stages -> DB) in a
background thread of the replica; the database is the source of truth for results, so any replica
(or the CLI) sees the same soundtracks.
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel

from emsync_core.db import queries
from emsync_core.db.models import Soundtrack
from emsync_core.store import uri as store
from emsync_core.store.catalog import VIDEO_EXTENSIONS

router = APIRouter(prefix="/api")
MAX_UPLOAD_BYTES = 2 << 30
_FILE_KINDS = {"video": "video_uri", "audio": "audio_uri", "midi": "midi_uri", "plot": "plot_uri"}


class ScoreIn(BaseModel):
    uri: str
    seed: int = 0
    mux: str = "duck"


@dataclass
class _Job:
    job_id: str
    uri: str
    status: str = "queued"  # queued | running | done | failed
    video_ids: list[str] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    error: str | None = None


_jobs: dict[str, _Job] = {}
_lock = threading.Lock()  # one scoring job at a time per replica: the Ray stages use the whole cluster


def _out_root(request: Request) -> str:
    """EMSYNC_SERVE_OUT, else the folder of a SQLite database (its default place is <out>/emsync.db)."""
    url = request.app.state.sessions.kw["bind"].url
    if os.environ.get("EMSYNC_SERVE_OUT"):
        return os.environ["EMSYNC_SERVE_OUT"]
    if url.get_backend_name() == "sqlite" and url.database:
        return os.path.dirname(os.path.abspath(url.database))
    raise HTTPException(503, "set EMSYNC_SERVE_OUT on the cluster: where served soundtracks are written")


def served_options(uri: str, out: str, db_url: str, seed: int, mux: str):
    """The scoring options of the server, from its environment (set on the Ray nodes / pods):
    EMSYNC_BACKBONES, EMSYNC_{CLASSIFIER,GENERATOR}_{LOADER,CHECKPOINT}; unset means the defaults.
    Actors take a quarter CPU: the replica itself holds some, and Ray Data must still fit its read tasks."""
    from emsync_core.render.pipeline import RenderSettings
    from emsync_core.scoring.models import DEFAULT_CLASSIFIER, DEFAULT_GENERATOR, ModelSpec
    from ray_serve.score_pipeline import ScoreOptions

    env = os.environ.get
    models = ModelSpec(classifier=env("EMSYNC_CLASSIFIER_LOADER", DEFAULT_CLASSIFIER),
                       classifier_checkpoint=env("EMSYNC_CLASSIFIER_CHECKPOINT"),
                       generator=env("EMSYNC_GENERATOR_LOADER", DEFAULT_GENERATOR),
                       generator_checkpoint=env("EMSYNC_GENERATOR_CHECKPOINT"))
    extra = {"backbones": tuple(env("EMSYNC_BACKBONES").split(","))} if env("EMSYNC_BACKBONES") else {}
    return ScoreOptions(catalog=uri, out=out, db=db_url, seed=seed, render=RenderSettings(mux_mode=mux), models=models,
                        show_progress=False, extract_workers=1, actor_cpus=0.25, **extra)


def _db_url(request: Request) -> str:
    return request.app.state.sessions.kw["bind"].url.render_as_string(hide_password=False)


def _run(job: _Job, out: str, db_url: str, seed: int, mux: str) -> None:
    from ray_serve.score_pipeline import run_score

    with _lock:
        job.status = "running"
        try:
            summary = run_score(served_options(job.uri, out, db_url, seed, mux))
            job.video_ids = [r.video_id for r in summary.scored] + list(summary.already_done)
            job.failures = [{"uri": f.uri, "stage": f.stage, "error_class": f.error_class, "message": f.message}
                            for f in summary.failed]
            job.status = "done" if job.video_ids else "failed"
        except Exception as exc:  # reported to the client, never a dead replica
            job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"


def _start(uri: str, request: Request, seed: int, mux: str) -> dict:
    if mux not in ("duck", "replace"):
        raise HTTPException(422, "mux must be 'duck' or 'replace'")
    out = _out_root(request)
    job = _Job(uuid.uuid4().hex, uri)
    _jobs[job.job_id] = job
    threading.Thread(target=_run, args=(job, out, _db_url(request), seed, mux), daemon=True).start()
    return {"job_id": job.job_id, "status": job.status, "status_url": f"/api/score/{job.job_id}"}


@router.post("/score", status_code=202)
def post_score(body: ScoreIn, request: Request) -> dict:
    """Score a video (or a catalog) by URI: a local path visible to the cluster, or gs://."""
    if not store.is_remote(body.uri) and not os.path.exists(body.uri):
        raise HTTPException(400, f"{body.uri} does not exist")
    return _start(body.uri, request, body.seed, body.mux)


@router.put("/score/upload/{filename}", status_code=202)
async def upload_score(filename: str, request: Request, seed: int = 0, mux: str = "duck") -> dict:
    """Upload the video's bytes as the request body; it is stored under <out>/uploads and scored."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    if not safe.lower().endswith(VIDEO_EXTENSIONS):
        raise HTTPException(415, f"{filename} does not look like a video ({', '.join(VIDEO_EXTENSIONS)})")
    target = Path(_out_root(request), "uploads", f"{uuid.uuid4().hex[:8]}-{safe}")
    target.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with open(target, "wb") as fh:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                fh.close()
                target.unlink()
                raise HTTPException(413, "upload too large")
            fh.write(chunk)
    return _start(str(target), request, seed, mux)


@router.get("/score/{job_id}")
def get_job(job_id: str, request: Request) -> dict:
    """The job's status; when done, its soundtracks (with file URLs) from the database."""
    job = _jobs.get(job_id)
    if job is None:
        raise HTTPException(404, "no such job")
    tracks = []
    with request.app.state.sessions() as s:
        for vid in job.video_ids:
            rows = queries.soundtracks(s, video_id=vid, limit=1)
            tracks += [{**r, "files": {k: f"/api/soundtracks/{r['id']}/{k}" for k in _FILE_KINDS}} for r in rows]
    return {"job_id": job.job_id, "uri": job.uri, "status": job.status, "error": job.error, "failures": job.failures,
            "soundtracks": tracks}


@router.get("/soundtracks")
def get_soundtracks(request: Request, video_id: str | None = None, run_id: str | None = None,
                    model_version: str | None = None, limit: int = Query(100, le=1000)) -> list[dict]:
    with request.app.state.sessions() as s:
        return queries.soundtracks(s, video_id=video_id, run_id=run_id, model_version=model_version, limit=limit)


@router.get("/soundtracks/{soundtrack_id}/{kind}")
def get_soundtrack_file(soundtrack_id: int, kind: str, request: Request) -> FileResponse:
    """The soundtrack's MP4 (video), FLAC (audio), MIDI or PNG plot."""
    if kind not in _FILE_KINDS:
        raise HTTPException(404, f"kind must be one of {sorted(_FILE_KINDS)}")
    with request.app.state.sessions() as s:
        row = s.get(Soundtrack, soundtrack_id)
    if row is None:
        raise HTTPException(404, "no such soundtrack")
    path = getattr(row, _FILE_KINDS[kind])
    if store.is_remote(path) or not os.path.exists(path):
        raise HTTPException(404, f"{path} is not a local file")
    return FileResponse(path, filename=os.path.basename(path))


@router.get("/scenes")
def get_scenes(request: Request, video_id: str | None = None, emotion: str | None = None, min_prob: float = 0.0,
               valence_min: float = -1.0, valence_max: float = 1.0, arousal_min: float = -1.0, arousal_max: float = 1.0,
               model_version: str | None = None, limit: int = Query(100, le=1000)) -> list[dict]:
    with request.app.state.sessions() as s:
        try:
            return queries.scenes(s, video_id=video_id, emotion=emotion, min_prob=min_prob,
                                  valence=(valence_min, valence_max), arousal=(arousal_min, arousal_max),
                                  model_version=model_version, limit=limit)
        except ValueError as exc:
            raise HTTPException(422, str(exc))


@router.get("/runs")
def get_runs(request: Request, run_id: str | None = None) -> list[dict]:
    with request.app.state.sessions() as s:
        return queries.runs(s, run_id=run_id)


@router.get("/failures")
def get_failures(request: Request, run_id: str | None = None) -> list[dict]:
    with request.app.state.sessions() as s:
        return queries.failures(s, run_id=run_id)


@router.get("/videos")
def get_videos(request: Request, video_id: str | None = None) -> list[dict]:
    with request.app.state.sessions() as s:
        return queries.videos(s, video_id=video_id)
