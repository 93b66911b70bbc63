"""`emsync study create`: arms + videos + criteria -> media files, a balanced design, participants and tokens.

An arm is `label=model:VERSION` (soundtracks of one generator version), `label=run:RUN_ID` (the
soundtracks one run made, i.e. one set of settings) or `label=audio:DIR` (an external baseline: one
audio file per video, named by video id or by the video file's stem, put onto the video here). A
video an arm cannot cover, or whose baseline audio is unusable, is left out with its reason; nothing
is half-written because the whole study is one transaction.

Every file a participant hears is a copy under the study's media folder: arms that resolve to the
same files are refused, each identical-pair check gets a second copy of its soundtrack, and all
copies of one video are padded to one length (see media.pad_with_free_box).
"""

from __future__ import annotations

import itertools
import os
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from emsync_core.db.models import Soundtrack, Video
from emsync_core.db.study_models import (
    Study,
    StudyArm,
    StudyCriterion,
    StudyItem,
    StudyMedia,
    StudyParticipant,
    StudyVideo,
)
from emsync_core.media.errors import MediaError
from emsync_core.store import uri as store
from emsync_core.study import media as study_media
from emsync_core.study.design import DesignSpec, PlannedItem, build_design
from emsync_core.study.page_texts import DEFAULT_CONSENT, DEFAULT_LISTENING_NOTE
from emsync_core.study.tokens import new_token, token_hash

AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".m4a", ".aac", ".ogg", ".opus", ".mp4", ".mkv", ".webm")
DEFAULT_LUFS = -16.0

PAD_BLOCK = 4096  # padded media lengths are rounded up to this

# key -> (choice question, scale question, is_match): the four criteria of the EMSYNC study.
KNOWN_CRITERIA = {
    "richness": ("Which soundtrack has the richer music?", "How rich is the music?", False),
    "emotion": ("Which soundtrack better matches the emotion of the video?", "How well does the music match the video's emotion?", True),
    "timing": ("Which soundtrack's changes better match the video's cuts?", "How well do the music's changes match the cuts?", True),
    "overall": ("Which soundtrack do you prefer overall?", "How much do you like this soundtrack overall?", False),
}


class StudyCreateError(ValueError):
    """The study cannot be created as asked (unknown arm source, no common videos, name taken...)."""


@dataclass(frozen=True)
class ArmSpec:
    label: str
    source: str  # model | run | audio
    value: str

    @classmethod
    def parse(cls, text: str) -> "ArmSpec":
        label, sep, rest = text.partition("=")
        source, sep2, value = rest.partition(":")
        if not sep or not sep2 or not label.strip() or not value.strip() or source not in ("model", "run", "audio"):
            raise StudyCreateError(f"arm {text!r}: expected LABEL=model:VERSION, LABEL=run:RUN_ID or LABEL=audio:DIR")
        return cls(label.strip(), source, value.strip())


@dataclass(frozen=True)
class CriterionSpec:
    key: str
    prompt: str
    is_match: bool
    needs_cuts: bool = False  # asked only about videos with cuts

    @classmethod
    def parse(cls, text: str, mode: str) -> "CriterionSpec":
        """A known key (richness, emotion, timing, overall) or `key:question` (`key!:question` = a match criterion)."""
        key, sep, prompt = text.partition(":")
        if not sep:
            if key not in KNOWN_CRITERIA:
                raise StudyCreateError(f"criterion {key!r}: use one of {sorted(KNOWN_CRITERIA)} or key:question")
            choice_q, scale_q, is_match = KNOWN_CRITERIA[key]
            return cls(key, choice_q if mode == "choice" else scale_q, is_match, needs_cuts=key == "timing")
        is_match = key.endswith("!")
        key = key.rstrip("!").strip()
        if not key.isidentifier() or not prompt.strip():
            raise StudyCreateError(f"criterion {text!r}: the key must be a plain word and the question non-empty")
        return cls(key, prompt.strip(), is_match)


