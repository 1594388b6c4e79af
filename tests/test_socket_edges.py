"""The smaller edges of the room websocket and of Daphne's /static/: the Origin by scheme,
host and port; `after` beyond the log; numbers in ASCII digits only; path tricks; the
frame-rate refusal that says which frame it refused."""

from __future__ import annotations

import uuid

import pytest
from channels.db import database_sync_to_async
from channels.testing import HttpCommunicator, WebsocketCommunicator
from django.conf import settings

from forum.services.interventions import intervention_post
from forum.services.seats import seat_consent
from realtime.origin import origin_allowed
from tests.support.personas import session_cookie_for

pytestmark = [pytest.mark.django_db(transaction=True)]

SITE = "roundtables.example.org"


# -- the Origin -------------------------------------------------------------------------------


@pytest.fixture
def production(settings):
    settings.ALLOWED_HOSTS = [SITE]
    settings.BASE_URL = f"https://{SITE}"
    settings.CSRF_TRUSTED_ORIGINS = []
    return settings


@pytest.mark.parametrize(
    ("origin", "host", "allowed"),
    [
        (f"https://{SITE}", SITE, True),  # BASE_URL's origin, behind a TLS proxy
        (f"https://{SITE}:443", SITE, True),
        (f"http://{SITE}", SITE, True),  # the socket's own origin (ws:// goes with http://)
        (f"http://{SITE}:8080", SITE, False),  # the right host on another port
        (f"http://{SITE}:8080", f"{SITE}:8080", True),  # ...unless that is where the socket is
        (f"https://{SITE}:8443", SITE, False),
        ("https://evil.example.com", SITE, False),
        (f"https://{SITE}.evil.example.com", SITE, False),
        (f"https://{SITE}", "evil.example.com", False),  # a Host outside ALLOWED_HOSTS
        (None, SITE, False),
        ("null", SITE, False),
        (f"ftp://{SITE}", SITE, False),
        (f"https://{SITE}:99999", SITE, False),
    ],
)
def test_an_origin_must_match_the_site_by_scheme_host_and_port(production, origin, host, allowed):
    assert origin_allowed(origin, host) is allowed


def test_a_secure_socket_goes_with_https_pages_only(production):
    production.BASE_URL = "http://127.0.0.1:8000"
    assert origin_allowed(f"https://{SITE}", SITE, "wss")
    assert not origin_allowed(f"http://{SITE}", SITE, "wss")


def test_csrf_trusted_origins_are_the_sites_origins_too(production):
    production.ALLOWED_HOSTS = [SITE, "app.example.org"]
    production.CSRF_TRUSTED_ORIGINS = ["https://app.example.org", "https://*.example.net"]
    assert origin_allowed("https://app.example.org", SITE)
    assert origin_allowed("https://rooms.example.net", SITE)
    assert not origin_allowed("http://app.example.org", SITE)
    assert not origin_allowed("https://example.net.evil.com", SITE)


async def handshake(origin: str, host: str = "127.0.0.1:8000", cookie: str | None = None):
    from forum.asgi import application

    headers = [(b"origin", origin.encode()), (b"host", host.encode())]
    if cookie:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    comm = WebsocketCommunicator(application, "/ws/rooms/test-room/", headers=headers)
    connected, _ = await comm.connect(timeout=5)
    if connected:
        await comm.disconnect()
    return connected


async def test_a_page_on_the_same_host_but_another_port_cannot_open_the_socket(cast, sockets):
    cookie = await database_sync_to_async(session_cookie_for)(cast.cora)
    assert await handshake("http://127.0.0.1:8000", cookie=cookie)
    assert not await handshake("http://127.0.0.1:9999", cookie=cookie)
    assert not await handshake("https://127.0.0.1:8000", cookie=cookie)
    assert not await handshake("http://localhost:8000", cookie=cookie)
    assert await handshake("http://localhost:8000", host="localhost:8000", cookie=cookie)


# -- `after` and `resume` beyond the log; numbers are ASCII digits ----------------------------


async def posted(cast, count: int) -> None:
    def post_all() -> None:
        seat_consent(seat_id=cast.chloe.pk, rule="chatham-house")  # one event of its own
        for _ in range(count - 1):
            intervention_post(seat_id=cast.chloe.pk, client_id=uuid.uuid4(), body="On the agenda.")

    await database_sync_to_async(post_all)()


