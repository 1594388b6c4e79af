"""The live room page in a real browser (Debian's Chromium through Playwright).

A real server runs in a separate process (tests/support/browser.py): a temporary DATA_DIR with
SQLite, `migrate`, `seed_demo` (whose printed join links are the personas), then Daphne on
a free port. Each person is a separate browser context, so each has its own session cookie.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.support.browser import launch_chromium, live_server, open_room

pytestmark = pytest.mark.browser

RECONNECT_TIMEOUT_MS = 25_000  # the page's backoff is capped at 10 s


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from live_server(tmp_path_factory)


@pytest.fixture(scope="module")
def chromium():
    yield from launch_chromium()


@pytest.fixture
def screenshot_dir(tmp_path) -> Path:
    """BROWSER_SCREENSHOT_DIR keeps screenshots for a human to look at; else a temp dir."""
    kept = os.environ.get("BROWSER_SCREENSHOT_DIR")
    if kept:
        Path(kept).mkdir(parents=True, exist_ok=True)
        return Path(kept)
    return tmp_path


# -- helpers --------------------------------------------------------------------------


def accept_rule(page) -> None:
    from playwright.sync_api import expect

    box = page.locator("#consent-box")
    expect(box).to_be_visible()
    page.click("#consent-button")
    expect(box).to_be_hidden()


def post(page, body: str) -> None:
    from playwright.sync_api import expect

    page.fill("#post-body", body)
    page.click("#post-button")
    expect(page.locator("#post-status")).to_have_text("Posted.")


def intervention(page, text: str):
    return page.locator("#stream li.intervention", has_text=text)


def stream_seqs(page) -> list[int]:
    return page.eval_on_selector_all(
        "#stream li.intervention", "els => els.map(el => Number(el.dataset.seq))"
    )


# -- tests ----------------------------------------------------------------------------


def test_an_intervention_reaches_the_other_delegate_under_a_sector_pseudonym(
    chromium, server, screenshot_dir
):
    from playwright.sync_api import expect

    cso, gov = server.personas["cso1"], server.personas["gov1"]
    gov_frames: list[str] = []
    poster = open_room(chromium, cso)
    reader = open_room(chromium, gov, frames=gov_frames)
    try:
        accept_rule(poster)
        accept_rule(reader)

        post(poster, "We ask for **early warning** data to be shared with civil society.")

        item = intervention(reader, "early warning")
        expect(item).to_have_count(1, timeout=5_000)
        expect(item.locator(".attribution strong")).to_have_text(
            re.compile(r"^Civil society · Delegate \d+$")
        )
        expect(item.locator(".body strong")).to_have_text("early warning")
        # The poster's own page shows it once too, under the same label.
        expect(intervention(poster, "early warning")).to_have_count(1)
        assert (
            poster.locator("#you-label").inner_text()
            == item.locator(".attribution strong").inner_text()
        )

        html = reader.content()
        for secret in (cso.name, cso.organization, cso.email):
            assert secret not in html, f"{secret!r} leaked into another delegate's page"
            leaking = [f for f in gov_frames if secret in f]
            assert not leaking, f"{secret!r} reached another delegate's socket: {leaking[:1]}"

        # Consent is recorded on the server: a reload does not ask again.
        poster.reload()
        expect(poster.locator("#conn")).to_have_attribute("data-state", "online")
        expect(poster.locator("#consent-box")).to_be_hidden()

        shot = screenshot_dir / "room-delegate.png"
        reader.screenshot(path=str(shot), full_page=True)
        print(f"\nscreenshot of the delegate's room page: {shot}")
    finally:
        poster.context.close()
        reader.context.close()


def test_an_observer_sees_interventions_but_has_no_post_box(chromium, server):
    from playwright.sync_api import expect

    observer = open_room(chromium, server.personas["observer"])
    poster = open_room(chromium, server.personas["cso2"])
    try:
        expect(observer.locator("#post-body")).to_have_count(0)
        expect(observer.locator("#post-form")).to_have_count(0)
        # Observers read everything: they accept the rule before the stream starts
        # (tests/test_moderated_text_browser.py shows them reading nothing until then).
        accept_rule(observer)

        accept_rule(poster)
        post(poster, "Observers should read _this_ statement.")
        item = intervention(observer, "Observers should read")
        expect(item).to_have_count(1, timeout=5_000)
        expect(item.locator(".body em")).to_have_text("this")
        expect(item.locator(".attribution strong")).to_have_text(
            re.compile(r"^Civil society · Delegate \d+$")
        )
        assert server.personas["cso2"].name not in observer.content()

        # Raw HTML in the Markdown stays text in the reader's browser: nothing runs.
        dialogs: list[str] = []
        observer.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        post(poster, 'Raw <img src=x onerror="alert(1)"> and <script>alert(2)</script> end.')
        item = intervention(observer, "Raw")
        expect(item).to_have_count(1, timeout=5_000)
        expect(item.locator(".body")).to_contain_text("<img src=x")
        expect(item.locator("img, script, [onerror]")).to_have_count(0)
        assert dialogs == []
    finally:
        observer.context.close()
        poster.context.close()


def test_pages_catch_up_exactly_once_after_the_server_restarts(chromium, server):
    from playwright.sync_api import expect

    first = open_room(chromium, server.personas["cso3"])
    other = open_room(chromium, server.personas["gov2"])
    try:
        accept_rule(first)
        accept_rule(other)
        post(first, "Before the restart.")
        expect(intervention(other, "Before the restart.")).to_have_count(1, timeout=5_000)

        server.stop()
        for page in (first, other):
            expect(page.locator("#conn")).not_to_have_attribute("data-state", "online")

        # Typed while offline: kept by the page and sent once the socket is back.
        first.fill("#post-body", "Typed while the server was down.")
        first.click("#post-button")
        expect(first.locator("#post-status")).to_have_text("Offline: will be sent on reconnect.")

        server.start()  # same port, same DATA_DIR
        for page in (first, other):
            expect(page.locator("#conn")).to_have_attribute(
                "data-state", "online", timeout=RECONNECT_TIMEOUT_MS
            )
        expect(first.locator("#post-status")).to_have_text("Posted.")

        post(other, "After the restart.")
        expect(intervention(first, "After the restart.")).to_have_count(1, timeout=5_000)

        all_seqs, posted = server.log_seqs()
        assert all_seqs == list(range(1, len(all_seqs) + 1)), "the room log has a gap"
        for page in (first, other):
            expect(page.locator("#stream li.intervention")).to_have_count(len(posted))
            assert stream_seqs(page) == posted
            for text in ("Before the restart.", "Typed while the server", "After the restart."):
                expect(intervention(page, text)).to_have_count(1)
    finally:
        first.context.close()
        other.context.close()
        if server.proc is None:  # a failure while stopped: leave the fixture usable
            server.start()


def test_a_post_refused_for_missing_consent_keeps_the_typed_text(chromium, server):
    from playwright.sync_api import expect

    page = open_room(chromium, server.personas["gov3"])
    try:
        expect(page.locator("#consent-box")).to_be_visible()
        page.fill("#post-body", "A carefully drafted statement.")
        page.click("#post-button")
        expect(page.locator("#post-error")).to_contain_text("Chatham House Rule")
        expect(page.locator("#post-body")).to_have_value(
            "A carefully drafted statement.", timeout=2_000
        )
    finally:
        page.context.close()
