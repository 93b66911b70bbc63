"""Scene activity (motion, shot rhythm, loudness): neutral at the documented points, rising with each cue, clipped."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from emsync_core.emotion.activity import (
    LOUDNESS_NEUTRAL_LUFS,
    MOTION_NEUTRAL,
    SHOT_NEUTRAL_S,
    loudness_component,
    motion_component,
    rhythm_component,
    scene_activity,
)
from emsync_core.features.audio_affect import AUDIO_AFFECT_FIELDS
from emsync_core.features.visual_affect import VISUAL_AFFECT_FIELDS


def test_components_are_zero_at_their_neutral_points_and_rise_with_the_cue():
    assert motion_component(MOTION_NEUTRAL) == pytest.approx(0.0)
    assert rhythm_component(SHOT_NEUTRAL_S, 0) == pytest.approx(0.0)
    assert loudness_component(LOUDNESS_NEUTRAL_LUFS) == pytest.approx(0.0)
    assert motion_component(0.0) == -1.0 < motion_component(0.003) < 0 < motion_component(0.03) < motion_component(1.0) == 1.0
    assert rhythm_component(20.0, 0) == -1.0 < rhythm_component(6.0, 0) < 0 < rhythm_component(6.0, 1) < rhythm_component(6.0, 20) == 1.0
    assert loudness_component(-70.0) == -1.0 < loudness_component(-30.0) < 0 < loudness_component(-15.0) < loudness_component(0.0) == 1.0


def _windows(motion: list[float], cuts_per_s: list[float], lufs: list[float | None] | None) -> pa.Table:
    n = len(motion)
    visual = np.zeros((n, len(VISUAL_AFFECT_FIELDS)), np.float32)
    visual[:, VISUAL_AFFECT_FIELDS.index("motion_energy")] = motion
    visual[:, VISUAL_AFFECT_FIELDS.index("cut_density")] = cuts_per_s
    columns = {
        "start_s": pa.array([2.0 * i for i in range(n)]),
        "end_s": pa.array([2.0 * i + 2 for i in range(n)]),
        "feat_visual_affect": pa.FixedSizeListArray.from_arrays(pa.array(visual.reshape(-1)), visual.shape[1]),
    }
    if lufs is not None:
        audio = np.zeros((n, len(AUDIO_AFFECT_FIELDS)), np.float32)
        audio[:, AUDIO_AFFECT_FIELDS.index("loudness_lufs")] = [np.nan if x is None else x for x in lufs]
        columns["feat_audio_affect"] = pa.FixedSizeListArray.from_arrays(pa.array(audio.reshape(-1)), audio.shape[1])
    return pa.table(columns)


def test_scene_activity_averages_the_components_it_has_evidence_for():
    calm, calm_sources = scene_activity(_windows([0.001] * 4, [0.0] * 4, [-50.0] * 4))
    busy, busy_sources = scene_activity(_windows([0.1] * 4, [0.5] * 4, [-10.0] * 4))
    assert calm == pytest.approx(-1.0) and busy > 0.8
    assert calm_sources == busy_sources == ("visual_affect", "audio_affect")
    # No audio track: motion and rhythm alone; audio present in some windows only: those windows' loudness.
    mute, sources = scene_activity(_windows([0.1] * 4, [0.5] * 4, None))
    assert sources == ("visual_affect",) and mute == pytest.approx(1.0)
    partly, _ = scene_activity(_windows([0.01] * 4, [0.0] * 4, [-23.0, None, None, None]))
    assert partly == pytest.approx(np.mean([0.0, np.log2(SHOT_NEUTRAL_S / 8.0), 0.0]))
    assert scene_activity(pa.table({"start_s": [0.0], "end_s": [2.0]})) is None
