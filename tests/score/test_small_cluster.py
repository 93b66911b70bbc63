"""A run on a local Ray smaller than the stages' default requests (one CPU) still finishes: the actors'
and the render's requests are scaled to fit, where they used to leave the first render waiting forever."""

from __future__ import annotations

import pytest

from emsync_core.scoring.models import ModelSpec
from emsync_core.scoring.options import ScoreOptions
from ray_serve.score_pipeline import run_score
from tests.score.conftest import BACKBONES, make_checkpoints, make_synthetic

CLASSIFIER = "emsync_core.emotion.classifier:load_classifier"


def test_requests_shrink_only_when_the_cluster_is_smaller():
    o = ScoreOptions(catalog="c", out="o")  # 2 actors x 0.5 + a 0.5 render = 1.5 CPUs
    assert o.fitted_to(2) is o and o.fitted_to(0) is o
    one = o.fitted_to(1)
    assert (one.classify_actors + one.generate_actors) * one.actor_cpus + one.render_cpus <= 1
    assert one.actor_cpus == pytest.approx(1 / 3, abs=1e-4) and one.render_cpus == pytest.approx(1 / 3, abs=1e-4)
    assert one.run_key() == o.run_key()  # sizes are not part of what a run produces


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_one_cpu_local_ray_scores_the_catalog(private_dir):
    catalog = private_dir / "catalog"
    catalog.mkdir()
    make_synthetic(catalog / "synthetic.mp4")
    emotion, music = make_checkpoints(private_dir)
    options = ScoreOptions(catalog=str(catalog), out=str(private_dir / "out"), num_cpus=1, backbones=BACKBONES,
                           extract_workers=1, show_progress=False,
                           models=ModelSpec(classifier=CLASSIFIER, classifier_checkpoint=emotion, generator_checkpoint=music))
    summary = run_score(options)
    assert len(summary.scored) == 1 and not summary.failed
