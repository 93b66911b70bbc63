"""`emsync emotion prepare-images | train | evaluate` end to end on a small real Emotion6 subset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from emsync_core.cli.main import app
from emsync_core.emotion.checkpoint import load_checkpoint
from emsync_core.emotion.ekman import EKMAN
from emsync_core.emotion.labels import LabelsError, read_labels
from tests.conftest import SHARED

EMOTION6 = SHARED / "data" / "images" / "emotion6"
PER_CLASS = 6


@pytest.fixture(scope="module")
def small_emotion6(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first images of each class with their real ground-truth rows (symlinked, not copied)."""
    if not EMOTION6.is_dir():
        pytest.skip("../shared is absent")
    root = tmp_path_factory.mktemp("emotion6")
    lines = (EMOTION6 / "ground_truth.txt").read_text().splitlines()
    kept = [lines[0]] + [line for line in lines[1:] if line and int(Path(line.split("\t")[0]).stem) <= PER_CLASS]
    (root / "ground_truth.txt").write_text("\n".join(kept) + "\n")
    for line in kept[1:]:
        name = line.split("\t")[0]
        (root / "images" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "images" / name).symlink_to(EMOTION6 / "images" / name)
    return root


def test_prepare_train_evaluate(small_emotion6: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    data = tmp_path / "data"
    result = runner.invoke(app, ["emotion", "prepare-images", "--out", str(data), "--emotion6", str(small_emotion6), "--skip-oasis", "--backbones", "mobilenet_v2,faces"])
    assert result.exit_code == 0, result.output
    labels = read_labels(data / "labels.csv")
    assert len(labels) == 6 * PER_CLASS and {lab.split for lab in labels.values()} == {"train", "val", "test"}
    joy = labels["emotion6/joy/1"]
    assert EKMAN[joy.label] == "joy" and joy.distribution.sum() == pytest.approx(1.0)

    model = tmp_path / "model.safetensors"
    result = runner.invoke(app, ["emotion", "train", str(data), str(data / "labels.csv"), "--out", str(model), "--epochs", "3", "--version", "tiny-1", "--d-model", "32"])
    assert result.exit_code == 0, result.output
    checkpoint = load_checkpoint(model)
    assert checkpoint.version == "tiny-1" and checkpoint.head.config.modalities == ("mobilenet_v2", "faces")
    assert checkpoint.provenance["training"]["n_train"] == sum(lab.split == "train" for lab in labels.values())

    report = tmp_path / "eval.json"
    result = runner.invoke(app, ["emotion", "evaluate", str(data), str(data / "labels.csv"), "--model", str(model), "--split", "all", "--ablation", "--json", str(report)])
    assert result.exit_code == 0, result.output
    payload = json.loads(report.read_text())
    metrics = payload["results"]["all modalities"]
    assert metrics["n_class"] == 6 * PER_CLASS
    assert sum(map(sum, metrics["confusion"])) == 6 * PER_CLASS
    assert 0 <= metrics["accuracy"] <= 1 and metrics["kl_divergence"] > 0
    assert "without faces" in payload["results"] and "only mobilenet_v2" in payload["results"]


def test_bad_labels_name_the_row(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("video_id,label,valence\na,joy,0.5\nb,contempt,0.1\n")
    with pytest.raises(LabelsError, match=r"labels.csv:3: label 'contempt'"):
        read_labels(path)
    path.write_text("video_id,label,valence\na,joy,4.5\n")
    with pytest.raises(LabelsError, match="outside"):
        read_labels(path)
    path.write_text("clip,label\na,joy\n")
    with pytest.raises(LabelsError, match="video_id"):
        read_labels(path)
