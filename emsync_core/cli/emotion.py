"""`emsync emotion ...`: prepare labelled image sets, train and evaluate the fusion head, classify scenes."""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(help="Video emotion: the fusion classifier over frozen backbones.", no_args_is_help=True)

DEFAULT_MODALITIES = "mobilenet_v2,faces"


def _console():
    from rich.console import Console

    return Console(width=150)


@app.command("prepare-images")
def prepare_images(
    out: Path = typer.Option(..., "--out", help="Folder for emotion6.parquet, oasis.parquet and labels.csv."),
    emotion6: Path = typer.Option(Path("../shared/data/images/emotion6"), help="Emotion6 folder (ground_truth.txt, images/)."),
    oasis: Path = typer.Option(Path("../shared/data/images/oasis"), help="OASIS folder (OASIS.csv, images/)."),
    skip_oasis: bool = typer.Option(False, "--skip-oasis", help="Emotion6 only."),
    backbones: str = typer.Option("mobilenet_v2,faces,visual_affect", help="Frame backbones to run on each image."),
) -> None:
    """Turn Emotion6 / OASIS into feature Parquet (one single-window clip per image) plus a labels CSV."""
    from rich.progress import Progress

    from emsync_core.emotion.image_sets import featurize, load_emotion6, load_oasis, write_labels

    out.mkdir(parents=True, exist_ok=True)
    sets = {"emotion6": load_emotion6(emotion6)}
    if not skip_oasis:
        sets["oasis"] = load_oasis(oasis)
    write_labels([im for images in sets.values() for im in images], out / "labels.csv")
    names = tuple(b.strip() for b in backbones.split(",") if b.strip())
    with Progress() as progress:
        for name, images in sets.items():
            task = progress.add_task(f"{name}: {len(images)} images", total=len(images))
            featurize(images, names, out / f"{name}.parquet", lambda k, t=task: progress.advance(t, k))
    _console().print(f"wrote {', '.join(str(out / f'{n}.parquet') for n in sets)} and {out / 'labels.csv'}")


@app.command("train")
def train_command(
    features: str = typer.Argument(..., help="Feature Parquet: an extraction output folder, a folder of .parquet, or one file."),
    labels: Path = typer.Argument(..., help="Labels CSV (video_id, label and/or class shares, valence, arousal, split)."),
    out: Path = typer.Option(..., "--out", help="Where to write the .safetensors checkpoint."),
    modalities: str = typer.Option(DEFAULT_MODALITIES, help="Backbones (feature columns) the head reads."),
    version: str = typer.Option("custom-1", help="Model version recorded with every result."),
    epochs: int = typer.Option(80),
    d_model: int = typer.Option(128),
    lr: float = typer.Option(1e-4),
    seed: int = typer.Option(0),
    label_weight: float = typer.Option(0.0, help="Weight of cross-entropy to the hard class label beside the vote shares."),
    data_note: str = typer.Option("", help="What the labels are and their terms; stored in the checkpoint."),
    calibration: str = typer.Option("auto", help="V/A calibration fitted on `val`: auto (cross-validated choice), "
                                                 "quantile, stretch or none."),
) -> None:
    """Train the fusion head on your labelled clips; the `val` split picks the epoch and the V/A mix."""
    from rich.table import Table

    from emsync_core.emotion.checkpoint import save_checkpoint
    from emsync_core.emotion.dataset import load_examples
    from emsync_core.emotion.fusion import FusionConfig
    from emsync_core.emotion.labels import read_labels
    from emsync_core.emotion.train import TrainSettings, to_checkpoint, train

    console = _console()
    names = tuple(m.strip() for m in modalities.split(",") if m.strip())
    dims = _dims(features, names)
    label_map = read_labels(labels)
    examples = load_examples(features, label_map, names, dims)
    train_set = [e for e in examples if e.label.split == "train"]
    val_set = [e for e in examples if e.label.split == "val"]
    console.print(f"{len(examples)} labelled clips matched ({len(train_set)} train, {len(val_set)} val); modalities {names} dims {dims}")
    config = FusionConfig(names, dims, d_model=d_model)
    with console.status("training") as status:
        head, report = train(
            train_set,
            val_set,
            config,
            TrainSettings(epochs=epochs, lr=lr, seed=seed, label_weight=label_weight, calibration=calibration),
            on_epoch=lambda r: status.update(f"epoch {r['epoch']}: train {r['train_loss']:.3f} val {r['val_loss']:.3f}"),
        )
    provenance = {"features": str(features), "labels": str(labels), "modalities": list(names), "labels_sha256": _sha(labels),
                  "data": data_note, "label_weight": label_weight, "d_model": d_model, "lr": lr, "seed": seed}
    sha = save_checkpoint(to_checkpoint(head, report, version, provenance), out)
    table = Table(title=f"trained {out}")
    for key in ("epochs_run", "best_epoch", "best_val_loss", "seconds", "n_train", "n_val", "va_mix"):
        table.add_row(key, f"{getattr(report, key):.4g}" if isinstance(getattr(report, key), float) else str(getattr(report, key)))
    kind = report.calibration.to_dict()["kind"] if report.calibration else "none"
    scores = ", ".join(f"{k} {v:.4f}" for k, v in report.calibration_scores.items())
    table.add_row("calibration", f"{kind} (validation{'; cross-validated RMSE ' + scores if scores else ''})")
    table.add_row("sha256", sha)
    console.print(table)


