"""One live run per run key: a lease row in the database, renewed by a heartbeat, that lapses when its
holder dies (at once when the holder ran on this machine and its process is gone). A second run of the same key waits for it or stops with a clear message; clean-up of
half-written files runs only when no live run writes into the same output folder."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from emsync_core.db.safety_models import RunLease
from emsync_core.store import uri as store

log = logging.getLogger(__name__)
LEASE_TTL_S = 60.0  # a killed run's lease lapses this long after its last heartbeat
DRAFT_PREFIX = ".emsync-"  # store.scratch_path_for's prefix: half-written outputs
DRAFT_FOLDERS = ("features", "videos", "dead_letter", "faults", "annotations", "soundtracks")


class LeaseHeld(Exception):
    """Another live run holds the run key."""

    def __init__(self, lease: RunLease) -> None:
        left = max(0.0, (_aware(lease.expires_at) - _now()).total_seconds())
        super().__init__(f"another run of this catalog and configuration is live (run {(lease.run_id or '?')[:12]}, "
                         f"held by {lease.holder.rsplit(':', 1)[0]}, last heartbeat {_aware(lease.heartbeat_at):%H:%M:%S} UTC); "
                         f"its lease lapses {left:.0f} s after its last heartbeat if it died. Wait for it, or pass --wait")
        self.lease = lease


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(t: datetime) -> datetime:
    """SQLite hands back naive datetimes: they are UTC."""
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _alive(lease: RunLease) -> bool:
    """Unexpired, and (when held on this machine) its process still exists: a run killed here frees its
    key at once; one on another machine, when its lease lapses."""
    if _aware(lease.expires_at) <= _now():
        return False
    host, _, rest = lease.holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


@dataclass
class RunLeaseHandle:
    """A held lease; `heartbeat()` renews it, `release()` gives it up. `lost` is set if another run took it."""

    sessions: sessionmaker[Session]
    run_key: str
    holder: str
    ttl_s: float
    lost: bool = False

    def heartbeat(self) -> bool:
        with self.sessions.begin() as s:
            n = s.execute(update(RunLease).where(RunLease.run_key == self.run_key, RunLease.holder == self.holder)
                          .values(heartbeat_at=_now(), expires_at=_now() + timedelta(seconds=self.ttl_s))).rowcount
        self.lost = self.lost or n == 0
        return n == 1

    def set_run_id(self, run_id: str) -> None:
        with self.sessions.begin() as s:
            s.execute(update(RunLease).where(RunLease.run_key == self.run_key, RunLease.holder == self.holder)
                      .values(run_id=run_id))

    def release(self) -> None:
        with self.sessions.begin() as s:
            s.execute(delete(RunLease).where(RunLease.run_key == self.run_key, RunLease.holder == self.holder))


def try_acquire(sessions: sessionmaker[Session], run_key: str, out_uri: str, ttl_s: float = LEASE_TTL_S) -> RunLeaseHandle:
    """Take the lease of `run_key` (a lapsed one is taken over), or raise LeaseHeld. Atomic on both engines:
    a fresh lease is an INSERT on the primary key; a takeover is an UPDATE conditioned on the expiry."""
    holder, now = _holder(), _now()
    expires = now + timedelta(seconds=ttl_s)
    try:
        with sessions.begin() as s:
            s.add(RunLease(run_key=run_key, out_uri=out_uri, holder=holder, acquired_at=now, heartbeat_at=now, expires_at=expires))
        return RunLeaseHandle(sessions, run_key, holder, ttl_s)
    except IntegrityError:
        pass
    with sessions() as s:
        current = s.get(RunLease, run_key)
    if current is None:  # released in the meantime: try once more
        return try_acquire(sessions, run_key, out_uri, ttl_s)
    if _alive(current):
        raise LeaseHeld(current)
    with sessions.begin() as s:  # conditioned on the dead holder: of two takers, one wins
        taken = s.execute(update(RunLease).where(RunLease.run_key == run_key, RunLease.holder == current.holder).values(
            holder=holder, out_uri=out_uri, run_id=None, acquired_at=now, heartbeat_at=now, expires_at=expires)).rowcount
    if taken == 1:
        log.warning("took over the lease of run key %s from a run that died (%s)", run_key[:12], current.holder)
        return RunLeaseHandle(sessions, run_key, holder, ttl_s)
    return try_acquire(sessions, run_key, out_uri, ttl_s)


def acquire(sessions: sessionmaker[Session], run_key: str, out_uri: str, wait_s: float = 0.0,
            ttl_s: float = LEASE_TTL_S, poll_s: float = 2.0) -> RunLeaseHandle:
    """try_acquire, retried for up to `wait_s` seconds while another run holds the key."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return try_acquire(sessions, run_key, out_uri, ttl_s)
        except LeaseHeld:
            if time.monotonic() + poll_s > deadline:
                raise
            time.sleep(poll_s)


def others_live_in(sessions: sessionmaker[Session], out_uri: str, holder: str) -> bool:
    """Whether another unexpired lease writes into the same output folder."""
    with sessions() as s:
        rows = s.scalars(select(RunLease).where(RunLease.out_uri == out_uri, RunLease.holder != holder)).all()
    return any(_alive(r) for r in rows)


class Heartbeat:
    """Renews a lease every ttl/3 seconds on a daemon thread for as long as the run lives."""

    def __init__(self, lease: RunLeaseHandle) -> None:
        self.lease = lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="run-lease-heartbeat", daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(self.lease.ttl_s / 3):
            try:
                if not self.lease.heartbeat():
                    log.error("the run lease was taken over by another run; this run's results still upsert safely")
                    return
            except Exception as exc:  # a database hiccup: the next beat tries again before the lease lapses
                log.warning("run lease heartbeat failed: %s", exc)

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)
        try:
            self.lease.release()
        except Exception as release_error:  # the database is gone: the lease lapses by itself; keep the run's own error
            log.warning("could not release the run lease (it lapses in %.0f s): %s", self.lease.ttl_s, release_error)


def clean_dead_drafts(out_root: str) -> int:
    """Delete half-written files (drafts of feature Parquet, markers, soundtracks) a dead run left under a
    local output folder. Call only while holding the lease and with no other live run in the folder."""
    if store.is_remote(out_root):  # GCS uploads are atomic: nothing half-written is ever visible
        return 0
    removed = 0
    for folder in DRAFT_FOLDERS:
        root = Path(out_root, folder)
        if not root.is_dir():
            continue
        for path in root.rglob(f"{DRAFT_PREFIX}*"):
            if path.is_file():
                path.unlink(missing_ok=True)
                removed += 1
        for path in root.rglob(".*.tmp"):  # write_bytes_atomic's temporary files
            if path.is_file():
                path.unlink(missing_ok=True)
                removed += 1
    return removed
