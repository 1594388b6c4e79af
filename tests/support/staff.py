"""A staff account signed in in a browser."""

from __future__ import annotations

from tests.support.browser import join

STAFF = ("sam-secretariat", "a-long-staff-password-for-tests")


def signed_in(chromium, server, who: str):
    """A page in a fresh context, signed in as a demo persona or as the secretariat."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.set_default_navigation_timeout(
        30_000
    )  # a loaded CI machine: generous, never waited in vain
    if who == "secretariat":
        # The product's own sign-in page (the admin's login page sends staff there).
        page.goto(f"{server.base_url}/admin/login/?next=/")
        page.fill("#id_username", STAFF[0])
        page.fill("#id_password", STAFF[1])
        page.click("form.sign-in-form button[type=submit]")
        page.wait_for_url(f"{server.base_url}/")
    elif who == "moderator":
        join(page, server.moderator_link)
    elif who != "anonymous":
        join(page, server.personas[who].link)
    return context, page


BLOCKING = {"serious", "critical"}


def serious_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(n["target"][0] for n in v["nodes"][:3])
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]
