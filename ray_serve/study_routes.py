"""The rating page and its JSON API (token-only access; all rules live in emsync_core.study.participation)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException
from fastapi import Path as PathParam
from fastapi import Request, Response
from fastapi.responses import FileResponse, HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, ConfigDict, Field

from emsync_core.study import participation
from emsync_core.study.answers import AnswerError

PAGE_DIR = Path(__file__).parent / "study_page"
_templates = Environment(loader=FileSystemLoader(PAGE_DIR), autoescape=select_autoescape(["html"]))
# A token must not leak to other sites through the Referer header, nor a page into a search index or cache.
PRIVATE_HEADERS = {"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex", "Cache-Control": "no-store",
                   "X-Content-Type-Options": "nosniff"}

router = APIRouter()
# Item positions are small integers (SmallInteger in the database): a larger one is a 422, never a 500.
Position = Annotated[int, PathParam(ge=1, le=32767)]


def _in_transaction(request: Request, work):
    """Run work(session) in one transaction committed BEFORE the response goes out, so "saved" means saved."""
    try:
        with request.app.state.sessions.begin() as session:
            return work(session)
    except participation.NotFound:
        raise HTTPException(status_code=404, detail="not found") from None
    except participation.RuleRefused as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    except AnswerError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None


class Intake(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    music_trained: bool


class AnswerIn(BaseModel):
    """Strict: "5", 3.0 and true are not scores."""

    model_config = ConfigDict(extra="forbid", strict=True)
    choice: Literal["A", "B", "same"] | None = None
    score_first: int | None = Field(default=None, ge=1, le=10)
    score_second: int | None = Field(default=None, ge=1, le=10)


@router.get("/study-assets/{name}")
def asset(name: Literal["study.js", "study.css"]) -> FileResponse:
    media_type = "text/javascript" if name.endswith(".js") else "text/css"
    return FileResponse(PAGE_DIR / name, media_type=media_type, headers={"Cache-Control": "public, max-age=300"})


@router.get("/study/{token}", response_class=HTMLResponse)
def page(token: str, request: Request) -> HTMLResponse:
    state = _in_transaction(request, lambda s: participation.state(s, token))
    html = _templates.get_template("page.html").render(state=state, token=token)
    return HTMLResponse(html, headers=PRIVATE_HEADERS)


@router.get("/api/study/{token}/state")
def get_state(token: str, request: Request, response: Response) -> dict:
    response.headers.update(PRIVATE_HEADERS)
    return _in_transaction(request, lambda s: participation.state(s, token))


@router.post("/api/study/{token}/intake")
def post_intake(token: str, body: Intake, request: Request, response: Response) -> dict:
    response.headers.update(PRIVATE_HEADERS)
    _in_transaction(request, lambda s: participation.record_intake(s, token, body.music_trained))
    return {"saved": True}


@router.put("/api/study/{token}/items/{position}/answers/{criterion}")
def put_answer(token: str, position: Position, criterion: str, body: AnswerIn, request: Request, response: Response) -> dict:
    response.headers.update(PRIVATE_HEADERS)
    submitted = participation.Submitted(body.choice, body.score_first, body.score_second)
    return _in_transaction(request, lambda s: participation.save_answer(s, token, position, criterion, submitted))


class MediaResponse(FileResponse):
    """A file without ETag or Last-Modified: those would tell the two sides of an identical-pair check
    apart (the study pads every soundtrack of one video to one length, so sizes do not)."""

    def set_stat_headers(self, stat_result) -> None:
        super().set_stat_headers(stat_result)
        for name in ("etag", "last-modified"):
            if name in self.headers:
                del self.headers[name]


@router.get("/api/study/{token}/items/{position}/media/{slot}")
def get_media(token: str, position: Position, slot: str, request: Request) -> FileResponse:
    path = _in_transaction(request, lambda s: participation.media_path(s, token, position, slot))
    if not Path(path).is_file():
        raise HTTPException(status_code=410, detail="the media file is gone")
    headers = {"Referrer-Policy": "no-referrer", "Cache-Control": "private, max-age=3600"}
    return MediaResponse(path, media_type="video/mp4", headers=headers)
