"""Per-scene mood overrides from a CSV or JSON file, checked whole before anything is applied.

Each entry names a video (id or unique prefix), a scene by `scene` index or by `start_s`/`end_s`
(every scene whose middle lies in the range), and a mood: `valence` and `arousal` in [-1, 1], or
`brief` words (their point replaces the scene's mood; "minor"/"major" and tempo apply as in a brief).
CSV: a header with those columns, one entry per line. JSON: a list of objects with the same keys.
Any bad entry (unknown word, a range outside the video, a missing video or scene) raises
OverrideError naming the file and line (JSON: entry number): nothing is applied half-way.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

from emsync_core.brief import BriefError, parse_brief
from emsync_core.brief.mix import apply_brief
from emsync_core.scoring.plan import SceneMood

TIME_TOLERANCE_S = 0.05


class OverrideError(ValueError):
    """An overrides file that cannot be applied."""


@dataclass(frozen=True)
class MoodOverride:
    where: str  # "file:line" (or "file:entry N"), recorded as who set the mood
    video: str
    scene_index: int | None
    start_s: float | None
    end_s: float | None
    valence: float | None
    arousal: float | None
    brief: str


def _number(value, name: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} {value!r} is not finite")
    return number


def _entry(where: str, row: dict) -> MoodOverride:
    video = str(row.get("video") or row.get("video_id") or "").strip()
    if not video:
        raise ValueError("no video")
    scene = _number(row.get("scene"), "scene")
    start, end = _number(row.get("start_s"), "start_s"), _number(row.get("end_s"), "end_s")
    if (scene is None) == (start is None and end is None):
        raise ValueError("give either scene or start_s/end_s")
    if scene is None and (start is None or end is None or end <= start):
        raise ValueError(f"time range {start}-{end} s is not a range")
    valence, arousal = _number(row.get("valence"), "valence"), _number(row.get("arousal"), "arousal")
    brief = str(row.get("brief") or "").strip()
    if brief:
        if valence is not None or arousal is not None:
            raise ValueError("give either valence/arousal or brief words, not both")
        parse_brief(brief)  # an unknown word fails here
    elif valence is None or arousal is None:
        raise ValueError("give valence and arousal, or brief words")
    for value in (valence, arousal):
        if value is not None and not -1.0 <= value <= 1.0:
            raise ValueError(f"valence/arousal {value} outside [-1, 1]")
    if scene is not None and (scene < 0 or scene != int(scene)):
        raise ValueError(f"scene {scene} is not a scene index")
    return MoodOverride(where, video, None if scene is None else int(scene), start, end, valence, arousal, brief)


def read_overrides(path: str | Path) -> list[MoodOverride]:
    """Parse the whole file; OverrideError names the first bad line."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise OverrideError(f"cannot read {path.name}: {exc.strerror}") from None
    if path.suffix.lower() == ".json":
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise OverrideError(f"{path.name}:{exc.lineno}: not valid JSON ({exc.msg})") from None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise OverrideError(f"{path.name}: a JSON overrides file is a list of objects")
        located = [(f"{path.name}:entry {i}", r) for i, r in enumerate(rows, start=1)]
    else:
        reader = csv.DictReader(text.splitlines())
        located = [(f"{path.name}:{line}", r) for line, r in enumerate(reader, start=2)]
    return parse_rows(located, path.name)


def parse_rows(located: list[tuple[str, dict]], name: str) -> list[MoodOverride]:
    """Entries from (where, row) pairs (a file's lines, or an HTTP body's items)."""
    if not located:
        raise OverrideError(f"{name}: no overrides")
    out = []
    for where, row in located:
        try:
            out.append(_entry(where, row))
        except (ValueError, BriefError) as exc:
            raise OverrideError(f"{where}: {exc}") from None
    return out


def _targets(entry: MoodOverride, moods: tuple[SceneMood, ...], duration_s: float) -> list[SceneMood]:
    if entry.scene_index is not None:
        found = [m for m in moods if m.scene_index == entry.scene_index]
        if not found:
            raise OverrideError(f"{entry.where}: video {entry.video} has no scene {entry.scene_index} "
                                f"(scenes {min(m.scene_index for m in moods)}-{max(m.scene_index for m in moods)})")
        return found
    if entry.start_s < -TIME_TOLERANCE_S or entry.end_s > duration_s + TIME_TOLERANCE_S:
        raise OverrideError(f"{entry.where}: time range {entry.start_s:g}-{entry.end_s:g} s is outside the video "
                            f"(0-{duration_s:g} s)")
    inside = [m for m in moods if entry.start_s <= (m.start_s + m.end_s) / 2 < entry.end_s]
    return inside or [m for m in moods if m.start_s <= (entry.start_s + entry.end_s) / 2 < m.end_s][:1]


def resolve(entries: list[MoodOverride], moods: tuple[SceneMood, ...], duration_s: float) -> dict[int, SceneMood]:
    """One video's overrides -> {scene index: new mood}; later entries win over earlier ones."""
    out: dict[int, SceneMood] = {}
    for entry in entries:
        for mood in _targets(entry, moods, duration_s):
            source = f"override:{entry.where}"
            if entry.brief:
                new = apply_brief((mood,), parse_brief(entry.brief), "replace")[0]
            else:
                new = replace(mood, valence=entry.valence, arousal=entry.arousal)
            out[mood.scene_index] = replace(new, source=source)
    return out
