"""Where the training MIDI comes from: one `PieceSpec` per file, with its labels and split key."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MIDI_ROOT = Path("/work/shared/data/midi")

#: Licence of each source, copied into the model card.
LICENCES: dict[str, str] = {
    "vgmidi": "VGMIDI (Ferreira & Whitehead 2019): no licence file, research use",
    "emopia": "EMOPIA 1.0 (Hung et al. 2021): CC BY-NC-SA 4.0 (non-commercial)",
    "pop909": "POP909 (Wang et al. 2020): MIT",
    "nottingham": "Nottingham dataset (jukedeck): GPL-3.0",
    "nesmdb": "NES-MDB (Donahue et al. 2018): research dataset; music belongs to its publishers",
    "groove": "Groove MIDI Dataset 1.0 (Magenta): CC BY 4.0",
    "music21": "music21 bundled corpus: public-domain scores (corpus files BSD/LGPL per music21)",
}
EMOPIA_VALENCE = {1: 1.0, 2: -1.0, 3: -1.0, 4: 1.0}


@dataclass(frozen=True)
class PieceSpec:
    """A file to tokenise. `key` groups files of one piece so they land in one split."""

    source: str
    path: str
    key: str
    valence: float = math.nan
    valence_curve: tuple[float, ...] | None = None  # per measure, mean over annotators (VGMIDI)
    chord_file: str | None = None  # POP909 chord annotation


def split_of(source: str, key: str) -> str:
    """Deterministic 90/5/5 split by piece key, so a piece never straddles splits."""
    h = int(hashlib.sha1(f"{source}/{key}".encode()).hexdigest(), 16) % 100
    return "train" if h < 90 else ("val" if h < 95 else "test")


def _strip_index(stem: str) -> str:
    return re.sub(r"_\d+$", "", stem)


def _vgmidi_curves(root: Path) -> dict[str, tuple[float, ...]]:
    """Per-measure valence of each annotated VGMIDI piece, averaged over annotators."""
    curves: dict[str, list[list[float]]] = {}
    for f in sorted((root / "vgmidi/labelled/annotations").glob("*.json")):
        data = json.loads(f.read_text())
        for ann_id, ann in data["annotations"].items():
            piece = data["pieces"].get(ann_id.split("_")[0])
            if piece and ann.get("valence"):
                curves.setdefault(piece["midi"], []).append([float(v) for v in ann["valence"]])
    out = {}
    for midi, rows in curves.items():
        n = min(len(r) for r in rows)
        out[midi] = tuple(sum(r[i] for r in rows) / len(rows) for i in range(n))
    return out


def vgmidi_specs(root: Path) -> list[PieceSpec]:
    base = root / "vgmidi"
    specs = []
    with open(base / "vgmidi_labelled.csv") as fh:
        for row in csv.DictReader(fh):
            path = base / row["midi"]
            specs.append(PieceSpec("vgmidi", str(path), _strip_index(path.stem), float(row["valence"])))
    labels = {_strip_index(Path(s.path).stem): s.valence for s in specs}
    curves = _vgmidi_curves(root)
    for path in sorted((base / "labelled/midi").glob("*.mid")):
        curve = curves.get(path.name)
        specs.append(PieceSpec("vgmidi", str(path), path.stem, labels.get(path.stem, math.nan), curve))
    specs += [PieceSpec("vgmidi", str(p), p.stem) for p in sorted((base / "unlabelled").rglob("*.mid"))]
    return specs


def emopia_specs(root: Path) -> list[PieceSpec]:
    specs = []
    for path in sorted((root / "emopia/midis").glob("*.mid")):
        quadrant, song = path.stem.split("_")[0], "_".join(path.stem.split("_")[1:-1])
        specs.append(PieceSpec("emopia", str(path), song, EMOPIA_VALENCE[int(quadrant[1])]))
    return specs


def pop909_specs(root: Path) -> list[PieceSpec]:
    specs = []
    for folder in sorted((root / "pop909/POP909").iterdir()):
        midi = folder / f"{folder.name}.mid"
        if midi.exists():
            chords = folder / "chord_midi.txt"
            specs.append(PieceSpec("pop909", str(midi), folder.name, chord_file=str(chords) if chords.exists() else None))
    return specs


def simple_specs(root: Path, source: str, pattern: str, key_parts: int | None = None) -> list[PieceSpec]:
    """Unlabelled sources; `key_parts` keeps the first underscore fields of the stem (e.g. NES game)."""
    specs = []
    for path in sorted(root.glob(pattern)):
        rel = str(path.relative_to(root))
        key = "_".join(path.stem.split("_")[:key_parts]) if key_parts else rel
        specs.append(PieceSpec(source, str(path), key))
    return specs


def music21_specs(limit: int) -> list[PieceSpec]:
    """music21's bundled Bach works (mostly chorales), parsed at tokenisation time."""
    from music21 import corpus

    paths = [str(p) for p in corpus.getComposer("bach")]
    return [PieceSpec("music21", p, Path(p).stem) for p in paths[:limit]]


def all_specs(root: Path = DEFAULT_MIDI_ROOT, music21_limit: int = 150, nesmdb_stride: int = 4) -> list[PieceSpec]:
    """Every source (VGMIDI, EMOPIA, POP909, Nottingham, NES-MDB, Groove, music21).

    `nesmdb_stride` keeps every n-th NES tune: a CPU session trains on far fewer tokens than the 5k
    tunes hold, and tokenising them all costs more time than it returns.
    """
    return (
        vgmidi_specs(root)
        + emopia_specs(root)
        + pop909_specs(root)
        + simple_specs(root / "nottingham/MIDI", "nottingham", "*.mid")
        + simple_specs(root / "nesmdb/midi", "nesmdb", "*.mid", key_parts=2)[::nesmdb_stride]
        + simple_specs(root / "groove", "groove", "drummer*/*/*.mid")
        + (music21_specs(music21_limit) if music21_limit > 0 else [])
    )
