"""What a participant can do, by token: read their state, answer the intake, save answers, fetch media.

The web routes are thin wrappers around these functions. Every function takes the token, so a
participant can only ever reach their own items; an answer is an upsert on (item, criterion), so a
retried or doubled request leaves exactly one row.

The server, not the page, holds the study's rules: once a participant is complete no answer changes
(attention checks included), and with `require_full_play` an item takes answers only after the server
has sent both soundtracks and enough time has passed since to have played them through. A seek to the
end is served at once, so it does not count: what counts is when each soundtrack was first sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from emsync_core.db.study_models import (
    Study,
    StudyAnswer,
    StudyCriterion,
    StudyItem,
    StudyMedia,
    StudyParticipant,
    StudyVideo,
    utcnow,
)
from emsync_core.study.answers import AnswerError, validate_answer
from emsync_core.study.tokens import looks_like_token, token_hash

CHOICE_LETTER = {0: "same", 1: "A", 2: "B"}
SLOTS = ("A", "B")
# A soundtrack counts as played through when this share of the video's length has passed since the
# server first sent it (browsers start a little late and end a little early; a seek-to-end is instant).
PLAY_FRACTION = 0.9


class NotFound(LookupError):
    """No such token, item or media for this participant (the API answers 404 without saying which)."""


class RuleRefused(AnswerError):
    """A well-formed answer that the study's rules refuse now (complete already, not played through)."""


@dataclass(frozen=True)
class Submitted:
    choice: str | None = None
    score_first: int | None = None
    score_second: int | None = None


def participant_for(session: Session, token: str) -> StudyParticipant:
    if not looks_like_token(token):
        raise NotFound("unknown token")
    found = session.scalar(select(StudyParticipant).where(StudyParticipant.token_sha256 == token_hash(token)))
    if found is None:
        raise NotFound("unknown token")
    return found


