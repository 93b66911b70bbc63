"""Re-score some scenes of a video's current soundtrack, keeping the rest of it.

Two ways in: one scene with a new seed (`regenerate_scene`), or new moods for some scenes
(`rescore_moods`, from an overrides file or the HTTP API). Runs in-process (a few requests do not
need a cluster): each changed scene's span is generated alone and spliced into the current MIDI; the
result is a new soundtrack variant whose record names its parent, its (scene, seed) overrides and,
in its conditions, who set each scene's mood, so it can be reproduced. The classifier's own verdicts
stay untouched in the emotions table.
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
from emsync_core.scoring.overrides import MoodOverride, OverrideError, resolve
from emsync_core.scoring.plan import DEFAULT_MAX_CHUNK_S, ScorePlan, SceneMood, derived_seed, scene_request, variant_key
from emsync_core.store import uri as store


class RegenerateError(ValueError):
    """The video, its soundtrack or the scene cannot be found."""


@dataclasses.dataclass(frozen=True)
class CurrentSoundtrack:
    """A video and its latest soundtrack, with the plan that made it."""

    video: Video
    parent: Soundtrack
    plan: ScorePlan


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


def current_soundtrack(db_url: str, video_id: str) -> CurrentSoundtrack:
    """The video (id or unique prefix) and its latest soundtrack; RegenerateError when either is missing."""
    with open_database(db_url)() as s:
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
        tuple(SceneMood(c["scene_index"], c["start_s"], c["end_s"], c["valence"], c["arousal"], c.get("source", "classifier"))
              for c in parent.conditions),
        parent.seed, SamplingSettings(**{k: v for k, v in recorded.items() if k in sampling_fields}),
        float(parent.sampling.get("max_chunk_s", DEFAULT_MAX_CHUNK_S)),
        tuple(sorted((int(k), int(v)) for k, v in parent.scene_seeds.items())),
        brief=parent.sampling.get("brief", ""), ensemble=parent.sampling.get("ensemble"))
    return CurrentSoundtrack(video, parent, plan)


def _splice(db_url: str, out: str, current: CurrentSoundtrack, plan: ScorePlan, scenes: list[int],
            models: ModelSpec) -> tuple[SoundtrackRecord | None, int]:
    """Generate `scenes` of `plan` alone, splice them into the parent's MIDI, render and record."""
    recorder = Recorder(open_database(db_url))
    parent = current.parent
    settings = render_settings_of(parent.render)
    generator = load_generator(models)
    gen_id = identity(generator)
    cls_id = ModelIdentity(parent.classifier_version, parent.classifier_sha256)
    key = variant_key(plan, generator=gen_id, classifier=cls_id, render=settings.as_dict())
    existing = recorder.soundtrack_id(plan.video_id, key)
    if existing is not None:
        return None, existing
    seeds = dict(plan.scene_seeds)
    requests = [scene_request(plan, s, seeds.get(s, derived_seed(plan.seed, plan.video_id, f"s{s}"))) for s in scenes]
    results = generator.generate([r for _, r in requests])
    base = Assembled(store.read_bytes(parent.midi_uri), tuple(parent.chord_onsets_s), parent.n_tokens)
    pieces = tuple(Piece(chunk, res.midi_bytes, tuple(res.chord_onsets_s), res.n_tokens) for (chunk, _), res in zip(requests, results))
    record = finish(FinishInput(plan, pieces, current.video.uri, out, gen_id, cls_id, base=base, parent_id=parent.id,
                                regenerated_scene=scenes[0] if len(scenes) == 1 else None), settings)
    return record, recorder.record_soundtrack(record, run_id=None)


def regenerate_scene(db_url: str, out: str, video_id: str, scene_index: int, seed: int,
                     models: ModelSpec = ModelSpec()) -> tuple[SoundtrackRecord | None, int]:
    """Returns (the new record, its row id); the record is None when this variant already existed."""
    current = current_soundtrack(db_url, video_id)
    if scene_index not in {m.scene_index for m in current.plan.moods}:
        raise RegenerateError(f"video {current.video.video_id} has no scene {scene_index}")
    plan = dataclasses.replace(current.plan, scene_seeds=tuple(sorted({**dict(current.plan.scene_seeds), scene_index: seed}.items())))
    return _splice(db_url, out, current, plan, [scene_index], models)


def rescore_moods(db_url: str, out: str, current: CurrentSoundtrack, moods: dict[int, SceneMood],
                  models: ModelSpec = ModelSpec()) -> tuple[SoundtrackRecord | None, int, list[int]]:
    """New moods for some scenes (validated by the caller): re-score only the scenes whose mood changed.
    Returns (record or None when nothing changed / already made, row id or the parent's, changed scenes)."""
    changed = [m.scene_index for m in current.plan.moods
               if m.scene_index in moods and (moods[m.scene_index].valence, moods[m.scene_index].arousal,
                                              moods[m.scene_index].source) != (m.valence, m.arousal, m.source)]
    if not changed:
        return None, current.parent.id, []
    plan = dataclasses.replace(current.plan, moods=tuple(moods.get(m.scene_index, m) for m in current.plan.moods))
    record, row_id = _splice(db_url, out, current, plan, changed, models)
    return record, row_id, changed


@dataclasses.dataclass(frozen=True)
class OverrideOutcome:
    video_id: str
    changed_scenes: list[int]
    soundtrack_id: int
    new: bool  # False: nothing changed, or this variant already existed


def check_overrides(db_url: str, entries: list[MoodOverride]) -> list[tuple[CurrentSoundtrack, dict[int, SceneMood]]]:
    """Every entry checked against its video's current soundtrack (OverrideError naming the line):
    per video, the soundtrack and the new scene moods. Writes nothing."""
    by_video: dict[str, list[MoodOverride]] = {}
    for entry in entries:
        by_video.setdefault(entry.video, []).append(entry)
    planned = []
    for video, group in by_video.items():
        try:
            current = current_soundtrack(db_url, video)
        except RegenerateError as exc:
            raise OverrideError(f"{group[0].where}: {exc}") from None
        planned.append((current, resolve(group, current.plan.moods, current.plan.duration_s)))
    return planned


def apply_overrides(db_url: str, out: str, entries: list[MoodOverride], models: ModelSpec = ModelSpec()) -> list[OverrideOutcome]:
    """Check the whole file first, then re-score each video's changed scenes: nothing is applied
    unless every entry is valid."""
    outcomes = []
    for current, moods in check_overrides(db_url, entries):
        record, row_id, changed = rescore_moods(db_url, out, current, moods, models)
        outcomes.append(OverrideOutcome(current.video.video_id, changed, row_id, record is not None))
    return outcomes
