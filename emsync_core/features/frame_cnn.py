"""What the ImageNet frame backbones share: the evaluation crop, and a frozen CNN's pooled features per
frame run by ONNX Runtime, averaged over the window's sampled frames.

ONNX Runtime, not torch, runs the graphs: on one thread its fused, blocked-layout kernels embed a
frame ~3x (MobileNetV2) and ~5x (EfficientNet-Lite0) cheaper than eager torch with folded batch norms,
with the same features to ~1e-5, and the worker need not import torch at all (~200 MB resident). The
graphs are exported from the registry weights by `frame_torch` into a model cache, once per machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import numpy as np

from emsync_core.features.base import Vector, VideoInfo, Window, WindowwiseBackbone
from emsync_core.paths import REPO_ROOT, user_cache

INPUT_SIZE = 224
RESIZE_SHORT_SIDE = 256  # the ImageNet evaluation transform: short side to 256, centre 224 crop
ONNX_INPUT, ONNX_OUTPUT = "images", "features"
EXPORT_REVISION = "onnx1"  # part of the cached file's name: a changed export never reads an old file
MODEL_CACHE_ENV = "EMSYNC_MODEL_CACHE"


def model_cache() -> Path:
    """$EMSYNC_MODEL_CACHE, else the user's cache folder (an image build exports into it once)."""
    if os.environ.get(MODEL_CACHE_ENV):
        return Path(os.environ[MODEL_CACHE_ENV])
    return user_cache() / "models"


def centre_crops(images: list[np.ndarray]) -> np.ndarray:
    """(n, 224, 224, 3) uint8: short side resized to 256 (area), centre-cropped."""
    import cv2

    batch = []
    for image in images:
        h, w = image.shape[:2]
        scale = RESIZE_SHORT_SIDE / min(h, w)
        size = (max(INPUT_SIZE, round(w * scale)), max(INPUT_SIZE, round(h * scale)))
        resized = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        top = (resized.shape[0] - INPUT_SIZE) // 2
        left = (resized.shape[1] - INPUT_SIZE) // 2
        batch.append(resized[top : top + INPUT_SIZE, left : left + INPUT_SIZE])
    return np.stack(batch)


def window_crops(window: Window) -> np.ndarray:
    """The window's centre crops, made once and shared by every frame backbone of the window."""
    if window.crops is None or len(window.crops) != len(window.frames):
        window.crops = centre_crops(window.frames)
    return window.crops


class FrameCNNBackbone(WindowwiseBackbone):
    """Subclasses give the name, version and the per-channel input scaling their weights were trained on."""

    inputs = frozenset({"frames"})
    dim = 1280
    mean: ClassVar[np.ndarray]  # per RGB channel, on 0-255 pixel values
    std: ClassVar[np.ndarray]

    def __init__(self) -> None:
        self._session = None

    @classmethod
    def onnx_path(cls, folder: Path | None = None) -> Path:
        return (folder or model_cache()) / f"{cls.name}-{cls.version}-{EXPORT_REVISION}.onnx"

    def load(self) -> None:
        if self._session is None:
            path = self.onnx_path()
            if not path.exists():
                export_in_child(self.name, path.parent)
            self._session = single_thread_session(path)

    def normalise(self, crops: np.ndarray) -> np.ndarray:
        """(n, 224, 224, 3) uint8 -> the graph's (n, 3, 224, 224) float32 input, (x - mean) / std.
        Written straight into the planar layout: 5x cheaper than scaling, then transposing a copy."""
        planar = np.empty((len(crops), 3, *crops.shape[1:3]), dtype=np.float32)
        np.subtract(crops.transpose(0, 3, 1, 2), self.mean[:, None, None], out=planar, dtype=np.float32)
        planar /= self.std[:, None, None]
        return planar

    def embed_crops(self, crops: np.ndarray) -> np.ndarray:
        """(n, 1280) float32 pooled features of (n, 224, 224, 3) uint8 centre crops."""
        self.load()
        return self._session.run([ONNX_OUTPUT], {ONNX_INPUT: self.normalise(crops)})[0]

    def embed_images(self, images: list[np.ndarray]) -> np.ndarray:
        """(n, 1280) float32 embeddings of RGB uint8 images of any size."""
        return self.embed_crops(centre_crops(images))

    def embed(self, window: Window, video: VideoInfo) -> Vector:
        """Temporal mean pooling of the window's frames, one pass for them all."""
        if not window.frames:
            return None
        return self.embed_crops(window_crops(window)).mean(axis=0)


def single_thread_session(path: Path):
    """One intra- and inter-op thread (a worker runs per core), all graph optimisations (blocked layouts
    included), and ORT's memory arena kept: the input shape is fixed, so the arena stays at one pass's
    activations, while without it each pass's buffers, above the worker's pinned mmap threshold, were
    mapped and faulted in anew (~1,700 page faults and +4 ms per frame per backbone)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def export_in_child(name: str, folder: Path) -> None:
    """Export one graph in a child process, so the worker itself never imports torch."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "emsync_core.features.frame_torch", name, "--out", str(folder)]
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"exporting the {name} frame backbone to ONNX failed: {result.stderr.strip()[-2000:]}")
