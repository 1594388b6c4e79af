"""WCAG checks with axe-core in Debian's Chromium: every page, for each role that
sees it, has no violation axe rates serious or critical.

axe-core comes bundled with axe-playwright-python (no network). The server is the live demo
of tests/support/browser.py; the secretariat is a staff account created for the module.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.support.browser import ROOM, launch_chromium, live_server
from tests.support.staff import STAFF, serious_violations, signed_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from live_server(tmp_path_factory)


@pytest.fixture(scope="module")
def chromium():
    yield from launch_chromium()


def resolve(server, path: str) -> str:
    """`{join:cso1}` is the path of that persona's join link (its page, before the button)."""
    if path.startswith("{join:"):
        return urlsplit(server.personas[path[6:-1]].link).path
    return path


@pytest.fixture(scope="module")
def adopted(server, chromium):
    """The rapporteur saves the minutes and the chair adopts them, through the minutes page;
    the secretariat account exists."""
    server.manage(
        "shell",
        "-c",
        "from forum.models import User; "
        f"User.objects.create_superuser(username={STAFF[0]!r}, email='sam@example.org', "
        f"password={STAFF[1]!r})",
    )
    # The demo has no moderator: seat one, with a join link of our own.
    server.moderator_link = (
        server.manage(
            "shell",
            "-c",
            "from forum.models import RoundTable; "
            "from forum.services.seats import join_url, seat_issue_token, seat_upsert, "
            "user_upsert; "
            f"room = RoundTable.objects.get(slug={ROOM!r}); "
            "user = user_upsert(email='moderator@demo.roundtables.invalid', name='Mara "
            "Moderadora'); "
            "seat, _ = seat_upsert(room=room, user=user, role='moderator', "
            "sector=None, organization=None); "
            "print(join_url(seat_issue_token(seat=seat)))",
        )
        .strip()
        .splitlines()[-1]
    )
    for who, button in (("rapporteur", "Save as a new version"), ("chair", "Adopt version 1")):
        context, page = signed_in(chromium, server, who)
        page.goto(f"{server.base_url}/rooms/{ROOM}/minutes/")
        page.get_by_role("button", name=button).click()
        page.wait_for_load_state()
        context.close()


PAGES = [
    ("anonymous", "/"),
    ("anonymous", "/join/not-a-valid-token/"),
    ("anonymous", "{join:cso1}"),
    ("anonymous", "/sign-in/"),
    ("anonymous", f"/rooms/{ROOM}/"),
    ("cso1", "{join:igo1}"),
    ("cso1", "/"),
    ("cso1", f"/rooms/{ROOM}/"),
    ("cso1", f"/rooms/{ROOM}/minutes/"),
    ("cso1", f"/rooms/{ROOM}/outcomes/"),
    ("observer", f"/rooms/{ROOM}/"),
    ("observer", f"/rooms/{ROOM}/outcomes/"),
    ("rapporteur", f"/rooms/{ROOM}/"),
    ("rapporteur", f"/rooms/{ROOM}/minutes/"),
    ("rapporteur", f"/rooms/{ROOM}/minutes/?version=1&diff=1..1"),
    ("chair", f"/rooms/{ROOM}/"),
    ("chair", f"/rooms/{ROOM}/minutes/"),
    ("chair", f"/rooms/{ROOM}/audit/"),
    ("moderator", f"/rooms/{ROOM}/"),
    ("moderator", f"/rooms/{ROOM}/minutes/"),
    ("secretariat", f"/rooms/{ROOM}/submissions/"),
    ("secretariat", "/secretariat/"),
    ("secretariat", f"/secretariat/rooms/{ROOM}/"),
    ("secretariat", f"/secretariat/rooms/{ROOM}/audit/"),
    ("secretariat", "/secretariat/committees/"),
    ("secretariat", f"/rooms/{ROOM}/"),
    ("secretariat", f"/rooms/{ROOM}/minutes/"),
]


@pytest.mark.parametrize(("who", "path"), PAGES, ids=[f"{who}:{path}" for who, path in PAGES])
def test_no_serious_accessibility_violation(chromium, server, adopted, who, path):
    context, page = signed_in(chromium, server, who)
    try:
        page.goto(f"{server.base_url}{resolve(server, path)}")
        page.wait_for_load_state("networkidle")
        found = serious_violations(page)
        assert not found, f"{who} on {path}:\n" + "\n".join(found)
    finally:
        context.close()


@pytest.mark.parametrize(("who", "path"), PAGES, ids=[f"{who}:{path}" for who, path in PAGES])
def test_every_page_fits_a_small_screen(chromium, server, adopted, who, path):
    """At 375 px nothing scrolls sideways: wide tables scroll inside their own box."""
    context, page = signed_in(chromium, server, who)
    try:
        page.set_viewport_size({"width": 375, "height": 800})
        page.goto(f"{server.base_url}{resolve(server, path)}")
        page.wait_for_load_state("networkidle")
        scroll, width = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert scroll <= width, f"{who} on {path} scrolls sideways at 375 px ({scroll} > {width})"
    finally:
        context.close()
