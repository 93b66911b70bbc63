"""How active a scene is on screen and in its sound: the video arousal cues a still-image head cannot see.

Hanjalic & Xu ("Affective video content representation and modeling", IEEE Trans. Multimedia 7(1), 2005)
model a video's arousal from three low-level components: motion activity, the rhythm of shot cuts and
sound energy. The extraction already measures each per window (`visual_affect`: motion energy and raw
cuts per second; `audio_affect`: EBU R128 loudness). Each is put on a [-1, 1] scale around a fixed,
documented neutral point (no labelled video exists here to fit one), and the scene's activity is the
mean of the components it has evidence for. Absolute scales, not per-video normalisation: a static test
card stays calm however it compares with the rest of its video.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from emsync_core.emotion.features_io import modality
from emsync_core.features.audio_affect import AUDIO_AFFECT_FIELDS
from emsync_core.features.visual_affect import VISUAL_AFFECT_FIELDS

MOTION, CUTS = VISUAL_AFFECT_FIELDS.index("motion_energy"), VISUAL_AFFECT_FIELDS.index("cut_density")
LOUDNESS = AUDIO_AFFECT_FIELDS.index("loudness_lufs")
# Motion energy is the mean absolute luma change per frame pair (0-1). Neutral: 1 % (a few grey levels, a
# slowly moving shot); one decade either side spans the scale: 0.1 % is a still camera's noise, 10 % a
# whip pan or full-frame action.
MOTION_NEUTRAL = 0.01
# Shot rhythm: the scene's mean shot length (its span over its raw cuts + 1). Neutral: 4 s, about the
# average shot length of feature films since 2000 (Cutting, DeLong & Nothelfer 2010); one octave either
# side spans the scale (2 s shots +1, 8 s -1).
SHOT_NEUTRAL_S = 4.0
# Sound energy: EBU R128 loudness. Neutral: -23 LUFS, the R128 programme target; 20 LU either side spans
# the scale (-43 LUFS near silence -1, -3 LUFS +1).
LOUDNESS_NEUTRAL_LUFS = -23.0
LOUDNESS_SPAN_LU = 20.0


def motion_component(motion: float) -> float:
    return float(np.clip(np.log10(max(motion, 1e-6) / MOTION_NEUTRAL), -1.0, 1.0))


def rhythm_component(span_s: float, cuts: float) -> float:
    shot_s = max(span_s, 1e-3) / (cuts + 1.0)
    return float(np.clip(np.log2(SHOT_NEUTRAL_S / shot_s), -1.0, 1.0))


def loudness_component(lufs: float) -> float:
    return float(np.clip((lufs - LOUDNESS_NEUTRAL_LUFS) / LOUDNESS_SPAN_LU, -1.0, 1.0))


def scene_activity(part: pa.Table, scene_cuts_s: Sequence[float] = ()) -> tuple[float, tuple[str, ...]] | None:
    """A scene's windows -> (activity in [-1, 1], backbones it came from); None without either backbone.

    `scene_cuts_s`: the video's thinned cuts. They bound the scenes, so the one a scene's window holds is
    its own start, not a shot change inside it, and is not counted in its rhythm."""
    starts, ends = part.column("start_s").to_numpy(), part.column("end_s").to_numpy()
    durations = ends - starts
    components, sources = [], []
    visual = modality(part, "visual_affect")
    if visual.present.any() and visual.values.shape[1] > max(MOTION, CUTS):
        w = durations[visual.present]
        values = visual.values[visual.present]
        bounds = sum(int(((starts <= c) & (c < ends)).any()) for c in scene_cuts_s)
        inner_cuts = max(float((values[:, CUTS] * w).sum()) - bounds, 0.0)
        components.append(motion_component(float(np.average(values[:, MOTION], weights=w))))
        components.append(rhythm_component(float(w.sum()), inner_cuts))
        sources.append("visual_affect")
    audio = modality(part, "audio_affect")
    if audio.present.any() and audio.values.shape[1] > LOUDNESS:
        lufs = float(np.average(audio.values[audio.present, LOUDNESS], weights=durations[audio.present]))
        components.append(loudness_component(lufs))
        sources.append("audio_affect")
    if not components:
        return None
    return float(np.mean(components)), tuple(sources)
