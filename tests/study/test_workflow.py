"""The study workflow without traps: arms that mean something, paths that work from any folder, the arms'
settings and fast answers in the report (SQLite; the rules on PostgreSQL are in test_server_rules)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from alembic import command
from typer.testing import CliRunner
from sqlalchemy import select, text

from emsync_core.cli.main import app
from emsync_core.db.engine import alembic_config, make_engine, open_database, upgrade
from emsync_core.db.models import Run, Soundtrack
from emsync_core.study import participation
from emsync_core.study.create import ArmSpec, CriterionSpec, StudyCreateError, StudyRequest, create_study
from emsync_core.study.report import analyse
from tests.study.archive import seed_archive


def _request(name, arms, media_dir, **kw):
    return StudyRequest(name=name, title=name, arms=tuple(ArmSpec.parse(a) for a in arms),
                        criteria=tuple(CriterionSpec.parse(c, "choice") for c in ("emotion", "overall")),
                        media_dir=str(media_dir), participants=2, ratings_per_pair=2, mismatch_checks=0,
                        require_full_play=False, **kw)


@pytest.fixture()
def scored_elsewhere(tmp_path, monkeypatch):
    """An archive recorded with output paths relative to the folder scoring ran from; then we move away."""
    scoring = tmp_path / "work"
    scoring.mkdir()
    monkeypatch.chdir(scoring)
    url = f"sqlite:///{tmp_path / 'emsync.db'}"
    sessions = open_database(url)
    ids = seed_archive(sessions, Path("score"), n_videos=2, generators=("gen-a", "gen-b"), duration=1.0)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    yield sessions, ids, tmp_path, url
    sessions.kw["bind"].dispose()


def test_output_paths_are_stored_absolute_and_create_works_from_another_folder(scored_elsewhere):
    sessions, ids, root, _url = scored_elsewhere
    with sessions() as s:
        uris = s.scalars(select(Soundtrack.video_uri)).all()
    assert uris and all(os.path.isabs(u) and os.path.isfile(u) for u in uris)
    with sessions.begin() as s:
        created = create_study(s, _request("far", ["a=model:gen-a", "b=model:gen-b"], "media"))
    assert sorted(created.videos) == sorted(ids) and not created.skipped


def test_migration_makes_old_relative_paths_absolute(scored_elsewhere, monkeypatch):
    sessions, _ids, root, url = scored_elsewhere
    with sessions.begin() as s:  # rows as an older version wrote them: relative to the scoring folder
        s.execute(text("UPDATE soundtracks SET video_uri = substr(video_uri, :n)"), {"n": len(str(root / "work")) + 2})
        s.execute(text("UPDATE soundtracks SET audio_uri = 'score/nowhere.wav'"))
        relative = s.scalars(select(Soundtrack.video_uri)).all()
    assert all(u.startswith("score/soundtracks/") for u in relative)
    engine = make_engine(url)
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003_safety")
    monkeypatch.chdir(root / "work")  # upgrading from the scoring folder finds the files
    upgrade(engine)
    engine.dispose()
    with sessions() as s:
        rows = s.execute(select(Soundtrack.video_uri, Soundtrack.audio_uri)).all()
    assert all(v == str(root / "work" / r) for (v, _a), r in zip(rows, relative))
    assert {a for _v, a in rows} == {"score/nowhere.wav"}  # not found anywhere: left as it was


def test_arms_that_resolve_to_the_same_soundtracks_are_refused(scored_elsewhere):
    """Also how a user tells two runs apart: `emsync query runs` shows each run's id and settings."""
    sessions, _ids, _root, _url = scored_elsewhere
    with sessions() as s:
        run_id = s.scalar(select(Run.run_id))
    runs = CliRunner().invoke(app, ["query", "runs", "--db", _url], env={"COLUMNS": "400"})
    assert run_id in runs.output and "sampling.temperature=1.35, sampling.top_p=0.6, seed=0" in runs.output
    with sessions.begin() as s, pytest.raises(StudyCreateError, match="same source: new=model:gen-a, old=model:gen-a"):
        create_study(s, _request("same", ["new=model:gen-a", "old=model:gen-a"], "media"))
    # the run recorded gen-a then gen-b: its newest soundtrack of each video is gen-b's
    with sessions.begin() as s, pytest.raises(StudyCreateError, match="identical soundtracks on all 2 videos.*run:RUN_ID"):
        create_study(s, _request("twins", ["new=model:gen-b", f"old=run:{run_id}"], "media"))


def test_videos_where_two_arms_have_the_same_file_are_left_out(scored_elsewhere):
    sessions, ids, _root, _url = scored_elsewhere
    with sessions() as s:
        uri = {st.generator_version: st.video_uri for st in s.scalars(select(Soundtrack).where(Soundtrack.video_id == ids[0]))}
    Path(uri["gen-b"]).write_bytes(Path(uri["gen-a"]).read_bytes())
    with sessions.begin() as s:
        created = create_study(s, _request("partly", ["a=model:gen-a", "b=model:gen-b"], "media"))
    assert created.videos == [ids[1]] and created.skipped == [(ids[0], "arms a and b have the same soundtrack for it")]


def test_report_shows_arm_settings_and_flags_fast_answers(scored_elsewhere):
    sessions, _ids, _root, _url = scored_elsewhere
    with sessions.begin() as s:
        created = create_study(s, _request("fast", ["new=model:gen-b", "old=model:gen-a"], "media", identical_checks=0))
    for label, token in created.tokens:
        with sessions.begin() as s:
            participation.record_intake(s, token, label == "P001")  # one music-trained, one general listener
        with sessions() as s:
            items = participation.state(s, token)["items"]
        for item in items:
            for key in item["criteria"]:
                with sessions.begin() as s:
                    participation.save_answer(s, token, item["position"], key, participation.Submitted(choice="A"))
    with sessions() as s:
        report = analyse(s, "fast")
        kept_out = analyse(s, "fast", exclude_fast=True)
    assert set(report.fast) == {"P001", "P002"} and "shorter than the videos" in report.fast["P001"]
    assert sum(p.wins_a + p.wins_b for r in report.results for p in r.pairs) > 0
    assert sum(p.wins_a + p.wins_b for r in kept_out.results for p in r.pairs) == 0
    details = {a.label: a for a in report.arm_details}
    assert details["new"].generator_versions == ["gen-b"] and details["new"].source == "model:gen-b"
    assert details["old"].settings[0]["sampling"] == {"temperature": 1.35, "top_p": 0.6}
    assert report.n_tests == 6 and len(report.verdicts) == 2  # 2 criteria x 3 listener groups, 1 pair
