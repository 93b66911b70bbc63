"""Archive API keys: random secrets shown once, stored only as SHA-256 (a 256-bit random secret needs no
slow hash), each with scopes: `read` (list and fetch results) and `score` (submit videos)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from emsync_core.db.models import utcnow
from emsync_core.db.safety_models import ApiKey

SCOPES = ("read", "score")
KEY_PREFIX = "emsk_"


class KeyRequestError(ValueError):
    """A key request that cannot be honoured (unknown scope, unknown key)."""


@dataclass(frozen=True)
class KeyInfo:
    id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _info(row: ApiKey) -> KeyInfo:
    return KeyInfo(row.id, row.name, row.prefix, tuple(row.scopes), row.created_at, row.last_used_at, row.revoked_at)


def create_key(session: Session, name: str, scopes: tuple[str, ...]) -> tuple[KeyInfo, str]:
    """A new key; returns its record and the secret (shown once, never stored)."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise KeyRequestError(f"scopes must be among {SCOPES}, not {unknown or 'none'}")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(name=name, key_hash=_hash(secret), prefix=secret[:12], scopes=sorted(set(scopes)), created_at=utcnow())
    session.add(row)
    session.flush()
    return _info(row), secret


def list_keys(session: Session) -> list[KeyInfo]:
    return [_info(r) for r in session.scalars(select(ApiKey).order_by(ApiKey.id))]


def revoke_key(session: Session, key_id: int) -> None:
    n = session.execute(update(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None)).values(revoked_at=utcnow())).rowcount
    if n == 0:
        raise KeyRequestError(f"no live key with id {key_id}")


def verify(session: Session, secret: str) -> KeyInfo | None:
    """The live key with this secret (its last use is noted), or None."""
    if not secret.startswith(KEY_PREFIX) or len(secret) > 128:
        return None
    digest = _hash(secret)
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None)))
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        return None
    row.last_used_at = utcnow()
    return _info(row)
