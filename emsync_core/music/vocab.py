"""The event vocabulary: EMSYNC's 1011 tokens plus velocity bins (dynamics carry arousal)."""

from __future__ import annotations

from dataclasses import dataclass

GROUPS: tuple[str, ...] = ("drums", "bass", "guitar", "piano", "strings")
#: General MIDI program written for each group at decode (drums use channel 10, program 0).
GROUP_PROGRAMS: dict[str, int] = {"drums": 0, "bass": 33, "guitar": 25, "piano": 0, "strings": 48}
PITCH_LO, PITCH_HI = 21, 108
N_PITCH = PITCH_HI - PITCH_LO + 1
STEP_S = 0.008
MAX_SHIFT_STEPS = 125
N_VEL = 8


def velocity_bin(velocity: int) -> int:
    """Eight equal-width bins over MIDI velocity 1..127."""
    return min(N_VEL - 1, max(0, (int(velocity) - 1) * N_VEL // 127))


def bin_velocity(vbin: int) -> int:
    """Centre velocity of a bin, used at decode."""
    return int(round((vbin + 0.5) * 127 / N_VEL))


@dataclass(frozen=True)
class Vocab:
    """Token id layout. Ids are stable: the checkpoint stores `size` and refuses a mismatch."""

    pad: int = 0
    start: int = 1
    bar: int = 2
    chord: int = 3
    less: int = 4
    more: int = 5
    shift0: int = 6  # TIMESHIFT of k steps (1..125) is shift0 + k - 1

    @property
    def on0(self) -> int:
        return self.shift0 + MAX_SHIFT_STEPS

    @property
    def off0(self) -> int:
        return self.on0 + len(GROUPS) * N_PITCH

    @property
    def vel0(self) -> int:
        return self.off0 + len(GROUPS) * N_PITCH

    @property
    def size(self) -> int:
        return self.vel0 + N_VEL

    def shift(self, steps: int) -> int:
        return self.shift0 + steps - 1

    def note_on(self, group: int, pitch: int) -> int:
        return self.on0 + group * N_PITCH + pitch - PITCH_LO

    def note_off(self, group: int, pitch: int) -> int:
        return self.off0 + group * N_PITCH + pitch - PITCH_LO

    def velocity(self, vbin: int) -> int:
        return self.vel0 + vbin

    def is_shift(self, tok: int) -> bool:
        return self.shift0 <= tok < self.on0

    def shift_steps(self, tok: int) -> int:
        return tok - self.shift0 + 1

    def is_on(self, tok: int) -> bool:
        return self.on0 <= tok < self.off0

    def is_off(self, tok: int) -> bool:
        return self.off0 <= tok < self.vel0

    def is_vel(self, tok: int) -> bool:
        return self.vel0 <= tok < self.size

    def note_of(self, tok: int) -> tuple[int, int]:
        """(group, pitch) of a NOTE_ON or NOTE_OFF token."""
        base = self.on0 if self.is_on(tok) else self.off0
        group, rel = divmod(tok - base, N_PITCH)
        return group, rel + PITCH_LO


VOCAB = Vocab()
