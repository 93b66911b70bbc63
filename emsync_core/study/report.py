"""`emsync study report`: answers -> exclusions -> statistics per criterion and listener group -> PNG + HTML + JSON.

Listener groups follow the EMSYNC study: everyone, music-trained, and general listeners analysed
apart. Participants who fail more attention checks than the study allows are excluded from every
number, and listed with their reasons; participants who answered faster than the videos play are
listed, and left out too on request. Every test printed is Holm-corrected together with all the
others, and each criterion gets a one-line verdict (emsync_core.study.verdict).
"""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from emsync_core.db.models import Run, Soundtrack
from emsync_core.db.queries import differing_settings, flatten_settings
from emsync_core.db.study_models import (
    Study,
    StudyAnswer,
    StudyArm,
    StudyCriterion,
    StudyItem,
    StudyMedia,
    StudyParticipant,
    StudyVideo,
)
from emsync_core.study.answers import CheckAnswer, check_passed
from emsync_core.study.quality import ItemTiming, fast_participants
from emsync_core.study.stats import (
    BTResult,
    MeanScore,
    Outcome,
    PairResult,
    bradley_terry,
    mean_score,
    pairwise,
    with_holm,
)
from emsync_core.study.verdict import verdict

GROUPS = ("all", "music-trained", "general")
PER_VIDEO_RENDER_KEYS = ("mux_mode_used", "speech_spans")  # what happened on one video, not a setting


@dataclass(frozen=True)
class Judgement:
    """One answer on one criterion of one item, with who gave it and which arms were shown."""

    participant: str
    music_trained: bool | None
    position: int
    video_id: str
    criterion: str
    is_match: bool
    first_arm: str
    second_arm: str
    check_kind: str | None
    mismatch_position: int | None
    choice: int | None
    score_first: int | None
    score_second: int | None
    answered_at: datetime
    duration_s: float | None

    def outcome(self) -> Outcome:
        if self.choice is not None:
            winner = {0: None, 1: self.first_arm, 2: self.second_arm}[self.choice]
        else:
            diff = self.score_first - self.score_second
            winner = None if diff == 0 else (self.first_arm if diff > 0 else self.second_arm)
        return Outcome(self.first_arm, self.second_arm, winner, self.participant)


@dataclass
class CriterionGroupResult:
    criterion: str
    group: str
    n_participants: int
    pairs: list[PairResult]
    bradley_terry: BTResult | None = None
    mean_scores: list[MeanScore] = field(default_factory=list)


@dataclass(frozen=True)
class ArmDetails:
    """What an arm is: its source, and the generator versions, runs and settings of the soundtracks it used."""

    label: str
    source: str
    generator_versions: list[str]
    runs: list[str]
    settings: list[dict]  # distinct settings (sampling, render, the run's other options) among its soundtracks
    differs: dict = field(default_factory=dict)  # dotted settings whose values differ from the other arms'


@dataclass
class StudyReport:
    study: str
    title: str
    mode: str
    arms: list[str]
    criteria: list[dict[str, str]]
    n_invited: int
    n_started: int
    n_completed: int
    n_answers: int
    excluded: dict[str, list[str]]
    results: list[CriterionGroupResult]
    arm_details: list[ArmDetails] = field(default_factory=list)
    fast: dict[str, str] = field(default_factory=dict)  # participant -> why flagged
    fast_excluded: bool = False
    n_tests: int = 0
    verdicts: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)


def load_judgements(session: Session, study_id: int) -> list[Judgement]:
    first_media, second_media = aliased(StudyMedia), aliased(StudyMedia)
    first_arm, second_arm = aliased(StudyArm), aliased(StudyArm)
    rows = session.execute(
        select(StudyParticipant.label, StudyParticipant.music_trained, StudyItem.position, StudyVideo.video_id,
               StudyCriterion.key, StudyCriterion.is_match, first_arm.label, second_arm.label, StudyItem.check_kind,
               StudyItem.mismatch_position, StudyAnswer.choice, StudyAnswer.score_first, StudyAnswer.score_second,
               StudyAnswer.answered_at, StudyVideo.duration_s)
        .join(StudyItem, StudyItem.id == StudyAnswer.item_id)
        .join(StudyParticipant, StudyParticipant.id == StudyItem.participant_id)
        .join(StudyVideo, StudyVideo.id == StudyItem.study_video_id)
        .join(StudyCriterion, StudyCriterion.id == StudyAnswer.criterion_id)
        .join(first_media, first_media.id == StudyItem.first_media_id)
        .join(second_media, second_media.id == StudyItem.second_media_id)
        .join(first_arm, first_arm.id == first_media.arm_id)
        .join(second_arm, second_arm.id == second_media.arm_id)
        .where(StudyParticipant.study_id == study_id)
        .order_by(StudyParticipant.label, StudyItem.position, StudyCriterion.position)
    ).all()
    return [Judgement(*row) for row in rows]


