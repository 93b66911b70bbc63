"""What the ImageNet frame backbones share: a frozen CNN with its batch norms folded, its pooled
features per frame, averaged over the window's sampled frames."""

from __future__ import annotations

from abc import abstractmethod

import numpy as np
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from emsync_core.features.base import Vector, VideoInfo, Window, WindowwiseBackbone

INPUT_SIZE = 224


class FrameCNNBackbone(WindowwiseBackbone):
    """Subclasses give the eager model, its embedding module and the input transform."""

    inputs = frozenset({"frames"})

    def __init__(self) -> None:
        self._model: torch.nn.Module | None = None
        self._embedder: nn.Module | None = None

    @abstractmethod
    def build(self) -> torch.nn.Module:
        """The eager model with its weights loaded, in eval mode."""

    @abstractmethod
    def embedding(self, model: torch.nn.Module) -> torch.nn.Module:
        """A module mapping (n, 3, 224, 224) to (n, dim) pooled features."""

    @abstractmethod
    def preprocess(self, images: list[np.ndarray]) -> torch.Tensor:
        """RGB uint8 images -> the model's (n, 3, 224, 224) input."""

    def load(self) -> None:
        if self._model is None:
            # Eager with conv+BN folded (same outputs to ~1e-5): frozen TorchScript was ~1.5x faster per
            # image but held ~100 MB more per worker, which the worker's memory budget cannot spare.
            self._model = fold_batch_norms(self.build())
            self._embedder = self.embedding(self._model).eval()

    def embed_images(self, images: list[np.ndarray]) -> np.ndarray:
        """(n, dim) float32 embeddings of RGB uint8 images."""
        self.load()
        assert self._embedder is not None
        with torch.inference_mode():
            return self._embedder(self.preprocess(images)).numpy().astype(np.float32)

    def embed(self, window: Window, video: VideoInfo) -> Vector:
        """Temporal mean pooling of the window's frames, one forward pass for them all."""
        if not window.frames:
            return None
        return self.embed_images(window.frames).mean(axis=0)


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
