"""Training windows from the tokenised cache: crops, transposition, labels and condition dropout."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from emsync_core.music.labels import MinMaxScaler
from emsync_core.music.model import Conditions
from emsync_core.music.tokens import DRUMS
from emsync_core.music.vocab import GROUPS, N_PITCH, VOCAB

#: Token-share multipliers per source: the NES tunes (a fifth of all tokens) are seen less, so one
#: chiptune style does not dominate.
SOURCE_WEIGHTS = {"nesmdb": 0.5}
#: Token-share multiplier of the valence-labelled pieces (VGMIDI, EMOPIA): about 15 % of the tokens,
#: but the only source of the valence signal, so they make up about half of the training windows.
LABELLED_WEIGHT = 5.0
TRANSPOSE = 3


@dataclass
class Batch:
    inputs: torch.Tensor  # (B, L)
    targets: torch.Tensor  # (B, L), PAD where nothing to predict
    cond: Conditions

    def to(self, device: str) -> "Batch":
        c = self.cond
        cond = Conditions(*(t.to(device, non_blocking=True) for t in (c.valence, c.arousal, c.token_valence, c.token_arousal, c.boundary)))
        return Batch(self.inputs.to(device, non_blocking=True), self.targets.to(device, non_blocking=True), cond)


@dataclass(frozen=True)
class Dropout:
    """Probability of replacing each conditioning input by its null vector for a whole window."""

    valence: float = 0.2
    arousal: float = 0.2
    boundary: float = 0.2


NO_DROPOUT = Dropout(0.0, 0.0, 0.0)


class TokenDataset:
    """The cache (see dataprep) held in memory; `sample` draws random windows of one split."""

    def __init__(self, path: Path) -> None:
        data = np.load(path)
        self.tokens = data["tokens"].astype(np.int64)
        self.times = data["times"]
        self.valence = data["valence"].astype(np.float32)
        self.density = data["density"]
        self.t_next = data["t_next_chord"]
        self.offsets = data["offsets"]
        self.source = data["source"]
        self.split = data["split"]
        self.piece_density = data["piece_density"]
        self.piece_valence = data["piece_valence"]
        self.n_failed = int(data["n_failed"])
        self.labelled = np.isfinite(self.piece_valence) | np.array(
            [np.isfinite(self.valence[a:b]).any() for a, b in zip(self.offsets[:-1], self.offsets[1:])]
        )
        pitched = np.zeros(VOCAB.size, dtype=bool)
        for g in range(len(GROUPS)):
            if g != DRUMS:
                pitched[VOCAB.on0 + g * N_PITCH : VOCAB.on0 + (g + 1) * N_PITCH] = True
                pitched[VOCAB.off0 + g * N_PITCH : VOCAB.off0 + (g + 1) * N_PITCH] = True
        self._pitched = pitched
        train = self.pieces("train")
        token_mask = np.zeros(len(self.tokens), dtype=bool)
        for i in train:
            token_mask[self.offsets[i] : self.offsets[i + 1]] = True
        self.piece_scaler = MinMaxScaler.fit(self.piece_density[train])
        self.token_scaler = MinMaxScaler.fit(self.density[token_mask][::7])

    def pieces(self, split: str) -> np.ndarray:
        return np.flatnonzero(self.split == split)

    def labelled_pieces(self, split: str) -> np.ndarray:
        """Pieces of a split that carry a valence label (piece-level or per measure)."""
        return np.flatnonzero((self.split == split) & self.labelled)

    def summary(self) -> dict[str, dict[str, dict[str, int]]]:
        """{source: {split: {pieces, tokens}}} for the model card."""
        lengths = np.diff(self.offsets)
        out: dict[str, dict[str, dict[str, int]]] = {}
        for src in sorted(set(self.source)):
            out[src] = {}
            for split in ("train", "val", "test"):
                idx = np.flatnonzero((self.source == src) & (self.split == split))
                out[src][split] = {"pieces": int(len(idx)), "tokens": int(lengths[idx].sum())}
        return out

    def piece_weights(self, split: str, labelled_weight: float = LABELLED_WEIGHT) -> tuple[np.ndarray, np.ndarray]:
        idx = self.pieces(split)
        w = np.diff(self.offsets)[idx].astype(np.float64)
        w *= np.array([SOURCE_WEIGHTS.get(s, 1.0) for s in self.source[idx]])
        w *= np.where(self.labelled[idx], labelled_weight, 1.0)
        return idx, w / w.sum()

    def window(self, piece: int, length: int, rng: np.random.Generator, bar_start: bool, from_start: bool = False) -> tuple[int, int]:
        """[start, stop) token range of one window: from the piece's START token, or else half the
        time from a BAR, otherwise anywhere."""
        a, b = int(self.offsets[piece]), int(self.offsets[piece + 1])
        if b - a <= length + 1:
            return a, b
        if from_start:
            return a, a + length + 1
        if bar_start:
            bars = np.flatnonzero(self.tokens[a : b - length - 1] == VOCAB.bar)
            if len(bars):
                s = a + int(rng.choice(bars))
                return s, s + length + 1
        s = a + int(rng.integers(0, b - a - length - 1))
        return s, s + length + 1

    def sample(
        self,
        split: str,
        batch: int,
        length: int,
        rng: np.random.Generator,
        dropout: Dropout,
        augment: bool = True,
        *,
        labelled_weight: float = LABELLED_WEIGHT,
        start_share: float = 0.0,
    ) -> Batch:
        """`start_share` of the windows open the piece (START, density flag, first bar): where the
        emotion condition decides the key and the feel instead of being implied by earlier notes."""
        idx, p = self.piece_weights(split, labelled_weight)
        return self._batch(rng.choice(idx, size=batch, p=p), length, rng, dropout, augment, start_share)

    def _batch(
        self, pieces: np.ndarray | list[int], length: int, rng: np.random.Generator, dropout: Dropout, augment: bool, start_share: float
    ) -> Batch:
        batch = len(pieces)
        toks = np.full((batch, length + 1), VOCAB.pad, dtype=np.int64)
        tval = np.full((batch, length), np.nan, dtype=np.float32)
        taro = np.full((batch, length), np.nan, dtype=np.float32)
        bnd = np.full((batch, length), np.nan, dtype=np.float32)
        gval = np.full(batch, np.nan, dtype=np.float32)
        garo = np.full(batch, np.nan, dtype=np.float32)
        for r, piece in enumerate(pieces):
            s, e = self.window(int(piece), length, rng, bar_start=rng.random() < 0.5, from_start=rng.random() < start_share)
            seq = self.tokens[s:e].copy()
            if augment:
                seq = self.transpose(seq, int(rng.integers(-TRANSPOSE, TRANSPOSE + 1)))
            n = e - s
            toks[r, :n] = seq
            m = min(n, length)
            if rng.random() >= dropout.valence:
                tval[r, :m] = self.valence[s : s + m]
                gval[r] = self.piece_valence[piece]
            if rng.random() >= dropout.arousal:
                taro[r, :m] = self.token_scaler.scale(self.density[s : s + m])
                garo[r] = self.piece_scaler.scale(self.piece_density[piece])
            if rng.random() >= dropout.boundary:
                bnd[r, :m] = np.minimum(self.t_next[s : s + m], 8.0)
        t = torch.from_numpy(toks)
        cond = Conditions(
            valence=torch.from_numpy(gval),
            arousal=torch.from_numpy(garo),
            token_valence=torch.from_numpy(tval),
            token_arousal=torch.from_numpy(taro),
            boundary=torch.from_numpy(bnd),
        )
        return Batch(inputs=t[:, :-1], targets=t[:, 1:], cond=cond)

    def sample_piece(self, piece: int, length: int, rng: np.random.Generator) -> Batch:
        """The opening window of one piece with its true labels (no dropout, no transposition)."""
        return self._batch([piece], length, rng, NO_DROPOUT, augment=False, start_share=1.0)

    def transpose(self, seq: np.ndarray, k: int) -> np.ndarray:
        """Shift pitched NOTE_ON/OFF tokens by k semitones, unless a note would leave the 88 keys."""
        if k == 0:
            return seq
        mask = self._pitched[seq]
        if not mask.any():
            return seq
        rel = (seq[mask] - VOCAB.on0) % N_PITCH + k
        if rel.min() < 0 or rel.max() >= N_PITCH:
            return seq
        out = seq.copy()
        out[mask] += k
        return out
