"""Assemble a video's generated parts, render and mux them, and describe the result as a DB record.

Called from a Ray CPU task for whole videos and in-process for a regenerated scene; the record it
returns is written to the database by the caller after the files are in place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from emsync_core import __version__
from emsync_core.db.record import SoundtrackRecord
from emsync_core.music.heard import soundtrack_stats
from emsync_core.render.pipeline import RenderJob, RenderSettings, render
from emsync_core.scoring.assemble import Assembled, Piece, assemble, cut_alignment
from emsync_core.scoring.models import ModelIdentity
from emsync_core.scoring.plan import ScorePlan, variant_key
from emsync_core.store import uri as store


@dataclass(frozen=True)
class FinishInput:
    plan: ScorePlan
    pieces: tuple[Piece, ...]
    video_uri: str
    out_root: str
    generator: ModelIdentity
    classifier: ModelIdentity
    base: Assembled | None = None  # the parent soundtrack, when regenerating one scene
    parent_id: int | None = None
    regenerated_scene: int | None = None


def output_prefix(out_root: str, video_id: str, key: str) -> str:
    return store.join(out_root, "soundtracks", video_id, key[:16])


def finish(inp: FinishInput, settings: RenderSettings) -> SoundtrackRecord:
    plan = inp.plan
    render_dict = settings.as_dict()
    key = variant_key(plan, generator=inp.generator, classifier=inp.classifier, render=render_dict)
    music = assemble(list(inp.pieces), inp.base)
    result = render(RenderJob(video_uri=inp.video_uri, midi_bytes=music.midi_bytes, duration_s=plan.duration_s,
                              cuts_s=plan.cuts_s, chord_onsets_s=music.chord_onsets_s, conditions=tuple(plan.conditions()),
                              out_prefix=output_prefix(inp.out_root, plan.video_id, key),
                              title=f"{plan.video_id}  seed {plan.seed}"), settings)
    align = cut_alignment(list(plan.cuts_s), list(music.chord_onsets_s))
    heard = soundtrack_stats(music.midi_bytes, plan.cuts_s, plan.duration_s)
    return SoundtrackRecord(
        video_id=plan.video_id, variant_key=key, seed=plan.seed, generator_version=inp.generator.version,
        generator_sha256=inp.generator.sha256, classifier_version=inp.classifier.version,
        classifier_sha256=inp.classifier.sha256, code_version=__version__, conditions=plan.conditions(),
        cuts_s=list(plan.cuts_s), chord_onsets_s=list(music.chord_onsets_s),
        sampling={**plan.sampling.__dict__, "max_chunk_s": plan.max_chunk_s,
                  **({"brief": plan.brief, "ensemble": plan.ensemble} if plan.brief else {})},
        render={**render_dict, "mux_mode_used": result.mux_mode, "speech_spans": result.speech_spans,
                "stem_wav_uri": result.wav_uri, "cpu_s": result.cpu_s, "heard": heard.as_dict(),
                **({"enhancement": result.enhancement} if result.enhancement is not None else {})},
        midi_uri=result.midi_uri, audio_uri=result.audio_uri, video_uri=result.video_uri, plot_uri=result.plot_uri,
        midi_sha256=result.midi_sha256, audio_sha256=result.audio_sha256, video_sha256=result.video_sha256,
        duration_s=plan.duration_s, n_tokens=music.n_tokens, n_cuts=align.n_cuts, n_cuts_matched=align.n_matched,
        mean_cut_offset_s=align.mean_offset_s, loudness_lufs=result.loudness_lufs,
        scene_seeds={str(k): v for k, v in plan.scene_seeds}, parent_id=inp.parent_id,
        regenerated_scene=inp.regenerated_scene, timings=result.timings)
