"""Create studies on a real archive (SQLite and PostgreSQL), answer them, and check report, views and rules."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from emsync_core.db.study_models import StudyAnswer, StudyItem, StudyMedia, StudyParticipant
from emsync_core.study import participation
from emsync_core.study.answers import AnswerError
from emsync_core.study.create import ArmSpec, CriterionSpec, StudyCreateError, StudyRequest, create_study
from emsync_core.study.media import loudness_of, probe_duration
from emsync_core.study.report import analyse, write_report
from tests.study.archive import make_tone

CRITERIA = ("richness", "emotion", "timing", "overall")


def _request(name, arms, root, mode="choice", **kw):
    """Answers go straight to the participation functions here, so no media is served: no full-play rule."""
    kw.setdefault("require_full_play", False)
    return StudyRequest(name=name, title=f"study {name}", arms=tuple(ArmSpec.parse(a) for a in arms),
                        criteria=tuple(CriterionSpec.parse(c, mode) for c in CRITERIA), media_dir=str(root / "media"),
                        mode=mode, **kw)


def _answer_all(sessions, token, music_trained, pick):
    """Answer every item of one participant with pick(item_state_row, criterion) through the real API functions."""
    with sessions.begin() as s:
        participation.record_intake(s, token, music_trained)
    with sessions() as s:
        state = participation.state(s, token)
    for item in state["items"]:
        for c in state["criteria"]:
            with sessions.begin() as s:
                participation.save_answer(s, token, item["position"], c["key"], pick(s, token, item["position"], c["key"]))


def _slots(s, token, position):
    """(arm of A, arm of B, check kind, mismatch position) of one item, read from the rows."""
    p = participation.participant_for(s, token)
    item = s.scalar(select(StudyItem).where(StudyItem.participant_id == p.id, StudyItem.position == position))
    a, b = s.get(StudyMedia, item.first_media_id), s.get(StudyMedia, item.second_media_id)
    return a.arm.label, b.arm.label, item.check_kind, item.mismatch_position


def test_choice_study_with_external_baseline(archive):
    sessions, ids, root, _url = archive
    ext = root / "baseline"
    ext.mkdir(exist_ok=True)
    make_tone(ext / f"{ids[0]}.wav", 1000, 1.5)  # shorter than the video: padded with silence
    make_tone(ext / "clip1.flac", 1200, 3.0)  # named by the video file's stem
    (ext / f"{ids[2]}.wav").write_bytes(b"RIFF-not-really-audio")  # unusable: this video is left out
    with sessions.begin() as s:
        created = create_study(s, _request("ext", ["ours=model:gen-a", f"baseline=audio:{ext}"], root,
                                           ratings_per_pair=6, participants=6, seed=5))
    assert sorted(created.videos) == sorted(ids[:2])
    assert [v for v, _ in created.skipped] == [ids[2]] and "decode_audio" in created.skipped[0][1]
    assert len({t for _, t in created.tokens}) == 6 and all(len(t) == 32 for _, t in created.tokens)
    with sessions() as s:
        stored = s.scalars(select(StudyParticipant.token_sha256)).all()
        assert not {t for _, t in created.tokens} & set(stored)  # tokens are never stored
        media = {(m.arm.label, m.video.video_id, m.purpose): m.path for m in s.scalars(select(StudyMedia))}
    ours, theirs = media[("ours", ids[0], "arm")], media[("baseline", ids[0], "arm")]
    assert probe_duration(theirs) == pytest.approx(probe_duration(ours), abs=0.1)
    assert loudness_of(theirs) == pytest.approx(loudness_of(ours), abs=1.0)  # loudness-matched baseline

    # Participants 1-4 prefer "ours" on 3 of 4 criteria and pass the checks; P005 fails them; P006 never starts.
    def honest(s, token, position, criterion):
        a, b, check, odd = _slots(s, token, position)
        if check == "identical":
            return participation.Submitted(choice="same")
        if check == "mismatch":
            return participation.Submitted(choice="A" if odd == 2 else "B")
        if criterion == "richness":
            return participation.Submitted(choice="same")
        return participation.Submitted(choice="A" if a == "ours" else "B")

    def careless(s, token, position, criterion):
        a, b, check, odd = _slots(s, token, position)
        if check == "mismatch":
            return participation.Submitted(choice="A" if odd == 1 else "B")
        return participation.Submitted(choice="A")

    for n, (label, token) in enumerate(created.tokens[:5]):
        _answer_all(sessions, token, music_trained=n % 2 == 0, pick=careless if label == "P005" else honest)

    with sessions() as s:
        report = analyse(s, "ext")
    assert report.excluded.keys() == {"P005"} and len(report.excluded["P005"]) == 2
    assert (report.n_invited, report.n_started, report.n_completed) == (6, 5, 5)
    by = {(r.criterion, r.group): r for r in report.results}
    with sessions() as s:
        n_real = s.scalar(select(func.count()).select_from(StudyItem).join(StudyParticipant)
                          .where(StudyParticipant.label.in_(["P001", "P002", "P003", "P004"]), StudyItem.check_kind.is_(None)))
    overall = by[("overall", "all")].pairs[0]
    assert (overall.arm_a, overall.arm_b, overall.wins_a, overall.wins_b, overall.ties) == ("ours", "baseline", n_real, 0, 0)
    # four listeners: every one prefers "ours", but four listeners cannot give p below 2 / 2^4
    assert overall.n_listeners == 4 and overall.p_value == pytest.approx(0.125) and overall.win_rate_a == 1.0
    assert any(v.startswith("ours vs baseline for overall: too small to conclude") for v in report.verdicts)
    assert by[("richness", "all")].pairs[0].ties == n_real and by[("richness", "all")].pairs[0].win_rate_a is None
    trained = by[("overall", "music-trained")].pairs[0].wins_a
    assert trained + by[("overall", "general")].pairs[0].wins_a == n_real and 0 < trained < n_real

    files = write_report(report, root / "report-ext").files
    assert open(files["png"], "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    html = open(files["html"]).read()
    assert "P005" in html and "failed the mismatch check" in html and "ours vs baseline" in html

    # The SQL views agree with the Python report on exclusions and on every count.
    with sessions() as s:
        excluded = s.execute(text("SELECT participant FROM v_study_participants WHERE study = 'ext' AND excluded = 1")).scalars().all()
        assert excluded == ["P005"]
        rows = s.execute(text("SELECT criterion, listener_group, arm_a, arm_b, wins_a, wins_b, ties FROM v_study_pair_results "
                              "WHERE study = 'ext'")).all()
    assert len(rows) == len(CRITERIA) * 3
    for criterion, group, arm_a, arm_b, wins_a, wins_b, ties in rows:
        pr = by[(criterion, group)].pairs[0]
        assert (arm_a, arm_b, wins_a, wins_b, ties) == (pr.arm_a, pr.arm_b, pr.wins_a, pr.wins_b, pr.ties)


def test_answers_are_validated_and_never_duplicated(archive):
    sessions, ids, root, _url = archive
    with sessions.begin() as s:
        created = create_study(s, _request("dup", ["a=model:gen-a", "b=model:gen-b"], root, ratings_per_pair=1,
                                           participants=2, identical_checks=0, mismatch_checks=0))
    token, other = created.tokens[0][1], created.tokens[1][1]
    with sessions.begin() as s, pytest.raises(AnswerError, match="intake"):
        participation.save_answer(s, token, 1, "overall", participation.Submitted(choice="A"))
    with sessions.begin() as s:
        participation.record_intake(s, token, True)
    with sessions.begin() as s, pytest.raises(AnswerError, match="answered already"):
        participation.record_intake(s, token, False)
    for choice in ("A", "B", "B"):
        with sessions.begin() as s:
            participation.save_answer(s, token, 1, "overall", participation.Submitted(choice=choice))
    for bad in [dict(criterion="nope", sub=participation.Submitted(choice="A")),
                dict(criterion="overall", sub=participation.Submitted(score_first=3, score_second=3))]:
        with sessions.begin() as s, pytest.raises(AnswerError):
            participation.save_answer(s, token, 1, bad["criterion"], bad["sub"])
    with sessions.begin() as s, pytest.raises(participation.NotFound):
        participation.save_answer(s, token, 999, "overall", participation.Submitted(choice="A"))
    with sessions() as s, pytest.raises(participation.NotFound):
        participation.state(s, other[:-1] + ("A" if other[-1] != "A" else "B"))
    with sessions() as s:
        p = participation.participant_for(s, token)
        answers = s.scalars(select(StudyAnswer).join(StudyItem).where(StudyItem.participant_id == p.id)).all()
        assert [(a.choice, a.revisions) for a in answers] == [(2, 2)]
        item_id, criterion_id = answers[0].item_id, answers[0].criterion_id
    with pytest.raises(IntegrityError), sessions.begin() as s:  # the schema itself refuses a second row
        s.add(StudyAnswer(item_id=item_id, criterion_id=criterion_id, choice=1))


def test_scale_study_three_arms_bradley_terry(archive):
    sessions, ids, root, _url = archive
    with sessions.begin() as s:
        created = create_study(s, _request("scale3", ["a=model:gen-a", "b=model:gen-b", "c=model:gen-c"], root,
                                           mode="scale", ratings_per_pair=1, participants=3, seed=2, mismatch_checks=0))
    score = {"a": 5, "b": 3, "c": 1}
    def rate(s, token, position, criterion):
        a, b, check, _odd = _slots(s, token, position)
        if check:
            return participation.Submitted(score_first=3, score_second=3)
        return participation.Submitted(score_first=score[a], score_second=score[b])

    for n, (_label, token) in enumerate(created.tokens):
        _answer_all(sessions, token, n < 2, rate)
    with sessions() as s:
        report = analyse(s, "scale3")
    assert not report.excluded
    res = next(r for r in report.results if r.criterion == "overall" and r.group == "all")
    assert res.bradley_terry is not None and res.bradley_terry.strength[0] > res.bradley_terry.strength[2]
    means = {m.arm: m.mean for m in res.mean_scores}
    assert means == {"a": 5.0, "b": 3.0, "c": 1.0}
    assert Counter(len(r.pairs) for r in report.results) == {3: len(CRITERIA) * 3}


def test_bad_requests_are_refused_clearly(archive):
    sessions, ids, root, _url = archive
    with pytest.raises(StudyCreateError, match="LABEL=model"):
        ArmSpec.parse("nolabel")
    with sessions.begin() as s, pytest.raises(StudyCreateError, match="no soundtracks"):
        create_study(s, _request("bad1", ["a=model:gen-a", "b=model:does-not-exist"], root))
    with sessions.begin() as s, pytest.raises(StudyCreateError, match="does not exist"):
        create_study(s, _request("bad2", ["a=model:gen-a", f"b=audio:{root / 'nowhere'}"], root))
    with sessions.begin() as s, pytest.raises(StudyCreateError, match="match criterion"):
        create_study(s, StudyRequest(name="bad3", title="t", arms=(ArmSpec.parse("a=model:gen-a"), ArmSpec.parse("b=model:gen-b")),
                                     criteria=(CriterionSpec.parse("richness", "choice"),), media_dir=str(root / "media")))
