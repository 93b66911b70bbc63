"""`emsync score` end to end on a synthetic lavfi clip, a shared real clip and a broken file, with one
shared local Ray: outputs, database consistency, idempotent rerun, one-scene regeneration, HTTP API."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import ray
from sqlalchemy import func, select

from emsync_core.db.engine import open_database
from emsync_core.db.models import Emotion, Failure, Scene, Soundtrack, Video
from emsync_core.render import midi as midi_tools
from emsync_core.scoring.models import ModelSpec
from emsync_core.scoring.overrides import OverrideError, read_overrides
from emsync_core.scoring.regenerate import apply_overrides, current_soundtrack, regenerate_scene
from emsync_core.scoring.options import ScoreOptions
from ray_serve.score_pipeline import run_score
from tests.score.conftest import BACKBONES, SYNTHETIC_CUTS

pytestmark = pytest.mark.slow
CLASSIFIER = "emsync_core.emotion.classifier:load_classifier"


def video_md5(path: str) -> str:
    return subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-map", "0:v:0", "-c", "copy", "-f", "md5", "-"],
                          capture_output=True, check=True, text=True).stdout.strip()


def durations(path: str) -> dict[str, float]:
    info = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", path],
                                     capture_output=True, check=True).stdout)
    return {s["codec_type"]: float(s["duration"]) for s in info["streams"]}


def sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def ray_session(checkpoints):
    """One local Ray for the module; the served app reads its scoring models from the nodes' environment."""
    env = {"EMSYNC_CLASSIFIER_LOADER": CLASSIFIER, "EMSYNC_CLASSIFIER_CHECKPOINT": checkpoints[0],
           "EMSYNC_GENERATOR_CHECKPOINT": checkpoints[1], "EMSYNC_BACKBONES": ",".join(BACKBONES)}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        yield
        ray.shutdown()


@pytest.fixture(scope="module")
def options(media, checkpoints, private_dir):
    emotion, music = checkpoints
    return ScoreOptions(catalog=media["catalog"], out=str(private_dir / "out"), backbones=BACKBONES,
                        extract_workers=1, show_progress=False,
                        models=ModelSpec(classifier=CLASSIFIER, classifier_checkpoint=emotion, generator_checkpoint=music))


@pytest.fixture(scope="module")
def first_run(ray_session, options):
    return run_score(options)


def test_every_video_gets_a_consistent_soundtrack_and_bad_input_a_failure_row(first_run, options, media):
    n_good = 2 if media["shared"] else 1
    assert len(first_run.scored) == n_good and not first_run.already_done
    assert [f.stage for f in first_run.failed] == ["probe"] and first_run.failed[0].uri.endswith("broken.mp4")
    sessions = open_database(options.db_url())
    with sessions() as s:
        tracks = s.scalars(select(Soundtrack)).all()
        assert len(tracks) == n_good
        failure = s.scalars(select(Failure)).one()
        assert failure.uri.endswith("broken.mp4") and failure.message and failure.resolved_at is None
        for st in tracks:
            video = s.get(Video, st.video_id)
            marker = json.loads(Path(options.out, "videos", f"{st.video_id}.json").read_text())
            assert video.status == "scored" and st.cuts_s == marker["cuts_s"] == video.cuts_s
            # the video stream is copied bit for bit; the audio lasts as long as the video
            assert video_md5(st.video_uri) == video_md5(video.uri)
            d = durations(st.video_uri)
            assert abs(d["audio"] - d["video"]) < 0.1
            # MIDI cut markers are the detected (thinned) cuts
            assert midi_tools.cut_markers(Path(st.midi_uri).read_bytes()) == pytest.approx(marker["cuts_s"], abs=0.01)
            # rows and files agree
            for uri, digest in ((st.midi_uri, st.midi_sha256), (st.audio_uri, st.audio_sha256), (st.video_uri, st.video_sha256)):
                assert sha256(uri) == digest
            assert Path(st.plot_uri).read_bytes()[:4] == b"\x89PNG"
            n_scenes = s.scalar(select(func.count()).select_from(Scene).where(Scene.video_id == st.video_id))
            assert n_scenes == len(st.conditions) >= 1
            assert s.scalar(select(func.count()).select_from(Emotion).join(Scene).where(Scene.video_id == st.video_id)) == n_scenes
        synthetic = next(st for st in tracks if s.get(Video, st.video_id).uri.endswith("synthetic.mp4"))
    assert synthetic.cuts_s == pytest.approx(SYNTHETIC_CUTS, abs=0.05)
    assert synthetic.render["mux_mode_used"] == "duck" and synthetic.render["speech_spans"]
    files = sorted(p.name for p in Path(options.out, "soundtracks").rglob("*") if p.is_file())
    assert len(files) == 5 * n_good and not [f for f in files if f.startswith(".")]  # mid, flac, wav stem, video, plot


