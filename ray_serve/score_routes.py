"""The archive API: POST a video URI (or upload the bytes), poll, GET results as JSON.

A POSTed video is scored by the same job as `emsync score` (extract -> Ray stages -> DB) in a
background thread of the replica; the database is the source of truth for results, so any replica
(or the CLI) sees the same soundtracks. Who may call: GET routes need a key with the `read` scope,
POST/PUT routes one with `score`; POST reaches only video files under the operator's catalog roots.
Errors carry a generic message (and an error id when the server failed); details go to the log and DB.
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from emsync_core.api.policy import record_error, video_in_roots
from emsync_core.db import queries
from emsync_core.db.models import Soundtrack
from emsync_core.render.pipeline import MUX_MODES
from emsync_core.store import uri as store
from emsync_core.store.catalog import VIDEO_EXTENSIONS
from ray_serve.http_guards import READ, SCORE

router = APIRouter(prefix="/api")
UPLOAD_PREFIX = "/api/score/upload/"
MAX_SEED = 2**31 - 1
MAX_ID = 2**31 - 1


def _id_text():
    return Query(None, max_length=64, pattern=r"^[0-9a-f]+$")


def _limit():
    return Query(100, ge=1, le=1000)


Kind = Literal["video", "audio", "midi", "plot"]
Mux = Literal[MUX_MODES]  # the tuple subscript spreads into the literal values
_FILE_KINDS = {"video": "video_uri", "audio": "audio_uri", "midi": "midi_uri", "plot": "plot_uri"}
NOT_FOUND = "not found under the catalog roots this server scores"


class ScoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    uri: str = Field(max_length=2048)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    mux: Mux = "duck"
    brief: str = Field("", max_length=500)  # a scoring brief ("tense, orchestral, minor key")
    brief_rule: Literal["centre", "replace"] = "centre"
    ensemble: str | None = Field(None, max_length=200)  # line-up (emsync_core.music.ensemble); None = the default
    enhance_audio: bool = Field(False, description="Restore the original audio's high band when its spectrum shows a "
                                "band limit the model restores (as `emsync score --enhance-audio`); duck mode only.")

    @model_validator(mode="after")
    def _enhance_needs_duck(self) -> ScoreIn:
        if self.enhance_audio and self.mux != "duck":  # only duck mixes the original audio in
            raise ValueError("enhance_audio applies to mux 'duck' only: the other modes leave the original audio as it is")
        return self


class MoodsIn(BaseModel):
    """Per-scene mood overrides: items with video, scene or start_s/end_s, and valence/arousal or brief."""

    model_config = ConfigDict(extra="forbid")
    moods: list[dict] = Field(max_length=10_000)


@dataclass
class _Job:
    job_id: str
    uri: str
    status: str = "queued"  # queued | running | done | failed
    video_ids: list[str] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    error: str | None = None
    upload: bool = False  # the file is ours (an upload): removed when the job ends


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


def served_options(uri: str, out: str, db_url: str, seed: int, mux: str, brief: str = "", brief_rule: str = "centre",
                   ensemble: str | None = None, enhance_audio: bool = False):
    """The scoring options of the server, from its environment (set on the Ray nodes / pods):
    EMSYNC_BACKBONES, EMSYNC_{CLASSIFIER,GENERATOR}_{LOADER,CHECKPOINT}; unset means the defaults.
    Actors take a quarter CPU: the replica itself holds some, and Ray Data must still fit its read tasks.
    A job waits (up to 10 min) for a live run of the same video, e.g. the same request on another replica."""
    from emsync_core.music import SamplingSettings
    from emsync_core.render.pipeline import RenderSettings
    from emsync_core.scoring.models import DEFAULT_CLASSIFIER, DEFAULT_GENERATOR, ModelSpec
    from emsync_core.scoring.options import ScoreOptions

    env = os.environ.get
    models = ModelSpec(classifier=env("EMSYNC_CLASSIFIER_LOADER", DEFAULT_CLASSIFIER),
                       classifier_checkpoint=env("EMSYNC_CLASSIFIER_CHECKPOINT"),
                       generator=env("EMSYNC_GENERATOR_LOADER", DEFAULT_GENERATOR),
                       generator_checkpoint=env("EMSYNC_GENERATOR_CHECKPOINT"))
    extra = {"backbones": tuple(env("EMSYNC_BACKBONES").split(","))} if env("EMSYNC_BACKBONES") else {}
    if ensemble:
        extra["sampling"] = SamplingSettings(ensemble=ensemble)
    return ScoreOptions(catalog=uri, out=out, db=db_url, seed=seed, render=RenderSettings(mux_mode=mux, enhance_audio=enhance_audio), models=models,
                        show_progress=False, extract_workers=1, actor_cpus=0.25, lease_wait_s=600.0, brief=brief,
                        brief_rule=brief_rule, **extra)


def _db_url(request: Request) -> str:
    return request.app.state.sessions.kw["bind"].url.render_as_string(hide_password=False)


def _run(job: _Job, out: str, db_url: str, seed: int, mux: str, sessions, brief: str = "", brief_rule: str = "centre",
         ensemble: str | None = None, enhance_audio: bool = False) -> None:
    from ray_serve.score_pipeline import run_score

    with _lock:
        job.status = "running"
        try:
            summary = run_score(served_options(job.uri, out, db_url, seed, mux, brief, brief_rule, ensemble, enhance_audio))
            job.video_ids = [r.video_id for r in summary.scored] + list(summary.already_done)
            job.failures = [{"stage": f.stage, "error_class": f.error_class} for f in summary.failed]
            job.failures += [{"stage": "storage", "error_class": "Fault"} for _ in summary.faulted]
            job.status = "done" if job.video_ids else "failed"
        except Exception as exc:  # the client gets an id, the log and the database the details
            job.status, job.error = "failed", f"scoring failed (error id {record_error(sessions, f'job {job.job_id}', exc)})"
        finally:
            if job.upload:
                Path(job.uri).unlink(missing_ok=True)


def _start(uri: str, request: Request, seed: int, mux: str, upload: bool = False, brief: str = "",
           brief_rule: str = "centre", ensemble: str | None = None, enhance_audio: bool = False) -> dict:
    from emsync_core.brief import BriefError, parse_brief
    from emsync_core.music.ensemble import parse_ensemble

    try:
        parse_brief(brief) if brief else None
        parse_ensemble(ensemble) if ensemble else None
    except (BriefError, ValueError) as exc:
        raise HTTPException(422, str(exc)) from None
    out = _out_root(request)
    job = _Job(uuid.uuid4().hex, uri, upload=upload)
    _jobs[job.job_id] = job
    args = (job, out, _db_url(request), seed, mux, request.app.state.sessions, brief, brief_rule, ensemble, enhance_audio)
    threading.Thread(target=_run, args=args, daemon=True).start()
    return {"job_id": job.job_id, "status": job.status, "status_url": f"/api/score/{job.job_id}"}


@router.post("/score", status_code=202, dependencies=[SCORE])
def post_score(body: ScoreIn, request: Request) -> dict:
    """Score one video file by URI (a local path or gs://) under the catalog roots the operator configured."""
    roots = request.app.state.settings.catalog_roots
    if not roots:
        raise HTTPException(403, "this server has no catalog roots to score (the operator sets them with --root)")
    uri = video_in_roots(body.uri, roots)
    if uri is None or not store.exists(uri):  # the same answer whether the file is missing or out of bounds
        raise HTTPException(404, NOT_FOUND)
    return _start(uri, request, body.seed, body.mux, brief=body.brief, brief_rule=body.brief_rule,
                  ensemble=body.ensemble, enhance_audio=body.enhance_audio)


@router.put(UPLOAD_PREFIX.removeprefix("/api") + "{filename}", status_code=202, dependencies=[SCORE])
async def upload_score(request: Request, filename: str = PathParam(max_length=200), seed: int = Query(0, ge=0, le=MAX_SEED),
                       mux: Mux = "duck", ensemble: str | None = Query(None, max_length=200)) -> dict:
    """Upload the video's bytes as the request body (capped); stored under <out>/uploads, removed when its job ends."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    if not safe.lower().endswith(VIDEO_EXTENSIONS):
        raise HTTPException(415, f"not a video file name ({', '.join(VIDEO_EXTENSIONS)})")
    target = Path(_out_root(request), "uploads", f"{uuid.uuid4().hex[:8]}-{safe}")
    target.parent.mkdir(parents=True, exist_ok=True)
    cap = request.app.state.settings.max_upload_bytes
    size = 0
    try:
        with open(target, "wb") as fh:
            async for chunk in request.stream():
                size += len(chunk)
                if size > cap:
                    raise HTTPException(413, "upload too large")
                fh.write(chunk)
    except BaseException:  # too large, or the client went away: nothing stays behind
        target.unlink(missing_ok=True)
        raise
    return _start(str(target), request, seed, mux, upload=True, ensemble=ensemble)


@router.get("/score/{job_id}", dependencies=[READ])
def get_job(request: Request, job_id: str = PathParam(max_length=32, pattern=r"^[0-9a-f]+$")) -> dict:
    """The job's status; when done, its soundtracks (with file URLs) from the database."""
    job = _jobs.get(job_id)
    if job is None:
        raise HTTPException(404, "no such job")
    tracks = []
    with request.app.state.sessions() as s:
        for vid in job.video_ids:
            rows = queries.soundtracks(s, video_id=vid, limit=1)
            tracks += [{**r, "files": {k: f"/api/soundtracks/{r['id']}/{k}" for k in _FILE_KINDS}} for r in rows]
    uri = Path(job.uri).name if job.upload else job.uri  # an upload's server path is none of the client's business
    return {"job_id": job.job_id, "uri": uri, "status": job.status, "error": job.error, "failures": job.failures,
            "soundtracks": tracks}


@router.get("/soundtracks", dependencies=[READ])
def get_soundtracks(request: Request, video_id: str | None = _id_text(), run_id: str | None = _id_text(),
                    model_version: str | None = Query(None, max_length=128), limit: int = _limit()) -> list[dict]:
    with request.app.state.sessions() as s:
        return queries.soundtracks(s, video_id=video_id, run_id=run_id, model_version=model_version, limit=limit)


@router.get("/soundtracks/{soundtrack_id}/{kind}", dependencies=[READ])
def get_soundtrack_file(kind: Kind, request: Request, soundtrack_id: int = PathParam(ge=1, le=MAX_ID)) -> FileResponse:
    """The soundtrack's MP4 (video), FLAC (audio), MIDI or PNG plot."""
    with request.app.state.sessions() as s:
        row = s.get(Soundtrack, soundtrack_id)
    if row is None:
        raise HTTPException(404, "no such soundtrack")
    path = getattr(row, _FILE_KINDS[kind])
    if store.is_remote(path) or not os.path.exists(path):
        raise HTTPException(404, "this file is not available from this server")
    return FileResponse(path, filename=os.path.basename(path))


def _bounded(default: float, lo: float, hi: float):
    return Query(default, ge=lo, le=hi)


@router.get("/scenes", dependencies=[READ])
def get_scenes(request: Request, video_id: str | None = _id_text(), emotion: str | None = Query(None, max_length=16),
               min_prob: float = _bounded(0.0, 0.0, 1.0), valence_min: float = _bounded(-1.0, -1.0, 1.0),
               valence_max: float = _bounded(1.0, -1.0, 1.0), arousal_min: float = _bounded(-1.0, -1.0, 1.0),
               arousal_max: float = _bounded(1.0, -1.0, 1.0), model_version: str | None = Query(None, max_length=128),
               limit: int = _limit()) -> list[dict]:
    with request.app.state.sessions() as s:
        try:
            return queries.scenes(s, video_id=video_id, emotion=emotion, min_prob=min_prob,
                                  valence=(valence_min, valence_max), arousal=(arousal_min, arousal_max),
                                  model_version=model_version, limit=limit)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None


@router.get("/runs", dependencies=[READ])
def get_runs(request: Request, run_id: str | None = _id_text(), limit: int = _limit()) -> list[dict]:
    with request.app.state.sessions() as s:
        return queries.runs(s, run_id=run_id, limit=limit)


@router.get("/failures", dependencies=[READ])
def get_failures(request: Request, run_id: str | None = _id_text(), limit: int = _limit()) -> list[dict]:
    with request.app.state.sessions() as s:
        return queries.failures(s, run_id=run_id, limit=limit)


@router.get("/videos", dependencies=[READ])
def get_videos(request: Request, video_id: str | None = _id_text(), limit: int = _limit()) -> list[dict]:
    with request.app.state.sessions() as s:
        return queries.videos(s, video_id=video_id, limit=limit)


def _rescore(job: _Job, out: str, db_url: str, planned, sessions) -> None:
    from emsync_core.scoring.regenerate import rescore_moods
    from emsync_core.scoring.models import ModelSpec

    with _lock:
        job.status = "running"
        try:
            for current, moods in planned:
                rescore_moods(db_url, out, current, moods, ModelSpec())
                job.video_ids.append(current.video.video_id)
            job.status = "done"
        except Exception as exc:  # the client gets an id, the log and the database the details
            job.status, job.error = "failed", f"re-scoring failed (error id {record_error(sessions, f'job {job.job_id}', exc)})"


@router.post("/moods", status_code=202, dependencies=[SCORE])
def post_moods(body: MoodsIn, request: Request) -> dict:
    """Override scene moods (a key with the score scope). The whole body is checked first (422
    naming the item); then only the changed scenes are re-scored in the background, as a job to poll."""
    from emsync_core.scoring.overrides import OverrideError, parse_rows
    from emsync_core.scoring.regenerate import check_overrides

    out, db_url = _out_root(request), _db_url(request)
    try:
        planned = check_overrides(db_url, parse_rows([(f"moods[{i}]", row) for i, row in enumerate(body.moods)], "moods"))
    except OverrideError as exc:
        raise HTTPException(422, str(exc))
    job = _Job(uuid.uuid4().hex, "moods")
    _jobs[job.job_id] = job
    threading.Thread(target=_rescore, args=(job, out, db_url, planned, request.app.state.sessions), daemon=True).start()
    return {"job_id": job.job_id, "status": job.status, "status_url": f"/api/score/{job.job_id}"}
