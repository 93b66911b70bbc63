"""Answer validation and attention-check rules, shared by the web API and the report.

Kept free of HTTP and SQL so the rules a participant is held to are one piece of code.
"""

from __future__ import annotations

from dataclasses import dataclass

from emsync_core.db.study_models import CHOICE_FIRST, CHOICE_SAME, CHOICE_SECOND

CHOICE_NAMES = {"A": CHOICE_FIRST, "B": CHOICE_SECOND, "same": CHOICE_SAME}


class AnswerError(ValueError):
    """An answer that the study does not accept (wrong kind, out of range, unknown criterion)."""


@dataclass(frozen=True)
class AnswerValue:
    choice: int | None = None
    score_first: int | None = None
    score_second: int | None = None


def validate_answer(
    mode: str, scale_max: int, allow_same: bool, choice: str | None, score_first: int | None, score_second: int | None
) -> AnswerValue:
    """Turn a submitted answer into stored values, or raise AnswerError saying what is wrong."""
    if mode == "choice":
        if score_first is not None or score_second is not None:
            raise AnswerError("this study asks for a choice, not scores")
        if choice not in CHOICE_NAMES:
            raise AnswerError(f"choice must be one of {sorted(CHOICE_NAMES)}")
        if choice == "same" and not allow_same:
            raise AnswerError("this study does not offer 'no difference'")
        return AnswerValue(choice=CHOICE_NAMES[choice])
    if mode == "scale":
        if choice is not None:
            raise AnswerError("this study asks for scores, not a choice")
        for name, value in (("score_first", score_first), ("score_second", score_second)):
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= scale_max:
                raise AnswerError(f"{name} must be an integer from 1 to {scale_max}")
        return AnswerValue(score_first=score_first, score_second=score_second)
    raise AnswerError(f"unknown study mode {mode!r}")


@dataclass(frozen=True)
class CheckAnswer:
    """One answered criterion of an attention-check item."""

    is_match_criterion: bool
    choice: int | None
    score_first: int | None
    score_second: int | None


def check_passed(kind: str, mismatch_position: int | None, answers: list[CheckAnswer]) -> bool | None:
    """Did the participant pass this check? None while it has no answers.

    identical pair: choice studies need "no difference" on at least half of the criteria; scale studies
    need the two scores within 1 point on every criterion.
    mismatch: on every emotion/timing-match criterion the mismatched soundtrack must not win.
    """
    if not answers:
        return None
    if kind == "identical":
        if answers[0].choice is not None:
            same = sum(a.choice == CHOICE_SAME for a in answers)
            return 2 * same >= len(answers)
        return all(abs(a.score_first - a.score_second) <= 1 for a in answers)
    if kind == "mismatch":
        for a in (a for a in answers if a.is_match_criterion):
            if a.choice is not None:
                if a.choice == mismatch_position:
                    return False
            else:
                mismatched, matched = (a.score_first, a.score_second) if mismatch_position == 1 else (a.score_second, a.score_first)
                if mismatched > matched:
                    return False
        return True
    raise ValueError(f"unknown check kind {kind!r}")
