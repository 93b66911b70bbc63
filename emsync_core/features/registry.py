"""Backbones by name. Built-ins register on import; a user adds their own (CLIP from a local path...)
by naming `package.module:ClassName` in `--backbones`, with no change to this code."""

from __future__ import annotations

import importlib

from emsync_core.features.base import Backbone

_REGISTRY: dict[str, type[Backbone]] = {}
_BUILTIN_MODULES = (
    "emsync_core.features.mobilenet",
    "emsync_core.features.efficientnet",
    "emsync_core.features.visual_affect",
    "emsync_core.features.audio_affect",
    "emsync_core.features.faces",
    "emsync_core.features.speech",
    "emsync_core.features.music_affect",
)
DEFAULT_BACKBONES = ("mobilenet_v2", "efficientnet_lite0", "visual_affect", "audio_affect", "music_affect")


def register(cls: type[Backbone]) -> type[Backbone]:
    """Class decorator: make a backbone available by its `name`."""
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"backbone name {cls.name!r} is already registered by {_REGISTRY[cls.name]!r}")
    _REGISTRY[cls.name] = cls
    return cls


def _load_builtins() -> None:
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)


def resolve(name: str) -> type[Backbone]:
    """A registered name, or `module:Class` importable from the user's environment."""
    _load_builtins()
    if ":" in name:
        module_name, class_name = name.split(":", 1)
        cls = getattr(importlib.import_module(module_name), class_name)
        if not (isinstance(cls, type) and issubclass(cls, Backbone)):
            raise TypeError(f"{name} is not a Backbone subclass")
        return register(cls)
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown backbone {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def available() -> dict[str, type[Backbone]]:
    _load_builtins()
    return dict(sorted(_REGISTRY.items()))
