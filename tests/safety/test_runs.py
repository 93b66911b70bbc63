"""Runs that cannot collide: one live run per run key (on SQLite and PostgreSQL), a killed run's lease
lapses, and clean-up removes only what a dead run left (feature Parquet drafts included)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from emsync_core.db.engine import open_database
from emsync_core.scoring.lease import LeaseHeld, acquire, clean_dead_drafts, others_live_in, try_acquire
from tests.study.archive import pg_schema_url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, private_dir):
    if request.param == "sqlite":
        path = private_dir / f"lease-{time.monotonic_ns()}.db"
        yield f"sqlite:///{path}"
        return
    url, cleanup = pg_schema_url()
    yield url
    cleanup()


def test_of_many_simultaneous_runs_of_one_key_exactly_one_gets_the_lease(db_url):
    sessions = open_database(db_url)
    barrier, outcomes = threading.Barrier(6), []

    def one():
        barrier.wait()
        try:
            outcomes.append(try_acquire(sessions, "key-1", "/out"))
        except LeaseHeld as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    held = [o for o in outcomes if not isinstance(o, LeaseHeld)]
    assert len(held) == 1 and len(outcomes) == 6
    refused = next(o for o in outcomes if isinstance(o, LeaseHeld))
    assert "another run of this catalog and configuration is live" in str(refused)
    held[0].release()
    assert try_acquire(sessions, "key-1", "/out") is not None  # released: the next run starts
    sessions.kw["bind"].dispose()


def test_a_lapsed_lease_is_taken_over_and_its_old_holder_learns_it(db_url):
    sessions = open_database(db_url)
    dead = try_acquire(sessions, "key-2", "/out", ttl_s=0.3)
    with pytest.raises(LeaseHeld):
        try_acquire(sessions, "key-2", "/out")
    time.sleep(0.5)
    alive = acquire(sessions, "key-2", "/out", wait_s=2, poll_s=0.1)
    assert not dead.heartbeat() and dead.lost
    assert alive.heartbeat()
    sessions.kw["bind"].dispose()


def test_a_second_run_waits_for_the_first_when_asked(private_dir):
    sessions = open_database(f"sqlite:///{private_dir / 'wait.db'}")
    first = try_acquire(sessions, "key-3", "/out")
    threading.Timer(0.5, first.release).start()
    t0 = time.monotonic()
    second = acquire(sessions, "key-3", "/out", wait_s=5, poll_s=0.1)
    assert second is not None and 0.4 < time.monotonic() - t0 < 5


KILLED_RUN = """
import sys, time
from emsync_core.db.engine import open_database
from emsync_core.scoring.lease import try_acquire
from emsync_core.store.feature_parquet import FeatureParquetWriter
lease = try_acquire(open_database(sys.argv[1]), "key-4", sys.argv[2], ttl_s=600)
writer = FeatureParquetWriter(sys.argv[2] + "/features/v.parquet", {"visual_affect": 6})
print("ready", flush=True)
time.sleep(60)
"""


def test_drafts_of_a_killed_run_are_removed_only_once_it_is_dead(private_dir):
    out = private_dir / "killed-out"
    (out / "features").mkdir(parents=True)
    (out / "soundtracks" / "v").mkdir(parents=True)
    db = f"sqlite:///{private_dir / 'killed.db'}"
    sessions = open_database(db)
    proc = subprocess.Popen([sys.executable, "-c", KILLED_RUN, db, str(out)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert proc.stdout.readline().strip() == "ready"
    drafts = list((out / "features").glob(".emsync-*"))
    assert len(drafts) == 1  # the real writer's draft Parquet
    (out / "soundtracks" / "v" / ".emsync-partial.mp4").write_bytes(b"half")
    (out / "features" / "kept.parquet").write_bytes(b"finished")
    # while that run lives, a run of another key in the same folder must not touch its drafts
    me = try_acquire(sessions, "key-other", str(out))
    assert others_live_in(sessions, str(out), me.holder)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not others_live_in(sessions, str(out), me.holder)  # its process is gone: dead at once on this machine
    assert try_acquire(sessions, "key-4", str(out)) is not None  # and its key is free for the rerun
    assert clean_dead_drafts(str(out)) == 2
    assert [p.name for p in (out / "features").iterdir()] == ["kept.parquet"]
    assert not any((out / "soundtracks" / "v").iterdir())
