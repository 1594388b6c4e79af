"""Moderated text and the observer's consent in a real browser (Debian's Chromium, Playwright).

The chair redacts a held post from a dialog that starts with the names taken out (and shows
them marked), is refused when a name comes back, and sees an alert when one seat keeps
naming people; an observer reads nothing until they accept the rule. A real server runs in a
separate process (tests/support/browser.py); each person is a separate browser context.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.support.browser import launch_chromium, live_server, open_room

pytestmark = pytest.mark.browser

HELD_WORDS = (
    "Your intervention waits for the moderators, who may publish it, redact it or decline it."
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from live_server(tmp_path_factory)


@pytest.fixture(scope="module")
def chromium():
    yield from launch_chromium()


@pytest.fixture
def shots(tmp_path) -> Path:
    """BROWSER_SCREENSHOT_DIR keeps the screenshots for a human to look at; else a temp dir."""
    kept = os.environ.get("BROWSER_SCREENSHOT_DIR")
    if kept:
        Path(kept).mkdir(parents=True, exist_ok=True)
        return Path(kept)
    return tmp_path


def accept_rule(page) -> None:
    from playwright.sync_api import expect

    page.click("#consent-button")
    expect(page.locator("#consent-box")).to_be_hidden()


def send(page, body: str) -> None:
    page.fill("#post-body", body)
    page.click("#post-button")


def held_item(chair, text: str):
    return chair.locator("#held li", has_text=text)


def test_the_chair_redacts_a_held_post_from_the_names_taken_out_and_a_name_put_back_is_refused(
    chromium, server, shots
):
    from playwright.sync_api import expect

    author, named, reader_persona = (
        server.personas["gov1"],
        server.personas["gov2"],
        server.personas["igo1"],
    )
    frames: list[str] = []
    poster = open_room(chromium, author)
    reader = open_room(chromium, reader_persona, frames=frames)
    chair = open_room(chromium, server.personas["chair"])
    try:
        accept_rule(poster)
        accept_rule(reader)
        original = f"As {named.name} said, the alerts reached the coast too late."
        send(poster, original)
        # The author learns that it waits, in the words any held post gets.
        expect(poster.locator("#post-status")).to_have_text(HELD_WORDS)

        item = held_item(chair, "the alerts reached the coast")
        expect(item).to_have_count(1)
        expect(item.locator("mark")).to_have_text(named.name)
        chair.locator("#held-title").scroll_into_view_if_needed()
        item.screenshot(path=str(shots / "held-post-marked.png"))

        item.get_by_role("button", name=re.compile("^Publish a redacted version")).click()
        dialog = chair.locator("#ask")
        expect(dialog).to_be_visible()
        expect(chair.locator("#ask-marked mark")).to_have_text(named.name)
        # Not the raw text ready to send: the name is taken out.
        expect(chair.locator("#ask-body")).to_have_value(
            "As […] said, the alerts reached the coast too late."
        )
        expect(chair.locator("#ask-vouch-field")).to_be_hidden()
        dialog.screenshot(path=str(shots / "redaction-dialog.png"))

        # A moderator who puts the name back is refused, and shown where it is.
        chair.fill("#ask-body", original)
        chair.fill("#ask-reason", "It names a fellow participant.")
        chair.click("#ask-ok")
        expect(dialog).to_be_visible()
        expect(chair.locator("#ask-marked mark")).to_have_text(named.name)
        expect(chair.locator("#ask-vouch-field")).to_be_visible()
        expect(chair.locator("#ask-body")).to_have_value(original)
        expect(chair.locator("#ask-text")).to_contain_text("still names a participant")
        expect(chair.locator("#ask-reason")).to_have_value("It names a fellow participant.")
        dialog.screenshot(path=str(shots / "redaction-refused.png"))
        assert intervention_count(reader, "alerts reached the coast") == 0

        chair.fill("#ask-body", "As a participant said, the alerts reached the coast too late.")
        chair.click("#ask-ok")
        expect(dialog).to_be_hidden()
        expect(held_item(chair, "the alerts reached the coast")).to_have_count(0)
        shown = reader.locator("#stream li.intervention", has_text="alerts reached the coast")
        expect(shown).to_have_count(1)
        expect(shown.locator(".body")).to_have_text(
            "As a participant said, the alerts reached the coast too late."
        )
        expect(shown.locator(".redaction")).to_have_text(
            "Redacted by the moderator: It names a fellow participant."
        )
        for secret in (named.name, "Tuilagi"):
            assert secret not in reader.content()
            assert not [f for f in frames if secret in f], f"{secret!r} reached a reader's socket"
    finally:
        for page in (poster, reader, chair):
            page.context.close()


def intervention_count(page, text: str) -> int:
    return page.locator("#stream li.intervention", has_text=text).count()


def test_publishing_a_held_post_as_written_asks_why_the_marked_name_is_not_a_participant(
    chromium, server
):
    from playwright.sync_api import expect

    poster = open_room(chromium, server.personas["cso2"])
    chair = open_room(chromium, server.personas["chair"])
    try:
        accept_rule(poster)
        named = server.personas["acad3"]
        send(poster, f"Thanks to {named.name} for the maps.")
        item = held_item(chair, "for the maps")
        expect(item).to_have_count(1)
        item.get_by_role("button", name=re.compile("^Publish the intervention")).click()
        expect(chair.locator("#ask-title")).to_have_text("Publish as written?")
        expect(chair.locator("#ask-marked mark")).to_have_text(named.name)
        expect(chair.locator("#ask-reason-label")).to_contain_text("not a participant")
        chair.click("#ask-cancel")
        expect(item).to_have_count(1)  # still held: nothing went out
    finally:
        poster.context.close()
        chair.context.close()


def test_a_seat_naming_people_three_times_raises_an_alert_in_the_chairs_console(
    chromium, server, shots
):
    from playwright.sync_api import expect

    prober = open_room(chromium, server.personas["priv2"])
    chair = open_room(chromium, server.personas["chair"])
    try:
        accept_rule(prober)
        for who in ("gov3", "igo2", "cso3"):
            send(prober, f"Is {server.personas[who].name} here today?")
            expect(prober.locator("#post-status")).to_have_text(HELD_WORDS)
            prober.fill("#post-body", "")
        alert = chair.locator("#alerts li")
        expect(alert).to_have_count(1)
        expect(alert).to_contain_text("3 texts held for naming someone within 10 minutes")
        expect(chair.locator("#alerts-empty")).to_be_hidden()
        chair.locator("#alerts-title").scroll_into_view_if_needed()
        chair.locator("#alerts").screenshot(path=str(shots / "name-holds-alert.png"))
        label = alert.inner_text().split(":")[0]
        alert.get_by_role("button", name=re.compile("^Seat actions")).click()
        expect(chair.locator("#seat-chosen")).to_have_text(f"Chosen seat: {label}")
    finally:
        prober.context.close()
        chair.context.close()


def test_an_observer_reads_the_stream_only_after_accepting_the_rule(chromium, server, shots):
    from playwright.sync_api import expect

    poster = open_room(chromium, server.personas["acad1"])
    observer = open_room(chromium, server.personas["observer"])
    try:
        accept_rule(poster)
        send(poster, "Before the observer accepted the rule.")
        expect(poster.locator("#post-status")).to_have_text("Posted.")
        expect(observer.locator("#consent-box")).to_be_visible()
        expect(observer.locator("#consent-box")).to_contain_text("Observers read everything")
        expect(observer.locator("#stream-empty")).to_have_text(
            "The interventions appear once you have accepted the Chatham House Rule."
        )
        observer.wait_for_timeout(500)  # what could arrive has had time to
        assert intervention_count(observer, "Before the observer") == 0
        observer.screenshot(path=str(shots / "observer-before-consent.png"), full_page=True)

        accept_rule(observer)
        expect(
            observer.locator("#stream li.intervention", has_text="Before the observer")
        ).to_have_count(1)
        send(poster, "After the observer accepted it.")
        expect(
            observer.locator("#stream li.intervention", has_text="After the observer")
        ).to_have_count(1)
        expect(observer.locator("#consent-done")).to_be_visible()
        observer.screenshot(path=str(shots / "observer-after-consent.png"), full_page=True)
        # A reload does not ask again: the consent is the seat's.
        observer.reload()
        expect(observer.locator("#conn")).to_have_attribute("data-state", "online")
        expect(observer.locator("#consent-box")).to_be_hidden()
        expect(
            observer.locator("#stream li.intervention", has_text="After the observer")
        ).to_have_count(1)
    finally:
        poster.context.close()
        observer.context.close()
