"""Real media and a real archive for study tests: lavfi videos, per-arm sine soundtracks, recorded
through the issue-5 recording API (Recorder), so the study reads the same rows a scoring run writes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from emsync_core.db.engine import make_engine
from emsync_core.db.record import Recorder, SoundtrackRecord, VideoFacts
from emsync_core.store.catalog import resolve_ref

PATTERNS = ("testsrc", "smptebars", "rgbtestsrc", "testsrc2")
ARM_TONES = {"gen-a": 330.0, "gen-b": 550.0, "gen-c": 770.0}


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *args], check=True)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_video(path: Path, pattern: str, duration: float) -> Path:
    ffmpeg("-f", "lavfi", "-i", f"{pattern}=size=192x108:rate=25:duration={duration}", "-c:v", "libx264",
           "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(path))
    return path


def make_soundtrack(video: Path, freq: float, out: Path) -> Path:
    """The video's picture with a sine tone of this arm's frequency (AAC), like a rendered soundtrack."""
    ffmpeg("-i", str(video), "-f", "lavfi", "-i", f"sine=frequency={freq}:sample_rate=48000", "-map", "0:v", "-map", "1:a",
           "-c:v", "copy", "-c:a", "aac", "-shortest", "-movflags", "+faststart", str(out))
    return out


def make_tone(path: Path, freq: float, duration: float) -> Path:
    ffmpeg("-f", "lavfi", "-i", f"sine=frequency={freq}:sample_rate=44100:duration={duration}", str(path))
    return path


def seed_archive(sessions, root: Path, n_videos: int = 2, generators=("gen-a", "gen-b"), duration: float = 2.0,
                 cut_free: tuple[int, ...] = ()) -> list[str]:
    """Record n lavfi videos (one scene cut halfway, except those numbered in cut_free) and one soundtrack per
    generator version each; returns the video ids."""
    rec = Recorder(sessions)
    catalog_dir = root / "catalog"
    catalog_dir.mkdir(parents=True, exist_ok=True)
    catalog_id = rec.ensure_catalog(str(catalog_dir))
    run_id, _ = rec.open_run("score", uuid.uuid4().hex, catalog_uri=str(catalog_dir), out_uri=str(root),
                             config={"seed": 0, "sampling": {"temperature": 1.35, "top_p": 0.6}}, code_version="test",
                             model_versions={})
    ids = []
    for n in range(n_videos):
        video = make_video(catalog_dir / f"clip{n}.mp4", PATTERNS[n % len(PATTERNS)], duration)
        ref = resolve_ref(str(video))
        cuts = () if n in cut_free else (duration / 2,)
        rec.record_video(VideoFacts(video_id=ref.video_id, uri=ref.uri, content_key=ref.content_key, size=ref.size,
                                    duration_s=duration, fps=25.0, width=192, height=108, has_audio=False, cuts_s=cuts),
                         status="extracted", catalog_id=catalog_id)
        for gen in generators:
            out_dir = root / "soundtracks" / gen
            out_dir.mkdir(parents=True, exist_ok=True)
            mp4 = make_soundtrack(video, ARM_TONES[gen] * (1 + 0.25 * n), out_dir / f"{ref.video_id}.mp4")
            rec.record_soundtrack(SoundtrackRecord(
                video_id=ref.video_id, variant_key=f"{gen}-{n}", seed=n, generator_version=gen, generator_sha256="0" * 64,
                classifier_version="clf-test", classifier_sha256="1" * 64, code_version="test",
                conditions=[{"start_s": 0.0, "end_s": duration, "valence": 0.5, "arousal": 0.1}], cuts_s=list(cuts),
                chord_onsets_s=[0.0], sampling={"temperature": 1.35, "top_p": 0.6}, render={"loudness_lufs": -16},
                midi_uri=str(mp4.with_suffix(".mid")), audio_uri=str(mp4), video_uri=str(mp4), plot_uri="",
                midi_sha256="", audio_sha256=sha256(mp4), video_sha256=sha256(mp4), duration_s=duration, n_tokens=0,
                n_cuts=len(cuts), n_cuts_matched=0, mean_cut_offset_s=None), run_id=run_id)
        ids.append(ref.video_id)
    rec.close_run(run_id, complete=True, n_videos=n_videos, n_soundtracks=n_videos * len(generators), n_failures=0,
                  video_seconds=n_videos * duration, timings={})
    return ids


def pg_schema_url() -> tuple[str, Callable[[], None]]:
    """A fresh PostgreSQL schema (URL, cleanup); skips when EMSYNC_TEST_PG_URL is not set."""
    base = os.environ.get("EMSYNC_TEST_PG_URL")
    if not base:
        pytest.skip("EMSYNC_TEST_PG_URL is not set (infra/test.sh sets it)")
    schema = f"s_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    with admin.begin() as c:
        c.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in base else "?"

    def cleanup() -> None:
        with admin.begin() as c:
            c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()

    return f"{base}{sep}options=-csearch_path%3D{schema}", cleanup
