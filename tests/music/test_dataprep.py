"""Data preparation on real files: CHORD marks, labels, boundary targets, splits, windows."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from emsync_core.music.dataprep import detect_chords, next_chord_gap, tokenise
from emsync_core.music.labels import MinMaxScaler
from emsync_core.music.sources import EMOPIA_VALENCE, PieceSpec, emopia_specs, split_of, vgmidi_specs
from emsync_core.music.tokens import Note
from emsync_core.music.vocab import VOCAB


def test_pop909_chord_marks_follow_annotations(midi_root):
    folder = midi_root / "pop909/POP909/001"
    piece = tokenise(PieceSpec("pop909", str(folder / "001.mid"), "001", chord_file=str(folder / "chord_midi.txt")))
    assert piece is not None
    chord_times = piece.times[piece.tokens == VOCAB.chord]
    labels = [line.split() for line in (folder / "chord_midi.txt").read_text().splitlines() if line.strip()]
    changes = [float(t) for i, (t, _, lab) in enumerate(labels) if lab != "N" and (i == 0 or labels[i - 1][2] != lab)]
    assert len(chord_times) == len(changes)
    assert np.all(np.abs(np.sort(chord_times) - np.array(changes)) <= 0.16)
    # boundary target: time to the next CHORD token, inf after the last one
    i = int(np.flatnonzero(piece.tokens == VOCAB.chord)[0])
    assert piece.t_next_chord[i - 1] == pytest.approx(piece.times[i] - piece.times[i - 1], abs=1e-6)
    assert piece.t_next_chord[i] == pytest.approx(chord_times[1] - chord_times[0], abs=1e-5)
    assert math.isinf(piece.t_next_chord[-1])


def test_sustained_chords_detected_and_short_ones_not():
    block = [Note(3, p, 0.0, 1.0) for p in (60, 64, 67)] + [Note(3, p, 1.0, 2.0) for p in (62, 65, 69)]
    staccato = [Note(3, p, 2.0, 2.1) for p in (60, 64, 67)]
    two_notes = [Note(3, p, 3.0, 4.0) for p in (60, 64)]
    assert detect_chords(block + staccato + two_notes, beat_s=0.5) == [0.0, 1.0]


def test_next_chord_gap():
    toks = np.array([VOCAB.start, VOCAB.chord, VOCAB.shift(10), VOCAB.chord, VOCAB.shift(5)])
    times = np.array([0.0, 0.0, 0.08, 0.08, 0.12], dtype=np.float32)
    gap = next_chord_gap(toks, times)
    assert gap[0] == 0.0 and gap[1] == pytest.approx(0.08) and gap[2] == 0.0 and math.isinf(gap[4])


def test_labels_and_splits(midi_root):
    emo = emopia_specs(midi_root)
    assert all(s.valence == EMOPIA_VALENCE[int(Path(s.path).name[1])] for s in emo)
    # clips of one song share a split
    by_song: dict[str, set[str]] = {}
    for s in emo:
        by_song.setdefault(s.key, set()).add(split_of(s.source, s.key))
    assert all(len(v) == 1 for v in by_song.values())
    vg = vgmidi_specs(midi_root)
    curves = [s for s in vg if s.valence_curve is not None]
    assert len(curves) > 50 and all(-1 <= min(s.valence_curve) and max(s.valence_curve) <= 1 for s in curves)
    piece = tokenise(curves[0])
    assert piece is not None and np.nanstd(piece.valence) > 0  # valence varies along the piece


def test_windowed_density_tracks_real_density(midi_root):
    piece = tokenise(PieceSpec("nottingham", str(midi_root / "nottingham/MIDI/jigs107.mid"), "x"))
    assert piece is not None and np.all(piece.density >= 0) and piece.density.max() > 1.0


def test_scaler_drops_outliers():
    raw = np.concatenate([np.linspace(1, 10, 100), [500.0]])
    sc = MinMaxScaler.fit(raw)
    assert sc.hi == pytest.approx(10.0) and sc.scale(np.array([1.0, 10.0, 500.0])).tolist() == [-1.0, 1.0, 1.0]
