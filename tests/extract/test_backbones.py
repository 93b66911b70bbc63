"""The built-in backbones on real images and video: loaded from registry-package weights, honest values."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pyarrow.parquet as pq
import duckdb
import pytest
import torch

from emsync_core.features import registry
from emsync_core.features.base import Backbone, VideoInfo, Window, WindowwiseBackbone
from emsync_core.features.frame_cnn import MODEL_CACHE_ENV, centre_crops
from emsync_core.features.frame_torch import MODELS, PooledFeatures, imagenet_model
from emsync_core.features.mobilenet import MobileNetV2Backbone
from emsync_core.features.extract_video import ExtractSettings, OutputLayout, VideoFeatureExtractor
from emsync_core.media.scan import ScanSettings
from emsync_core.store.catalog import resolve_ref
from emsync_core.store.feature_parquet import read_metadata
from tests.conftest import SHARED

DAISY = SHARED / "data" / "images" / "emotion6" / "images" / "joy" / "1.jpg"
IMAGENET_DAISY = 985


@pytest.fixture(scope="module")
def mobilenet() -> MobileNetV2Backbone:
    backbone = MobileNetV2Backbone()
    backbone.load()
    return backbone


def test_mobilenet_weights_are_the_real_imagenet_model(mobilenet: MobileNetV2Backbone, shared_video: Path) -> None:
    image = cv2.cvtColor(cv2.imread(str(DAISY)), cv2.COLOR_BGR2RGB)
    with torch.inference_mode():
        logits = imagenet_model("mobilenet_v2")(torch.from_numpy(mobilenet.normalise(centre_crops([image]))))
        probs = torch.softmax(logits, dim=1)[0]
    assert int(probs.argmax()) == IMAGENET_DAISY and float(probs.max()) > 0.9


def test_mobilenet_embeddings_separate_scenes(mobilenet: MobileNetV2Backbone, shared_video: Path) -> None:
    """Frames of one shot are closer to each other than to a frame across a cut (bikes.mp4, cut at 5.48 s)."""
    import av

    frames = {}
    with av.open(str(shared_video / "bikes.mp4")) as container:
        for frame in container.decode(video=0):
            for t in (3.6, 4.4, 6.2):
                if t not in frames and frame.time >= t:
                    frames[t] = frame.to_ndarray(format="rgb24")
    e = mobilenet.embed_images([frames[3.6], frames[4.4], frames[6.2]])
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    assert e.shape == (3, 1280)
    assert float(e[0] @ e[1]) > float(e[0] @ e[2]) + 0.1


@pytest.mark.parametrize("name", ["mobilenet_v2", "efficientnet_lite0"])
def test_input_scaling_is_the_textbook_formula_to_the_bit(name: str) -> None:
    """The planar in-place scaling must hand the graphs the same floats as (x - mean) / std, then NCHW."""
    backbone = registry.resolve(name)
    crops = np.random.default_rng(0).integers(0, 256, (3, 224, 224, 3), dtype=np.uint8)
    textbook = np.ascontiguousarray(((crops.astype(np.float32) - backbone.mean) / backbone.std).transpose(0, 3, 1, 2))
    assert np.array_equal(backbone().normalise(crops), textbook)


def test_registry_resolves_names_and_user_classes() -> None:
    assert set(registry.DEFAULT_BACKBONES) <= set(registry.available())
    assert registry.resolve("tests.extract.test_backbones:MeanColour") is MeanColour
    with pytest.raises(KeyError, match="unknown backbone"):
        registry.resolve("clip_vit_b32")


class MeanColour(WindowwiseBackbone):
    """A user-defined backbone, as a customer would plug in CLIP from a local path."""

    name = "mean_colour"
    version = "test"
    dim = 3
    inputs = frozenset({"frames"})

    def embed(self, window: Window, video: VideoInfo) -> np.ndarray | None:
        return np.mean([f.reshape(-1, 3).mean(axis=0) for f in window.frames], axis=0) if window.frames else None


def test_features_of_a_known_video(tmp_path: Path) -> None:
    """Red then blue scenes with a 440 Hz tone: the visual and audio descriptors say so."""
    from tests.media_factory import video_with_cuts

    video = video_with_cuts(tmp_path / "rb.mp4", [25, 50], fps="25", size=(320, 240))  # testsrc then red
    settings = ExtractSettings(
        backbones=("visual_affect", "audio_affect", "tests.extract.test_backbones:MeanColour"), scan=ScanSettings(window_s=1.0)
    )
    extractor = VideoFeatureExtractor(settings)
    outcome = extractor.run(resolve_ref(str(video)), OutputLayout(str(tmp_path / "out")))
    assert outcome.status == "ok", outcome.record
    table = pq.read_table(outcome.record["features_uri"])
    meta = read_metadata(table)
    assert [b["name"] for b in meta["backbones"]] == ["visual_affect", "audio_affect", "mean_colour"]
    assert table.schema.field("feat_mean_colour").type.list_size == 3
    colour = np.array(table.column("feat_mean_colour").to_pylist())
    assert colour[2][0] > 150 and colour[2][1] < 60 and colour[2][2] < 60  # red scene (0xC02020)
    visual = np.array(table.column("feat_visual_affect").to_pylist())
    assert list(visual[:, 5]) == [0.0, 1.0, 0.0]  # cuts per second: the one cut (1.0 s) is in window [1, 2)
    assert visual[2][1] > 0.7 and visual[2][3] < 0.02  # the red scene: saturated and flat
    assert visual[2][4] < 0.01 < visual[0][4]  # a still colour has no motion; testsrc's counter moves
    audio = np.array(table.column("feat_audio_affect").to_pylist())
    assert np.all((audio[:, 2] > 300) & (audio[:, 2] < 700))  # spectral centroid of a 440 Hz tone
    assert np.all(audio[:, 0] > -40)
    rows = duckdb.sql(f"select count(*), max(end_s) from read_parquet('{outcome.record['features_uri']}')").fetchall()[0]
    assert rows == (3, pytest.approx(3.0))


def test_onnx_embedder_matches_the_unfolded_torch_model(mobilenet: MobileNetV2Backbone) -> None:
    """The worker's ONNX graph (batch norms folded, ORT's fusions) gives the eager torch model's features."""
    images = [np.random.default_rng(i).integers(0, 255, (200, 300, 3), dtype=np.uint8) for i in range(3)]
    with torch.inference_mode():
        eager = PooledFeatures(imagenet_model("mobilenet_v2"), MODELS["mobilenet_v2"][1])
        expected = eager(torch.from_numpy(mobilenet.normalise(centre_crops(images)))).numpy()
    assert np.allclose(mobilenet.embed_images(images), expected, atol=1e-4)
    assert np.allclose(mobilenet.embed_images(images[:1]), expected[:1], atol=1e-4)


