"""What one `emsync score` run is asked to do: the settings that decide its outputs (hashed into the run
key) and the sizes of the stages an engine runs (actors, CPUs per actor, batches)."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field, replace

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

    def fitted_to(self, cluster_cpus: float) -> ScoreOptions:
        """The actors' and the render task's CPU requests scaled down so that every actor and one render
        fit the cluster together. Ray never starts a task whose request does not fit beside the actors,
        which hold theirs for the whole run: on a 1-CPU local Ray two 0.5-CPU actors left the first
        render waiting forever. 0 CPUs (an autoscaling cluster with no CPU node yet) fits anything."""
        wanted = (self.classify_actors + self.generate_actors) * self.actor_cpus + self.render_cpus
        if cluster_cpus <= 0 or wanted <= cluster_cpus:
            return self
        scale = cluster_cpus / wanted

        def scaled(cpus: float) -> float:  # Ray counts resources in steps of 1e-4
            return math.floor(cpus * scale * 1e4) / 1e4

        return replace(self, actor_cpus=scaled(self.actor_cpus), render_cpus=scaled(self.render_cpus))

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
