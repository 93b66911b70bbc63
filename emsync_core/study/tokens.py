"""Participant tokens: 192 random bits from `secrets`, stored only as their SHA-256.

A link carries the token; the database never holds it, so a leaked database reveals no usable links,
and looking a token up by hash takes the same path whether or not it exists.
"""

from __future__ import annotations

import hashlib
import re
import secrets

TOKEN_BYTES = 24  # 192 bits: 32 URL-safe characters
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(token: str) -> bool:
    """Cheap shape check before touching the database (rejects junk and oversized input)."""
    return bool(_TOKEN_RE.match(token))
