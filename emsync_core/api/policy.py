"""What the archive API may touch and how it reports errors: catalog roots, size limits, error records."""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from emsync_core.db.safety_models import ServerError
from emsync_core.store import uri as store
from emsync_core.store.catalog import VIDEO_EXTENSIONS

log = logging.getLogger("emsync.api")
DEFAULT_ALLOWED_HOSTS = ("127.0.0.1", "localhost")
MAX_JSON_BODY_BYTES = 64 * 1024  # every JSON body of both apps is far smaller
DEFAULT_MAX_UPLOAD_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class ApiSettings:
    """The operator's choices for a served app (from `emsync api serve` / `emsync study serve`)."""

    catalog_roots: tuple[str, ...] = ()  # folders or gs:// prefixes POST /api/score may reach; none = nothing
    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
    max_body_bytes: int = MAX_JSON_BODY_BYTES
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES

    @classmethod
    def from_env(cls) -> "ApiSettings":
        """Defaults, with EMSYNC_ALLOWED_HOSTS (comma-separated) when set: for `emsync study serve`."""
        hosts = tuple(h.strip() for h in os.environ.get("EMSYNC_ALLOWED_HOSTS", "").split(",") if h.strip())
        return cls(allowed_hosts=hosts or DEFAULT_ALLOWED_HOSTS)


def video_in_roots(uri: str, roots: tuple[str, ...]) -> str | None:
    """The canonical URI of a video file under one of `roots` (symlinks resolved), else None. Only single
    video files: a manifest or folder could name files outside the roots."""
    if not uri.lower().endswith(VIDEO_EXTENSIONS) or "\x00" in uri:
        return None
    if store.is_remote(uri):
        if "/../" in uri or uri.endswith("/..") or "/./" in uri:
            return None
        return uri if any(store.is_remote(r) and uri.startswith(r.rstrip("/") + "/") for r in roots) else None
    real = os.path.realpath(uri)
    for root in roots:
        if store.is_remote(root):
            continue
        base = os.path.realpath(root)
        if os.path.commonpath([real, base]) == base and os.path.isfile(real):
            return real
    return None


def record_error(sessions: sessionmaker[Session], route: str, exc: BaseException) -> str:
    """Log an error in full and store it; returns the id the client gets instead of the details."""
    error_id = uuid.uuid4().hex[:16]
    log.error("error %s on %s: %s: %s", error_id, route, type(exc).__name__, exc, exc_info=exc)
    try:
        with sessions.begin() as s:
            s.add(ServerError(error_id=error_id, route=route[:512], error_class=type(exc).__name__[:256], detail=str(exc)[:20000]))
    except Exception:  # the database may be what failed: the log has it
        log.exception("could not store error %s", error_id)
    return error_id