@dataclass(frozen=True)
class StudyRequest:
    name: str
    title: str
    arms: tuple[ArmSpec, ...]
    criteria: tuple[CriterionSpec, ...]
    media_dir: str
    video_ids: tuple[str, ...] = ()  # empty: every video all arms cover
    mode: str = "choice"
    scale_max: int = 5
    allow_same: bool = True
    require_full_play: bool = True
    ratings_per_pair: int = 4
    participants: int = 10
    identical_checks: int = 1
    mismatch_checks: int = 1
    max_failed_checks: int = 0
    seed: int = 0
    instructions: str = ""
    consent_text: str = DEFAULT_CONSENT
    listening_note: str = DEFAULT_LISTENING_NOTE
    base_url: str = ""


@dataclass
class CreatedStudy:
    study_id: int
    name: str
    tokens: list[tuple[str, str]]  # (participant label, token): shown once, never stored
    videos: list[str]
    n_items: int
    n_media: int
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (video_id or arm, reason)


def _local_copy(uri: str, dest: Path) -> str:
    """Copy a soundtrack (local or gs://) into the study's media folder, where it will be padded."""
    try:
        data = store.read_bytes(uri)
    except FileNotFoundError:
        hint = " (a relative path: upgrade the database with any `emsync` command run from the scoring folder)" \
            if not store.is_remote(uri) and not os.path.isabs(uri) else ""
        raise MediaError("soundtrack", f"file not found: {uri}{hint}") from None
    dest.parent.mkdir(parents=True, exist_ok=True)
    store.write_bytes_atomic(str(dest), data)
    return str(dest)


def _soundtracks_for(session: Session, arm: ArmSpec) -> dict[str, Soundtrack]:
    """The newest whole-video soundtrack per video for a model version or a run."""
    q = select(Soundtrack).where(Soundtrack.parent_id.is_(None))
    q = q.where(Soundtrack.generator_version == arm.value) if arm.source == "model" else q.where(Soundtrack.run_id == arm.value)
    out: dict[str, Soundtrack] = {}
    for st in session.scalars(q.order_by(Soundtrack.created_at, Soundtrack.id)):
        out[st.video_id] = st
    if not out:
        raise StudyCreateError(f"arm {arm.label!r}: no soundtracks with {arm.source} {arm.value!r}")
    return out


def _audio_files(folder: str) -> dict[str, str]:
    if not os.path.isdir(folder):
        raise StudyCreateError(f"external audio folder {folder!r} does not exist")
    files = {}
    for name in sorted(os.listdir(folder)):
        stem, ext = os.path.splitext(name)
        if ext.lower() in AUDIO_EXTENSIONS:
            files[stem] = os.path.join(folder, name)
    return files


def _check_request(session: Session, req: StudyRequest) -> None:
    if len(req.arms) < 2 or len({a.label for a in req.arms}) != len(req.arms):
        raise StudyCreateError("a study needs at least two arms with distinct labels")
    if not req.criteria or len({c.key for c in req.criteria}) != len(req.criteria):
        raise StudyCreateError("a study needs at least one criterion, each key once")
    if req.mode not in ("choice", "scale"):
        raise StudyCreateError(f"mode must be choice or scale, not {req.mode!r}")
    if req.identical_checks and req.mode == "choice" and not req.allow_same:
        raise StudyCreateError("an identical-pair check needs the 'no difference' answer (allow_same) in a choice study")
    if req.mismatch_checks and not any(c.is_match for c in req.criteria):
        raise StudyCreateError("a mismatch check needs a match criterion (emotion, timing, or key!:question)")
    if session.scalar(select(Study.id).where(Study.name == req.name)) is not None:
        raise StudyCreateError(f"a study named {req.name!r} exists already")
    sources = [(a.source, a.value) for a in req.arms]
    if len(set(sources)) != len(sources):
        raise StudyCreateError("two arms name the same source: " + ", ".join(
            f"{a.label}={a.source}:{a.value}" for a in req.arms if sources.count((a.source, a.value)) > 1))