@app.command("evaluate")
def evaluate_command(
    features: str = typer.Argument(..., help="Feature Parquet location."),
    labels: Path = typer.Argument(..., help="Labels CSV."),
    model: Path = typer.Option(None, help="Checkpoint (default: the shipped model)."),
    split: str = typer.Option("test", help="Which split to score ('all' for every labelled clip)."),
    ablation: bool = typer.Option(False, help="Also score with each modality dropped, and the untrained FER prior."),
    json_out: Path = typer.Option(None, "--json", help="Write the numbers here."),
) -> None:
    """Accuracy, macro-F1, confusion matrix, KL to vote shares, V/A correlation and RMSE."""
    from emsync_core.emotion.checkpoint import load_checkpoint
    from emsync_core.emotion.classifier import default_model_path
    from emsync_core.emotion.dataset import load_examples
    from emsync_core.emotion.evaluation import evaluate_checkpoint, fer_prior, score
    from emsync_core.emotion.labels import read_labels

    checkpoint = load_checkpoint(model or default_model_path())
    config = checkpoint.head.config
    label_map = {k: v for k, v in read_labels(labels).items() if split == "all" or v.split == split}
    examples = load_examples(features, label_map, config.modalities, config.dims)
    if not examples:
        raise typer.BadParameter(f"no clips of split {split!r} in {features}")
    results = {"all modalities": evaluate_checkpoint(checkpoint, examples)}
    if ablation:
        for name in config.modalities:
            results[f"without {name}"] = evaluate_checkpoint(checkpoint, examples, {name})
            others = set(config.modalities) - {name}
            if others:
                results[f"only {name}"] = evaluate_checkpoint(checkpoint, examples, others)
        face_clips, probs, va = fer_prior(examples, config.modalities)
        if face_clips:  # the model reads faces: compare on the clips that have one
            results["FER prior (face clips)"] = score(face_clips, probs, va)
            results["all modalities (face clips)"] = evaluate_checkpoint(checkpoint, face_clips)
            results["without faces (face clips)"] = evaluate_checkpoint(checkpoint, face_clips, {"faces"})
    _print_metrics(results, checkpoint.version, split)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        payload = {"model": checkpoint.version, "sha256": checkpoint.sha256, "split": split, "results": {k: v.to_dict() for k, v in results.items()}}
        json_out.write_text(json.dumps(payload, indent=2))


