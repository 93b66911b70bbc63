"""Per-scene emotion of one video's feature table: what the Ray stage calls (`load_classifier().classify`).

Scenes are the runs of windows sharing a `scene_index` (the thinned cuts). For each scene the learned
fusion head gives Ekman-6 probabilities and a direct V/A; V/A is the checkpoint's validated mix of
the direct regression and the Russell-Mehrabian mapping of the probabilities. Two untrained pathways
then nudge V/A where their backbones were extracted (fixed, documented priors; no labelled speech or
soundtrack data exists here to learn them): the speech transcript's VADER compound moves valence,
and music in the soundtrack moves V/A by what vibenet hears beyond neutral, where neutral and the
scale come from labelled music (EMOPIA, `emsync emotion music-prior`). Both are added, not averaged
in: a soundtrack that says little leaves the picture's mood as it is. A third rule adds what the head
cannot see in a still frame: the scene's activity (motion, shot rhythm, loudness; Hanjalic & Xu 2005,
`activity.py`) moves arousal. Finally each scene is
averaged with its neighbours by a Gaussian in time weighted by duration and confidence, so a short
scene borrows from its neighbours and the music does not jerk.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch

from emsync_core.emotion.activity import LOUDNESS_NEUTRAL_LUFS, LOUDNESS_SPAN_LU, MOTION_NEUTRAL, SHOT_NEUTRAL_S, scene_activity
from emsync_core.emotion.checkpoint import EmotionCheckpoint, load_checkpoint
from emsync_core.emotion.dataset import collate, example_from_table
from emsync_core.emotion.ekman import EKMAN
from emsync_core.emotion.scene import SceneEmotion
from emsync_core.emotion.features_io import FeatureTableError, modality, sort_windows
from emsync_core.features.music_affect import VIBENET_LABELS
from emsync_core.features.speech import COMPOUND_INDEX
from emsync_core.store.feature_parquet import METADATA_KEY, read_metadata

DEFAULT_MODEL = "emotion6_fusion_v2.safetensors"  # MobileNetV2 + EfficientNet-Lite0 frames, calibrated V/A (models/MODEL_CARD.md)
FACES_MODEL = "emotion6_fusion_faces_v1.safetensors"  # frames + faces: opt-in, no gain on Emotion6
SPEECH_VALENCE_GAIN = 0.3  # V shift per unit VADER compound, times the share of the scene with speech
MUSIC_GAIN = 0.25  # V/A shift per unit of the music's expected mood sign, times the share of the scene with music
# Arousal shift per unit of scene activity (activity.py): the music pathway's gain, about the arousal labels' std on
# the validation images (0.246). Hand-set: no labelled video here to fit it.
ACTIVITY_GAIN = 0.25
# vibenet valence -> expected valence sign, vibenet energy -> expected arousal sign: (centre, slope), least squares on
# 240 rendered EMOPIA clips (60 per quadrant, seed 0; models/MODEL_CARD.md). vibenet's 0.5 is not neutral.
MUSIC_VALENCE_LINE = (0.331, 0.541)  # AUC 0.56: vibenet valence barely tells EMOPIA's halves apart
MUSIC_AROUSAL_LINE = (0.487, 2.861)  # AUC 0.75
SPEECH_COMPOUND = COMPOUND_INDEX  # VADER compound in the speech backbone's vector
MUSIC_VALENCE, MUSIC_ENERGY = VIBENET_LABELS.index("valence"), VIBENET_LABELS.index("energy")
# The scene rules around the head move every mood: their digest joins the checkpoint's version, so soundtracks
# scored under other rules get another key and are scored again rather than reported as done.
SCENE_RULES = hashlib.sha256(repr((SPEECH_VALENCE_GAIN, MUSIC_GAIN, MUSIC_VALENCE_LINE, MUSIC_AROUSAL_LINE, ACTIVITY_GAIN,
                                   MOTION_NEUTRAL, SHOT_NEUTRAL_S, LOUDNESS_NEUTRAL_LUFS, LOUDNESS_SPAN_LU)).encode()).hexdigest()[:8]


@dataclass(frozen=True)
class _Raw:
    scene_index: int
    start_s: float
    end_s: float
    probs: np.ndarray
    va: np.ndarray
    confidence: float
    modalities: tuple[str, ...]


def _share(table: pa.Table, backbone: str, column: int) -> tuple[float, float]:
    """(share of windows where the backbone has evidence, mean of one of its dims there)."""
    m = modality(table, backbone)
    if not m.present.any() or m.values.shape[1] <= column:
        return 0.0, 0.0
    return float(m.present.mean()), float(m.values[m.present, column].mean())


class EmotionClassifier:
    """A loaded fusion head plus the per-scene logic around it."""

    def __init__(self, checkpoint: EmotionCheckpoint, smoothing_s: float = 3.0, use_speech: bool = True, use_music: bool = True,
                 use_activity: bool = True) -> None:
        self.checkpoint = checkpoint
        self.model_version = f"{checkpoint.version}+rules-{SCENE_RULES}"
        self.model_sha256 = checkpoint.sha256
        self.smoothing_s = smoothing_s
        self.use_speech = use_speech
        self.use_music = use_music
        self.use_activity = use_activity
        self.modalities = checkpoint.head.config.modalities
        self.dims = checkpoint.head.config.dims

    def classify(self, features: pa.Table) -> list[SceneEmotion]:
        """Per-scene emotion of one video's windows (any subset of backbones; missing ones masked)."""
        return [self._public(r) for r in self._smooth(self.scenes(features))]

    def scenes(self, features: pa.Table) -> list[_Raw]:
        """Per-scene results before smoothing."""
        table = sort_windows(features)
        if table.num_rows == 0:
            raise FeatureTableError("feature table has no windows")
        if len(set(table.column("video_id").to_pylist())) != 1:
            raise FeatureTableError("classify() takes one video's windows; group by video_id first")
        scene_ids = np.asarray(table.column("scene_index").to_numpy(zero_copy_only=False))
        order = list(dict.fromkeys(scene_ids.tolist()))
        parts = [table.filter(pa.array(scene_ids == s)) for s in order]
        cuts = _thinned_cuts(table)
        bounds = _scene_bounds([int(s) for s in order], parts, cuts)
        examples = [example_from_table(str(s), part, self.modalities, self.dims) for s, part in zip(order, parts)]
        with torch.inference_mode():
            values, masks = collate(examples)
            logits, direct = self.checkpoint.head(values, masks)
        probs = torch.softmax(logits, dim=1).numpy().astype(np.float64)
        direct = direct.numpy().astype(np.float64)
        mixed = self.checkpoint.va(probs, direct)
        out = []
        for k, (scene, part, example) in enumerate(zip(order, parts, examples)):
            va = mixed[k]
            present = [name for name, m in zip(self.modalities, example.masks) if m.any()]
            coverage = float(np.mean(np.any(np.stack(example.masks), axis=0))) if example.masks else 0.0
            va = self._adjust(part, va, present, cuts or ())
            certainty = 1.0 - float(-(probs[k] * np.log(np.clip(probs[k], 1e-12, 1))).sum() / np.log(len(EKMAN)))
            start, end = bounds[k]
            out.append(_Raw(int(scene), start, end, probs[k], va, certainty * coverage, tuple(dict.fromkeys(present))))  # a rule's backbone may be the head's too
        return out

    def _adjust(self, part: pa.Table, va: np.ndarray, present: list[str], scene_cuts_s: Sequence[float] = ()) -> np.ndarray:
        va = va.copy()
        if self.use_speech:
            share, compound = _share(part, "speech", SPEECH_COMPOUND)
            if share > 0:
                va[0] += SPEECH_VALENCE_GAIN * compound * share
                present.append("speech")
        if self.use_music:
            share, valence = _share(part, "music_affect", MUSIC_VALENCE)
            if share > 0:
                _, energy = _share(part, "music_affect", MUSIC_ENERGY)
                va += MUSIC_GAIN * share * music_mood(valence, energy)
                present.append("music_affect")
        if self.use_activity:
            found = scene_activity(part, scene_cuts_s)
            if found is not None:
                va[1] += ACTIVITY_GAIN * found[0]
                present.extend(found[1])
        return np.clip(va, -1.0, 1.0)

    def _smooth(self, raw: list[_Raw]) -> list[_Raw]:
        if self.smoothing_s <= 0 or len(raw) < 2:
            return raw
        centres = np.array([(r.start_s + r.end_s) / 2 for r in raw])
        durations = np.array([max(r.end_s - r.start_s, 1e-3) for r in raw])
        confidence = np.array([r.confidence for r in raw])
        kernel = np.exp(-((centres[:, None] - centres[None, :]) ** 2) / (2 * self.smoothing_s**2))
        weights = kernel * (durations * (confidence + 0.05))[None, :]
        weights /= weights.sum(axis=1, keepdims=True)
        probs = weights @ np.stack([r.probs for r in raw])
        va = weights @ np.stack([r.va for r in raw])
        conf = weights @ confidence
        return [
            _Raw(r.scene_index, r.start_s, r.end_s, probs[k], va[k], float(conf[k]), r.modalities) for k, r in enumerate(raw)
        ]

    @staticmethod
    def _public(r: _Raw) -> SceneEmotion:
        return SceneEmotion(
            scene_index=r.scene_index,
            start_s=r.start_s,
            end_s=r.end_s,
            probs={name: float(p) for name, p in zip(EKMAN, r.probs)},
            valence=float(np.clip(r.va[0], -1, 1)),
            arousal=float(np.clip(r.va[1], -1, 1)),
            confidence=float(np.clip(r.confidence, 0, 1)),
            modalities=r.modalities,
        )


