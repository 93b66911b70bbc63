"""The rating page through Ray Serve on 127.0.0.1: a real headless chromium clicks through a study
(desktop, keyboard only, with a reload mid-item; and a phone-sized touch screen), then 20 concurrent
raters hit the JSON API and every answer is stored exactly once."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from emsync_core.db.engine import open_database
from emsync_core.db.study_models import StudyAnswer, StudyItem, StudyMedia, StudyParticipant
from emsync_core.study.create import ArmSpec, CriterionSpec, StudyRequest, create_study
from tests.study.archive import pg_schema_url, seed_archive

ray = pytest.importorskip("ray")
playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"]
CRITERIA = ("richness", "emotion", "timing", "overall")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _study(sessions, root, name, participants, ratings, criteria=CRITERIA, mode="choice", **kw):
    with sessions.begin() as s:
        return create_study(s, StudyRequest(
            name=name, title=f"Study {name}", arms=(ArmSpec.parse("a=model:gen-a"), ArmSpec.parse("b=model:gen-b")),
            criteria=tuple(CriterionSpec.parse(c, mode) for c in criteria), media_dir=str(root / "media"), mode=mode,
            ratings_per_pair=ratings, participants=participants, seed=1, **kw))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One Serve app for the module, on PostgreSQL when available (production), else SQLite."""
    root = tmp_path_factory.mktemp("web")
    cleanup = None
    if os.environ.get("EMSYNC_TEST_PG_URL"):
        url, cleanup = pg_schema_url()
    else:
        url = f"sqlite:///{root / 'emsync.db'}"
    sessions = open_database(url)
    seed_archive(sessions, root, n_videos=2, generators=("gen-a", "gen-b"), duration=1.5, cut_free=(1,))
    web = _study(sessions, root, "web", participants=2, ratings=2, mismatch_checks=0)
    scale = _study(sessions, root, "scale", participants=1, ratings=1, criteria=("emotion", "overall"), mode="scale",
                   identical_checks=0, mismatch_checks=0, require_full_play=False)
    load = _study(sessions, root, "load", participants=20, ratings=20, criteria=("emotion", "overall"), mismatch_checks=0,
                  require_full_play=False)  # answers only, no media: the full-play rule has its own test
    seek = _study(sessions, root, "seek", participants=1, ratings=1, criteria=("emotion", "overall"), identical_checks=0,
                  mismatch_checks=0)
    from ray import serve

    from ray_serve.app import serve_app

    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    served = serve_app(url, port=_free_port(), app_name="emsync-test")
    yield served.url, sessions, web, load, scale, seek
    serve.shutdown()
    ray.shutdown()
    sessions.kw["bind"].dispose()
    if cleanup:
        cleanup()


def _answers_of(sessions, token_label):
    with sessions() as s:
        p = s.scalar(select(StudyParticipant).where(StudyParticipant.label == token_label[0], StudyParticipant.study.has(name=token_label[1])))
        rows = s.execute(select(StudyItem.position, StudyAnswer.criterion_id, StudyAnswer.choice, StudyAnswer.revisions)
                         .join(StudyItem, StudyItem.id == StudyAnswer.item_id).where(StudyItem.participant_id == p.id)).all()
        n_items = s.scalar(select(func.count()).select_from(StudyItem).where(StudyItem.participant_id == p.id))
        return rows, n_items, p


def _listen_both(page, press):
    """Play A then B to the end (keys 1 and 2, or taps), as a participant must before answering."""
    assert page.evaluate("document.querySelector('fieldset.criterion').disabled")
    for slot, key in (("A", "1"), ("B", "2")):
        press(slot, key)
        page.wait_for_function(f"() => document.getElementById('app').dataset.played{slot} === 'true'", timeout=20_000)
    page.wait_for_function("() => !document.querySelector('fieldset.criterion').disabled", timeout=5_000)


def _asked(page) -> list[str]:
    """The questions shown for this video (the cut-timing one only when the video has cuts)."""
    return [c for c in CRITERIA if page.locator(f'fieldset[data-key="{c}"]').is_visible()]


def _wait_saved(page):
    page.wait_for_function("() => document.getElementById('save-status').textContent === 'Saved.'", timeout=10_000)


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