def exclusions(judgements: list[Judgement], max_failed_checks: int) -> dict[str, list[str]]:
    """Participant -> reasons, for those who failed more attention checks than allowed."""
    per_check: dict[tuple[str, int], list[Judgement]] = defaultdict(list)
    for j in judgements:
        if j.check_kind:
            per_check[(j.participant, j.position)].append(j)
    failed: dict[str, list[str]] = defaultdict(list)
    for (participant, position), answers in sorted(per_check.items()):
        kind = answers[0].check_kind
        verdict = check_passed(kind, answers[0].mismatch_position,
                               [CheckAnswer(a.is_match, a.choice, a.score_first, a.score_second) for a in answers])
        if verdict is False:
            failed[participant].append(f"failed the {kind} check (item {position})")
    return {p: reasons for p, reasons in failed.items() if len(reasons) > max_failed_checks}


def _in_group(j: Judgement, group: str) -> bool:
    return group == "all" or (j.music_trained is True if group == "music-trained" else j.music_trained is False)


def arm_details(session: Session, study: Study) -> list[ArmDetails]:
    details = []
    for arm in study.arms:
        rows = session.execute(
            select(Soundtrack.generator_version, Soundtrack.run_id, Soundtrack.sampling, Soundtrack.render, Run.config)
            .join(StudyMedia, StudyMedia.soundtrack_id == Soundtrack.id)
            .outerjoin(Run, Run.run_id == Soundtrack.run_id)
            .where(StudyMedia.arm_id == arm.id, StudyMedia.purpose == "arm")
        ).all()
        settings: list[dict] = []
        for _v, _r, sampling, render, config in rows:
            entry = {"sampling": sampling, "render": {k: v for k, v in render.items() if k not in PER_VIDEO_RENDER_KEYS},
                     **{k: v for k, v in (config or {}).items() if k not in ("sampling", "render")}}
            if entry not in settings:
                settings.append(entry)
        details.append(ArmDetails(arm.label, arm.description, sorted({r[0] for r in rows}),
                                  sorted({r[1] for r in rows if r[1]}), settings))
    single = [d.settings[0] if len(d.settings) == 1 else {} for d in details]
    return [replace(d, differs=diff) for d, diff in zip(details, differing_settings(single))]


def _fast(session: Session, study: Study, judgements: list[Judgement]) -> dict[str, str]:
    last: dict[tuple[str, int], Judgement] = {}
    for j in judgements:
        key = (j.participant, j.position)
        if key not in last or j.answered_at > last[key].answered_at:
            last[key] = j
    timings = [ItemTiming(j.participant, j.position, j.answered_at, j.duration_s) for j in last.values()]
    intake = dict(session.execute(select(StudyParticipant.label, StudyParticipant.intake_at)
                                  .where(StudyParticipant.study_id == study.id)).all())
    return {f.participant: f.reason() for f in fast_participants(timings, intake)}


