"""Written contributions in a real browser (Debian's Chromium, Playwright): the secretariat sets
the window of a round table that has not opened yet, a delegate sends a contribution with a
PDF before the session, the moderator publishes it, and another delegate, whose page is open,
reads it there at once (and after a reload). A real server runs in a separate process
(tests/support/browser.py); each person is a separate browser context."""

from __future__ import annotations

import csv
import io

import pytest

from tests.support.browser import launch_chromium, live_server
from tests.support.contributions import pdf_bytes
from tests.support.staff import STAFF, serious_violations

pytestmark = pytest.mark.browser

SLUG = "papers-before-the-session"
PAPER = "District councils need early warning alerts within the hour."
SUMMARY = "A shared alert network for district councils."
PEOPLE = [
    ("Mara Moderadora", "mara@papers.invalid", "", "", "moderator"),
    ("Tala Civic", "tala@papers.invalid", "Ocean Voices Network", "civil-society", "delegate"),
    ("Ravi Civic", "ravi@papers.invalid", "Youth Peace Hub", "civil-society", "delegate"),
    ("Noor Civic", "noor@papers.invalid", "Women Mediators", "civil-society", "delegate"),
    ("Gil Minister", "gil@papers.invalid", "Ministry of Tests", "government", "delegate"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from live_server(tmp_path_factory)


@pytest.fixture(scope="module")
def chromium():
    yield from launch_chromium()


@pytest.fixture(scope="module")
def links(server, tmp_path_factory) -> dict[str, str]:
    """A Chatham House round table that has not opened, its seats, and the staff account."""
    server.manage("create_room", SLUG, "Papers before the session", "--status", "scheduled")
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["name", "email", "organization", "sector", "role"])
    writer.writerows(PEOPLE)
    path = tmp_path_factory.mktemp("papers") / "people.csv"
    path.write_text(rows.getvalue(), encoding="utf-8")
    out = server.manage("import_participants", SLUG, str(path), "--base-url", server.base_url)
    server.manage(
        "shell",
        "-c",
        "from forum.models import User; "
        f"User.objects.create_superuser(username={STAFF[0]!r}, email='sam@example.org', "
        f"password={STAFF[1]!r})",
    )
    return {row["email"].split("@")[0]: row["join_url"] for row in csv.DictReader(io.StringIO(out))}


def person(chromium, link: str):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(link)
    page.locator("#join button[type=submit]").click()
    page.wait_for_url(f"**/rooms/{SLUG}/")
    return page


def test_a_contribution_sent_before_the_session_is_published_and_read(chromium, server, links):
    from playwright.sync_api import expect

    # The secretariat opens the window of the whole round table.
    staff = chromium.new_context().new_page()
    staff.set_default_timeout(15_000)
    staff.goto(f"{server.base_url}/admin/login/?next=/")
    staff.fill("#id_username", STAFF[0])
    staff.fill("#id_password", STAFF[1])
    staff.click("form.sign-in-form button[type=submit]")
    staff.wait_for_url(f"{server.base_url}/")
    staff.goto(f"{server.base_url}/secretariat/rooms/{SLUG}/contributions/")
    assert serious_violations(staff) == []
    staff.fill("#closes-room", "2040-01-31T17:00")
    staff.fill("#limit-room", "2000")
    staff.locator("#window-room button[value=set]").click()
    expect(staff.locator(".sec-ok")).to_contain_text("The contribution window is saved.")

    # Tala sends a paper with a PDF before the session opens.
    author = person(chromium, links["tala"])
    expect(author.locator("#room-status")).to_have_text("Scheduled")
    author.click("#consent-button")
    expect(author.locator("#consent-box")).to_be_hidden()
    author.fill("#contribution-summary", SUMMARY)
    author.fill("#contribution-body", PAPER)
    author.set_input_files(
        "#contribution-attachment",
        files=[
            {
                "name": "tala-paper.pdf",
                "mimeType": "application/pdf",
                "buffer": pdf_bytes(["Alert networks.", "A table of districts."]),
            }
        ],
    )
    author.click("#contribution-send")
    expect(author.locator("#contribution-status")).to_contain_text(
        "Your contribution waits for the moderators"
    )
    expect(author.locator("[data-mine]")).to_contain_text("Waiting for the moderators")
    assert serious_violations(author) == []

    # Gil, another delegate, has the room open while the moderator decides.
    reader = person(chromium, links["gil"])
    expect(reader.locator("#conn")).to_have_attribute("data-state", "online")
    expect(reader.locator(".contribution")).to_have_count(0)

    moderator = person(chromium, links["mara"])
    pending = moderator.locator(".pending-contribution")
    expect(pending).to_contain_text(PAPER)
    assert serious_violations(moderator) == []
    pending.locator("button", has_text="Publish").first.click()
    expect(moderator.locator(".pending-contribution")).to_have_count(0)

    # Gil reads it at once, attributed by the rule, never by name; and after a reload.
    shown = reader.locator(".contribution")
    expect(shown).to_contain_text(PAPER)
    expect(shown).to_contain_text("Contribution 1.1")
    expect(shown).to_contain_text("Civil society · Delegate")
    expect(shown.locator("a")).to_contain_text("Attachment (PDF")
    reader.reload()
    shown = reader.locator(".contribution")
    expect(shown).to_contain_text(PAPER)
    expect(shown).to_contain_text(SUMMARY)
    html = reader.content()
    assert "Tala" not in html and "Ocean Voices" not in html and "tala-paper" not in html
    assert serious_violations(reader) == []
    with reader.expect_download() as download:
        shown.locator("a").click()
    assert download.value.suggested_filename.startswith("contribution-1-")
    for page in (staff, author, reader, moderator):
        page.context.close()
