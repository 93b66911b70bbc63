"""What a participant can do, by token: read their state, answer the intake, save answers, fetch media.

The web routes are thin wrappers around these functions. Every function takes the token, so a
participant can only ever reach their own items; an answer is an upsert on (item, criterion), so a
retried or doubled request leaves exactly one row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from emsync_core.db.study_models import Study, StudyAnswer, StudyCriterion, StudyItem, StudyMedia, StudyParticipant, utcnow
from emsync_core.study.answers import AnswerError, validate_answer
from emsync_core.study.tokens import looks_like_token, token_hash

CHOICE_LETTER = {0: "same", 1: "A", 2: "B"}


class NotFound(LookupError):
    """No such token, item or media for this participant (the API answers 404 without saying which)."""


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


def _item(session: Session, participant: StudyParticipant, position: int) -> StudyItem:
    item = session.scalar(
        select(StudyItem).where(StudyItem.participant_id == participant.id, StudyItem.position == position)
    )
    if item is None:
        raise NotFound("no such item")
    return item


def state(session: Session, token: str) -> dict[str, Any]:
    """Everything the page needs to render or resume: study, intake, items and the answers so far."""
    p = participant_for(session, token)
    study = session.get(Study, p.study_id)
    criteria = session.scalars(select(StudyCriterion).where(StudyCriterion.study_id == study.id).order_by(StudyCriterion.position)).all()
    items = session.scalars(select(StudyItem).where(StudyItem.participant_id == p.id).order_by(StudyItem.position)).all()
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
    n_criteria = len(criteria)
    done = [i.position for i in items if len(by_item.get(i.position, {})) == n_criteria]
    pending = [i.position for i in items if i.position not in done]
    return {
        "participant": p.label,
        "study": {
            "title": study.title, "instructions": study.instructions, "mode": study.mode, "scale_max": study.scale_max,
            "allow_same": study.allow_same, "require_full_play": study.require_full_play,
        },
        "criteria": [{"key": c.key, "prompt": c.prompt} for c in criteria],
        "intake_done": p.music_trained is not None,
        "items": [{"position": i.position, "answers": by_item.get(i.position, {})} for i in items],
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


def save_answer(session: Session, token: str, position: int, criterion: str, submitted: Submitted) -> dict[str, Any]:
    """Validate and upsert one answer; marks the participant complete when it was the last one missing."""
    p = participant_for(session, token)
    if p.music_trained is None:
        raise AnswerError("answer the intake question first")
    study = session.get(Study, p.study_id)
    item = _item(session, p, position)
    crit = session.scalar(select(StudyCriterion).where(StudyCriterion.study_id == study.id, StudyCriterion.key == criterion))
    if crit is None:
        raise AnswerError(f"unknown criterion {criterion!r}")
    value = validate_answer(study.mode, study.scale_max, study.allow_same, submitted.choice, submitted.score_first,
                            submitted.score_second)
    values = dict(item_id=item.id, criterion_id=crit.id, choice=value.choice, score_first=value.score_first,
                  score_second=value.score_second, answered_at=utcnow(), revisions=0)
    insert = (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(StudyAnswer).values(**values)
    session.execute(insert.on_conflict_do_update(
        index_elements=["item_id", "criterion_id"],
        set_={"choice": insert.excluded.choice, "score_first": insert.excluded.score_first,
              "score_second": insert.excluded.score_second, "answered_at": insert.excluded.answered_at,
              "revisions": StudyAnswer.revisions + 1},
    ))
    n_answers = session.scalar(
        select(func.count()).select_from(StudyAnswer).join(StudyItem, StudyItem.id == StudyAnswer.item_id)
        .where(StudyItem.participant_id == p.id)
    )
    n_items = session.scalar(select(func.count()).select_from(StudyItem).where(StudyItem.participant_id == p.id))
    n_criteria = session.scalar(select(func.count()).select_from(StudyCriterion).where(StudyCriterion.study_id == study.id))
    complete = n_answers == n_items * n_criteria
    if complete and p.completed_at is None:
        p.completed_at = utcnow()
    return {"saved": True, "complete": complete, "n_answers": n_answers}


def media_path(session: Session, token: str, position: int, slot: str) -> str:
    """The file behind soundtrack A or B of one of this participant's items."""
    if slot not in ("A", "B"):
        raise NotFound("no such media")
    item = _item(session, participant_for(session, token), position)
    media = session.get(StudyMedia, item.first_media_id if slot == "A" else item.second_media_id)
    return media.path