def music_mood(valence: float, energy: float) -> np.ndarray:
    """vibenet's valence/energy of a soundtrack -> the expected sign of its (valence, arousal), in [-1, 1]."""
    (vc, vs), (ac, as_) = MUSIC_VALENCE_LINE, MUSIC_AROUSAL_LINE
    return np.clip([vs * (valence - vc), as_ * (energy - ac)], -1.0, 1.0)


def default_model_path() -> Path:
    with resources.as_file(resources.files("emsync_core.emotion") / "models" / DEFAULT_MODEL) as path:
        return Path(path)


def load_classifier(path: str | Path | None = None, **options) -> EmotionClassifier:
    """The shipped default model (or a checkpoint from `emsync emotion train`)."""
    return EmotionClassifier(load_checkpoint(path or default_model_path()), **options)


def _thinned_cuts(table: pa.Table) -> list[float] | None:
    """The extraction's thinned cuts (scene k starts at cut k-1), when the table carries its metadata."""
    if METADATA_KEY not in (table.schema.metadata or {}):
        return None
    return [float(c) for c in read_metadata(table).get("cuts_s", [])]


def _scene_bounds(scenes: list[int], parts: list[pa.Table], cuts: list[float] | None) -> list[tuple[float, float]]:
    """Scenes span their cuts exactly (windows are 2 s, cuts are not) when every scene's window midpoints lie
    between its cuts, as the extraction assigns them; otherwise each scene spans its windows' extent."""
    extents, by_cuts = [], []
    for scene, part in zip(scenes, parts):
        starts, ends = part.column("start_s").to_numpy(), part.column("end_s").to_numpy()
        extents.append((float(starts.min()), float(ends.max())))
        if cuts is None or scene > len(cuts):
            continue
        cut_start = cuts[scene - 1] if scene > 0 else 0.0
        cut_end = cuts[scene] if scene < len(cuts) else float(ends.max())
        mids = (starts + ends) / 2
        if ((mids >= cut_start) & (mids < cut_end)).all():
            by_cuts.append((cut_start, cut_end))
    return by_cuts if len(by_cuts) == len(extents) else extents