@app.command("classify")
def classify_command(
    features: str = typer.Argument(..., help="Feature Parquet location (an extraction output)."),
    model: Path = typer.Option(None, help="Checkpoint (default: the shipped model)."),
    smoothing_s: float = typer.Option(3.0, help="Gaussian smoothing across scenes in seconds (0: off)."),
    without_activity: bool = typer.Option(False, "--without-activity", help="Leave out the activity rule (motion, cuts, loudness -> arousal)."),
    json_out: Path = typer.Option(None, "--json", help="Write per-scene results here."),
) -> None:
    """Per-scene Ekman probabilities, valence/arousal and confidence for every video in the features."""
    from dataclasses import asdict

    from rich.table import Table

    from emsync_core.emotion.classifier import load_classifier
    from emsync_core.emotion.ekman import EKMAN
    from emsync_core.emotion.features_io import read_videos
    from emsync_core.store.feature_parquet import read_metadata

    classifier = load_classifier(model, smoothing_s=smoothing_s, use_activity=not without_activity)
    console = _console()
    payload = {"model": classifier.model_version, "sha256": classifier.model_sha256, "videos": {}}
    for video_id, table in read_videos(features):
        scenes = classifier.classify(table)
        payload["videos"][video_id] = [asdict(s) for s in scenes]
        view = Table(title=f"{video_id}  {read_metadata(table).get('uri', '')}")
        for col in ("scene", "start", "end", "top", "p", "V", "A", "conf", "evidence"):
            view.add_column(col)
        for s in scenes:
            top = max(EKMAN, key=lambda e: s.probs[e])
            view.add_row(str(s.scene_index), f"{s.start_s:.1f}", f"{s.end_s:.1f}", top, f"{s.probs[top]:.2f}",
                         f"{s.valence:+.2f}", f"{s.arousal:+.2f}", f"{s.confidence:.2f}", ",".join(s.modalities))
        console.print(view)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(payload, indent=2))


@app.command("spread")
def spread_command(
    features: str = typer.Argument(..., help="An extraction output folder of a catalog."),
    model: list[Path] = typer.Option(None, help="Checkpoints to compare (repeat; default: the shipped model)."),
    normalise_catalog: bool = typer.Option(False, "--normalise-catalog", help="Also show the per-catalog normalisation."),
    without_activity: bool = typer.Option(False, "--without-activity", help="Also show each model without the activity rule."),
) -> None:
    """How far scene valence/arousal spread over a catalog (std over all scenes), per model."""
    import numpy as np
    from scipy.stats import spearmanr

    from emsync_core.emotion.classifier import load_classifier
    from emsync_core.emotion.features_io import read_videos
    from emsync_core.scoring.moods import fit_catalog_norm

    tables = list(read_videos(features))
    console = _console()
    rows = {}
    for path in model or [None]:
        for use_activity in (True, False) if without_activity else (True,):
            classifier = load_classifier(path, use_activity=use_activity)
            va = np.array([(s.valence, s.arousal) for _, t in tables for s in classifier.classify(t)])
            rows[classifier.model_version + ("" if use_activity else " without the activity rule")] = va
            if normalise_catalog and use_activity:
                norm = fit_catalog_norm([tuple(x) for x in va])
                rows[f"{classifier.model_version} + catalog normalisation"] = np.array([norm.apply(*x) for x in va])
    first = next(iter(rows.values()))
    for name, va in rows.items():
        rho = [spearmanr(first[:, d], va[:, d]).statistic for d in range(2)]
        console.print(f"{name}: {len(va)} scenes of {len(tables)} videos; valence std {va[:, 0].std():.3f} "
                      f"(range {va[:, 0].min():+.2f}..{va[:, 0].max():+.2f}), arousal std {va[:, 1].std():.3f} "
                      f"(range {va[:, 1].min():+.2f}..{va[:, 1].max():+.2f}); rank corr. with the first: V {rho[0]:.2f} A {rho[1]:.2f}")


@app.command("music-prior")
def music_prior_command(
    emopia: Path = typer.Argument(Path("../shared/data/midi/emopia"), help="EMOPIA folder (label.csv, midis/)."),
    per_quadrant: int = typer.Option(60, help="Clips sampled per quadrant (seeded)."),
    seed: int = typer.Option(0),
    json_out: Path = typer.Option(None, "--json", help="Write the fit and every clip's reading here."),
) -> None:
    """Fit where vibenet's valence/energy sit on labelled music (EMOPIA quadrants): the music pathway's constants."""
    from emsync_core.emotion.music_prior import emopia_clips, fit_music_prior, vibenet_readings

    clips = emopia_clips(emopia, per_quadrant, seed)
    with _console().status(f"rendering and hearing {len(clips)} EMOPIA clips"):
        readings = vibenet_readings(clips)
    fit = fit_music_prior(clips, readings)
    for name, line in (("valence (vibenet valence)", fit.valence), ("arousal (vibenet energy)", fit.arousal)):
        _console().print(f"{name}: centre {line.centre:.3f}, slope {line.slope:.3f}, AUC {line.auc:.3f} ({fit.n_clips} clips)")
    if json_out:
        json_out.write_text(json.dumps({**fit.to_dict(), "clips": [{"file": p.name, "quadrant": q, "valence": r[0], "energy": r[1]}
                                                                   for (p, q), r in zip(clips, readings.tolist())]}, indent=2))


