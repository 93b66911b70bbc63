"""Tables that keep runs and the archive API safe: run leases, API keys (hashed), server error records."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

import emsync_core.db.models  # noqa: F401  (core tables first: one metadata, one migration chain)
from emsync_core.db.base import Base
from emsync_core.db.models import utcnow


class RunLease(Base):
    """The one live run of a run key: its holder renews `expires_at`; a killed holder's lease lapses."""

    __tablename__ = "run_leases"
    run_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    out_uri: Mapped[str] = mapped_column(String(2048), index=True)
    holder: Mapped[str] = mapped_column(String(256))  # host, pid and a random token: who may renew or release
    acquired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiKey(Base):
    """An archive API credential; only the SHA-256 of the secret is stored (the secret is shown once)."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, to tell keys apart in listings
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ServerError(Base):
    """What went wrong behind a generic HTTP error: clients see only `error_id`."""

    __tablename__ = "server_errors"
    error_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    route: Mapped[str] = mapped_column(String(512))
    error_class: Mapped[str] = mapped_column(String(256))
    detail: Mapped[str] = mapped_column(Text)
