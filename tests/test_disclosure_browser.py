"""The room page shows the pooled group in the reader's language, and the chair every sector.

The demo room (k = 3) with two academia links and one private sector link revoked: academia
seats one delegate and the private sector two, below k each but three in two sectors, so
participants see them as one group, "Other participants" (in Spanish, "Otros participantes"),
in the parity table and in presence; a consensus result leaves out the figures of a lone
voter. The chair sees every sector by name. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import re

import pytest

from tests.support.browser import REPO, ROOM, launch_chromium, live_server, open_room

pytestmark = pytest.mark.browser

ARTIFACTS = REPO / "test-artifacts"
REVOKE = (
    "from django.utils import timezone; from forum.models import Seat; "
    "Seat.objects.filter(room__slug='{room}', "
    "user__email__in={emails}).update(token_revoked_at=timezone.now())"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    for live in live_server(tmp_path_factory):
        emails = [f"{who}@demo.roundtables.invalid" for who in ("acad2", "acad3", "priv3")]
        live.manage("shell", "-c", REVOKE.format(room=ROOM, emails=emails))
        yield live


@pytest.fixture(scope="module")
def chromium():
    yield from launch_chromium()


def open_in(chromium, server, persona, language: str):
    """The persona's room page in `language`, as the language switcher leaves it (its cookie)."""
    from django.conf import settings

    def prepare(page):
        cookie = {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": server.base_url}
        page.context.add_cookies([cookie])

    return open_room(chromium, persona, prepare=prepare)


def rows(page) -> list[str]:
    return page.locator("#parity th[scope=row]").all_inner_texts()


def test_a_delegate_reads_small_sectors_as_other_participants_and_the_chair_reads_every_sector(
    chromium, server
):
    from playwright.sync_api import expect

    chair = open_in(chromium, server, server.personas["chair"], "en")
    delegate = open_in(chromium, server, server.personas["gov2"], "es")
    academic = open_in(chromium, server, server.personas["acad1"], "en")

    # The parity table: sectors by name for the chair; two sectors below k pooled for the delegate.
    expect(chair.locator("#parity th[scope=row]", has_text="Academia")).to_be_visible()
    assert rows(chair) == [
        "Government",
        "Intergovernmental",
        "Civil society",
        "Private sector",
        "Academia",
    ]
    expect(
        delegate.locator("#parity th[scope=row]", has_text="Otros participantes")
    ).to_be_visible()
    assert rows(delegate) == [
        "Gobierno",
        "Intergubernamental",
        "Sociedad civil",
        "Otros participantes",
    ]
    # Presence: Ada's academic is connected; the delegate counts her among the others.
    expect(delegate.locator("#presence")).to_contain_text("Otros participantes: 1")
    expect(chair.locator("#presence")).to_contain_text("Academia: 1")

    # A check that academia's one delegate blocks, alone: the chair reads academia; the delegate
    # reads that figures of a single voter are not shown, and nothing of who or where.
    chair.fill("#check-proposition", "Early warning data is shared monthly.")
    chair.locator("#check-form button[type=submit]").click()
    academic.locator("li.check .votes button", has_text="Object").last.click()
    expect(academic.locator("li.check .ballot").last).not_to_be_empty()
    chair.locator("li.check button", has_text="Close the check").last.click()
    expect(chair.locator("li.check .reasons").last).to_contain_text(
        "A majority of the voters of Academia object."
    )
    reasons = delegate.locator("li.check .reasons").last
    expect(reasons).to_contain_text("Algunas cifras no se muestran")
    assert not re.search("Academia|Sector privado|demás participantes", reasons.inner_text())

    ARTIFACTS.mkdir(exist_ok=True)
    delegate.screenshot(path=str(ARTIFACTS / "disclosure-delegate-es.png"), full_page=True)
    chair.screenshot(path=str(ARTIFACTS / "disclosure-chair.png"), full_page=True)
    for page in (chair, delegate, academic):
        page.context.close()