def test_desktop_keyboard_only_with_reload_resume(server, browser):
    base, sessions, web, *_ = server
    label, token = web.tokens[0]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/study/{token}")
    assert page.title() == "Study web"
    # Before starting: the length, how to listen, and what taking part means.
    assert re.search(r"\d+ videos, about \d+ minutes? in all", page.locator("#estimate").inner_text())
    assert "headphones" in page.locator("#listening-note").inner_text()
    assert "voluntary" in page.locator("#consent").inner_text()
    # Intake with the keyboard only.
    page.locator("input[name=music_trained][value=yes]").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector("#trial:not([hidden])")
    n_items = int(page.locator("#progress").inner_text().split(" of ")[1].split()[0])
    answered = 0
    for position in range(1, n_items + 1):
        assert page.locator("#item-number").inner_text().startswith(f"{position} of")
        _listen_both(page, lambda slot, key: page.keyboard.press(key))
        asked = _asked(page)
        answered += len(asked)
        for k, criterion in enumerate(asked):
            if position == 2 and k == 2:
                page.reload()  # progress is saved: the page comes back on this item with the answers given
                page.wait_for_selector("#trial:not([hidden])")
                assert page.locator("#item-number").inner_text().startswith("2 of")
                assert page.locator('fieldset[data-key="richness"] input[value="B"]').is_checked()
                assert page.locator('fieldset[data-key="emotion"] input[value="B"]').is_checked()
                assert not page.evaluate("document.querySelector('fieldset.criterion').disabled")
            page.locator(f'fieldset[data-key="{criterion}"] input[value="B"]').focus()
            page.keyboard.press("Space")
            _wait_saved(page)
        assert page.locator("#next").is_enabled()
        page.locator("#next").focus()
        page.keyboard.press("Enter")
        page.wait_for_function(f"() => document.getElementById('progress').textContent.startsWith('{position} of')")
    page.wait_for_selector("#done:not([hidden])")
    assert not page.locator(".instructions").is_visible() and not page.locator("#progress").is_visible()
    assert page.locator("main").inner_text().strip().endswith("All your answers are saved. You can close this page.")
    rows, items, participant = _answers_of(sessions, (label, "web"))
    assert len(rows) == answered and items == n_items and len(CRITERIA) * n_items > answered >= 3 * n_items
    assert {choice for *_, choice, _rev in rows} == {2} and participant.music_trained is True
    assert participant.completed_at is not None
    page.close()


def test_phone_viewport_touch(server, browser):
    base, sessions, web, *_ = server
    label, token = web.tokens[1]
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = context.new_page()
    page.goto(f"{base}/study/{token}")
    page.locator("#intake label", has_text="No").tap()
    page.get_by_role("button", name="Start").tap()
    page.wait_for_selector("#trial:not([hidden])")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
    box = page.locator("#play-A").bounding_box()
    assert box["height"] >= 44 and box["x"] + box["width"] <= 390
    n_items = int(page.locator("#progress").inner_text().split(" of ")[1].split()[0])
    answered = 0
    for position in range(1, n_items + 1):
        assert page.locator("#item-number").inner_text().startswith(f"{position} of")
        _listen_both(page, lambda slot, key: page.locator(f"#play-{slot}").tap())
        asked = _asked(page)
        answered += len(asked)
        for criterion in asked:
            page.locator(f'fieldset[data-key="{criterion}"] label', has_text="No difference").tap()
            _wait_saved(page)
        page.locator("#next").tap()
        page.wait_for_function(f"() => document.getElementById('progress').textContent.startsWith('{position} of')")
    page.wait_for_selector("#done:not([hidden])")
    rows, items, participant = _answers_of(sessions, (label, "web"))
    assert len(rows) == answered and {r[2] for r in rows} == {0} and participant.music_trained is False
    context.close()


def test_scale_study_scores_each_soundtrack(server, browser):
    base, sessions, *_, scale, _seek = server
    label, token = scale.tokens[0]
    page = browser.new_page(viewport={"width": 1024, "height": 800})
    page.goto(f"{base}/study/{token}")
    page.locator("#intake label", has_text="Yes").click()
    page.get_by_role("button", name="Start").click()
    page.wait_for_selector("#trial:not([hidden])")
    n_items = int(page.locator("#progress").inner_text().split(" of ")[1].split()[0])
    for position in range(1, n_items + 1):
        assert not page.evaluate("document.querySelector('fieldset.criterion').disabled")  # no full play required here
        for criterion in ("emotion", "overall"):
            page.locator(f'input[name="{criterion}-A"][value="4"]').check()
            assert page.locator("#next").is_disabled()  # half a rating is not an answer yet
            page.locator(f'input[name="{criterion}-B"][value="2"]').check()
            _wait_saved(page)
        page.locator("#next").click()
        page.wait_for_function(f"() => document.getElementById('progress').textContent.startsWith('{position} of')")
    page.wait_for_selector("#done:not([hidden])")
    with sessions() as s:
        p = s.scalar(select(StudyParticipant).where(StudyParticipant.label == label, StudyParticipant.study.has(name="scale")))
        rows = s.execute(select(StudyAnswer.choice, StudyAnswer.score_first, StudyAnswer.score_second)
                         .join(StudyItem, StudyItem.id == StudyAnswer.item_id).where(StudyItem.participant_id == p.id)).all()
    assert len(rows) == n_items * 2 and set(rows) == {(None, 4, 2)}
    page.close()


