"""Erasure at a person's request, as the secretariat and the room see it, in a real browser.

The secretariat sets the retention period and erases one delegate's identity on the room's
page; the delegate's open room page is closed at once; the chair's `reveal` then says the
identity was erased; the delegate's link opens nothing. Screenshots go to
BROWSER_ARTIFACTS_DIR (default `test-artifacts/retention/`, ignored by git).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.support.browser import REPO, ROOM, launch_chromium, live_server, open_room
from tests.support.room_ui import accept_rule, choose_author, post
from tests.support.staff import STAFF, signed_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from live_server(tmp_path_factory)


@pytest.fixture(scope="module")
def chromium():
    yield from launch_chromium()


@pytest.fixture
def artifacts() -> Path:
    folder = Path(os.environ.get("BROWSER_ARTIFACTS_DIR") or REPO / "test-artifacts" / "retention")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def secretariat(chromium, server):
    server.manage(
        "shell",
        "-c",
        "from forum.models import User; "
        f"User.objects.create_superuser(username={STAFF[0]!r}, email='sam@example.org', "
        f"password={STAFF[1]!r})",
    )
    _context, page = signed_in(chromium, server, "secretariat")
    return page


def test_the_secretariat_erases_a_delegates_identity_and_the_room_lets_go_of_them(
    chromium, server, artifacts
):
    from playwright.sync_api import expect

    person = server.personas["cso1"]
    delegate = open_room(chromium, person)
    chair = open_room(chromium, server.personas["chair"])
    sam = secretariat(chromium, server)
    try:
        accept_rule(delegate)
        post(delegate, "Village councils need the bulletins first.")

        sam.goto(f"{server.base_url}/secretariat/rooms/{ROOM}/#retention")
        card = sam.locator("#retention")
        expect(card).to_contain_text("identities will be erased 90 days after their adoption")
        sam.fill("#retention-retention_days", "30")
        sam.get_by_role("button", name="Save the retention period").click()
        expect(sam.locator("main")).to_contain_text("The retention period is saved.")
        expect(card).to_contain_text("identities will be erased 30 days after their adoption")

        option = sam.locator("#erase-seat option", has_text=person.email)
        sam.select_option("#erase-seat", option.get_attribute("value"))
        sam.fill("#erase-reason", "Request received by e-mail on 3 March.")
        sam.check("#erase-confirm")
        card.scroll_into_view_if_needed()
        sam.screenshot(path=str(artifacts / "01-secretariat-before-erasure.png"), full_page=True)
        sam.get_by_role("button", name="Erase this identity").click()
        expect(sam.locator("main [data-state=erased]")).to_have_count(1)  # the seats table says so
        expect(sam.locator("main")).to_contain_text("The identity is erased")
        sam.locator("#retention").scroll_into_view_if_needed()
        sam.screenshot(path=str(artifacts / "02-secretariat-after-erasure.png"), full_page=True)
        page = sam.content()
        assert person.name not in page and person.email not in page

        # The delegate's open page is let go of at once, with the reason in their language.
        expect(delegate.locator("#conn")).to_have_attribute("data-state", "refused")
        expect(delegate.locator("main")).to_contain_text(
            "Your identity in this round table has been erased"
        )
        delegate.screenshot(path=str(artifacts / "03-delegate-let-go.png"), full_page=True)

        # The chair looks behind the pseudonym: no one is left to show.
        choose_author(chair, "Village councils")
        chair.fill("#reveal-reason", "A complaint about threats was filed.")
        chair.get_by_role("button", name="Reveal to me").click()
        revealed = chair.locator("#revealed")
        expect(revealed).to_contain_text(re.compile(r"identity was erased on \d{4}-\d{2}-\d{2}"))
        expect(revealed).to_contain_text("Civil society")
        assert (
            person.name not in revealed.inner_text() and person.email not in revealed.inner_text()
        )
        chair.screenshot(path=str(artifacts / "04-chair-reveal-erased.png"), full_page=True)

        # The old link opens nothing.
        response = delegate.goto(person.link)
        assert response.status == 404
    finally:
        for page in (delegate, chair, sam):
            page.context.close()
