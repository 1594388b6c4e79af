"""The live room page driven in a browser: accepting the rule, posting, reading the stream."""

from __future__ import annotations

import re

from tests.support.browser import REPO

SEAT_BUTTON = re.compile(r"^Seat")

ROOM_JS = REPO / "static" / "room"  # the room page's ES modules


def accept_rule(page) -> None:
    from playwright.sync_api import expect

    page.click("#consent-button")
    expect(page.locator("#consent-box")).to_be_hidden()


def post(page, body: str) -> None:
    from playwright.sync_api import expect

    page.fill("#post-body", body)
    page.click("#post-button")
    expect(page.locator("#post-status")).to_have_text("Posted.")


def intervention(page, text: str):
    return page.locator("#stream li.intervention", has_text=text)


def choose_author(chair, text: str) -> str:
    """The chair picks the seat behind an intervention; returns its label."""
    from playwright.sync_api import expect

    item = intervention(chair, text)
    expect(item).to_have_count(1)
    label = item.locator(".attribution strong").inner_text()
    item.get_by_role("button", name=SEAT_BUTTON).click()
    expect(chair.locator("#seat-chosen")).to_have_text(f"Chosen seat: {label}")
    expect(chair.locator("#seat-title")).to_be_focused()
    return label
