"""Participation quality the report lists: participants who answered faster than the videos play.

A participant's time on an item runs from their previous answer (or the intake) to their last answer
on it. Someone whose median time per item is shorter than the video itself cannot have played even
one of its two soundtracks, so they are flagged; `emsync study report --exclude-fast` leaves them out.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ItemTiming:
    participant: str
    position: int
    answered_at: datetime  # the item's last answer
    duration_s: float | None


@dataclass(frozen=True)
class FastFlag:
    participant: str
    median_item_s: float
    median_video_s: float

    def reason(self) -> str:
        return (f"answered in a median {self.median_item_s:.1f} s per item, shorter than the videos "
                f"({self.median_video_s:.1f} s)")


def fast_participants(timings: list[ItemTiming], intake_at: dict[str, datetime | None]) -> list[FastFlag]:
    by_participant: dict[str, list[ItemTiming]] = {}
    for t in sorted(timings, key=lambda t: (t.participant, t.answered_at)):
        by_participant.setdefault(t.participant, []).append(t)
    flags = []
    for participant, items in by_participant.items():
        previous = intake_at.get(participant)
        spans, videos = [], []
        for t in items:
            if previous is not None and t.duration_s:
                spans.append((t.answered_at - previous).total_seconds())
                videos.append(t.duration_s)
            previous = t.answered_at
        if spans and statistics.median(spans) < statistics.median(videos):
            flags.append(FastFlag(participant, statistics.median(spans), statistics.median(videos)))
    return flags
