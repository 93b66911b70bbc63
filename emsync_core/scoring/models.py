"""Which emotion classifier and music generator a run uses, loaded by `module:function` name.

Defaults are the project's own (emsync_core.emotion:load_classifier, emsync_core.music:load_generator);
a user can point at their own loaders returning objects with the same `classify` / `generate`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

DEFAULT_CLASSIFIER = "emsync_core.emotion:load_classifier"
DEFAULT_GENERATOR = "emsync_core.music:load_generator"


@dataclass(frozen=True)
class ModelSpec:
    classifier: str = DEFAULT_CLASSIFIER
    classifier_checkpoint: str | None = None
    generator: str = DEFAULT_GENERATOR
    generator_checkpoint: str | None = None


@dataclass(frozen=True)
class ModelIdentity:
    version: str
    sha256: str


def _load(factory: str, checkpoint: str | None):
    module, _, name = factory.partition(":")
    if not name:
        raise ValueError(f"model loader {factory!r} must look like 'package.module:function'")
    fn = getattr(importlib.import_module(module), name)
    return fn(checkpoint) if checkpoint else fn()


def load_classifier(spec: ModelSpec):
    return _load(spec.classifier, spec.classifier_checkpoint)


def load_generator(spec: ModelSpec):
    return _load(spec.generator, spec.generator_checkpoint)


def identity(model) -> ModelIdentity:
    """Version and checkpoint SHA-256 of a loaded model (attributes, or `meta.version` + `sha256`)."""
    version = getattr(model, "model_version", None) or getattr(getattr(model, "meta", None), "version", None)
    sha = getattr(model, "model_sha256", None) or getattr(model, "sha256", None)
    if not version or not sha:
        raise TypeError(f"{type(model).__name__} exposes no model version / sha256")
    return ModelIdentity(str(version), str(sha))
