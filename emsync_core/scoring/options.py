"""What one `emsync score` run is asked to do: the settings that decide its outputs (hashed into the run
key) and the sizes of the stages an engine runs (actors, CPUs per actor, batches)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

from emsync_core.db.engine import default_url
from emsync_core.features.registry import DEFAULT_BACKBONES
from emsync_core.media.scan import ScanSettings
from emsync_core.music import SamplingSettings
from emsync_core.music.ensemble import DEFAULT_ENSEMBLE
from emsync_core.render.pipeline import RenderSettings
from emsync_core.scoring.models import ModelSpec
from emsync_core.scoring.moods import CatalogNorm, MoodSettings
from emsync_core.scoring.plan import DEFAULT_MAX_CHUNK_S
from emsync_core.scoring.stages import PlanSettings


@dataclass(frozen=True)
class ScoreOptions:
    catalog: str
    out: str
    db: str | None = None
    address: str | None = None  # an existing cluster (e.g. ray://head:10001); None starts a local Ray
    num_cpus: int | None = None  # local Ray only
    seed: int = 0
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    max_chunk_s: float = DEFAULT_MAX_CHUNK_S
    render: RenderSettings = field(default_factory=RenderSettings)
    models: ModelSpec = field(default_factory=ModelSpec)
    generate_batch: int = 8
    classify_actors: int = 1
    generate_actors: int = 1
    actor_cpus: float = 0.5
    generator_gpus: float = 0.0
    render_cpus: float = 0.5
    backbones: tuple[str, ...] = DEFAULT_BACKBONES
    window_s: float = ScanSettings.window_s  # the extraction's default window
    extract_workers: int = 0
    extract_engine: str = "auto"  # see emsync_core.features.extract_plan.EXTRACT_ENGINES
    beam_args: tuple[str, ...] = ()  # Beam pipeline options for the extraction (e.g. --runner=DataflowRunner)
    show_progress: bool = True
    brief: str = ""  # a scoring brief ("tense, orchestral, minor key"); see emsync_core/brief
    brief_rule: str = "centre"  # how the brief mixes with the scene moods: centre | replace
    normalise_catalog: bool = False  # spread scene V/A relative to the catalog's other scenes
    retry_failed: bool = False  # re-extract inputs with a dead letter (after fixing them, or a decoder)
    lease_wait_s: float = 0.0  # how long to wait for another live run of the same key before giving up
    # score each video as soon as its features are complete, while the extraction goes on (not with
    # normalise_catalog, which needs every video's scenes first); False: extract everything, then score
    overlap: bool = True

    @property
    def overlapped(self) -> bool:
        return self.overlap and not self.normalise_catalog

    def mood_settings(self, norm: CatalogNorm | None = None) -> MoodSettings:
        """The brief parsed (BriefError on an unknown word) with the rule and the catalog normalisation."""
        from emsync_core.brief import parse_brief

        return MoodSettings(parse_brief(self.brief) if self.brief else None, self.brief_rule, norm)

    def plan_settings(self, norm: CatalogNorm | None = None) -> PlanSettings:
        """How every video's plan is made (the brief's line-up counts unless --ensemble named another)."""
        moods = self.mood_settings(norm)
        explicit = self.sampling.ensemble != DEFAULT_ENSEMBLE
        ensemble = None if explicit or moods.brief is None else moods.brief.ensemble
        return PlanSettings(self.seed, self.sampling, self.max_chunk_s, moods, self.brief if moods.brief else "", ensemble)

    def db_url(self) -> str:
        return self.db or default_url(self.out)

    def identity_config(self) -> dict:
        """What decides the outputs (hashed into the run key: same arguments -> same, resumable run)."""
        return {"seed": self.seed, "sampling": asdict(self.sampling), "max_chunk_s": self.max_chunk_s,
                "render": self.render.as_dict(), "models": asdict(self.models), "backbones": list(self.backbones),
                "window_s": self.window_s,
                **({"brief": self.brief, "brief_rule": self.brief_rule} if self.brief else {}),
                **({"normalise_catalog": True} if self.normalise_catalog else {})}

    def run_key(self) -> str:
        blob = json.dumps({"catalog": self.catalog, "out": self.out, **self.identity_config()}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]