def analyse(session: Session, study_name: str, exclude_fast: bool = False) -> StudyReport:
    study = session.scalar(select(Study).where(Study.name == study_name))
    if study is None:
        raise LookupError(f"no study named {study_name!r}")
    arms = [a.label for a in study.arms]
    criteria = [c.key for c in study.criteria]
    judgements = load_judgements(session, study.id)
    excluded = exclusions(judgements, study.max_failed_checks)
    fast = _fast(session, study, judgements)
    left_out = set(excluded) | (set(fast) if exclude_fast else set())
    kept = [j for j in judgements if j.check_kind is None and j.participant not in left_out]
    results = []
    for criterion in criteria:
        for group in GROUPS:
            rows = [j for j in kept if j.criterion == criterion and _in_group(j, group)]
            outcomes = [j.outcome() for j in rows]
            res = CriterionGroupResult(criterion, group, len({j.participant for j in rows}), pairwise(arms, outcomes))
            if len(arms) > 2 and outcomes:
                res.bradley_terry = bradley_terry(arms, outcomes)
            if study.mode == "scale":
                scores: dict[str, list[tuple[str, int]]] = defaultdict(list)
                for j in rows:
                    scores[j.first_arm].append((j.participant, j.score_first))
                    scores[j.second_arm].append((j.participant, j.score_second))
                res.mean_scores = [m for a in arms if (m := mean_score(a, [v for _p, v in scores[a]],
                                                                      [p for p, _v in scores[a]])) is not None]
            results.append(res)
    adjusted = iter(with_holm([p for r in results for p in r.pairs]))
    for r in results:
        r.pairs = [next(adjusted) for _ in r.pairs]
    n_tests = sum(p.p_value is not None for r in results for p in r.pairs)
    participants = session.scalars(select(StudyParticipant).where(StudyParticipant.study_id == study.id)).all()
    return StudyReport(
        study=study.name, title=study.title, mode=study.mode, arms=arms,
        criteria=[{"key": c.key, "prompt": c.prompt} for c in study.criteria],
        n_invited=len(participants), n_started=sum(p.music_trained is not None for p in participants),
        n_completed=sum(p.completed_at is not None for p in participants), n_answers=len(judgements),
        excluded=excluded, results=results, arm_details=arm_details(session, study), fast=fast,
        fast_excluded=exclude_fast, n_tests=n_tests,
        verdicts=[verdict(r.criterion, p, n_tests) for r in results if r.group == "all" for p in r.pairs],
    )


def plot_win_rates(report: StudyReport, path: Path) -> None:
    """One panel per criterion: each pair's win rate per listener group with its 95 % listener-clustered interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    criteria = [c["key"] for c in report.criteria]
    fig, axes = plt.subplots(1, len(criteria), figsize=(3.6 * len(criteria) + 1, 3.8), squeeze=False, sharey=True)
    colours = {"all": "#1a5fb4", "music-trained": "#e66100", "general": "#26a269"}
    for ax, criterion in zip(axes[0], criteria):
        rows = [r for r in report.results if r.criterion == criterion]
        n_pairs = len(rows[0].pairs) if rows else 0
        width = 0.8 / len(GROUPS)
        for g, group in enumerate(GROUPS):
            res = next(r for r in rows if r.group == group)
            for k, pr in enumerate(res.pairs):
                if pr.win_rate_a is None:
                    continue
                x = k + (g - 1) * width
                ax.bar(x, pr.win_rate_a, width, color=colours[group], label=group if k == 0 else None)
                ax.errorbar(x, pr.win_rate_a, yerr=[[pr.win_rate_a - pr.ci_low], [pr.ci_high - pr.win_rate_a]],
                            color="black", capsize=3, lw=1)
        ax.axhline(0.5, color="grey", ls="--", lw=1)
        ax.set_xticks(range(n_pairs), [f"{p.arm_a}\nvs {p.arm_b}" for p in rows[0].pairs] if rows else [], fontsize=8)
        ax.set_ylim(0, 1)
        ax.set_title(criterion)
    axes[0][0].set_ylabel("win rate of the first-named arm")
    handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="upper right", fontsize=8)
    fig.suptitle(f"{report.title}: win rates, 95 % intervals (listener-clustered)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(report: StudyReport, out_dir: str | Path) -> StudyReport:
    """report.json, win_rates.png and report.html (the PNG embedded, so the HTML travels alone)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    png = out / "win_rates.png"
    plot_win_rates(report, png)
    report.files = {"png": str(png), "html": str(out / "report.html"), "json": str(out / "report.json")}
    env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"]))
    env.filters["flatten_settings"] = flatten_settings
    html = env.get_template("report.html").render(
        report=report, groups=GROUPS, png_b64=base64.b64encode(png.read_bytes()).decode(),
    )
    (out / "report.html").write_text(html)
    (out / "report.json").write_text(json.dumps(asdict(report), indent=2, default=str))
    return report
