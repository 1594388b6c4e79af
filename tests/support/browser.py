"""A live server and Debian's Chromium for the browser tests (tests/test_browser.py,
tests/test_xss.py).

A real server runs in a separate process: a temporary DATA_DIR with SQLite, `migrate`,
`seed_demo` (whose printed join links are the personas; made once per process and copied for
each server), then Daphne on a free port.
Each person is a separate browser context, so each has its own session cookie.

Each test module declares its own module-scoped `server` and `chromium` fixtures that
`yield from live_server(...)` and `launch_chromium()`, so each module gets its own server
and room.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.services import require

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ROOM = "demo-roundtable"
ROOM_PATH = f"/rooms/{ROOM}/"
TIMEOUT_MS = 10_000


def require_chromium() -> None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        require("Chromium", False, f"playwright cannot be imported ({exc})")
    require(
        "Chromium", os.path.exists(CHROMIUM), f"{CHROMIUM} is missing (apt-get install chromium)"
    )


def free_port() -> int:
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
    port: int = field(default_factory=free_port)
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
            AUDIT_KEY="browser-test-audit-key-not-for-production-0123456789abcdef",
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

        self.manage("migrate", "--noinput", "-v", "0")
        self.read_personas(self.manage("seed_demo"))

    def read_personas(self, out: str, base_url: str | None = None) -> None:
        """The personas from seed_demo's output (links printed for `base_url`, ours if None)."""
        from forum.management.commands.seed_demo import PERSONAS

        printed = base_url or self.base_url
        for name, email, org, sector, role in PERSONAS:
            line = next((ln for ln in out.splitlines() if name in ln), None)
            assert line is not None, f"seed_demo printed no line for {name}:\n{out}"
            link = line.split()[-1]
            assert link.startswith(f"{printed}/join/"), line
            link = self.base_url + link.removeprefix(printed)
            self.personas[email.split("@")[0]] = Persona(name, email, org, sector, role, link)

    def seed_from(self, template: LiveServer, out: str) -> None:
        """What `seed` makes, copied from a server that ran it (stopped): its data directory
        (database, signing keys) and the join links seed_demo printed, on our port. The demo's
        tokens come from the room, the e-mail and the secret key, the same for every server."""
        for path in template.data_dir.iterdir():
            if path.name.startswith("daphne-"):
                continue  # the template's own logs
            copy = shutil.copytree if path.is_dir() else shutil.copy2
            copy(path, self.data_dir / path.name)
        self.read_personas(out, template.base_url)

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


# The migrated and seeded demo, made once per process (each pytest-xdist worker has its own):
# `migrate` and `seed_demo` are two Django start-ups and a dozen migrations, seconds of CPU that
# every browser module would otherwise spend again on the same result.
_seeded: list[tuple[LiveServer, str]] = []


def seeded_template(tmp_path_factory) -> tuple[LiveServer, str]:
    if not _seeded:
        template = LiveServer(data_dir=tmp_path_factory.mktemp("browser-seeded"))
        template.manage("migrate", "--noinput", "-v", "0")
        _seeded.append((template, template.manage("seed_demo")))
    return _seeded[0]


def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    """The body of a module-scoped `server` fixture: seeded (a copy of the process's seeded
    demo), started, stopped at the end."""
    require_chromium()
    live = LiveServer(data_dir=tmp_path_factory.mktemp("browser-server"))
    live.seed_from(*seeded_template(tmp_path_factory))
    live.start()
    yield live
    live.stop()


def launch_chromium() -> Iterator:
    """The body of a module-scoped `chromium` fixture: Debian's Chromium, headless."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


# -- helpers --------------------------------------------------------------------------


JOIN_BUTTON = "Join the round table"


def join(page, link: str) -> None:
    """Open a join link and press the page's button, as a person does (a GET alone signs
    no one in). The button is found by its form, in whatever language the page speaks."""
    page.goto(link)
    page.locator("#join button[type=submit]").click()
    page.wait_for_url(f"**{ROOM_PATH}")


def join_over_http(link: str, jar) -> str:
    """The same without a browser: the join page, then its form sent back with the CSRF
    token and cookie; the room page's HTML."""
    import re
    import urllib.parse
    import urllib.request

    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(jar)
    )
    with opener.open(link, timeout=10) as resp:
        form = resp.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    origin = "{0.scheme}://{0.netloc}".format(urllib.parse.urlsplit(link))
    request = urllib.request.Request(
        link,
        data=urllib.parse.urlencode({"csrfmiddlewaretoken": token}).encode(),
        headers={"Origin": origin},
    )
    with opener.open(request, timeout=10) as resp:
        assert urllib.parse.urlsplit(resp.geturl()).path == ROOM_PATH, resp.geturl()
        return resp.read().decode()


def open_room(browser, persona: Persona, frames: list[str] | None = None, prepare=None):
    """A new person (browser context) follows their join link; returns the online room page.

    `prepare(page)`, if given, runs before the page loads (init scripts, routes, listeners).
    """
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
    if prepare is not None:
        prepare(page)
    join(page, persona.link)
    assert page.url.endswith(ROOM_PATH), page.url
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    return page
