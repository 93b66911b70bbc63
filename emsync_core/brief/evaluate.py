"""Does a brief move the music? The same clip scored under two briefs at the same seeds, each result
judged by vibenet (the music evaluation's valence judge, on a FluidSynth render of the MIDI)."""

from __future__ import annotations

from dataclasses import dataclass

from emsync_core.brief import parse_brief
from emsync_core.scoring.moods import MoodSettings, scene_moods
from emsync_core.scoring.plan import ScorePlan, chunk_requests


@dataclass(frozen=True)
class BriefContrast:
    positive: str
    negative: str
    seeds: tuple[int, ...]
    positive_valence: tuple[float, ...]  # vibenet valence per seed
    negative_valence: tuple[float, ...]

    @property
    def share_positive_higher(self) -> float:
        wins = sum(p > n for p, n in zip(self.positive_valence, self.negative_valence))
        return wins / len(self.seeds)


def brief_contrast(features, classifier, generator, *, duration_s: float, cuts_s: tuple[float, ...],
                   positive: str = "joyful", negative: str = "melancholic", seeds: tuple[int, ...] = tuple(range(10)),
                   rule: str = "centre") -> BriefContrast:
    """Classify the clip once, plan it under each brief for every seed, generate all, judge each soundtrack."""
    from emsync_core.music.evaluate import vibenet_valence
    from emsync_core.scoring.assemble import Piece, assemble

    verdicts = classifier.classify(features)
    video_id = str(features.column("video_id")[0].as_py())
    plans = [ScorePlan(video_id, duration_s, cuts_s, scene_moods(verdicts, MoodSettings(parse_brief(text), rule)), seed, brief=text)
             for text in (positive, negative) for seed in seeds]
    jobs = [(plan, chunk_requests(plan)) for plan in plans]
    results = iter(generator.generate([r for _, chunks in jobs for _, r in chunks]))
    judged = []
    for plan, chunks in jobs:
        pieces = [Piece(c, (res := next(results)).midi_bytes, tuple(res.chord_onsets_s), res.n_tokens) for c, _ in chunks]
        judged.append(vibenet_valence(assemble(pieces).midi_bytes))
    n = len(seeds)
    return BriefContrast(positive, negative, tuple(seeds), tuple(judged[:n]), tuple(judged[n:]))
