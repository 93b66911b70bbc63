"""Regenerate one scene's music with a new seed, keeping the rest of the current soundtrack.

Runs in-process (one request does not need a cluster): the scene's span is generated alone with the
scene's recorded V/A and spliced into the current MIDI; the result is a new soundtrack variant whose
record names its parent and the (scene, seed) overrides, so it can be reproduced.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from emsync_core.db.engine import open_database
from emsync_core.db.models import Soundtrack, Video
from emsync_core.db.record import Recorder, SoundtrackRecord
from emsync_core.music import SamplingSettings
from emsync_core.render.master import MasterSettings
from emsync_core.render.pipeline import RenderSettings
from emsync_core.scoring.assemble import Assembled, Piece
from emsync_core.scoring.finish import FinishInput, finish
from emsync_core.scoring.models import ModelIdentity, ModelSpec, identity, load_generator
from emsync_core.scoring.plan import ScorePlan, SceneMood, scene_request, variant_key
from emsync_core.store import uri as store


class RegenerateError(ValueError):
    """The video, its soundtrack or the scene cannot be found."""


def render_settings_of(render: dict) -> RenderSettings:
    """The render settings a soundtrack was made with (so the regenerated one sounds the same)."""
    default = RenderSettings()
    return RenderSettings(
        mux_mode=render.get("mux_mode", default.mux_mode),
        master=MasterSettings(target_lufs=render.get("target_lufs", default.master.target_lufs),
                              ceiling_db=render.get("ceiling_db", default.master.ceiling_db),
                              fade_out_s=render.get("fade_out_s", default.master.fade_out_s),
                              reverb=render.get("reverb", default.master.reverb)),
        duck_db=render.get("duck_db", default.duck_db), music_under_db=render.get("music_under_db", default.music_under_db),
        enhance_audio=bool(render.get("enhance_audio", False)))


def regenerate_scene(db_url: str, out: str, video_id: str, scene_index: int, seed: int,
                     models: ModelSpec = ModelSpec()) -> tuple[SoundtrackRecord | None, int]:
    """Returns (the new record, its row id); the record is None when this variant already existed."""
    sessions = open_database(db_url)
    recorder = Recorder(sessions)
    with sessions() as s:
        videos = s.scalars(select(Video).where(Video.video_id.startswith(video_id))).all()
        if len(videos) != 1:
            raise RegenerateError(f"video id {video_id!r} matches {len(videos)} videos")
        video = videos[0]
        parent = s.scalars(select(Soundtrack).where(Soundtrack.video_id == video.video_id)
                           .order_by(Soundtrack.created_at.desc(), Soundtrack.id.desc()).limit(1)).first()
    if parent is None:
        raise RegenerateError(f"video {video.video_id} has no soundtrack yet: run `emsync score` first")
    sampling_fields = {f.name for f in dataclasses.fields(SamplingSettings)}
    # soundtracks recorded before the valence cues existed were sampled without them
    recorded = {"valence_cues": 0.0} | parent.sampling
    plan = ScorePlan(
        video.video_id, float(video.duration_s), tuple(parent.cuts_s),
        tuple(SceneMood(c["scene_index"], c["start_s"], c["end_s"], c["valence"], c["arousal"]) for c in parent.conditions),
        parent.seed, SamplingSettings(**{k: v for k, v in recorded.items() if k in sampling_fields}),
        float(parent.sampling.get("max_chunk_s", 120.0)),
        tuple(sorted({**{int(k): int(v) for k, v in parent.scene_seeds.items()}, scene_index: seed}.items())))
    settings = render_settings_of(parent.render)
    generator = load_generator(models)
    gen_id = identity(generator)
    cls_id = ModelIdentity(parent.classifier_version, parent.classifier_sha256)
    key = variant_key(plan, generator_sha256=gen_id.sha256, classifier_sha256=cls_id.sha256, render=settings.as_dict())
    existing = recorder.soundtrack_id(video.video_id, key)
    if existing is not None:
        return None, existing
    chunk, request = scene_request(plan, scene_index, seed)
    result = generator.generate([request])[0]
    base = Assembled(store.read_bytes(parent.midi_uri), tuple(parent.chord_onsets_s), parent.n_tokens)
    piece = Piece(chunk, result.midi_bytes, tuple(result.chord_onsets_s), result.n_tokens)
    record = finish(FinishInput(plan, (piece,), video.uri, out, gen_id, cls_id, base=base, parent_id=parent.id,
                                regenerated_scene=scene_index), settings)
    return record, recorder.record_soundtrack(record, run_id=None)
