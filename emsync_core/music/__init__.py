"""EMSYNC music generator: tokens, model, KV-cached sampling, data preparation, training."""

from emsync_core.music.api import GenerationRequest, GenerationResult, SamplingSettings, SceneCondition
from emsync_core.music.generator import Generator, load_generator


def generate_soundtracks(requests: list[GenerationRequest], checkpoint: str | None = None) -> list[GenerationResult]:
    """One-shot convenience: load the generator and run all requests as one batch."""
    return load_generator(checkpoint).generate(requests)


__all__ = [
    "GenerationRequest",
    "GenerationResult",
    "Generator",
    "SamplingSettings",
    "SceneCondition",
    "generate_soundtracks",
    "load_generator",
]