def _drop_identical_arms(files: dict[str, dict[str, "MediaFile"]], skipped: list[tuple[str, str]]) -> None:
    """Two arms with byte-identical soundtracks would compare a file with itself: on every video that is
    refused outright, on some videos those videos are left out (and listed)."""
    labels = list(next(iter(files.values())))
    for a, b in itertools.combinations(labels, 2):
        same = [vid for vid, row in files.items() if row[a][1] == row[b][1]]
        if files and len(same) == len(files):
            raise StudyCreateError(
                f"arms {a} and {b} resolve to identical soundtracks on all {len(files)} videos, so the study "
                "would compare each file with itself. Two runs of one generator version are told apart with "
                "`run:RUN_ID` arms (`emsync query runs` lists run ids with their settings).")
        for vid in same:
            skipped.append((vid, f"arms {a} and {b} have the same soundtrack for it"))
            del files[vid]


def _candidate_videos(req: StudyRequest, videos: dict[str, Video], generated: dict[str, dict[str, Soundtrack]],
                      skipped: list[tuple[str, str]]) -> list[str]:
    """The asked videos (default: all that every generated arm covers), minus those an arm lacks."""
    if req.video_ids:
        missing = [v for v in req.video_ids if v not in videos]
        if missing:
            raise StudyCreateError(f"unknown video ids: {missing}")
        candidates = list(req.video_ids)
    else:
        pools = [set(m) for m in generated.values()] or [set(videos)]
        candidates = sorted(set.intersection(*pools))
    for label, sts in generated.items():
        skipped += [(vid, f"arm {label} has no soundtrack for it") for vid in candidates if vid not in sts]
        candidates = [v for v in candidates if v in sts]
    return candidates


def _n_cuts(video: Video, generated: dict[str, dict[str, Soundtrack]]) -> int:
    """The video's scene cuts as extraction found them, else as a soundtrack of it recorded them."""
    if video.cuts_s is not None:
        return len(video.cuts_s)
    return max((len(sts[video.video_id].cuts_s or []) for sts in generated.values() if video.video_id in sts), default=0)


MediaFile = tuple[str, str, "int | None"]  # path, sha256 (before padding), soundtrack id


def _video_media(req: StudyRequest, video: Video, generated: dict[str, dict[str, Soundtrack]],
                 external: dict[str, dict[str, str]], media_root: Path, progress: Callable[[str], None]) -> dict[str, MediaFile]:
    """One playable MP4 per arm for one video; raises MediaError when an arm cannot cover it."""
    vid = video.video_id
    row: dict[str, MediaFile] = {}
    for label, sts in generated.items():
        path = _local_copy(sts[vid].video_uri, media_root / label / f"{vid}.mp4")
        row[label] = (path, study_media.sha256_file(path), sts[vid].id)
    reference = next(iter(generated), None)  # external audio goes onto our first arm's picture, at its loudness
    picture = row[reference][0] if reference else video.uri
    target: float | None = generated[reference][vid].loudness_lufs if reference else DEFAULT_LUFS
    for a in (a for a in req.arms if a.source == "audio"):
        source = external[a.label].get(vid) or external[a.label].get(Path(video.uri).stem)
        if source is None:
            raise MediaError("import", f"arm {a.label} has no audio file named {vid}.* or {Path(video.uri).stem}.*")
        if target is None:  # our soundtrack's loudness was not recorded: measure it
            target = study_media.loudness_of(picture)
        out = media_root / a.label / f"{vid}.mp4"
        progress(f"importing {a.label} audio for {vid}")
        study_media.put_audio_on_video(picture, source, out, target)
        row[a.label] = (str(out), study_media.sha256_file(out), None)
    return {a.label: row[a.label] for a in req.arms}


