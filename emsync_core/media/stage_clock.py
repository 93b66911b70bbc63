"""CPU seconds spent per stage of one video's extraction (decode, scaling, cut detection, each backbone,
Parquet writing), so the bench can say where the time goes without a profiler. Process CPU time, not
wall time: other processes on a shared machine do not inflate it, and library threads (ONNX Runtime)
are counted."""

from __future__ import annotations

from dataclasses import dataclass, field
from time import process_time


@dataclass
class StageClock:
    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, stage: str, since: float) -> float:
        """Charge the CPU time from `since` (a `process_time` reading) to `stage`; return now for the next stage."""
        now = process_time()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - since
        return now

    def rounded(self) -> dict[str, float]:
        return {stage: round(s, 4) for stage, s in self.seconds.items()}