@app.command("brief-eval")
def brief_eval_command(
    features: str = typer.Argument(..., help="An extraction output (or one video's feature Parquet)."),
    video_id: str = typer.Option(None, help="Which video of the features (default: the first)."),
    positive: str = typer.Option("joyful", help="The brief expected to sound more positive."),
    negative: str = typer.Option("melancholic", help="The brief expected to sound less positive."),
    seeds: int = typer.Option(10, help="Seeds 0..n-1, each scored under both briefs."),
    rule: str = typer.Option("centre", help="Brief rule: centre or replace."),
    model: Path = typer.Option(None, help="Classifier checkpoint (default: the shipped model)."),
    json_out: Path = typer.Option(None, "--json", help="Write the per-seed valences here."),
) -> None:
    """The same clip under two briefs: share of seeds where vibenet hears the positive brief as more positive."""
    import torch

    from emsync_core.brief.evaluate import brief_contrast
    from emsync_core.emotion.classifier import load_classifier
    from emsync_core.emotion.features_io import read_videos
    from emsync_core.music import load_generator
    from emsync_core.store.feature_parquet import read_metadata

    torch.set_num_threads(1)
    video, table = next((v, t) for v, t in read_videos(features) if video_id is None or v.startswith(video_id))
    meta = read_metadata(table)
    duration = float(meta.get("duration_s") or table.column("end_s").to_numpy().max())
    result = brief_contrast(table, load_classifier(model), load_generator(), duration_s=duration,
                            cuts_s=tuple(float(c) for c in meta.get("cuts_s", [])), positive=positive, negative=negative,
                            seeds=tuple(range(seeds)), rule=rule)
    console = _console()
    for seed, p, n in zip(result.seeds, result.positive_valence, result.negative_valence):
        console.print(f"seed {seed}: {positive} {p:.3f}  {negative} {n:.3f}  {'ok' if p > n else 'MISS'}")
    console.print(f"{video}: vibenet valence higher for {positive!r} than {negative!r} in "
                  f"{result.share_positive_higher:.0%} of {len(result.seeds)} seeds")
    if json_out:
        json_out.write_text(json.dumps({"video_id": video, "rule": rule, **{k: list(v) if isinstance(v, tuple) else v
                                        for k, v in result.__dict__.items()}, "share": result.share_positive_higher}, indent=2))


def _dims(features: str, names: tuple[str, ...]) -> tuple[int, ...]:
    """Each modality's dimension from the first feature file that has its column."""
    import pyarrow.parquet as pq

    from emsync_core.emotion.features_io import backbone_dims, feature_files
    from emsync_core.store import uri as store_uri

    found: dict[str, int] = {}
    for path in feature_files(features):
        with store_uri.open_read(path) as fh:
            found.update({k: v for k, v in backbone_dims(pq.read_schema(fh).empty_table()).items() if k not in found})
        if all(n in found for n in names):
            return tuple(found[n] for n in names)
    missing = [n for n in names if n not in found]
    raise typer.BadParameter(f"no feat_ column for {missing} in {features}")


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _print_metrics(results: dict, version: str, split: str) -> None:
    from rich.table import Table

    from emsync_core.emotion.ekman import EKMAN

    table = Table(title=f"{version} on split {split}")
    for col in ("pathways", "n", "top-1", "macro-F1", "KL", "V r", "V RMSE", "A r", "A RMSE"):
        table.add_column(col)
    for name, m in results.items():
        table.add_row(name, f"{m.n_class}/{m.n_va}", f"{m.accuracy:.3f}", f"{m.macro_f1:.3f}", f"{m.kl_divergence:.3f}",
                      f"{m.valence_r:.3f}", f"{m.valence_rmse:.3f}", f"{m.arousal_r:.3f}", f"{m.arousal_rmse:.3f}")
    console = _console()
    console.print(table)
    confusion = Table(title="confusion (rows true, columns predicted), all modalities")
    confusion.add_column("")
    for e in EKMAN:
        confusion.add_column(e[:4])
    for e, row in zip(EKMAN, results["all modalities"].confusion):
        confusion.add_row(e, *[str(x) for x in row])
    console.print(confusion)
