"""What a listener hears in one soundtrack MIDI: instrument groups, tonal variety, chords on the cuts,
silent stretches. Shared by `emsync music eval` and the per-soundtrack summary of `emsync score`."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pretty_midi

from emsync_core.music import metrics
from emsync_core.music.tokens import notes_from_midi

CUT_TOLERANCE_S = 0.5


@dataclass(frozen=True)
class SoundtrackStats:
    """Per-soundtrack measures; `groups` are the tracks that play at least one note (their names,
    e.g. melody/harmony/bass/drums, or the GM program where a track has no name)."""

    groups: tuple[str, ...]
    pitch_class_entropy: float
    cuts: int  # cuts after thinning to >= 4 s apart
    audible_cut_chords: int  # of those, cuts with an audible chord within +/-0.5 s
    empty_windows: int  # 5 s windows without a pitched note
    drums_only: bool

    def as_dict(self) -> dict:
        return {
            "groups": list(self.groups), "pitch_class_entropy": round(self.pitch_class_entropy, 3), "cuts": self.cuts,
            "audible_cut_chords": self.audible_cut_chords, "empty_windows": self.empty_windows, "drums_only": self.drums_only,
        }


def _group_name(inst: pretty_midi.Instrument) -> str:
    return inst.name or ("drums" if inst.is_drum else f"program {inst.program}")


def soundtrack_stats(midi_bytes: bytes, cuts_s: list[float] | tuple[float, ...], duration_s: float | None = None) -> SoundtrackStats:
    pm = pretty_midi.PrettyMIDI(io.BytesIO(midi_bytes))
    notes = notes_from_midi(pm)
    duration = duration_s if duration_s is not None else pm.get_end_time()
    cuts = metrics.thin_cuts([c for c in cuts_s if 0 <= c <= duration])
    hits, _ = metrics.cut_hit_rate(cuts, metrics.audible_chords(notes), CUT_TOLERANCE_S)
    pitched = metrics.pitched(notes)
    return SoundtrackStats(
        groups=tuple(sorted({_group_name(i) for i in pm.instruments if i.notes})),
        pitch_class_entropy=metrics.pitch_class_entropy(notes),
        cuts=len(cuts),
        audible_cut_chords=hits,
        empty_windows=metrics.empty_windows(notes, duration),
        drums_only=bool(notes) and not pitched,
    )