async def test_after_beyond_the_last_seq_is_refused(cast, sockets):
    await posted(cast, 3)
    sock, _, _ = await sockets(cast.gus, after=4)
    error = await sock.recv_type("error")
    assert (error["code"], error["field"]) == ("invalid_frame", "after")
    assert await sock.comm.receive_output(timeout=3) == {"type": "websocket.close", "code": 4400}
    sock.closed = True
    ok, _, _ = await sockets(cast.gus, after=3)
    assert (await ok.recv_type("welcome"))["last_seq"] == 3


@pytest.mark.parametrize("after", ["%D9%A3", "%C2%B2", "%EF%BC%91", "-1", "1e3", "0x1", "+1"])
async def test_after_is_written_in_ascii_digits_only(cast, sockets, after):
    """ "٣" (Arabic-Indic three), "²" and "１" (full width) are digits to str.isdigit()."""
    await posted(cast, 3)
    from forum.asgi import application

    cookie = await database_sync_to_async(session_cookie_for)(cast.gus)
    comm = WebsocketCommunicator(
        application,
        f"/ws/rooms/test-room/?after={after}",
        headers=[
            (b"origin", b"http://127.0.0.1:8000"),
            (b"host", b"127.0.0.1:8000"),
            (b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()),
        ],
    )
    await comm.connect(timeout=5)
    error = await comm.receive_json_from(timeout=3)
    assert (error["code"], error["field"]) == ("invalid_frame", "after")
    assert await comm.receive_output(timeout=3) == {"type": "websocket.close", "code": 4400}


async def test_resume_beyond_the_last_seq_is_refused_and_the_socket_stays(cast, sockets):
    await posted(cast, 2)
    sock, _, _ = await sockets(cast.gus)
    await sock.recv_type("welcome")
    await sock.send({"type": "resume", "after": 3})
    error = await sock.recv_type("error")
    assert (error["code"], error["field"]) == ("invalid_frame", "after")
    await sock.send({"type": "resume", "after": 1})
    assert [e["seq"] for e in await sock.events(1)] == [2]


# -- /static/ ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/static/../forum/settings.py",  # what Daphne hands on for /static/%2e%2e/forum/settings.py
        "/static/../../etc/passwd",
        "/static/room/../../forum/settings.py",
        "/static/a\x00b",
        "/static//etc/passwd",
        "/static/",
    ],
)
async def test_static_path_tricks_answer_404(path):
    assert await status_of("/static/site.css") == 200
    assert await status_of(path) == 404


async def status_of(path: str) -> int:
    """The status Daphne's application answers a GET of `path` with (the body is read to
    its end: a file comes in chunks, the last one without a body)."""
    from forum.asgi import application

    comm = HttpCommunicator(application, "GET", path)
    await comm.send_input({"type": "http.request", "body": b""})
    start = await comm.receive_output(timeout=5)
    assert start["type"] == "http.response.start"
    while (await comm.receive_output(timeout=5)).get("more_body"):
        pass
    return start["status"]


# -- the per-socket frame rate says which frame it refused ----------------------------------


async def test_a_frame_refused_by_the_socket_rate_carries_its_client_id_or_ref(
    cast, sockets, settings
):
    settings.ROUNDTABLES = {**settings.ROUNDTABLES, "FRAME_BURST": 2, "FRAME_RATE": 0.001}
    sock, _, _ = await sockets(cast.gus)
    await sock.recv_type("welcome")
    for _ in range(2):
        await sock.send({"type": "ping"})
        await sock.recv_type("pong")
    client_id = str(uuid.uuid4())
    await sock.send({"type": "post", "client_id": client_id, "body": "Quick, quick."})
    error = await sock.recv_type("error")
    assert (error["code"], error["client_id"]) == ("rate_limited", client_id)
    await sock.send({"type": "hand", "action": "raise", "ref": "hand-1"})
    error = await sock.recv_type("error")
    assert (error["code"], error["ref"]) == ("rate_limited", "hand-1")
    await sock.send("not json {")
    error = await sock.recv_type("error")
    assert error["code"] == "rate_limited" and "client_id" not in error and "ref" not in error
