"""EMSYNC music generator: tokens, model, KV-cached sampling, data preparation, training.

The request types import cheaply; the generator (torch) loads on first use, so a process that only
builds or records requests (the CLI's option parsing, an extraction worker) never imports torch.
"""

from emsync_core.music.api import GenerationRequest, GenerationResult, SamplingSettings, SceneCondition

__all__ = [
    "GenerationRequest",
    "GenerationResult",
    "Generator",
    "SamplingSettings",
    "SceneCondition",
    "generate_soundtracks",
    "load_generator",
]


def generate_soundtracks(requests: list[GenerationRequest], checkpoint: str | None = None) -> list[GenerationResult]:
    """One-shot convenience: load the generator and run all requests as one batch."""
    from emsync_core.music.generator import load_generator

    return load_generator(checkpoint).generate(requests)


def __getattr__(name: str):
    if name in ("Generator", "load_generator"):
        from emsync_core.music import generator

        return getattr(generator, name)
    raise AttributeError(name)
