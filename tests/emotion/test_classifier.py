"""The shipped classifier on real extraction output: per-scene emotion, masks, smoothing, bad input."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from emsync_core.emotion import SceneEmotion, load_classifier
from emsync_core.emotion.classifier import FACES_MODEL, SCENE_RULES, EmotionClassifier, default_model_path
from emsync_core.emotion.ekman import EKMAN
from emsync_core.emotion.features_io import FeatureTableError
from emsync_core.features.extract_video import ExtractSettings, OutputLayout, VideoFeatureExtractor
from emsync_core.features.registry import DEFAULT_BACKBONES
from emsync_core.store.catalog import resolve_ref
from tests.media_factory import video_with_cuts


def _extract(video: Path, out: Path, backbones: tuple[str, ...]) -> pa.Table:
    outcome = VideoFeatureExtractor(ExtractSettings(backbones=backbones)).run(resolve_ref(str(video)), OutputLayout(str(out)))
    assert outcome.status == "ok", outcome.record
    return pq.read_table(out / "features" / f"{outcome.video_id}.parquet")


@pytest.fixture(scope="module")
def classifier() -> EmotionClassifier:
    return load_classifier()


@pytest.fixture(scope="module")
def scenes_video(tmp_path_factory: pytest.TempPathFactory) -> tuple[pa.Table, Path]:
    """Three lavfi scenes of 5 s (cuts at 5 and 10 s), extracted with the default backbones only."""
    tmp = tmp_path_factory.mktemp("scenes")
    video = video_with_cuts(tmp / "three.mp4", [125, 125, 125])
    out = tmp / "out"
    return _extract(video, out, DEFAULT_BACKBONES), out


@pytest.fixture(scope="module")
def chaplin(shared_video: Path, tmp_path_factory: pytest.TempPathFactory) -> pa.Table:
    return _extract(shared_video / "chaplin.mp4", tmp_path_factory.mktemp("chaplin"), ("mobilenet_v2", "faces"))


def test_shipped_model_identity(classifier: EmotionClassifier) -> None:
    assert classifier.model_sha256 == hashlib.sha256(default_model_path().read_bytes()).hexdigest()
    assert classifier.model_version == f"emotion6-fusion-v2+rules-{SCENE_RULES}"  # weights + the scene rules around them
    assert classifier.modalities == ("mobilenet_v2", "efficientnet_lite0")
    assert classifier.checkpoint.calibration is not None  # fitted on validation, stored in the file


def test_default_backbones_give_one_result_per_scene(classifier: EmotionClassifier, scenes_video) -> None:
    table, _ = scenes_video
    scenes = classifier.classify(table)
    assert [s.scene_index for s in scenes] == sorted(set(table.column("scene_index").to_pylist())) == [0, 1, 2]
    starts, ends = table.column("start_s").to_numpy(), table.column("end_s").to_numpy()
    index = table.column("scene_index").to_numpy()
    # Scenes span the cuts exactly (5 and 10 s), not their 2 s windows' extent; each holds its windows' midpoints.
    assert [s.start_s for s in scenes] == pytest.approx([0.0, 5.0, 10.0], abs=0.04)
    assert [s.end_s for s in scenes] == pytest.approx([5.0, 10.0, ends.max()], abs=0.04)
    mids = (starts + ends) / 2
    assert all(s.start_s <= m < s.end_s for s in scenes for m in mids[index == s.scene_index])
    assert scenes[0].start_s == 0 and scenes[-1].end_s >= 15 - 1e-6
    for s in scenes:
        assert isinstance(s, SceneEmotion) and set(s.probs) == set(EKMAN)
        assert sum(s.probs.values()) == pytest.approx(1.0, abs=1e-6)
        assert -1 <= s.valence <= 1 and -1 <= s.arousal <= 1 and 0 <= s.confidence <= 1
        # The frames always count, and the activity cues (visual_affect, audio_affect: the clip has a 440 Hz tone);
        # vibenet may hear the tone as music (music_affect is a default backbone).
        frames, cues = ("mobilenet_v2", "efficientnet_lite0"), ("visual_affect", "audio_affect")
        assert s.modalities in {frames + cues, (*frames, "music_affect", *cues)}
    # Different pictures, different answers: the head reads the frames.
    assert len({tuple(round(p, 4) for p in s.probs.values()) for s in scenes}) == 3


def test_absent_column_equals_all_absent_column(scenes_video) -> None:
    """Faces never extracted (no column) and faces extracted but never found (all NaN): same answer."""
    classifier = load_classifier(default_model_path().with_name(FACES_MODEL))
    table, _ = scenes_video
    nan_faces = pa.FixedSizeListArray.from_arrays(pa.array(np.full(table.num_rows * 10, np.nan, np.float32)), 10)
    with_column = table.append_column("feat_faces", nan_faces)
    assert classifier.classify(with_column) == classifier.classify(table)


def test_faces_model_uses_faces_where_present(chaplin: pa.Table) -> None:
    """The shipped face variant reads the faces column; the default model ignores it."""
    faces_model = load_classifier(default_model_path().with_name(FACES_MODEL))
    assert faces_model.modalities == ("mobilenet_v2", "faces")
    present = np.isfinite(np.asarray(chaplin.column("feat_faces").combine_chunks().flatten()).reshape(-1, 10)).all(axis=1)
    assert present.any(), "no face found in any window of chaplin.mp4"
    scenes = faces_model.classify(chaplin)
    assert any("faces" in s.modalities for s in scenes)
    without = faces_model.classify(chaplin.drop_columns(["feat_faces"]))
    assert any(abs(a.valence - b.valence) > 1e-4 for a, b in zip(scenes, without))


def _relabel(table: pa.Table, scene_of_window) -> pa.Table:
    scenes = pa.array([scene_of_window(i) for i in table.column("window_index").to_pylist()], pa.int32())
    return table.set_column(table.schema.get_field_index("scene_index"), "scene_index", scenes)


def test_short_scene_borrows_from_its_neighbours(classifier: EmotionClassifier, scenes_video) -> None:
    """Make the window after the first cut a one-window scene between two long ones."""
    table, _ = scenes_video
    middle = int(np.argmax(table.column("start_s").to_numpy() >= 5.0))
    relabelled = _relabel(table, lambda i: 0 if i < middle else 1 if i == middle else 2)
    raw = EmotionClassifier(classifier.checkpoint, smoothing_s=0).classify(relabelled)
    smooth = classifier.classify(relabelled)
    durations = [s.end_s - s.start_s for s in raw]
    assert durations[1] < min(durations[0], durations[2]) / 2

    def gap(scenes: list[SceneEmotion]) -> float:
        neighbours = np.mean([[s.valence, s.arousal] for s in (scenes[0], scenes[2])], axis=0)
        return float(np.linalg.norm([scenes[1].valence - neighbours[0], scenes[1].arousal - neighbours[1]]))

    assert gap(smooth) < 0.6 * gap(raw)
    moved = [abs(a.valence - b.valence) + abs(a.arousal - b.arousal) for a, b in zip(raw, smooth)]
    assert moved[1] > moved[0] and moved[1] > moved[2]  # the short scene moves most


def test_bad_tables_raise_clear_errors(classifier: EmotionClassifier, scenes_video) -> None:
    table, _ = scenes_video
    with pytest.raises(FeatureTableError, match="no windows"):
        classifier.classify(table.slice(0, 0))
    other = table.set_column(0, table.schema.field(0), pa.array(["other"] * table.num_rows))
    with pytest.raises(FeatureTableError, match="one video"):
        classifier.classify(pa.concat_tables([table, other]))
    wrong = table.drop_columns(["feat_mobilenet_v2"]).append_column(
        "feat_mobilenet_v2", pa.FixedSizeListArray.from_arrays(pa.array(np.zeros(table.num_rows * 8, np.float32)), 8)
    )
    with pytest.raises(ValueError, match="8 dims"):
        classifier.classify(wrong)
    with pytest.raises(FeatureTableError, match="lacks columns"):
        classifier.classify(table.drop_columns(["scene_index"]))


def test_classify_command_writes_per_scene_json(scenes_video, tmp_path: Path) -> None:
    from emsync_core.cli.main import app

    _, out = scenes_video
    result = CliRunner().invoke(app, ["emotion", "classify", str(out), "--json", str(tmp_path / "scenes.json")])
    assert result.exit_code == 0, result.output
    payload = json.loads((tmp_path / "scenes.json").read_text())
    assert payload["sha256"] == hashlib.sha256(default_model_path().read_bytes()).hexdigest()
    (scenes,) = payload["videos"].values()
    assert [s["scene_index"] for s in scenes] == [0, 1, 2]


def test_spread_command_compares_with_and_without_the_activity_rule(scenes_video) -> None:
    from emsync_core.cli.main import app

    _, out = scenes_video
    result = CliRunner().invoke(app, ["emotion", "spread", str(out), "--without-activity"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "arousal std" in line]
    assert len(lines) == 2 and "without the activity rule" in lines[1] and "3 scenes of 1 videos" in lines[0]


@pytest.fixture(scope="module")
def speech_backbone():
    from emsync_core.features.speech import SpeechBackbone

    backbone = SpeechBackbone()
    backbone.load()
    return backbone


@pytest.mark.parametrize("sentence, sign", [("What a wonderful, happy, lovely day. I love it.", 1), ("This is awful. I hate it, it is terrible and sad.", -1)])
def test_speech_sentiment_moves_valence(
    classifier: EmotionClassifier, scenes_video, speech_backbone, tmp_path: Path, sentence: str, sign: int
) -> None:
    """Real speech vectors (espeak-ng -> Whisper -> VADER) laid over the lavfi scenes shift V by their sign."""
    from tests.features.media import audio_windows, spoken, video_info

    table, _ = scenes_video
    # The speech pathway alone: vibenet may hear the clip's tone as music and pull V/A toward it too.
    table = table.drop_columns([c for c in table.column_names if c == "feat_music_affect"])
    window_s = float(table.column("end_s")[0].as_py() - table.column("start_s")[0].as_py())
    audio = spoken(tmp_path, sentence, 0.2, 0.2)
    audio = np.resize(audio, int(table.num_rows * window_s * 16000))  # repeat the sentence over the clip
    session = speech_backbone.start(video_info(table.num_rows * window_s))
    vectors = dict(v for w in audio_windows(audio, table.num_rows * window_s, window_s) for v in session.push(w))
    vectors.update(session.finish())
    dim = speech_backbone.dim
    flat = np.stack([np.full(dim, np.nan, np.float32) if vectors.get(i) is None else vectors[i] for i in range(table.num_rows)])
    assert np.isfinite(flat).all(axis=1).sum() >= table.num_rows // 2
    with_speech = table.append_column("feat_speech", pa.FixedSizeListArray.from_arrays(pa.array(flat.reshape(-1)), dim))
    for a, b in zip(classifier.classify(with_speech), classifier.classify(table)):
        assert sign * (a.valence - b.valence) > 0.05 and "speech" in a.modalities
        assert a.probs == b.probs  # speech moves V/A only, never the Ekman probabilities


def _with_music(table: pa.Table, valence: float | None, energy: float = 0.5) -> pa.Table:
    """The clip with a vibenet reading (VIBENET_LABELS order) in every window, or music never heard (None)."""
    from emsync_core.features.music_affect import VIBENET_LABELS

    table = table.drop_columns([c for c in table.column_names if c == "feat_music_affect"])
    reading = dict.fromkeys(VIBENET_LABELS, 0.5) | {"valence": valence, "energy": energy}
    row = [np.nan if valence is None else reading[k] for k in VIBENET_LABELS]
    flat = pa.array(np.tile(np.array(row, np.float32), table.num_rows))
    return table.append_column("feat_music_affect", pa.FixedSizeListArray.from_arrays(flat, len(VIBENET_LABELS)))


def test_music_moves_the_mood_by_what_it_says_beyond_neutral(classifier: EmotionClassifier, scenes_video) -> None:
    """Music vibenet hears as neutral (on EMOPIA's scale) leaves the picture's mood alone; brighter music lifts
    valence, darker lowers it, more energy raises arousal; the Ekman probabilities never move."""
    from emsync_core.emotion.classifier import MUSIC_AROUSAL_LINE, MUSIC_VALENCE_LINE

    table, _ = scenes_video
    silent = classifier.classify(_with_music(table, None))
    neutral = classifier.classify(_with_music(table, MUSIC_VALENCE_LINE[0], MUSIC_AROUSAL_LINE[0]))
    bright = classifier.classify(_with_music(table, MUSIC_VALENCE_LINE[0] + 0.3, MUSIC_AROUSAL_LINE[0] + 0.3))
    dark = classifier.classify(_with_music(table, MUSIC_VALENCE_LINE[0] - 0.3, MUSIC_AROUSAL_LINE[0] - 0.3))
    for s, n, b, d in zip(silent, neutral, bright, dark):
        assert (n.valence, n.arousal) == pytest.approx((s.valence, s.arousal), abs=1e-6) and "music_affect" in n.modalities
        assert b.valence > s.valence + 0.02 > d.valence + 0.04 and b.arousal > s.arousal > d.arousal
        assert b.probs == s.probs


def _with_activity(table: pa.Table, motion: float, cuts_per_s: float, lufs: float) -> pa.Table:
    """The clip with the same motion energy, raw cut rate and loudness in every window (other fields kept)."""
    from emsync_core.emotion.activity import CUTS, LOUDNESS, MOTION
    from emsync_core.emotion.features_io import modality

    visual, audio = modality(table, "visual_affect").values.copy(), modality(table, "audio_affect").values.copy()
    visual[:, MOTION], visual[:, CUTS], audio[:, LOUDNESS] = motion, cuts_per_s, lufs
    for name, values in (("feat_visual_affect", visual), ("feat_audio_affect", audio)):
        column = pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)), values.shape[1])
        table = table.set_column(table.column_names.index(name), name, column)
    return table


def test_activity_moves_arousal_only(classifier: EmotionClassifier, scenes_video) -> None:
    """Still, quiet, uncut scenes are calmer than moving, loud, fast-cut ones; valence and the Ekman
    probabilities never move; without the cue columns the rule is off."""
    table, _ = scenes_video
    calm = classifier.classify(_with_activity(table, 0.001, 0.0, -50.0))
    busy = classifier.classify(_with_activity(table, 0.1, 1.0, -10.0))
    off = load_classifier(use_activity=False).classify(table)
    for c, b, o in zip(calm, busy, off):
        assert b.arousal > c.arousal + 0.3 and (b.valence, b.probs) == (c.valence, c.probs) == (o.valence, o.probs)
    bare = table.drop_columns(["feat_visual_affect", "feat_audio_affect"])
    assert [(s.valence, s.arousal) for s in classifier.classify(bare)] == [(s.valence, s.arousal) for s in off]


def test_moving_picture_is_more_active_than_still_ones(scenes_video) -> None:
    """On real extraction output: testsrc's moving parts beat the still colour field and the still bars
    (same tone, same length); each scene's own start cut does not count as a shot change."""
    from emsync_core.emotion.activity import scene_activity
    from emsync_core.emotion.classifier import _thinned_cuts

    table, _ = scenes_video
    cuts = _thinned_cuts(table)
    assert cuts == pytest.approx([5.0, 10.0], abs=0.04)
    index = table.column("scene_index").to_numpy()
    activity = [scene_activity(table.filter(pa.array(index == s)), cuts)[0] for s in (0, 1, 2)]
    assert activity[0] > max(activity[1], activity[2]) + 0.05