def test_rerun_does_no_work_and_duplicates_nothing(first_run, options):
    before = sorted((p, p.stat().st_mtime_ns) for p in Path(options.out, "soundtracks").rglob("*") if p.is_file())
    again = run_score(options)
    assert again.scored == [] and len(again.already_done) == len(first_run.scored)
    assert again.run_id == first_run.run_id  # incomplete (a broken input): the same run resumes
    after = sorted((p, p.stat().st_mtime_ns) for p in Path(options.out, "soundtracks").rglob("*") if p.is_file())
    assert after == before
    with open_database(options.db_url())() as s:
        assert s.scalar(select(func.count()).select_from(Soundtrack)) == len(first_run.scored)
        assert s.scalar(select(Failure.attempts)) == 2


def assert_unchanged_outside(old, new, start_s: float, end_s: float) -> None:
    """The notes starting outside a re-scored scene are the same (notes sounding into it are cut at its
    start). Each render writes a tempo map on the bar lines and the new scene moves some of them, so an
    onset may shift by a MIDI tick's rounding (well under 2 ms), never more; onsets within that of the
    scene's edges are left out, as they may cross an edge."""
    guard = 0.005

    def outside(pm):
        return sorted((n.pitch, n.start) for i in pm.instruments for n in i.notes
                      if n.start < start_s - guard or n.start >= end_s + guard)

    before, after = outside(old), outside(new)
    assert [p for p, _ in after] == [p for p, _ in before]
    assert max((abs(a - b) for (_, a), (_, b) in zip(after, before)), default=0.0) < 0.002


def test_regenerating_one_scene_keeps_the_rest(first_run, options):
    """With the SHIPPED generator (the default): the new scene is real model output spliced into the rest."""
    parent = next(r for r in first_run.scored if len(r.conditions) >= 2)
    scene = parent.conditions[1]
    record, row_id = regenerate_scene(options.db_url(), options.out, parent.video_id[:8], scene["scene_index"], 7)
    assert record.generator_version != parent.generator_version  # shipped model, not the untrained test one
    assert record.regenerated_scene == scene["scene_index"] and record.scene_seeds == {str(scene["scene_index"]): 7}
    old, new = midi_tools.load(Path(parent.midi_uri).read_bytes()), midi_tools.load(Path(record.midi_uri).read_bytes())

    assert_unchanged_outside(old, new, scene["start_s"], scene["end_s"])
    assert video_md5(record.video_uri) == video_md5(parent.video_uri)
    d = durations(record.video_uri)
    assert abs(d["audio"] - d["video"]) < 0.1
    with open_database(options.db_url())() as s:
        assert s.get(Soundtrack, row_id).parent_id is not None
    again, same_id = regenerate_scene(options.db_url(), options.out, parent.video_id, scene["scene_index"], 7)
    assert again is None and same_id == row_id


