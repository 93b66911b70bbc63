"""POST /api/moods end to end: a real 10 s video is extracted, classified by the shipped emotion model and
scored in-process (no Ray: one video needs no cluster), then one scene's mood is changed through the
archive API with a key. Only that scene is re-scored; the new soundtrack names the override as the
scene's source, and the classifier's own verdict stays in the emotions table."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from emsync_core.api.keys import create_key
from emsync_core.api.policy import ApiSettings
from emsync_core.db.engine import open_database
from emsync_core.db.models import Emotion, Scene, Soundtrack
from emsync_core.db.record import Recorder, VideoFacts
from emsync_core.emotion import load_classifier
from emsync_core.emotion.features_io import read_videos
from emsync_core.features.extract_video import ExtractSettings, OutputLayout, VideoFeatureExtractor
from emsync_core.music import load_generator
from emsync_core.render import midi as midi_tools
from emsync_core.render.pipeline import RenderSettings
from emsync_core.scoring.assemble import Piece
from emsync_core.scoring.finish import FinishInput, finish
from emsync_core.scoring.models import ModelIdentity, identity
from emsync_core.scoring.moods import scene_moods
from emsync_core.scoring.plan import ScorePlan, chunk_requests
from emsync_core.store.catalog import resolve_ref
from ray_serve.app import build_api_app

CUT_S = 5.0


def make_video(path: Path) -> Path:
    """10 s: a test pattern, then colour bars from 5 s (one cut), over a quiet tone."""
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=5",
                    "-f", "lavfi", "-i", "smptebars=size=320x240:rate=25:duration=5", "-f", "lavfi", "-i",
                    "sine=frequency=220:duration=10", "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0,format=yuv420p[v];"
                    "[2:a]volume=0.05[a]", "-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-preset", "ultrafast",
                    "-c:a", "aac", "-t", "10", str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def scored(tmp_path_factory) -> dict:
    """The video scored as `emsync score` would, recorded in a SQLite database beside the outputs."""
    out = tmp_path_factory.mktemp("moods-api")
    ref = resolve_ref(str(make_video(out / "two_scenes.mp4")))
    layout = OutputLayout(str(out))
    outcome = VideoFeatureExtractor(ExtractSettings(backbones=("mobilenet_v2", "efficientnet_lite0"))).run(ref, layout)
    assert outcome.status == "ok", outcome.record
    facts = VideoFacts.from_marker(outcome.record)
    [(_, table)] = read_videos(layout.features(ref.video_id))
    classifier = load_classifier()
    verdicts = classifier.classify(table)
    db = f"sqlite:///{out / 'emsync.db'}"
    recorder = Recorder(open_database(db))
    recorder.record_video(facts, status="extracted")
    recorder.record_emotions(ref.video_id, verdicts, classifier_version=classifier.model_version,
                             classifier_sha256=classifier.model_sha256, run_id=None)
    plan = ScorePlan(ref.video_id, float(facts.duration_s), tuple(facts.cuts_s), scene_moods(verdicts), seed=0)
    generator = load_generator()
    requests = chunk_requests(plan)
    results = generator.generate([r for _, r in requests])
    pieces = tuple(Piece(c, res.midi_bytes, tuple(res.chord_onsets_s), res.n_tokens) for (c, _), res in zip(requests, results))
    record = finish(FinishInput(plan, pieces, ref.uri, str(out), identity(generator),
                                ModelIdentity(classifier.model_version, classifier.model_sha256)), RenderSettings())
    parent_id = recorder.record_soundtrack(record, run_id=None)
    return {"db": db, "video_id": ref.video_id, "plan": plan, "parent_id": parent_id, "midi_uri": record.midi_uri}


@pytest.fixture()
def client(scored):
    sessions = open_database(scored["db"])
    with sessions.begin() as s:
        _, secret = create_key(s, "mood-editor", ("read", "score"))
    app = build_api_app(scored["db"], ApiSettings(catalog_roots=(str(Path(scored["midi_uri"]).parent),)))
    with TestClient(app, base_url="http://127.0.0.1", headers={"Authorization": f"Bearer {secret}"}) as c:
        yield c


def notes_outside(midi_bytes: bytes, start_s: float, end_s: float, guard: float = 0.005) -> list[tuple[int, float]]:
    """(pitch, onset) of notes starting outside a scene; onsets at its edges may cross them by a tick."""
    pm = midi_tools.load(midi_bytes)
    return sorted((n.pitch, n.start) for i in pm.instruments for n in i.notes if n.start < start_s - guard or n.start >= end_s + guard)


def test_a_posted_mood_rescores_only_that_scene_and_keeps_the_verdict(scored, client):
    plan, video_id = scored["plan"], scored["video_id"]
    assert plan.cuts_s == pytest.approx([CUT_S], abs=0.05) and len(plan.moods) == 2
    scene = plan.moods[1]
    with open_database(scored["db"])() as s:
        n_emotions = s.scalar(select(func.count()).select_from(Emotion))
        verdict = s.scalar(select(Emotion.valence).join(Scene, Scene.id == Emotion.scene_id)
                           .where(Scene.video_id == video_id, Scene.scene_index == scene.scene_index))
    target = (-0.8, 0.6) if verdict > 0 else (0.8, 0.6)  # far from what the classifier said

    assert client.post("/api/moods", json={"moods": [{"video": video_id[:8], "scene": 1, "valence": 0.1}]}).status_code == 422
    assert TestClient(client.app, base_url="http://127.0.0.1").post("/api/moods", json={"moods": []}).status_code == 401
    job = client.post("/api/moods", json={"moods": [{"video": video_id[:8], "scene": scene.scene_index,
                                                     "valence": target[0], "arousal": target[1]}]})
    assert job.status_code == 202
    deadline = time.time() + 120
    while (state := client.get(job.json()["status_url"]).json())["status"] in ("queued", "running") and time.time() < deadline:
        time.sleep(0.2)
    assert state["status"] == "done", state
    assert [t["video_id"] for t in state["soundtracks"]] == [video_id]

    with open_database(scored["db"])() as s:
        child = s.scalars(select(Soundtrack).where(Soundtrack.parent_id == scored["parent_id"])).one()
        parent = s.get(Soundtrack, scored["parent_id"])
        assert s.scalar(select(func.count()).select_from(Emotion)) == n_emotions
        assert s.scalar(select(Emotion.valence).join(Scene, Scene.id == Emotion.scene_id)
                        .where(Scene.video_id == video_id, Scene.scene_index == scene.scene_index)) == verdict
    by_scene = {c["scene_index"]: c for c in child.conditions}
    assert (by_scene[scene.scene_index]["valence"], by_scene[scene.scene_index]["arousal"]) == target
    assert by_scene[scene.scene_index]["source"].startswith("override:") and "moods[0]" in by_scene[scene.scene_index]["source"]
    assert [c for c in child.conditions if c["scene_index"] != scene.scene_index] == \
        [c for c in parent.conditions if c["scene_index"] != scene.scene_index]
    assert child.classifier_sha256 == parent.classifier_sha256
    old, new = Path(parent.midi_uri).read_bytes(), Path(child.midi_uri).read_bytes()
    assert old != new
    before, after = notes_outside(old, scene.start_s, scene.end_s), notes_outside(new, scene.start_s, scene.end_s)
    assert [p for p, _ in after] == [p for p, _ in before]
    assert max((abs(a - b) for (_, a), (_, b) in zip(after, before)), default=0.0) < 0.002
