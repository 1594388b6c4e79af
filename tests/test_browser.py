"""The live room page in a real browser (Debian's Chromium through Playwright).

A real server runs in a separate process: a temporary DATA_DIR with SQLite, `migrate`,
`seed_demo` (whose printed join links are the personas), then Daphne on a free port.
Each person is a separate browser context, so each has its own session cookie.
"""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import require

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ROOM = "demo-roundtable"
ROOM_PATH = f"/rooms/{ROOM}/"
TIMEOUT_MS = 10_000
RECONNECT_TIMEOUT_MS = 25_000  # the page's backoff is capped at 10 s


def _require_chromium() -> None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        require("Chromium", False, f"playwright cannot be imported ({exc})")
    require(
        "Chromium", os.path.exists(CHROMIUM), f"{CHROMIUM} is missing (apt-get install chromium)"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Persona:
    name: str
    email: str
    organization: str
    sector: str
    role: str
    link: str


@dataclass
class LiveServer:
    """migrate + seed_demo once, then Daphne that can be stopped and started on the same port."""

    data_dir: Path
    port: int = field(default_factory=_free_port)
    proc: subprocess.Popen | None = None
    personas: dict[str, Persona] = field(default_factory=dict)  # keyed by e-mail local part
    starts: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
        env.update(
            DJANGO_SETTINGS_MODULE="forum.settings",
            SECRET_KEY="browser-test-secret-key-not-for-production-0123456789abcdef",
            DEBUG="0",
            BASE_URL=self.base_url,
            DATA_DIR=str(self.data_dir),
            ALLOWED_HOSTS="127.0.0.1",
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        return env

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}"
        return done.stdout

    def seed(self) -> None:
        from forum.management.commands.seed_demo import PERSONAS

        self.manage("migrate", "--noinput", "-v", "0")
        out = self.manage("seed_demo")
        for name, email, org, sector, role in PERSONAS:
            line = next((ln for ln in out.splitlines() if name in ln), None)
            assert line is not None, f"seed_demo printed no line for {name}:\n{out}"
            link = line.split()[-1]
            assert link.startswith(f"{self.base_url}/join/"), line
            self.personas[email.split("@")[0]] = Persona(name, email, org, sector, role, link)

    def start(self) -> None:
        self.starts += 1
        with open(self.data_dir / f"daphne-{self.starts}.log", "wb") as log:
            self.proc = subprocess.Popen(  # the child keeps its own copy of the log's fd
                [
                    sys.executable,
                    "-m",
                    "daphne",
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "forum.asgi:application",
                ],
                cwd=REPO,
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        tail = (self.data_dir / f"daphne-{self.starts}.log").read_text(errors="replace")[-3000:]
        self.stop()
        raise AssertionError(f"Daphne did not answer /healthz with 200:\n{tail}")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None

    def log_seqs(self) -> tuple[list[int], list[int]]:
        """(every seq of the room's log, the seqs of its intervention.posted events)."""
        db = sqlite3.connect(f"file:{self.data_dir / 'roundtables.sqlite3'}?mode=ro", uri=True)
        try:
            rows = db.execute(
                "SELECT e.seq, e.kind FROM forum_roomevent e JOIN forum_roundtable r"
                " ON r.id = e.room_id WHERE r.slug = ? ORDER BY e.seq",
                (ROOM,),
            ).fetchall()
        finally:
            db.close()
        return [seq for seq, _ in rows], [
            seq for seq, kind in rows if kind == "intervention.posted"
        ]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    _require_chromium()
    live = LiveServer(data_dir=tmp_path_factory.mktemp("browser-server"))
    live.seed()
    live.start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def chromium():
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def screenshot_dir(tmp_path) -> Path:
    """BROWSER_SCREENSHOT_DIR keeps screenshots for a human to look at; else a temp dir."""
    kept = os.environ.get("BROWSER_SCREENSHOT_DIR")
    if kept:
        Path(kept).mkdir(parents=True, exist_ok=True)
        return Path(kept)
    return tmp_path


# -- helpers --------------------------------------------------------------------------


def open_room(browser, persona: Persona, frames: list[str] | None = None):
    """A new person (browser context) follows their join link; returns the online room page."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    if frames is not None:
        page.on(
            "websocket",
            lambda ws: ws.on(
                "framereceived",
                lambda payload: frames.append(
                    payload if isinstance(payload, str) else payload.decode(errors="replace")
                ),
            ),
        )
    page.goto(persona.link)
    assert page.url.endswith(ROOM_PATH), page.url
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    return page


def accept_rule(page) -> None:
    from playwright.sync_api import expect

    box = page.locator("#consent-box")
    expect(box).to_be_visible()
    page.click("#consent-button")
    expect(box).to_be_hidden()


def post(page, body: str) -> None:
    from playwright.sync_api import expect

    page.fill("#post-body", body)
    page.click("#post-button")
    expect(page.locator("#post-status")).to_have_text("Posted.")


def intervention(page, text: str):
    return page.locator("#stream li.intervention", has_text=text)


def stream_seqs(page) -> list[int]:
    return page.eval_on_selector_all(
        "#stream li.intervention", "els => els.map(el => Number(el.dataset.seq))"
    )


# -- tests ----------------------------------------------------------------------------


def test_an_intervention_reaches_the_other_delegate_under_a_sector_pseudonym(
    chromium, server, screenshot_dir
):
    from playwright.sync_api import expect

    cso, gov = server.personas["cso1"], server.personas["gov1"]
    gov_frames: list[str] = []
    poster = open_room(chromium, cso)
    reader = open_room(chromium, gov, frames=gov_frames)
    try:
        accept_rule(poster)
        accept_rule(reader)

        post(poster, "We ask for **early warning** data to be shared with civil society.")

        item = intervention(reader, "early warning")
        expect(item).to_have_count(1, timeout=5_000)
        expect(item.locator(".attribution strong")).to_have_text(
            re.compile(r"^Civil society · Delegate \d+$")
        )
        expect(item.locator(".body strong")).to_have_text("early warning")
        # The poster's own page shows it once too, under the same label.
        expect(intervention(poster, "early warning")).to_have_count(1)
        assert (
            poster.locator("#you-label").inner_text()
            == item.locator(".attribution strong").inner_text()
        )

        html = reader.content()
        for secret in (cso.name, cso.organization, cso.email):
            assert secret not in html, f"{secret!r} leaked into another delegate's page"
            leaking = [f for f in gov_frames if secret in f]
            assert not leaking, f"{secret!r} reached another delegate's socket: {leaking[:1]}"

        # Consent is recorded on the server: a reload does not ask again.
        poster.reload()
        expect(poster.locator("#conn")).to_have_attribute("data-state", "online")
        expect(poster.locator("#consent-box")).to_be_hidden()

        shot = screenshot_dir / "room-delegate.png"
        reader.screenshot(path=str(shot), full_page=True)
        print(f"\nscreenshot of the delegate's room page: {shot}")
    finally:
        poster.context.close()
        reader.context.close()


def test_an_observer_sees_interventions_but_has_no_post_box(chromium, server):
    from playwright.sync_api import expect

    observer = open_room(chromium, server.personas["observer"])
    poster = open_room(chromium, server.personas["cso2"])
    try:
        expect(observer.locator("#post-body")).to_have_count(0)
        expect(observer.locator("#post-form")).to_have_count(0)
        expect(observer.locator("#consent-button")).to_have_count(0)

        accept_rule(poster)
        post(poster, "Observers should read _this_ statement.")
        item = intervention(observer, "Observers should read")
        expect(item).to_have_count(1, timeout=5_000)
        expect(item.locator(".body em")).to_have_text("this")
        expect(item.locator(".attribution strong")).to_have_text(
            re.compile(r"^Civil society · Delegate \d+$")
        )
        assert server.personas["cso2"].name not in observer.content()

        # Raw HTML in the Markdown stays text in the reader's browser: nothing runs.
        dialogs: list[str] = []
        observer.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        post(poster, 'Raw <img src=x onerror="alert(1)"> and <script>alert(2)</script> end.')
        item = intervention(observer, "Raw")
        expect(item).to_have_count(1, timeout=5_000)
        expect(item.locator(".body")).to_contain_text("<img src=x")
        expect(item.locator("img, script, [onerror]")).to_have_count(0)
        assert dialogs == []
    finally:
        observer.context.close()
        poster.context.close()


def test_pages_catch_up_exactly_once_after_the_server_restarts(chromium, server):
    from playwright.sync_api import expect

    first = open_room(chromium, server.personas["cso3"])
    other = open_room(chromium, server.personas["gov2"])
    try:
        accept_rule(first)
        accept_rule(other)
        post(first, "Before the restart.")
        expect(intervention(other, "Before the restart.")).to_have_count(1, timeout=5_000)

        server.stop()
        for page in (first, other):
            expect(page.locator("#conn")).not_to_have_attribute("data-state", "online")

        # Typed while offline: kept by the page and sent once the socket is back.
        first.fill("#post-body", "Typed while the server was down.")
        first.click("#post-button")
        expect(first.locator("#post-status")).to_have_text("Offline: will be sent on reconnect.")

        server.start()  # same port, same DATA_DIR
        for page in (first, other):
            expect(page.locator("#conn")).to_have_attribute(
                "data-state", "online", timeout=RECONNECT_TIMEOUT_MS
            )
        expect(first.locator("#post-status")).to_have_text("Posted.")

        post(other, "After the restart.")
        expect(intervention(first, "After the restart.")).to_have_count(1, timeout=5_000)

        all_seqs, posted = server.log_seqs()
        assert all_seqs == list(range(1, len(all_seqs) + 1)), "the room log has a gap"
        for page in (first, other):
            expect(page.locator("#stream li.intervention")).to_have_count(len(posted))
            assert stream_seqs(page) == posted
            for text in ("Before the restart.", "Typed while the server", "After the restart."):
                expect(intervention(page, text)).to_have_count(1)
    finally:
        first.context.close()
        other.context.close()
        if server.proc is None:  # a failure while stopped: leave the fixture usable
            server.start()


def test_a_post_refused_for_missing_consent_keeps_the_typed_text(chromium, server):
    from playwright.sync_api import expect

    page = open_room(chromium, server.personas["gov3"])
    try:
        expect(page.locator("#consent-box")).to_be_visible()
        page.fill("#post-body", "A carefully drafted statement.")
        page.click("#post-button")
        expect(page.locator("#post-status")).to_contain_text("Chatham House Rule")
        expect(page.locator("#post-body")).to_have_value(
            "A carefully drafted statement.", timeout=2_000
        )
    finally:
        page.context.close()
