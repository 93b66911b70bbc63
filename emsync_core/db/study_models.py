"""Tables of the A/B listening studies, on the shared declarative Base.

A study has arms (model versions, settings or an external baseline), videos, criteria, and one media
file (an MP4 with that arm's soundtrack) per (arm, video). Participants are known only by the SHA-256
of their token. Each participant gets numbered items (a video with two media in a fixed order); an
answer is one row per (item, criterion), so a double submission cannot create a second row.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

import emsync_core.db.models  # noqa: F401  (registers videos and soundtracks, which study rows reference)
from emsync_core.db.base import Base

MODES = ("choice", "scale")
CHECK_KINDS = ("identical", "mismatch")
ARM_KINDS = ("soundtrack", "external")
MEDIA_PURPOSES = ("arm", "mismatch", "twin")  # twin: the second copy shown in an identical-pair check
CHOICE_SAME, CHOICE_FIRST, CHOICE_SECOND = 0, 1, 2


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Study(Base):
    __tablename__ = "study_studies"
    __table_args__ = (
        UniqueConstraint("name"),
        CheckConstraint("mode in ('choice', 'scale')", name="mode"),
        CheckConstraint("scale_max between 2 and 10", name="scale_max"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(300))
    instructions: Mapped[str] = mapped_column(Text, default="")
    mode: Mapped[str] = mapped_column(String(16))
    scale_max: Mapped[int] = mapped_column(SmallInteger, default=5)
    allow_same: Mapped[bool] = mapped_column(Boolean, default=True)
    require_full_play: Mapped[bool] = mapped_column(Boolean, default=True)
    max_failed_checks: Mapped[int] = mapped_column(SmallInteger, default=0)
    seed: Mapped[int] = mapped_column(Integer)
    # Shown before the first item: what taking part means, and how to listen (headphones, a quiet room).
    consent_text: Mapped[str] = mapped_column(Text, default="")
    listening_note: Mapped[str] = mapped_column(Text, default="")
    base_url: Mapped[str] = mapped_column(String(500), default="")  # the address written into the links
    design: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    criteria: Mapped[list[StudyCriterion]] = relationship(back_populates="study", order_by="StudyCriterion.position")
    arms: Mapped[list[StudyArm]] = relationship(back_populates="study", order_by="StudyArm.id")
    videos: Mapped[list[StudyVideo]] = relationship(back_populates="study", order_by="StudyVideo.id")


class StudyCriterion(Base):
    __tablename__ = "study_criteria"
    __table_args__ = (UniqueConstraint("study_id", "key"), UniqueConstraint("study_id", "position"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study_studies.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    prompt: Mapped[str] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(SmallInteger)
    # On a "mismatch" attention check the mismatched soundtrack must not win this criterion.
    is_match: Mapped[bool] = mapped_column(Boolean, default=False)
    # Asked only about videos with at least one scene cut (the timing question).
    needs_cuts: Mapped[bool] = mapped_column(Boolean, default=False)

    study: Mapped[Study] = relationship(back_populates="criteria")


class StudyArm(Base):
    __tablename__ = "study_arms"
    __table_args__ = (UniqueConstraint("study_id", "label"), CheckConstraint("kind in ('soundtrack', 'external')", name="kind"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study_studies.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(16))
    model_version: Mapped[str | None] = mapped_column(String(200), nullable=True)
    description: Mapped[str] = mapped_column(Text, default="")

    study: Mapped[Study] = relationship(back_populates="arms")


class StudyVideo(Base):
    __tablename__ = "study_videos"
    __table_args__ = (UniqueConstraint("study_id", "video_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study_studies.id", ondelete="CASCADE"), index=True)
    video_id: Mapped[str] = mapped_column(ForeignKey("videos.video_id"), index=True)
    uri: Mapped[str] = mapped_column(Text, default="")
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    n_cuts: Mapped[int] = mapped_column(Integer, default=0)

    study: Mapped[Study] = relationship(back_populates="videos")


class StudyMedia(Base):
    """One playable MP4: an arm's soundtrack on a video, or a deliberately mismatched one for a check."""

    __tablename__ = "study_media"
    __table_args__ = (
        UniqueConstraint("arm_id", "study_video_id", "purpose"),
        CheckConstraint("purpose in ('arm', 'mismatch', 'twin')", name="purpose"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    arm_id: Mapped[int] = mapped_column(ForeignKey("study_arms.id", ondelete="CASCADE"), index=True)
    study_video_id: Mapped[int] = mapped_column(ForeignKey("study_videos.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16), default="arm")
    soundtrack_id: Mapped[int | None] = mapped_column(ForeignKey("soundtracks.id", ondelete="SET NULL"), nullable=True, index=True)
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))

    arm: Mapped[StudyArm] = relationship()
    video: Mapped[StudyVideo] = relationship()


class StudyParticipant(Base):
    __tablename__ = "study_participants"
    __table_args__ = (UniqueConstraint("token_sha256"), UniqueConstraint("study_id", "label"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study_studies.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(40))
    token_sha256: Mapped[str] = mapped_column(String(64))
    music_trained: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    intake_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    study: Mapped[Study] = relationship()
    items: Mapped[list[StudyItem]] = relationship(back_populates="participant", order_by="StudyItem.position")


class StudyItem(Base):
    """One trial of one participant: a video, two media in the order shown, maybe an attention check."""

    __tablename__ = "study_items"
    __table_args__ = (
        UniqueConstraint("participant_id", "position"),
        CheckConstraint("check_kind is null or check_kind in ('identical', 'mismatch')", name="check_kind"),
        CheckConstraint("mismatch_position is null or mismatch_position in (1, 2)", name="mismatch_position"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("study_participants.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(SmallInteger)
    study_video_id: Mapped[int] = mapped_column(ForeignKey("study_videos.id", ondelete="CASCADE"), index=True)
    first_media_id: Mapped[int] = mapped_column(ForeignKey("study_media.id", ondelete="CASCADE"))
    second_media_id: Mapped[int] = mapped_column(ForeignKey("study_media.id", ondelete="CASCADE"))
    check_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    mismatch_position: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    # When the server first sent soundtrack A / B of this item: "played through" is judged from these.
    first_served_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    second_served_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    participant: Mapped[StudyParticipant] = relationship(back_populates="items")
    video: Mapped[StudyVideo] = relationship()
    first_media: Mapped[StudyMedia] = relationship(foreign_keys=[first_media_id])
    second_media: Mapped[StudyMedia] = relationship(foreign_keys=[second_media_id])


class StudyAnswer(Base):
    """choice: 1 = first shown, 2 = second shown, 0 = no difference; scale: one score per soundtrack."""

    __tablename__ = "study_answers"
    __table_args__ = (
        UniqueConstraint("item_id", "criterion_id"),
        CheckConstraint("choice is null or choice in (0, 1, 2)", name="choice"),
        CheckConstraint(
            "(choice is not null and score_first is null and score_second is null)"
            " or (choice is null and score_first between 1 and 10 and score_second between 1 and 10)",
            name="one_kind",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("study_items.id", ondelete="CASCADE"), index=True)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("study_criteria.id", ondelete="CASCADE"), index=True)
    choice: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    score_first: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    score_second: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revisions: Mapped[int] = mapped_column(Integer, default=0)
