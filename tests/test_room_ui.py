"""The live room page for every role, in a real browser (Debian's Chromium, Playwright).

The chair's console (mute, slow mode, lock, flags, reveal), the post box's Markdown
preview, the speaker's countdown, the page at 375 px, and a keyboard-only delegate.
A real server runs in a separate process (tests/support/browser.py); each person is a separate
browser context. The tests share the module's server and room, so each uses its own
delegates and puts back the room settings it changes.
"""

from __future__ import annotations

import http.cookiejar
import json
import re

import pytest

from tests.support.browser import join_over_http, launch_chromium, live_server, open_room
from tests.support.room_ui import ROOM_JS, accept_rule, choose_author, intervention, post

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from live_server(tmp_path_factory)


@pytest.fixture(scope="module")
def chromium():
    yield from launch_chromium()


# -- helpers --------------------------------------------------------------------------


def no_horizontal_scroll(page) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"


def tab_to(page, selector: str, limit: int = 80) -> None:
    """Press Tab until `selector` has the focus, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            # The focus ring is visible (:focus-visible), not suppressed.
            outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
            assert outline != "none", f"{selector} has the focus but no visible outline"
            return
    raise AssertionError(f"Tab never reached {selector}")


# -- the chair's console ---------------------------------------------------------------


def test_the_chair_mutes_a_delegate_whose_next_post_is_refused_with_the_muted_message(
    chromium, server
):
    from playwright.sync_api import expect

    delegate = open_room(chromium, server.personas["priv1"])
    chair = open_room(chromium, server.personas["chair"])
    try:
        accept_rule(delegate)
        post(delegate, "The private sector can fund early warning networks.")
        label = choose_author(chair, "fund early warning networks")

        chair.fill("#mute-minutes", "5")
        chair.get_by_role("button", name="Mute", exact=True).click()
        expect(chair.locator("#seat-status")).to_have_text(f"{label} is muted for 5 min.")
        expect(chair.locator("#muted li")).to_have_count(1)
        expect(chair.locator("#muted li")).to_contain_text(label)
        expect(delegate.locator("#post-status")).to_contain_text("muted you for 5 minutes")

        delegate.fill("#post-body", "Muted, but trying all the same.")
        delegate.click("#post-button")
        expect(delegate.locator("#post-error")).to_contain_text("A moderator has muted you until")
        expect(delegate.locator("#post-error")).to_have_attribute("role", "alert")
        expect(delegate.locator("#post-body")).to_have_value("Muted, but trying all the same.")
        expect(intervention(chair, "Muted, but trying")).to_have_count(0)

        # Unmuted from the console's list, the delegate may speak again.
        chair.locator("#muted li").get_by_role("button", name=re.compile("^Unmute")).click()
        expect(chair.locator("#muted li")).to_have_count(0)
        expect(delegate.locator("#post-status")).to_have_text("You may speak again.")
        delegate.click("#post-button")
        expect(delegate.locator("#post-status")).to_have_text("Posted.")
        expect(intervention(chair, "Muted, but trying")).to_have_count(1)
    finally:
        delegate.context.close()
        chair.context.close()


def test_slow_mode_and_the_lock_update_the_delegates_settings_line(chromium, server):
    from playwright.sync_api import expect

    delegate = open_room(chromium, server.personas["gov2"])
    chair = open_room(chromium, server.personas["chair"])
    settings = delegate.locator("#room-settings")
    try:
        accept_rule(delegate)
        expect(settings).to_have_text("")

        chair.fill("#slow-seconds", "30")
        chair.get_by_role("button", name="Set slow mode").click()
        expect(settings).to_have_text("Slow mode: 30 s")
        expect(chair.locator("#settings-status")).to_have_text(
            "Slow mode: 30 s between a delegate's posts."
        )

        chair.click("#lock-button")
        expect(settings).to_have_text("Floor locked · Slow mode: 30 s")
        expect(chair.locator("#lock-button")).to_have_text("Unlock the floor")
        expect(chair.locator("#lock-button")).to_have_attribute("aria-pressed", "true")

        delegate.fill("#post-body", "Is the floor really locked?")
        delegate.click("#post-button")
        expect(delegate.locator("#post-error")).to_contain_text("locked the floor")

        # A refused value is explained next to the field, and nothing is sent.
        chair.fill("#slow-seconds", "5000")
        chair.get_by_role("button", name="Set slow mode").click()
        expect(chair.locator("#settings-error")).to_have_text(
            "Give whole seconds, from 0 to 3,600."
        )
        expect(chair.locator("#slow-seconds")).to_have_attribute("aria-invalid", "true")
        expect(settings).to_have_text("Floor locked · Slow mode: 30 s")
    finally:
        chair.click("#lock-button")
        chair.fill("#slow-seconds", "0")
        chair.get_by_role("button", name="Set slow mode").click()
        expect(settings).to_have_text("")
        delegate.context.close()
        chair.context.close()


def test_a_flag_reaches_the_console_where_the_chair_hides_and_restores_it(chromium, server):
    from playwright.sync_api import expect

    poster = open_room(chromium, server.personas["cso3"])
    flagger = open_room(chromium, server.personas["gov3"])
    chair = open_room(chromium, server.personas["chair"])
    text = "Youth networks should sit on the early warning board."
    try:
        accept_rule(poster)
        accept_rule(flagger)
        post(poster, text)

        item = intervention(flagger, "Youth networks")
        item.get_by_role("button", name=re.compile("^Flag")).click()
        dialog = flagger.locator("#ask")
        expect(dialog).to_be_visible()
        expect(flagger.locator("#ask-reason")).to_be_focused()
        flagger.fill("#ask-reason", "Off the agenda item.")
        flagger.click("#ask-ok")
        expect(dialog).to_be_hidden()
        expect(flagger.locator("#post-status")).to_have_text(
            "Thank you: the moderators will look at it."
        )

        flag = chair.locator("#flags li.console-item")
        expect(flag).to_have_count(1)
        expect(flag).to_contain_text("Off the agenda item.")
        expect(flag).to_contain_text("Youth networks")
        flag.get_by_role("button", name=re.compile("^Hide")).click()
        chair.fill("#ask-reason", "abc")  # under five characters: explained, not sent
        chair.click("#ask-ok")
        expect(chair.locator("#ask-reason-error")).to_have_text(
            "Give a reason of at least 5 characters."
        )
        chair.fill("#ask-reason", "Off topic for this item.")
        chair.click("#ask-ok")

        expect(intervention(poster, "Youth networks")).to_have_count(0)
        expect(intervention(flagger, "Youth networks")).to_have_count(0)
        expect(chair.locator("#hidden-list li")).to_contain_text("Off topic for this item.")
        expect(flag).to_contain_text("hidden")

        flag.get_by_role("button", name=re.compile("^Restore")).click()
        expect(intervention(flagger, "Youth networks")).to_have_count(1)
        expect(chair.locator("#hidden-list li")).to_have_count(0)

        flag.get_by_role("button", name=re.compile("^Dismiss")).click()
        expect(chair.locator("#flags li.console-item")).to_have_count(0)
    finally:
        for page in (poster, flagger, chair):
            page.context.close()


def test_reveal_shows_the_identity_to_the_asking_chair_alone(chromium, server):
    from playwright.sync_api import expect

    speaker = server.personas["cso1"]
    delegate = open_room(chromium, speaker)
    reader = open_room(chromium, server.personas["igo3"])
    chair = open_room(chromium, server.personas["chair"])
    try:
        accept_rule(delegate)
        post(delegate, "Community monitors need protection.")
        choose_author(chair, "Community monitors")

        chair.fill("#reveal-reason", "abc")
        chair.get_by_role("button", name="Reveal to me").click()
        expect(chair.locator("#reveal-error")).to_have_text(
            "Give a reason of at least 5 characters."
        )
        chair.fill("#reveal-reason", "A complaint about threats was filed.")
        chair.get_by_role("button", name="Reveal to me").click()
        revealed = chair.locator("#revealed")
        expect(revealed).to_contain_text(speaker.name)
        expect(revealed).to_contain_text(speaker.organization)
        assert speaker.name not in chair.locator("#stream").inner_text()
        expect(chair.locator("#seat-log li").first).to_contain_text("looked behind")

        reader.wait_for_timeout(500)
        for page in (reader, delegate):
            assert speaker.name not in page.content()
            assert speaker.organization not in page.content()

        revealed.get_by_role("button", name="Hide these details").click()
        expect(revealed).to_be_hidden()
        assert speaker.name not in chair.content()
    finally:
        for page in (delegate, reader, chair):
            page.context.close()


def test_the_reason_dialog_holds_the_focus_and_gives_it_back(chromium, server):
    from playwright.sync_api import expect

    chair = open_room(chromium, server.personas["chair"])
    try:
        if chair.locator("#consent-box").is_visible():
            accept_rule(chair)
        post(chair, "Welcome back to the round table.")
        hide = intervention(chair, "Welcome back").get_by_role("button", name=re.compile("^Hide"))
        hide.focus()
        chair.keyboard.press("Enter")
        expect(chair.locator("#ask")).to_be_visible()
        expect(chair.locator("#ask-reason")).to_be_focused()
        # Modal: Tab cycles through the dialog's own controls, never the page behind.
        for _ in range(6):
            chair.keyboard.press("Tab")
            inside = chair.evaluate(
                "() => document.getElementById('ask').contains(document.activeElement)"
            )
            assert inside, "the focus left the open dialog"
        chair.keyboard.press("Escape")
        expect(chair.locator("#ask")).to_be_hidden()
        expect(hide).to_be_focused()
    finally:
        chair.context.close()


# -- the delegate's page ------------------------------------------------------------------


def test_the_preview_shows_sanitised_html_and_runs_no_script(chromium, server):
    from playwright.sync_api import expect

    def trap(page):
        page.add_init_script("window.__ran = [];")

    delegate = open_room(chromium, server.personas["acad1"], prepare=trap)
    try:
        body = (
            "Some **bold** words <script>window.__ran.push('script')</script>"
            " and <img src=x onerror=\"window.__ran.push('img')\"> end."
        )
        delegate.fill("#post-body", body)
        toggle = delegate.locator("#preview-button")
        expect(toggle).to_have_attribute("aria-pressed", "false")
        toggle.click()
        expect(toggle).to_have_attribute("aria-pressed", "true")
        preview = delegate.locator("#preview-body")
        expect(preview.locator("strong")).to_have_text("bold")
        expect(preview).to_contain_text("<script>")
        expect(preview.locator("script, img, [onerror]")).to_have_count(0)
        assert delegate.evaluate("() => window.__ran") == []

        # It follows the typing, and nothing was posted.
        delegate.fill("#post-body", "Now _italic_.")
        expect(preview.locator("em")).to_have_text("italic")
        expect(intervention(delegate, "Some bold words")).to_have_count(0)

        toggle.click()
        expect(delegate.locator("#post-preview")).to_be_hidden()
        assert delegate.evaluate("() => window.__ran") == []
    finally:
        delegate.context.close()


def test_the_countdown_appears_when_the_floor_is_given_and_is_announced(chromium, server):
    from playwright.sync_api import expect

    speaker = open_room(chromium, server.personas["igo1"])
    listener = open_room(chromium, server.personas["igo2"])
    chair = open_room(chromium, server.personas["chair"])
    try:
        expect(speaker.locator("#countdown-wrap")).to_be_hidden()
        # Turns of 31 s, so the 30-second warning comes a second after the floor is given.
        chair.fill("#turn-seconds", "31")
        chair.get_by_role("button", name="Set the floor").click()
        expect(speaker.locator("#floor-mode")).to_have_text("Open floor; turns of 0:31.")

        speaker.select_option("#hand-kind", "statement")
        speaker.click("#hand-raise")
        expect(speaker.locator("#hand-status")).to_have_text("You asked for the floor.")
        expect(speaker.locator("#queue li")).to_contain_text(["you"])
        expect(chair.locator("#console-queue li")).to_have_count(1)

        chair.click("#floor-next")
        expect(speaker.locator("#speaker")).to_have_text("You have the floor.")
        expect(speaker.locator("#countdown-wrap")).to_be_visible()
        expect(speaker.locator("#countdown")).to_have_text(re.compile(r"^0:(2\d|3[01])$"))
        expect(speaker.locator("#countdown")).to_have_attribute("role", "timer")
        expect(listener.locator("#speaker")).to_have_text(re.compile(r" has the floor\.$"))
        expect(listener.locator("#countdown-wrap")).to_be_visible()

        live = listener.locator("#floor-live")
        expect(live).to_have_attribute("role", "status")
        expect(live).to_have_text(re.compile(r"30 seconds left for .+\.$"), timeout=5_000)
        first = speaker.locator("#countdown").inner_text()
        speaker.wait_for_timeout(1_500)
        assert speaker.locator("#countdown").inner_text() != first, "the countdown stands still"

        speaker.click("#floor-yield")
        expect(speaker.locator("#speaker")).to_have_text("Nobody has the floor.")
        expect(listener.locator("#countdown-wrap")).to_be_hidden()
        expect(live).to_have_text(re.compile(r"^The turn ended after 0:\d\d\.$"))
    finally:
        chair.fill("#turn-seconds", "180")
        chair.get_by_role("button", name="Set the floor").click()
        for page in (speaker, listener, chair):
            page.context.close()


def test_no_horizontal_scroll_at_375_px_for_a_delegate_and_the_chair(chromium, server):
    from playwright.sync_api import expect

    delegate = open_room(chromium, server.personas["cso2"])
    chair = open_room(chromium, server.personas["chair"])
    try:
        accept_rule(delegate)
        post(delegate, "A_long_unbroken_word_" * 12 + " and a [link](https://example.org/a/b/c).")
        delegate.click("#hand-raise")
        expect(chair.locator("#console-queue li")).to_have_count(1)
        choose_author(chair, "A_long_unbroken_word")
        for page in (delegate, chair):
            page.set_viewport_size({"width": 375, "height": 800})
            page.wait_for_timeout(200)
            no_horizontal_scroll(page)
        delegate.click("#preview-button")
        delegate.fill("#post-body", "| a | b |\n|---|---|\n| " + "x" * 120 + " | y |")
        expect(delegate.locator("#preview-body")).not_to_be_empty()
        no_horizontal_scroll(delegate)
        queued = chair.locator("#console-queue li").first
        queued.get_by_role("button", name=re.compile("^Remove")).click()
        expect(chair.locator("#ask")).to_be_visible()
        no_horizontal_scroll(chair)
        chair.fill("#ask-reason", "Tidying the queue for the test.")
        chair.click("#ask-ok")
        expect(chair.locator("#console-queue li")).to_have_count(0)
    finally:
        delegate.context.close()
        chair.context.close()


def test_a_keyboard_only_delegate_consents_posts_and_raises_a_hand(chromium, server):
    from playwright.sync_api import expect

    page = open_room(chromium, server.personas["acad2"])
    try:
        log = page.locator("[role=log]")
        expect(log).to_have_attribute("aria-live", "polite")
        expect(log.locator("#stream")).to_have_count(1)

        tab_to(page, "#consent-button")
        page.keyboard.press("Enter")
        expect(page.locator("#consent-box")).to_be_hidden()
        expect(page.locator("#consent-done")).to_be_focused()

        tab_to(page, "#post-body")
        page.keyboard.type("Typed with the keyboard alone.")
        tab_to(page, "#post-button")
        page.keyboard.press("Enter")
        expect(page.locator("#post-status")).to_have_text("Posted.")
        expect(intervention(page, "Typed with the keyboard alone.")).to_have_count(1)

        tab_to(page, "#hand-raise")
        page.keyboard.press("Space")
        expect(page.locator("#hand-status")).to_have_text("You asked for the floor.")
        expect(page.locator("#queue li")).to_have_count(1)
        tab_to(page, "#hand-lower")
        page.keyboard.press("Enter")
        expect(page.locator("#hand-status")).to_have_text("Your hand is lowered.")
        expect(page.locator("#queue li")).to_have_count(0)
    finally:
        page.context.close()


# -- the script loads cleanly for every role ---------------------------------------------------


@pytest.mark.parametrize("who", ["chair", "rapporteur", "observer", "priv3"])
def test_the_room_page_loads_every_module_and_logs_no_error(chromium, server, who):
    from playwright.sync_api import expect

    errors: list[str] = []
    modules: dict[str, int] = {}

    def on_console(message) -> None:
        if message.type == "error":
            errors.append(f"console: {message.text}")

    def on_response(response) -> None:
        if "/static/room/" in response.url:
            modules[response.url.rsplit("/", 1)[-1]] = response.status

    def listen(page) -> None:
        page.on("pageerror", lambda err: errors.append(f"pageerror: {err}"))
        page.on("console", on_console)
        page.on("response", on_response)

    page = open_room(chromium, server.personas[who], prepare=listen)
    try:
        # The start-up ran to its end: the parity figures are fetched last.
        expect(page.locator("#parity")).not_to_have_text("…")
        # The box says what parity.json says; before anyone had the floor (the module's
        # earlier tests may have given it) that is "not used yet", never a balance of 1.00.
        room_url = page.url.split("?")[0].rstrip("/")
        balance = page.request.get(f"{room_url}/parity.json").json()["room"]["balance"]
        if balance is None:
            expect(page.locator("#parity")).to_contain_text("Balance index: not used yet")
        else:
            expect(page.locator("#parity")).to_contain_text(f"Balance index: {balance:.2f}")
        # screen.js is the venue screen's own entry point (it reuses the room's modules).
        files = {path.name for path in ROOM_JS.glob("*.js")} - {"screen.js"}
        assert modules == dict.fromkeys(files, 200), modules
        assert errors == [], errors
    finally:
        page.context.close()


# -- every word from the translated dict ------------------------------------------------------

# Keys the room's script builds at run time: `status_${status}`, `audience_${audience}`, the
# kind of a minutes event, a speaker's function (`role_${a.function}`), a result's reason
# (`why_${x.code}`), and the entries of its small lookup tables.
DYNAMIC = re.compile(
    r"^(status|audience|identity|parity|seat|kind|option|floor_mode|role|why)_|^minutes\."
)


def page_strings(server, persona) -> dict:
    page = join_over_http(persona.link, http.cookiejar.CookieJar())
    found = re.search(r'<script id="ui-strings" type="application/json">(.*?)</script>', page, re.S)
    assert found, "the room page renders no ui-strings"
    return json.loads(found.group(1))


def test_every_string_room_js_shows_comes_from_the_translated_dict(server):
    strings = page_strings(server, server.personas["igo3"])
    # screen.js is the venue screen's page, with its own strings (tests/test_screen.py).
    source = "\n".join(
        path.read_text() for path in sorted(ROOM_JS.glob("*.js")) if path.name != "screen.js"
    )
    asked = set(re.findall(r'\bt\("([\w.-]+)"', source))
    missing = sorted(asked - set(strings))
    assert not missing, f"the room's script asks for strings the page does not give: {missing}"
    # And no translator works on a string nobody shows.
    unused = sorted(key for key in strings if f'"{key}"' not in source and not DYNAMIC.search(key))
    assert not unused, f"strings the room's script never uses: {unused}"
    for key, text in strings.items():
        assert isinstance(text, str) and text.strip(), f"{key} is empty"
    # Literals of the lookup tables must be keys too.
    tables = set(re.findall(r'"((?:identity|parity|seat|kind|option|floor_mode)_\w+)"', source))
    assert tables <= set(strings), sorted(tables - set(strings))


# -- the language an intervention is written in ---------------------------------------------------


def test_the_composer_says_what_language_an_intervention_is_written_in(chromium, server):
    from playwright.sync_api import expect

    page = open_room(chromium, server.personas["priv2"])
    try:
        accept_rule(page)
        choice = page.locator("#post-lang")
        expect(choice).to_have_value("en")  # the interface language, by default
        expect(choice.locator("option")).to_have_count(7)
        choice.select_option("ar")
        post(page, "يجب أن تصل الإنذارات المبكرة إلى المجالس القروية.")
        body = intervention(page, "الإنذارات").locator(".body")
        expect(body).to_have_attribute("lang", "ar")
        expect(body).to_have_attribute("dir", "rtl")
    finally:
        page.context.close()