def test_a_missing_onnx_graph_is_exported_on_first_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mobilenet: MobileNetV2Backbone) -> None:
    """An empty model cache: the first load exports the graph from the registry weights (in a child
    process: the worker does not import torch for it) and gives the same features."""
    monkeypatch.setenv(MODEL_CACHE_ENV, str(tmp_path / "models"))
    fresh = MobileNetV2Backbone()
    fresh.load()
    assert fresh.onnx_path().is_file() and fresh.onnx_path().parent == tmp_path / "models"
    image = [np.random.default_rng(7).integers(0, 255, (240, 320, 3), dtype=np.uint8)]
    assert np.allclose(fresh.embed_images(image), mobilenet.embed_images(image), atol=1e-6)


@pytest.mark.parametrize("args", [(16000, 1024, 128, 0.0, 8000.0), (22050, 2048, 64, 30.0, 11025.0)])
def test_mel_filters_match_librosa(args: tuple) -> None:
    import librosa.filters

    from emsync_core.features.music_affect import slaney_mel_filters

    sr, n_fft, n_mels, fmin, fmax = args
    expected = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    assert np.allclose(slaney_mel_filters(*args), expected, rtol=1e-5, atol=1e-8)


def test_several_frames_per_window_are_spread_and_mean_pooled(tmp_path: Path, mobilenet: MobileNetV2Backbone) -> None:
    """Three frames per 2 s window sit at the centres of its thirds; the window's vector is their mean."""
    from emsync_core.media.scan import VideoScan
    from tests.media_factory import video_with_cuts

    video = video_with_cuts(tmp_path / "three.mp4", [50, 50], fps="25", size=(320, 240))
    windows = list(VideoScan(lambda: str(video), ScanSettings(frames_per_window=3)).windows())
    assert [len(w.frames) for w in windows] == [3, 3]
    for w in windows:
        centres = [w.start_s + (k + 0.5) * 2.0 / 3 for k in range(3)]
        assert all(abs(t - c) <= 0.04 + 1e-9 for t, c in zip(w.frame_times_s, centres)), (w.frame_times_s, centres)
    pooled = mobilenet.embed(windows[1], None)
    assert pooled.shape == (1280,)
    assert np.allclose(pooled, mobilenet.embed_images(windows[1].frames).mean(axis=0), atol=1e-4)


def test_a_worker_with_the_default_backbones_never_imports_torch() -> None:
    """torch is ~200 MB resident: the default backbones (ONNX Runtime, numpy) must not pull it in."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from emsync_core.features.extract_video import ExtractSettings, VideoFeatureExtractor\n"
        "VideoFeatureExtractor(ExtractSettings()).setup()\n"
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout
