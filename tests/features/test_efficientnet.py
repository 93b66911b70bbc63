"""The EfficientNet-Lite0 frame backbone: the real ImageNet weights from the registry package, the
worker's ONNX graph equal to the eager torch model, and embeddings that tell shots apart."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from emsync_core.features import registry
from emsync_core.features.efficientnet import EfficientNetLite0Backbone
from emsync_core.features.frame_cnn import centre_crops
from emsync_core.features.frame_torch import MODELS, PooledFeatures, imagenet_model
from tests.conftest import SHARED

DAISY = SHARED / "data" / "images" / "emotion6" / "images" / "joy" / "1.jpg"
IMAGENET_DAISY = 985


@pytest.fixture(scope="module")
def backbone() -> EfficientNetLite0Backbone:
    b = registry.resolve("efficientnet_lite0")()
    b.load()
    return b


def test_weights_are_the_real_imagenet_model(backbone, shared_video: Path) -> None:
    image = cv2.cvtColor(cv2.imread(str(DAISY)), cv2.COLOR_BGR2RGB)
    with torch.inference_mode():
        logits = imagenet_model("efficientnet_lite0")(torch.from_numpy(backbone.normalise(centre_crops([image]))))
        probs = torch.softmax(logits, dim=1)[0]
    assert int(probs.argmax()) == IMAGENET_DAISY and float(probs.max()) > 0.9


def test_onnx_embedder_matches_the_eager_model(backbone) -> None:
    images = [np.random.default_rng(i).integers(0, 255, (200, 300, 3), dtype=np.uint8) for i in range(3)]
    with torch.inference_mode():
        eager = PooledFeatures(imagenet_model("efficientnet_lite0"), MODELS["efficientnet_lite0"][1])
        expected = eager(torch.from_numpy(backbone.normalise(centre_crops(images)))).numpy()
    assert np.allclose(backbone.embed_images(images), expected, atol=1e-4)


def test_embeddings_separate_shots(backbone, shared_video: Path) -> None:
    """Frames of one shot are closer to each other than to a frame across a cut (bikes.mp4, cut at 5.48 s)."""
    capture = cv2.VideoCapture(str(shared_video / "bikes.mp4"))
    frames = []
    for t in (3.6, 4.4, 6.2):
        capture.set(cv2.CAP_PROP_POS_MSEC, t * 1000)
        ok, bgr = capture.read()
        assert ok, t
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    capture.release()
    e = backbone.embed_images(frames)
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    assert e.shape == (3, 1280)
    assert float(e[0] @ e[1]) > float(e[0] @ e[2]) + 0.05
