"""Signing in and out in a real browser: a delegate's join page and its button, the
secretariat's own sign-in page, a new link that shuts the delegate's open room, and
sign-out. Screenshots go to BROWSER_ARTIFACTS_DIR (default `test-artifacts/sign-in/`, ignored
by git), for a person to look at.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.browser import JOIN_BUTTON, REPO, ROOM, ROOM_PATH, launch_chromium, live_server

pytestmark = pytest.mark.browser

STAFF = ("sam-secretariat", "a-long-staff-password-for-tests")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    for live in live_server(tmp_path_factory):  # its teardown runs when the loop ends
        live.manage(
            "shell",
            "-c",
            "from forum.models import User; "
            f"User.objects.create_user(username={STAFF[0]!r}, email='sam@example.org', "
            f"password={STAFF[1]!r}, "
            "is_staff=True)",
        )
        yield live


@pytest.fixture(scope="module")
def chromium():
    yield from launch_chromium()


@pytest.fixture
def shot():
    folder = Path(os.environ.get("BROWSER_ARTIFACTS_DIR") or REPO / "test-artifacts" / "sign-in")
    folder.mkdir(parents=True, exist_ok=True)
    taken = []

    def take(page, name: str) -> None:
        taken.append(name)
        page.screenshot(path=str(folder / f"{len(taken):02d}-{name}.png"), full_page=True)

    return take


def test_a_delegate_joins_with_the_button_and_a_new_link_shuts_the_room(chromium, server, shot):
    from playwright.sync_api import expect

    cso = server.personas["cso1"]
    delegate = chromium.new_context(viewport={"width": 1100, "height": 800}).new_page()
    delegate.goto(cso.link)
    expect(delegate.get_by_role("heading", name="Join a round table")).to_be_visible()
    expect(delegate.get_by_text("as Civil society · Delegate")).to_be_visible()
    expect(delegate.get_by_text(cso.name)).to_have_count(0)
    shot(delegate, "join-page")
    delegate.get_by_role("button", name=JOIN_BUTTON).click()
    delegate.wait_for_url(f"**{ROOM_PATH}")
    expect(delegate.locator("#conn")).to_have_attribute("data-state", "online")

    staff = chromium.new_context(viewport={"width": 1100, "height": 900}).new_page()
    staff.goto(f"{server.base_url}/sign-in/?next=/secretariat/rooms/{ROOM}/")
    shot(staff, "secretariat-sign-in")
    staff.get_by_label("Username").fill(STAFF[0])
    staff.get_by_label("Password").fill(STAFF[1])
    staff.get_by_role("button", name="Sign in").click()
    staff.wait_for_url(f"**/secretariat/rooms/{ROOM}/")
    staff.locator("button[value=issue]", has_text=cso.name).click()
    expect(staff.get_by_role("heading", name="New join link")).to_be_visible()

    # The delegate's open room is shut at once, and the page then answers 403.
    expect(delegate.locator("#conn")).to_have_attribute("data-state", "refused")
    expect(delegate.get_by_text("Your join link has been replaced")).to_be_visible()
    shot(delegate, "room-shut-by-a-new-link")
    delegate.reload()
    expect(delegate.get_by_role("heading", name="No access")).to_be_visible()
    expect(delegate.get_by_role("button", name="Sign out")).to_have_count(0)  # signed out
    shot(delegate, "old-session-refused")

    # The new link, shown once to the secretariat, opens the room again.
    new_link = staff.locator("input[readonly]").first.input_value()
    delegate.goto(new_link)
    delegate.get_by_role("button", name=JOIN_BUTTON).click()
    delegate.wait_for_url(f"**{ROOM_PATH}")
    expect(delegate.locator("#conn")).to_have_attribute("data-state", "online")
    staff.context.close()
    delegate.context.close()


def test_a_delegate_signs_out_from_the_room_page(chromium, server, shot):
    from playwright.sync_api import expect

    page = chromium.new_context(viewport={"width": 1100, "height": 800}).new_page()
    page.goto(server.personas["gov1"].link)
    page.get_by_role("button", name=JOIN_BUTTON).click()
    page.wait_for_url(f"**{ROOM_PATH}")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{server.base_url}/")
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    shot(page, "signed-out")
    page.goto(f"{server.base_url}{ROOM_PATH}")
    expect(page.get_by_role("heading", name="No access")).to_be_visible()
    page.context.close()