def _aware(at: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def criteria_for(criteria: list[StudyCriterion], n_cuts: int) -> list[StudyCriterion]:
    """The questions asked about one video: a cut-timing question only when the video has cuts."""
    return [c for c in criteria if n_cuts > 0 or not c.needs_cuts]


def _item(session: Session, participant: StudyParticipant, position: int) -> StudyItem:
    item = session.scalar(
        select(StudyItem).where(StudyItem.participant_id == participant.id, StudyItem.position == position)
    )
    if item is None:
        raise NotFound("no such item")
    return item


def estimated_minutes(durations_s: list[float | None], n_criteria: int) -> int:
    """Both soundtracks once through plus about 8 s per question, per item; rounded up, at least 1."""
    seconds = sum(2 * (d or 0.0) + 8 * n_criteria for d in durations_s)
    return max(1, -(-int(seconds) // 60))


def state(session: Session, token: str) -> dict[str, Any]:
    """Everything the page needs to render or resume: study, intake, items and the answers so far."""
    p = participant_for(session, token)
    study = session.get(Study, p.study_id)
    criteria = list(session.scalars(select(StudyCriterion).where(StudyCriterion.study_id == study.id).order_by(StudyCriterion.position)))
    items = session.execute(
        select(StudyItem.position, StudyVideo.n_cuts, StudyVideo.duration_s)
        .join(StudyVideo, StudyVideo.id == StudyItem.study_video_id)
        .where(StudyItem.participant_id == p.id).order_by(StudyItem.position)
    ).all()
    answers = session.execute(
        select(StudyAnswer, StudyItem.position, StudyCriterion.key)
        .join(StudyItem, StudyItem.id == StudyAnswer.item_id)
        .join(StudyCriterion, StudyCriterion.id == StudyAnswer.criterion_id)
        .where(StudyItem.participant_id == p.id)
    ).all()
    by_item: dict[int, dict[str, Any]] = {}
    for answer, position, key in answers:
        value: Any = (
            CHOICE_LETTER[answer.choice] if answer.choice is not None else {"A": answer.score_first, "B": answer.score_second}
        )
        by_item.setdefault(position, {})[key] = value
    asked = {position: [c.key for c in criteria_for(criteria, n_cuts)] for position, n_cuts, _d in items}
    done = [pos for pos, keys in asked.items() if all(k in by_item.get(pos, {}) for k in keys)]
    pending = [pos for pos in asked if pos not in done]
    return {
        "participant": p.label,
        "study": {
            "title": study.title, "instructions": study.instructions, "mode": study.mode, "scale_max": study.scale_max,
            "allow_same": study.allow_same, "require_full_play": study.require_full_play,
            "consent_text": study.consent_text, "listening_note": study.listening_note,
            "estimated_minutes": estimated_minutes([d for _p, _n, d in items], len(criteria)),
        },
        "criteria": [{"key": c.key, "prompt": c.prompt} for c in criteria],
        "intake_done": p.music_trained is not None,
        "items": [{"position": pos, "criteria": asked[pos], "answers": by_item.get(pos, {})} for pos, _n, _d in items],
        "n_items": len(items),
        "n_done": len(done),
        "next_position": pending[0] if pending else None,
        "complete": not pending,
    }


def record_intake(session: Session, token: str, music_trained: bool) -> None:
    """The intake answer is given once; repeating the same answer is fine, changing it is refused."""
    p = participant_for(session, token)
    if p.music_trained is not None and p.music_trained != music_trained:
        raise AnswerError("the intake question was answered already")
    if p.music_trained is None:
        p.music_trained = music_trained
        p.intake_at = utcnow()


def _check_played(item: StudyItem, duration_s: float | None, now: datetime) -> None:
    """Both soundtracks sent by the server, and long enough ago to have been played one after the other."""
    served = [item.first_served_at, item.second_served_at]
    if None in served:
        raise RuleRefused("play both soundtracks to the end before answering")
    listen = PLAY_FRACTION * (duration_s or 0.0)
    earlier, later = sorted(_aware(t) for t in served)
    if (now - later).total_seconds() < listen or (now - earlier).total_seconds() < 2 * listen:
        raise RuleRefused("play both soundtracks to the end before answering")


def _count_answers(session: Session, participant_id: int) -> int:
    return session.scalar(
        select(func.count()).select_from(StudyAnswer).join(StudyItem, StudyItem.id == StudyAnswer.item_id)
        .where(StudyItem.participant_id == participant_id)
    )


def _expected_answers(session: Session, study_id: int, participant_id: int) -> int:
    criteria = list(session.scalars(select(StudyCriterion).where(StudyCriterion.study_id == study_id)))
    cuts = session.scalars(select(StudyVideo.n_cuts).join(StudyItem, StudyItem.study_video_id == StudyVideo.id)
                           .where(StudyItem.participant_id == participant_id))
    return sum(len(criteria_for(criteria, n)) for n in cuts)


def save_answer(session: Session, token: str, position: int, criterion: str, submitted: Submitted) -> dict[str, Any]:
    """Validate and upsert one answer; marks the participant complete when it was the last one missing."""
    p = participant_for(session, token)
    if p.music_trained is None:
        raise AnswerError("answer the intake question first")
    study = session.get(Study, p.study_id)
    item = _item(session, p, position)
    video = session.get(StudyVideo, item.study_video_id)
    crit = session.scalar(select(StudyCriterion).where(StudyCriterion.study_id == study.id, StudyCriterion.key == criterion))
    if crit is None or not criteria_for([crit], video.n_cuts):
        raise AnswerError(f"criterion {criterion!r} is not asked about this video")
    value = validate_answer(study.mode, study.scale_max, study.allow_same, submitted.choice, submitted.score_first,
                            submitted.score_second)
    if p.completed_at is not None:
        stored = session.scalar(select(StudyAnswer).where(StudyAnswer.item_id == item.id, StudyAnswer.criterion_id == crit.id))
        if stored is None or (stored.choice, stored.score_first, stored.score_second) != \
                (value.choice, value.score_first, value.score_second):
            raise RuleRefused("this study is complete: answers can no longer change")
        return {"saved": True, "complete": True, "n_answers": _count_answers(session, p.id)}  # a retry of the last answer
    now = utcnow()
    if study.require_full_play:
        _check_played(item, video.duration_s, now)
    values = dict(item_id=item.id, criterion_id=crit.id, choice=value.choice, score_first=value.score_first,
                  score_second=value.score_second, answered_at=now, revisions=0)
    insert = (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(StudyAnswer).values(**values)
    session.execute(insert.on_conflict_do_update(
        index_elements=["item_id", "criterion_id"],
        set_={"choice": insert.excluded.choice, "score_first": insert.excluded.score_first,
              "score_second": insert.excluded.score_second, "answered_at": insert.excluded.answered_at,
              "revisions": StudyAnswer.revisions + 1},
    ))
    n_answers = _count_answers(session, p.id)
    complete = n_answers == _expected_answers(session, study.id, p.id)
    if complete and p.completed_at is None:
        p.completed_at = now
    return {"saved": True, "complete": complete, "n_answers": n_answers}


def media_path(session: Session, token: str, position: int, slot: str) -> str:
    """The file behind soundtrack A or B of one of this participant's items; notes when it was first sent."""
    if slot not in SLOTS:
        raise NotFound("no such media")
    item = _item(session, participant_for(session, token), position)
    if slot == "A" and item.first_served_at is None:
        item.first_served_at = utcnow()
    if slot == "B" and item.second_served_at is None:
        item.second_served_at = utcnow()
    media = session.get(StudyMedia, item.first_media_id if slot == "A" else item.second_media_id)
    return media.path
