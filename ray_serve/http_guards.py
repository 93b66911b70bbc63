"""HTTP guards both apps use: allowed Host names, body-size limits, generic errors with an id, and the
archive API's credential check. The rules (keys, limits, roots) live in emsync_core.api."""

from __future__ import annotations

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.middleware.trustedhost import TrustedHostMiddleware

from emsync_core.api import keys
from emsync_core.api.policy import ApiSettings, record_error

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key> (`emsync api keys create`)")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The API key (`emsync api keys create`)")


class BodyLimit:
    """413 for a body over the limit: at once from Content-Length, else while it streams in.
    Paths starting with an upload prefix get the upload limit instead."""

    def __init__(self, app, limit: int, upload_prefix: str | None = None, upload_limit: int = 0) -> None:
        self.app, self.limit, self.upload_prefix, self.upload_limit = app, limit, upload_prefix, upload_limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        uploading = bool(self.upload_prefix) and scope["path"].startswith(self.upload_prefix)
        limit = self.upload_limit if uploading else self.limit
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return await JSONResponse({"detail": f"request body over {limit} bytes"}, 413)(scope, receive, send)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, f"request body over {limit} bytes")
            return message

        return await self.app(scope, counted, send)


def guard(app: FastAPI, settings: ApiSettings, upload_prefix: str | None = None) -> None:
    """Allowed hosts, body limits and generic 500s (details to the log and the server_errors table)."""

    @app.exception_handler(Exception)
    async def _generic(request: Request, exc: Exception) -> JSONResponse:
        error_id = record_error(request.app.state.sessions, f"{request.method} {request.url.path}", exc)
        return JSONResponse({"detail": "internal error", "error_id": error_id}, status_code=500)

    app.add_middleware(BodyLimit, limit=settings.max_body_bytes, upload_prefix=upload_prefix,
                       upload_limit=settings.max_upload_bytes)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts))


def _require(scope: str):
    def check(request: Request, bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),
              header: str | None = Depends(_header)) -> keys.KeyInfo:
        secret = header or (bearer.credentials if bearer else None)
        if not secret:
            raise HTTPException(401, "an API key is required", headers={"WWW-Authenticate": "Bearer"})
        with request.app.state.sessions.begin() as s:
            key = keys.verify(s, secret)
        if key is None:
            raise HTTPException(401, "invalid or revoked API key", headers={"WWW-Authenticate": "Bearer"})
        if scope not in key.scopes:
            raise HTTPException(403, f"this API key lacks the '{scope}' scope")
        return key

    check.access = scope  # read by the route audit: who may call a route
    return Depends(check)


READ = _require("read")  # holders of a key with the read scope
SCORE = _require("score")  # holders of a key with the score scope
