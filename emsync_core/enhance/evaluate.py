"""The thesis' table on held-out pieces: SNR gain and log-spectral distance over the band-limited input,
for each model x test filter, beside the input itself and the spectral-copy baseline; plus how well the
detector finds each band limit (and how often it cries wolf on the clean audio)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emsync_core.enhance.apply import enhance_array
from emsync_core.enhance.checkpoint import load_model
from emsync_core.enhance.data import MIN_RMS, load_split
from emsync_core.enhance.detect import detect_band_limit
from emsync_core.enhance.filters import SAMPLE_RATE, TEST_FILTERS
from emsync_core.enhance.metrics import band_snr_db, log_spectral_distance, snr_db
from emsync_core.enhance.spectral_copy import spectral_copy

SEGMENT_S = 5.0
LEAD_S = 1.0  # filtered too, then cut, so the filter's start-up is not scored


@dataclass(frozen=True)
class Row:
    filter: str
    method: str
    snr_gain_db: float  # mean over segments of SNR(method) - SNR(band-limited input)
    lsd: float  # mean log-spectral distance to the clean audio (lower is better)
    input_snr_db: float
    high_band_gain_db: float  # the same gain counted only above the filter's cut-off


def segments(pieces: dict[str, np.ndarray]) -> list[np.ndarray]:
    """One segment per held-out piece (after its first second), skipping near-silent ones."""
    n, lead = int(SEGMENT_S * SAMPLE_RATE), int(LEAD_S * SAMPLE_RATE)
    out = []
    for audio in pieces.values():
        seg = audio[SAMPLE_RATE:SAMPLE_RATE + lead + n]
        if len(seg) == lead + n and float(np.sqrt(np.mean(seg ** 2))) >= MIN_RMS:
            out.append(seg)
    return out


def evaluate(models: dict[str, Path], cache: Path, out: Path, progress: Callable[[str], None] = print) -> dict:
    lead = int(LEAD_S * SAMPLE_RATE)
    segs = segments(load_split(cache, "test"))
    loaded = {name: load_model(path)[0] for name, path in models.items()}
    rows: list[Row] = []
    detection: dict[str, dict] = {}
    clean_verdicts = [detect_band_limit(s[lead:]) for s in segs]
    detection["clean"] = {"restorable": int(sum(v.restorable for v in clean_verdicts)), "segments": len(segs)}
    start = time.monotonic()
    for spec in TEST_FILTERS:
        scores: dict[str, list[tuple[float, float, float]]] = {}
        found_cutoffs = []
        for seg in segs:
            clean, limited = seg[lead:], spec.apply(seg)[lead:]
            found = detect_band_limit(limited)
            found_cutoffs.append(found.cutoff_hz if found.restorable else None)
            outputs = {"band-limited input": limited,
                       "spectral copy": spectral_copy(limited, found.cutoff_hz or spec.cutoff_hz)}
            for name, model in loaded.items():
                outputs[name] = enhance_array(model, limited)
            base, high_base = snr_db(clean, limited), band_snr_db(clean, limited, spec.cutoff_hz, SAMPLE_RATE)
            for name, estimate in outputs.items():
                scores.setdefault(name, []).append((snr_db(clean, estimate) - base, log_spectral_distance(clean, estimate),
                                                    band_snr_db(clean, estimate, spec.cutoff_hz, SAMPLE_RATE) - high_base))
            scores.setdefault("_input_snr", []).append((base, 0.0, 0.0))
        input_snr = float(np.mean([s[0] for s in scores.pop("_input_snr")]))
        for name, vals in scores.items():
            rows.append(Row(spec.label, name, round(float(np.mean([v[0] for v in vals])), 2),
                            round(float(np.mean([v[1] for v in vals])), 3), round(input_snr, 1),
                            round(float(np.mean([v[2] for v in vals])), 2)))
        hits = [c for c in found_cutoffs if c is not None]
        detection[spec.label] = {"restorable": len(hits), "segments": len(segs),
                                 "median_cutoff_error_hz": round(float(np.median(np.abs(np.array(hits) - spec.cutoff_hz))), 0)
                                 if hits else None}
        progress(f"[enhance eval] {spec.label} done ({(time.monotonic() - start) / 60:.1f} min)")
    report = {"segments": len(segs), "segment_s": SEGMENT_S, "models": {k: str(v) for k, v in models.items()},
              "rows": [r.__dict__ for r in rows], "detection": detection}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    return report


def markdown_table(report: dict) -> str:
    """Filters as rows; per method the SNR gain, the high-band SNR gain (dB) and LSD."""
    methods = list(dict.fromkeys(r["method"] for r in report["rows"]))
    filters = list(dict.fromkeys(r["filter"] for r in report["rows"]))
    cell = {(r["filter"], r["method"]): r for r in report["rows"]}
    head = "| test filter | input SNR dB | " + " | ".join(f"{m}: gain / high-band gain dB / LSD" for m in methods) + " |"
    lines = [head, "|" + "---|" * (len(methods) + 2)]
    for f in filters:
        first = cell[(f, methods[0])]
        lines.append(f"| {f} | {first['input_snr_db']} | " + " | ".join(
            f"{cell[(f, m)]['snr_gain_db']:+.2f} / {cell[(f, m)]['high_band_gain_db']:+.2f} / {cell[(f, m)]['lsd']:.2f}"
            for m in methods) + " |")
    return "\n".join(lines)