def _add_study_rows(session: Session, req: StudyRequest) -> tuple[Study, dict[str, StudyArm]]:
    study = Study(name=req.name, title=req.title, instructions=req.instructions, mode=req.mode, scale_max=req.scale_max,
                  allow_same=req.allow_same, require_full_play=req.require_full_play,
                  max_failed_checks=req.max_failed_checks, seed=req.seed, design={}, consent_text=req.consent_text,
                  listening_note=req.listening_note, base_url=req.base_url)
    session.add(study)
    session.flush()
    for pos, c in enumerate(req.criteria):
        session.add(StudyCriterion(study_id=study.id, key=c.key, prompt=c.prompt, position=pos, is_match=c.is_match,
                                   needs_cuts=c.needs_cuts))
    arms = {a.label: StudyArm(study_id=study.id, label=a.label, kind="external" if a.source == "audio" else "soundtrack",
                              model_version=None if a.source == "audio" else a.value, description=f"{a.source}:{a.value}")
            for a in req.arms}
    session.add_all(arms.values())
    session.flush()
    return study, arms


def _add_mismatch_media(session: Session, plan: list[PlannedItem], chosen: list[str], media: dict, arms: dict[str, StudyArm],
                        svideos: dict[str, StudyVideo], media_root: Path, progress: Callable[[str], None]) -> None:
    """For each mismatch check: arm X's soundtrack of the next video, on this video's picture."""
    for item in plan:
        key = (item.first_arm, item.video, "mismatch")
        if item.check_kind != "mismatch" or key in media:
            continue
        donor = chosen[(chosen.index(item.video) + 1) % len(chosen)]
        own = media[(item.first_arm, item.video, "arm")]
        out = media_root / item.first_arm / f"{item.video}.mismatch-{donor}.mp4"
        progress(f"mismatch check media for {item.video}")
        study_media.put_audio_on_video(own.path, media[(item.first_arm, donor, "arm")].path, out, study_media.loudness_of(own.path))
        media[key] = StudyMedia(arm_id=arms[item.first_arm].id, study_video_id=svideos[item.video].id, purpose="mismatch",
                                path=str(out), sha256=study_media.sha256_file(out))
        session.add(media[key])
    session.flush()


def _add_twin_media(session: Session, plan: list[PlannedItem], media: dict, arms: dict[str, StudyArm],
                    svideos: dict[str, StudyVideo]) -> None:
    """For each identical-pair check: a second copy of the arm's soundtrack (made distinct by padding)."""
    for item in plan:
        key = (item.first_arm, item.video, "twin")
        if item.check_kind != "identical" or key in media:
            continue
        own = media[(item.first_arm, item.video, "arm")]
        out = Path(own.path).with_suffix(".twin.mp4")
        out.write_bytes(Path(own.path).read_bytes())
        media[key] = StudyMedia(arm_id=arms[item.first_arm].id, study_video_id=svideos[item.video].id, purpose="twin",
                                soundtrack_id=own.soundtrack_id, path=str(out), sha256=own.sha256)
        session.add(media[key])
    session.flush()


