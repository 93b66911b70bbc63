"""Line-ups the arrangement step plays the generated music with: one GM program per role.

Roles: melody (the top line), harmony (the inner notes), bass (the low line), drums (only in
scenes whose arousal is high, and only in line-ups that have drums). A line-up is a preset name or
a custom `role=program` list, e.g. `melody=73,harmony=48,bass=42,drums=48` (drums = the GM drum
kit number on channel 10; leave it out for no drums).
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES: tuple[str, ...] = ("melody", "harmony", "bass", "drums")
PITCHED_ROLES = ROLES[:3]


@dataclass(frozen=True)
class Ensemble:
    """GM program per role; `drums` None = no drums at all."""

    name: str
    melody: int
    harmony: int
    bass: int
    drums: int | None = None

    def program(self, role: str) -> int | None:
        return getattr(self, role)

    @property
    def spec(self) -> str:
        """The custom-form text that rebuilds exactly this line-up."""
        return ",".join(f"{r}={self.program(r)}" for r in ROLES if self.program(r) is not None)


#: Presets. GM programs (0-based): 0 grand piano, 4 electric piano, 24 nylon guitar, 25 steel guitar,
#: 27 clean electric guitar, 32 acoustic bass, 33 finger bass, 38 synth bass, 40 violin, 42 cello,
#: 48 string ensemble, 52 choir aahs, 56 trumpet, 58 tuba, 61 brass section, 65 alto sax, 73 flute,
#: 80 square lead, 88 new-age pad; drum kits 0 standard, 24 electronic, 32 jazz, 48 orchestra.
PRESETS: dict[str, Ensemble] = {
    "piano": Ensemble("piano", melody=0, harmony=0, bass=0),
    "strings": Ensemble("strings", melody=40, harmony=48, bass=42),
    "band": Ensemble("band", melody=27, harmony=4, bass=33, drums=0),
    "orchestra": Ensemble("orchestra", melody=73, harmony=48, bass=42, drums=48),
    "brass": Ensemble("brass", melody=56, harmony=61, bass=58, drums=48),
    "choir": Ensemble("choir", melody=52, harmony=52, bass=42),
    "jazz": Ensemble("jazz", melody=65, harmony=0, bass=32, drums=32),
    "electronic": Ensemble("electronic", melody=80, harmony=88, bass=38, drums=24),
    "acoustic": Ensemble("acoustic", melody=24, harmony=25, bass=32),
}
DEFAULT_ENSEMBLE = "orchestra"
ENSEMBLE_HELP = (
    "Line-up: piano, strings, band, orchestra (default), brass, choir, jazz, electronic, acoustic, or role=GM program pairs, "
    "e.g. melody=73,harmony=48,bass=42,drums=48 (no drums= entry: no drums)."
)


def parse_ensemble(text: str) -> Ensemble:
    """A preset name or `role=program,...` (melody, harmony and bass required; programs 0-127)."""
    text = text.strip().lower()
    if text in PRESETS:
        return PRESETS[text]
    fields: dict[str, int] = {}
    for part in text.split(","):
        role, sep, value = part.partition("=")
        role = role.strip()
        if not sep or role not in ROLES or not value.strip().isdigit() or not 0 <= int(value) <= 127:
            raise ValueError(
                f"ensemble {text!r}: expected one of {sorted(PRESETS)} or role=program pairs "
                f"(roles {', '.join(ROLES)}; programs 0-127)"
            )
        fields[role] = int(value)
    missing = [r for r in PITCHED_ROLES if r not in fields]
    if missing:
        raise ValueError(f"ensemble {text!r}: missing {', '.join(missing)}")
    return Ensemble("custom", **fields)