def test_mood_overrides_rescore_only_the_changed_scene_and_keep_the_verdicts(first_run, options, tmp_path):
    video_id = next(r for r in first_run.scored if len(r.conditions) >= 2).video_id
    current = current_soundtrack(options.db_url(), video_id)
    scene = current.plan.moods[1]
    with open_database(options.db_url())() as s:
        n_tracks, n_emotions = s.scalar(select(func.count()).select_from(Soundtrack)), s.scalar(select(func.count()).select_from(Emotion))
    bad = tmp_path / "bad.csv"
    bad.write_text(f"video,scene,valence,arousal,brief\n{video_id},{scene.scene_index},,,joyful\nnope,0,0.5,0.5,\n")
    with pytest.raises(OverrideError, match="bad.csv:3: video id 'nope' matches 0 videos"):
        apply_overrides(options.db_url(), options.out, read_overrides(bad))
    with open_database(options.db_url())() as s:  # nothing applied half-way
        assert s.scalar(select(func.count()).select_from(Soundtrack)) == n_tracks
    good = tmp_path / "good.csv"
    good.write_text(f"video,scene,valence,arousal,brief\n{video_id[:8]},{scene.scene_index},,,joyful\n")
    [outcome] = apply_overrides(options.db_url(), options.out, read_overrides(good))
    assert outcome.changed_scenes == [scene.scene_index] and outcome.new
    with open_database(options.db_url())() as s:
        row = s.get(Soundtrack, outcome.soundtrack_id)
        assert row.parent_id == current.parent.id and s.scalar(select(func.count()).select_from(Emotion)) == n_emotions
        verdict = s.scalar(select(Emotion.valence).join(Scene, Scene.id == Emotion.scene_id)
                           .where(Scene.video_id == video_id, Scene.scene_index == scene.scene_index))
    by_scene = {c["scene_index"]: c for c in row.conditions}
    assert by_scene[scene.scene_index]["source"] == "override:good.csv:2" and by_scene[scene.scene_index]["valence"] > 0.5
    assert verdict < 0.5  # the classifier's own verdict stays beside the override
    assert all(c["source"] == "classifier" for k, c in by_scene.items() if k != scene.scene_index)
    old, new = midi_tools.load(Path(current.parent.midi_uri).read_bytes()), midi_tools.load(Path(row.midi_uri).read_bytes())
    assert_unchanged_outside(old, new, scene.start_s, scene.end_s)


def test_http_api_scores_a_posted_uri_and_serves_results(first_run, options, media):
    from ray import serve

    from emsync_core.api.keys import create_key
    from emsync_core.api.policy import ApiSettings
    from ray_serve.app import serve_app

    with open_database(options.db_url()).begin() as s:
        _, secret = create_key(s, "e2e", ("read", "score"))
    settings = ApiSettings(catalog_roots=(media["catalog"],))
    served = serve_app(options.db_url(), port=8765, surface="api", settings=settings)
    try:
        with httpx.Client(base_url=served.url, timeout=30, headers={"Authorization": f"Bearer {secret}"}) as client:
            assert httpx.get(f"{served.url}/api/soundtracks").status_code == 401  # no key, no archive
            tracks = client.get("/api/soundtracks").json()
            assert {t["video_id"] for t in tracks} >= {r.video_id for r in first_run.scored}
            scenes = client.get("/api/scenes", params={"valence_min": -1, "valence_max": 1}).json()
            assert scenes and all(-1 <= s["valence"] <= 1 for s in scenes)
            assert client.get("/api/scenes", params={"emotion": "boredom"}).status_code == 422
            assert client.post("/api/score", json={"uri": "/nonexistent.mp4"}).status_code == 404
            done = first_run.scored[0]
            # the served options match this module's run, so the job finds the soundtrack already made (a
            # fresh video goes through the same run_score; it took ~90 s here, too long for the suite)
            job = client.post("/api/score", json={"uri": str(Path(media["catalog"]) / "synthetic.mp4")}).json()
            deadline = time.time() + 240
            while (state := client.get(job["status_url"]).json())["status"] in ("queued", "running") and time.time() < deadline:
                time.sleep(1)
            assert state["status"] == "done", state
            synthetic = next(t for t in state["soundtracks"] if t["uri"].endswith("synthetic.mp4"))
            video = client.get(synthetic["files"]["video"])
            assert video.status_code == 200 and video.content == Path(synthetic["video_uri"]).read_bytes()
            assert done.video_id in {t["video_id"] for t in client.get("/api/soundtracks", params={"run_id": first_run.run_id}).json()}
    finally:
        serve.shutdown()
