"""Invitations with nothing configured, in a real browser: the secretariat invites a delegate
again from the room page, `send_mail` writes the .eml file, the outbox lists it, the delegate
joins with the link the file carries (the old one opens nothing) and the seats table says the
link was opened and the holder joined. Screenshots go to BROWSER_ARTIFACTS_DIR (default
`test-artifacts/mail/`, ignored by git)."""

from __future__ import annotations

import email
import email.policy
import os
import re
from pathlib import Path

import pytest

from tests.support.browser import REPO, ROOM, join, launch_chromium, live_server
from tests.support.staff import STAFF, serious_violations, signed_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from live_server(tmp_path_factory)


@pytest.fixture(scope="module")
def chromium():
    yield from launch_chromium()


@pytest.fixture
def artifacts() -> Path:
    folder = Path(os.environ.get("BROWSER_ARTIFACTS_DIR") or REPO / "test-artifacts" / "mail")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_an_invitation_goes_out_as_an_eml_file_and_its_link_lets_the_delegate_in(
    chromium, server, artifacts
):
    from playwright.sync_api import expect

    person = server.personas["cso2"]
    server.manage(
        "shell",
        "-c",
        "from forum.models import User; "
        f"User.objects.create_superuser(username={STAFF[0]!r}, email='sam@example.org', "
        f"password={STAFF[1]!r})",
    )
    _context, sam = signed_in(chromium, server, "secretariat")
    sam.goto(f"{server.base_url}/secretariat/rooms/{ROOM}/#seats")
    row = sam.locator("tr", has_text=person.email)
    row.get_by_role("button", name=re.compile("Invite again")).click()
    expect(sam.locator("main")).to_contain_text("1 invitation is queued")
    expect(sam.locator("tr", has_text=person.email).locator("[data-invitation]")).to_have_text(
        "invited"
    )
    assert serious_violations(sam) == []
    sam.screenshot(path=str(artifacts / "01-invited.png"), full_page=True)

    out = server.manage("send_mail")
    assert "1 sent" in out, out
    (eml,) = (server.data_dir / "mail").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["To"] == person.email
    link = re.search(
        r"https?://\S+/join/[A-Za-z0-9_-]+/", message.get_body(("plain",)).get_content()
    )
    assert link is not None

    sam.goto(f"{server.base_url}/secretariat/outbox/")
    expect(sam.locator("[data-message] [data-status]")).to_have_text(["Sent"])
    sam.get_by_role("link", name=re.compile("Invitation")).click()
    expect(sam.locator("[data-attempt=sent]")).to_have_count(1)
    assert serious_violations(sam) == []
    sam.screenshot(path=str(artifacts / "02-outbox-message.png"), full_page=True)

    delegate = chromium.new_context().new_page()
    assert delegate.goto(person.link).status == 404  # the link before the invitation
    join(delegate, link.group(0))
    expect(delegate.locator("#conn")).to_have_attribute("data-state", "online")

    sam.goto(f"{server.base_url}/secretariat/rooms/{ROOM}/#seats")
    row = sam.locator("tr", has_text=person.email)
    expect(row.locator("[data-opened]")).to_have_count(1)
    expect(row.locator("[data-joined]")).to_have_count(1)
    sam.screenshot(path=str(artifacts / "03-opened-and-joined.png"), full_page=True)