def _pad_media(media: dict) -> None:
    """Every file of one video padded to one length (a multiple of PAD_BLOCK); sha256 of what is served."""
    by_video: dict[str, list[StudyMedia]] = defaultdict(list)
    for (_arm, vid, _purpose), m in media.items():
        by_video[vid].append(m)
    for rows in by_video.values():
        longest = max(os.path.getsize(m.path) for m in rows) + study_media.MP4_BOX_HEADER
        size = -(-longest // PAD_BLOCK) * PAD_BLOCK
        for m in rows:
            study_media.pad_with_free_box(m.path, size)
            m.sha256 = study_media.sha256_file(m.path)


def _add_participants(session: Session, study: Study, req: StudyRequest, plan: list[PlannedItem], media: dict,
                      svideos: dict[str, StudyVideo]) -> list[tuple[str, str]]:
    """Participants (token hashes only) and their items; returns (label, token) to hand out once."""
    tokens = [(f"P{p + 1:03d}", new_token()) for p in range(req.participants)]
    participants = [StudyParticipant(study_id=study.id, label=label, token_sha256=token_hash(token)) for label, token in tokens]
    session.add_all(participants)
    session.flush()
    for item in plan:
        arm_media = media[(item.first_arm, item.video, "arm")]
        first, second = arm_media, media[(item.second_arm, item.video, "arm")]
        if item.check_kind == "mismatch":
            odd = media[(item.first_arm, item.video, "mismatch")]
            first, second = (odd, arm_media) if item.mismatch_position == 1 else (arm_media, odd)
        if item.check_kind == "identical":
            second = media[(item.first_arm, item.video, "twin")]
        session.add(StudyItem(participant_id=participants[item.participant].id, position=item.position,
                              study_video_id=svideos[item.video].id, first_media_id=first.id, second_media_id=second.id,
                              check_kind=item.check_kind, mismatch_position=item.mismatch_position))
    return tokens


def create_study(session: Session, req: StudyRequest, progress: Callable[[str], None] = lambda _msg: None) -> CreatedStudy:
    """Build media, design and rows for one study in the caller's transaction."""
    _check_request(session, req)
    generated = {a.label: _soundtracks_for(session, a) for a in req.arms if a.source != "audio"}
    external = {a.label: _audio_files(a.value) for a in req.arms if a.source == "audio"}
    videos = {v.video_id: v for v in session.scalars(select(Video))}
    skipped: list[tuple[str, str]] = []
    media_root = Path(req.media_dir).resolve() / req.name

    files: dict[str, dict[str, MediaFile]] = {}
    for vid in _candidate_videos(req, videos, generated, skipped):
        try:
            files[vid] = _video_media(req, videos[vid], generated, external, media_root, progress)
        except MediaError as exc:
            skipped.append((vid, f"{exc.stage}: {exc.message}"))
    if files:
        _drop_identical_arms(files, skipped)
    chosen = list(files)
    if not chosen:
        raise StudyCreateError("no video is left for the study: " + "; ".join(f"{v}: {r}" for v, r in skipped))

    study, arms = _add_study_rows(session, req)
    svideos = {vid: StudyVideo(study_id=study.id, video_id=vid, uri=videos[vid].uri, duration_s=videos[vid].duration_s,
                               n_cuts=_n_cuts(videos[vid], generated)) for vid in chosen}
    session.add_all(svideos.values())
    session.flush()
    media = {(label, vid, "arm"): StudyMedia(arm_id=arms[label].id, study_video_id=svideos[vid].id, purpose="arm",
                                             soundtrack_id=st_id, path=path, sha256=sha)
             for vid, row in files.items() for label, (path, sha, st_id) in row.items()}
    session.add_all(media.values())

    spec = DesignSpec(arms=tuple(a.label for a in req.arms), videos=tuple(chosen), ratings_per_pair=req.ratings_per_pair,
                      participants=req.participants, identical_checks=req.identical_checks,
                      mismatch_checks=req.mismatch_checks, seed=req.seed)
    plan = build_design(spec)
    _add_mismatch_media(session, plan, chosen, media, arms, svideos, media_root, progress)
    _add_twin_media(session, plan, media, arms, svideos)
    _pad_media(media)
    tokens = _add_participants(session, study, req, plan, media, svideos)
    study.design = {"arms": list(spec.arms), "videos": chosen, "ratings_per_pair": req.ratings_per_pair,
                    "participants": req.participants, "identical_checks": req.identical_checks,
                    "mismatch_checks": req.mismatch_checks, "seed": req.seed, "skipped": skipped}
    session.flush()
    return CreatedStudy(study.id, study.name, tokens, chosen, len(plan), len(media), skipped)