def test_seek_to_the_end_does_not_count_as_played(server, browser):
    base, *_, seek = server
    token = seek.tokens[0][1]
    page = browser.new_page(viewport={"width": 1024, "height": 800})
    page.goto(f"{base}/study/{token}")
    page.locator("#intake label", has_text="Yes").click()
    page.get_by_role("button", name="Start").click()
    page.wait_for_selector("#trial:not([hidden])")
    page.keyboard.press("1")
    page.wait_for_function("() => document.getElementById('player').duration > 0")
    page.evaluate("() => { const p = document.getElementById('player'); p.currentTime = p.duration - 0.05; }")
    page.wait_for_function("() => document.getElementById('player').ended", timeout=10_000)
    assert page.evaluate("document.getElementById('app').dataset.playedA") == "false"
    assert page.evaluate("document.querySelector('fieldset.criterion').disabled")
    refused = httpx.put(f"{base}/api/study/{token}/items/1/answers/overall", json={"choice": "A"}, timeout=30)
    assert refused.status_code == 409  # and the server agrees: B was never sent, A only just
    page.keyboard.press("1")  # played through from the start, it counts
    page.wait_for_function("() => document.getElementById('app').dataset.playedA === 'true'", timeout=20_000)
    page.close()


def test_api_refuses_bad_requests(server):
    base, _sessions, web, *_ = server
    token = web.tokens[0][1]
    with httpx.Client(base_url=base, timeout=30) as client:
        assert client.post(f"/api/study/{token}/intake", json={"music_trained": "maybe"}).status_code == 422
        assert client.post(f"/api/study/{token}/intake", json={"music_trained": True}).status_code == 200
        assert client.get("/api/study/" + "x" * 32 + "/state").status_code == 404
        assert client.get("/study/not-a-token").status_code == 404
        assert client.put(f"/api/study/{token}/items/1/answers/overall", json={"choice": "C"}).status_code == 422
        assert client.put(f"/api/study/{token}/items/1/answers/overall", json={"choice": "A", "x": 1}).status_code == 422
        assert client.put(f"/api/study/{token}/items/1/answers/nope", json={"choice": "A"}).status_code == 422
        assert client.put(f"/api/study/{token}/items/99/answers/overall", json={"choice": "A"}).status_code == 404
        assert client.get(f"/api/study/{token}/items/1/media/C").status_code == 404
        media = client.get(f"/api/study/{token}/items/1/media/A", headers={"Range": "bytes=0-99"})
        assert media.status_code == 206 and len(media.content) == 100 and media.headers["content-type"] == "video/mp4"
        page = client.get(f"/study/{token}")
        assert page.headers["referrer-policy"] == "no-referrer" and "no-store" in page.headers["cache-control"]


def test_twenty_concurrent_raters_lose_and_duplicate_nothing(server):
    base, sessions, _web, load, _scale, _seek = server

    async def rater(client, n, token):
        state = (await client.get(f"/api/study/{token}/state")).json()
        assert (await client.post(f"/api/study/{token}/intake", json={"music_trained": n % 2 == 0})).status_code == 200
        sent = {}
        for item in state["items"]:
            for c in state["criteria"]:
                choice = ("A", "B", "same")[(n + item["position"] + len(c["key"])) % 3]
                url = f"/api/study/{token}/items/{item['position']}/answers/{c['key']}"
                # a double click: the same answer twice at once must leave one row
                first, second = await asyncio.gather(client.put(url, json={"choice": choice}), client.put(url, json={"choice": choice}))
                assert first.status_code == second.status_code == 200, (first.text, second.text)
                sent[(item["position"], c["key"])] = choice
        return sent

    async def run_all():
        limits = httpx.Limits(max_connections=40)
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
            return await asyncio.gather(*(rater(client, n, tok) for n, (_label, tok) in enumerate(load.tokens)))

    started = time.perf_counter()
    with ThreadPoolExecutor(1) as pool:  # the sync Playwright fixture owns this thread's event loop
        sent = pool.submit(asyncio.run, run_all()).result()
    seconds = time.perf_counter() - started
    n_requests = sum(2 * len(s) + 2 for s in sent)
    print(f"\n[load] {len(sent)} raters, {n_requests} requests in {seconds:.1f} s ({n_requests / seconds:.0f} req/s)")
    letter = {0: "same", 1: "A", 2: "B"}
    with sessions() as s:
        criteria = {c.id: c.key for c in s.scalars(select(StudyParticipant).where(StudyParticipant.study.has(name="load"))).first().study.criteria}
        for (label, _token), expected in zip(load.tokens, sent):
            rows, n_items, p = _answers_of(sessions, (label, "load"))
            stored = {(pos, criteria[cid]): letter[choice] for pos, cid, choice, _rev in rows}
            assert len(rows) == len(stored) == n_items * 2  # none lost, none duplicated
            assert stored == expected
            assert p.completed_at is not None
        assert s.scalar(select(func.count()).select_from(StudyMedia)) > 0
