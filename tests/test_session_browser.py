"""A whole short round table in a real browser: a chair and two
delegates in separate browser contexts go through consent, a raised hand, the floor given,
an intervention the others see, the chair hiding it (it disappears for them), a consensus
check voted and closed, the minutes saved and adopted, and the PDF downloaded.

Every page is photographed on the way: the screenshots go to BROWSER_ARTIFACTS_DIR (default
`test-artifacts/session/` in the repository, ignored by git), for a person to look at.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.support.browser import REPO, ROOM, launch_chromium, live_server, open_room
from tests.support.room_ui import accept_rule, intervention, post

pytestmark = pytest.mark.browser

PROPOSITION = "District councils receive early warning bulletins within a day."
SAID = "Women peacebuilders already run alert networks in the districts; fund them."


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from live_server(tmp_path_factory)


@pytest.fixture(scope="module")
def chromium():
    yield from launch_chromium()


@pytest.fixture
def artifacts() -> Path:
    folder = Path(os.environ.get("BROWSER_ARTIFACTS_DIR") or REPO / "test-artifacts" / "session")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_short_session_from_consent_to_the_adopted_minutes(chromium, server, artifacts):
    from playwright.sync_api import expect

    chair = open_room(chromium, server.personas["chair"])
    ana = open_room(chromium, server.personas["cso1"])  # speaks
    ben = open_room(chromium, server.personas["gov1"])  # listens
    shots = []

    def shot(page, name: str) -> None:
        path = artifacts / f"{len(shots) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        shots.append(path)

    try:
        shot(ana, "delegate-before-consent")
        for page in (chair, ana, ben):
            accept_rule(page)
        shot(chair, "chair-console")

        # A hand, and the floor given by the chair.
        ana.select_option("#hand-kind", "statement")
        ana.click("#hand-raise")
        expect(ana.locator("#hand-status")).to_have_text("You asked for the floor.")
        expect(chair.locator("#console-queue li")).to_have_count(1)
        shot(chair, "chair-sees-the-hand")
        chair.click("#floor-next")
        expect(ana.locator("#speaker")).to_have_text("You have the floor.")
        expect(ben.locator("#speaker")).to_have_text(re.compile(r" has the floor\.$"))
        expect(ana.locator("#countdown-wrap")).to_be_visible()
        shot(ana, "delegate-has-the-floor")

        # An intervention the others see, under a sector pseudonym (never the name).
        post(ana, SAID)
        for page in (ben, chair):
            expect(intervention(page, "Women peacebuilders")).to_have_count(1)
        label = intervention(ben, "Women peacebuilders").locator(".attribution").inner_text()
        assert server.personas["cso1"].name not in label
        shot(ben, "delegate-sees-the-intervention")

        # The chair hides it: it disappears for both delegates.
        item = intervention(chair, "Women peacebuilders")
        item.get_by_role("button", name=re.compile("^Hide")).click()
        chair.fill("#ask-reason", "Off the agenda item for now.")
        chair.click("#ask-ok")
        for page in (ana, ben):
            expect(intervention(page, "Women peacebuilders")).to_have_count(0)
        shot(ben, "hidden-for-the-delegate")

        # A consensus check: both delegates vote, the chair closes it, the result shows.
        chair.fill("#check-proposition", PROPOSITION)
        chair.get_by_role("button", name="Open a check").click()
        for page, option in ((ana, "Support"), (ben, "Can live with it")):
            check = page.locator("#checks li", has_text=PROPOSITION)
            check.get_by_role("button", name=re.compile(f"^{option}")).click()
            expect(check.locator(".ballot")).not_to_be_empty()
        shot(ana, "delegate-voted")
        chair.locator("#checks li", has_text=PROPOSITION).get_by_role(
            "button", name=re.compile("^Close the check")
        ).click()
        for page in (ana, ben):
            expect(page.locator("#checks li", has_text=PROPOSITION)).to_contain_text(
                re.compile("onsensus")
            )
        shot(ben, "check-result")

        # The minutes: the chair saves a version and adopts it, then downloads the PDF.
        chair.goto(f"{server.base_url}/rooms/{ROOM}/minutes/")
        chair.get_by_role("button", name="Save as a new version").click()
        expect(chair.locator("[role=status]")).to_contain_text("Saved as version 1.")
        shot(chair, "minutes-saved")
        chair.get_by_role("button", name="Adopt version 1").click()
        expect(chair.locator("[role=status]")).to_contain_text("Version 1 is adopted.")
        digest = re.search(
            r"SHA-256: ([0-9a-f]{64})", chair.locator("[role=status]").inner_text()
        ).group(1)
        shot(chair, "minutes-adopted")
        with chair.expect_download() as download_info:
            chair.get_by_role("link", name="pdf", exact=True).click()
        pdf = Path(download_info.value.path()).read_bytes()
        assert pdf.startswith(b"%PDF-") and len(pdf) > 1000

        # The delegates read the adopted minutes, with the hash, and no name in them.
        ben.goto(f"{server.base_url}/rooms/{ROOM}/minutes/")
        expect(ben.locator("main")).to_contain_text(digest)
        expect(ben.locator("main")).to_contain_text("Adopted")
        assert server.personas["cso1"].name not in ben.locator("main").inner_text()
        shot(ben, "delegate-reads-the-adopted-minutes")
    finally:
        for page in (chair, ana, ben):
            page.context.close()
    assert len(shots) == 11 and all(path.stat().st_size > 5000 for path in shots)
