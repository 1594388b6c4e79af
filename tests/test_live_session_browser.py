"""A session run live over two agenda items, in a real browser: the chair moves to item 2
from the console; posts, a turn (a hand the chair raised for a delegate in the meeting room
included), a note of what an in-room delegate said and a consensus check land on item 2; the
delegate given the floor and every reader of a new check see the banner; the chair's console
counts what waits; the minutes show both items filled; the venue screen follows the item,
the floor and its countdown live and shows no name. axe-core checks the screen and the
console, and at 375 px the chair reaches the console in one tap.

One browser session, one test function: the suite's time matters more than the split.
"""

from __future__ import annotations

import json
import re

import pytest

from forum.management.commands.seed_demo import AGENDA, PERSONAS
from tests.support.browser import ROOM, launch_chromium, live_server, open_room
from tests.support.room_ui import accept_rule, intervention, post
from tests.support.staff import serious_violations

pytestmark = pytest.mark.browser

ON_ITEM_ONE = "Early warning needs the district councils at the table from the start."
ON_ITEM_TWO = "Community radio reaches the districts before any bulletin does."
NOTE = "Asked that alerts go out in local languages too."
PROPOSITION = "Community radio stations receive early warning bulletins."
NAMES = [name for name, *_ in PERSONAS] + [org for _name, _email, org, *_ in PERSONAS if org]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from live_server(tmp_path_factory)


@pytest.fixture(scope="module")
def chromium():
    yield from launch_chromium()


def screen_link(server) -> str:
    """The secretariat issues the demo room's screen link (a staff account of its own)."""
    return (
        server.manage(
            "shell",
            "-c",
            "from forum.models import RoundTable, User; "
            "from forum.services.screens import screen_link_issue; from "
            "forum.services.seats import join_url; "
            "staff = User.objects.create_user('screen-issuer', "
            "password='x-long-password-here', is_staff=True); "
            f"room = RoundTable.objects.get(slug={ROOM!r}); "
            "print(join_url(screen_link_issue(room=room, actor=staff)[1]))",
        )
        .strip()
        .splitlines()[-1]
    )


def test_a_live_session_over_two_items_with_the_venue_screen(chromium, server):
    from playwright.sync_api import expect

    chair = open_room(chromium, server.personas["chair"])
    ana = open_room(chromium, server.personas["cso1"])  # online, speaks
    ben = open_room(chromium, server.personas["gov1"])  # online, votes
    screen_context = chromium.new_context(viewport={"width": 1280, "height": 720})
    screen = screen_context.new_page()
    screen.goto(screen_link(server))
    screen.locator("#join button[type=submit]").click()
    screen.wait_for_url(f"**/rooms/{ROOM}/screen/")
    expect(screen.locator("#conn")).to_have_attribute("data-state", "online")
    expect(screen.locator("#current-item")).to_have_text(AGENDA[0])

    for page in (chair, ana, ben):
        accept_rule(page)
    post(ana, ON_ITEM_ONE)

    # The chair moves to item 2 from the console: everyone's top line and the screen follow.
    chair.click("#agenda-next")
    for page in (chair, ana, ben, screen):
        expect(page.locator("#current-item")).to_have_text(AGENDA[1])
    expect(chair.locator("#console-agenda li.current")).to_contain_text(AGENDA[1])

    # A hand, the floor: the banner for the speaker; the screen shows a label and a live countdown.
    ana.click("#hand-raise")
    expect(chair.locator("#console-badge")).to_have_text("1")
    expect(chair).to_have_title(re.compile(r"^\(1\) "))
    chair.click("#floor-next")
    expect(ana.locator("#banner")).to_be_visible()
    expect(ana.locator("#banner-text")).to_contain_text("You have the floor")
    expect(screen.locator("#speaker")).to_have_text(
        re.compile(r"^Civil society · Delegate \d+ has the floor\.$")
    )
    expect(screen.locator("#countdown-wrap")).to_be_visible()
    first = screen.locator("#countdown").inner_text()
    expect(screen.locator("#countdown")).not_to_have_text(first)  # it counts down by itself
    post(ana, ON_ITEM_TWO)

    # A delegate in the meeting room: a hand raised by the chair, then a note of what was said.
    chair.select_option("#proxy-seat", index=0)
    chair.click("#proxy-raise")
    expect(screen.locator("#queue li")).to_have_count(1)
    expect(screen.locator("#queue li").first).to_contain_text("raised by the chair")
    chair.fill("#proxy-note", NOTE)
    chair.get_by_role("button", name="Record that they spoke").click()
    expect(intervention(ben, NOTE)).to_have_count(1)

    # A consensus check: every reader gets the banner; the screen counts the votes.
    chair.fill("#check-proposition", PROPOSITION)
    chair.get_by_role("button", name="Open a check").click()
    expect(ben.locator("#banner-text")).to_contain_text(PROPOSITION)
    expect(screen.locator("#check-proposition")).to_have_text(PROPOSITION)
    ben.locator("#checks li", has_text=PROPOSITION).get_by_role(
        "button", name=re.compile("^Support")
    ).click()
    expect(screen.locator("#check-votes")).to_have_text("Votes cast: 1")

    # Nothing on the screen names anyone.
    shown = screen.locator("body").inner_text()
    assert not [name for name in NAMES if name in shown], shown

    # No serious accessibility problem on the screen, nor on the changed console.
    for page in (screen, chair):
        found = serious_violations(page)
        assert not found, "\n".join(found)

    # The minutes: item 1 and item 2 both filled.
    answer = chair.request.get(f"{server.base_url}/rooms/{ROOM}/minutes.json")
    assert answer.ok
    one, two = json.loads(answer.text())["items"][:2]
    assert [iv["body_text"] for iv in one["interventions"]] == [ON_ITEM_ONE]
    assert [iv["body_text"] for iv in two["interventions"]] == [ON_ITEM_TWO, NOTE]
    assert [c["proposition"] for c in two["consensus_checks"]] == [PROPOSITION]
    assert not one["consensus_checks"]

    # The sound is off until the reader turns it on; the choice is remembered.
    expect(ben.locator("#sound-toggle")).not_to_be_checked()
    ben.check("#sound-toggle")
    ben.reload()
    expect(ben.locator("#sound-toggle")).to_be_checked()

    # On a phone the chair reaches the console in one tap.
    chair.set_viewport_size({"width": 375, "height": 740})
    chair.evaluate("window.scrollTo(0, 0)")
    chair.click("#console-link")
    expect(chair.locator("#console-title")).to_be_in_viewport()
    screen_context.close()
