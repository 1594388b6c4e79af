"""A session opened with a join link ends everywhere when the link does: two real Daphne
processes on one Redis and one PostgreSQL (tests/support/cluster.py), reached as browsers reach
them (the join page's form, the secretariat's sign-in page and its buttons, the chair's
socket, `manage.py import_participants`).

The hubs' periodic look at the database is slowed to an hour here, so a socket can only be
closed in time by the seat notice that travels through Redis: what these tests are about.
How long after the change each close came is printed, not asserted.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import time
from urllib.parse import urlsplit

import pytest

from tests.support.cluster import Cluster, SeatLink, require_services, set_cookies

pytestmark = [pytest.mark.multiprocess, pytest.mark.redis, pytest.mark.postgres]

A, B = 0, 1
TIMEOUT = 20  # generous waits; a healthy cluster closes the sockets in well under a second
STAFF = ("sam", "a-long-staff-password-for-tests")
REASON = "Posted under another delegate's seat."


@pytest.fixture(scope="module")
def cluster():
    require_services()
    cluster = Cluster(processes=2, env={"HUB_POLL_SECONDS": "3600"})
    cluster.start()
    try:
        cluster.manage(
            "shell",
            "-c",
            "from forum.models import User; "
            f"User.objects.create_user(username={STAFF[0]!r}, email='sam@example.org', "
            f"password={STAFF[1]!r}, is_staff=True)",
        )
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(autouse=True)
def daphne_output(cluster):
    before = {i: len(text) for i, text in cluster.logs().items()}
    yield
    for index, text in cluster.logs().items():
        new = text[before.get(index, 0) :]
        if new.strip():
            print(f"--- daphne {index} ---\n{new[-5000:]}")
    assert all(cluster.alive()), "a Daphne process died during the test"


@pytest.fixture
async def peers(cluster):
    opened = []

    async def open_peer(session: str, slug: str, **kwargs):
        peer = await cluster.connect(session, slug, **kwargs)
        opened.append(peer)
        return peer

    yield open_peer
    await asyncio.gather(*(peer.close() for peer in opened))


def import_people(
    cluster: Cluster, slug: str, rows: list[tuple[str, str, str, str]], *extra: str
) -> dict[str, SeatLink]:
    """Seat people (name, e-mail, sector, role) with `manage.py import_participants`; their
    links by e-mail (empty for a seat that kept its link)."""
    source = cluster.workdir / f"{slug}-{time.monotonic_ns()}.csv"
    out = source.with_suffix(".links.csv")
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["name", "email", "organization", "sector", "role"])
    for name, email, sector, role in rows:
        writer.writerow([name, email, f"Org of {sector}" if sector else "", sector, role])
    source.write_text(text.getvalue(), encoding="utf-8")
    cluster.manage(
        "import_participants",
        slug,
        str(source),
        "--out",
        str(out),
        "--base-url",
        f"http://127.0.0.1:{cluster.ports[A]}",
        *extra,
    )
    sector_of = {email: sector for _name, email, sector, _role in rows}
    with open(out, newline="", encoding="utf-8") as fh:
        return {
            r["email"]: SeatLink(
                r["name"], r["email"], sector_of[r["email"]], r["role"], r["join_url"]
            )
            for r in csv.DictReader(fh)
        }


def people(slug: str) -> list[tuple[str, str, str, str]]:
    return [
        ("Chair Person", f"chair.{slug}@example.org", "", "chair"),
        ("Cora Civil", f"cora.{slug}@example.org", "civil-society", "delegate"),
        ("Gus Gobierno", f"gus.{slug}@example.org", "government", "delegate"),
    ]


def new_room(cluster: Cluster, slug: str) -> dict[str, SeatLink]:
    cluster.manage("create_room", slug, f"Round table {slug}", "--rule", "open")
    return import_people(cluster, slug, people(slug))


def staff_session(cluster: Cluster) -> dict[str, str]:
    """The secretariat signs in on the product's own page."""
    status, headers, body = cluster.post_form(
        "/sign-in/", {"username": STAFF[0], "password": STAFF[1]}
    )
    assert (status, headers["Location"]) == (302, "/secretariat/"), body[:300]
    return {"sessionid": set_cookies(headers)["sessionid"]}


def seat_button(email: str, action: str):
    """The fields of the secretariat page's form for the seat of `email`."""

    def pick(page: str) -> dict[str, str]:
        row = page[page.index(f">{email}</td>") :]
        seat = re.search(r'name="seat" value="([^"]+)"', row).group(1)
        link = re.search(r'name="link" value="([^"]+)"', row).group(1)
        return {"action": action, "seat": seat, "link": link}

    return pick


def secretariat_link_action(cluster: Cluster, slug: str, email: str, action: str) -> str | None:
    """Press "New link" or "Revoke" for one seat on the secretariat's page; the new link's
    token, if one was issued."""
    status, _headers, body = cluster.post_form(
        f"/secretariat/rooms/{slug}/", seat_button(email, action), cookies=staff_session(cluster)
    )
    assert status in (200, 302), body[:300]
    found = re.search(r"/join/([A-Za-z0-9_-]{20,})/", body)
    return found.group(1) if action == "issue" and found else None


def page_status(cluster: Cluster, session: str, slug: str, process: int) -> int:
    status, _, _ = cluster.http(
        "GET", f"/rooms/{slug}/", process=process, headers={"Cookie": f"sessionid={session}"}
    )
    return status


async def closed_with_4403(peer) -> None:
    await peer.wait_for(lambda p: p.closed, TIMEOUT, "the socket to close")
    assert peer.ws.close_code == 4403, peer.closed
    assert peer.errors and peer.errors[-1]["code"] == "forbidden", peer.frames[-3:]


async def refused_at_connect(peers, session: str, slug: str, process: int) -> None:
    peer = await peers(session, slug, process=process)
    await closed_with_4403(peer)
    assert not peer.first("welcome")


async def ended(
    cluster, peers, sockets, session: str, slug: str, started: float, what: str
) -> None:
    """Both processes closed their socket of `session` with 4403, refuse its pages and a new
    socket of it."""
    await asyncio.gather(*(closed_with_4403(s) for s in sockets))
    print(
        f"{what}: both sockets closed {time.monotonic() - started:.3f} s after the change returned"
    )
    for process in (A, B):
        assert await asyncio.to_thread(page_status, cluster, session, slug, process) == 403
        await refused_at_connect(peers, session, slug, process)


async def signed_in_everywhere(cluster, peers, link: SeatLink, slug: str):
    session = await asyncio.to_thread(cluster.sign_in, link, process=A)
    sockets = [await peers(session, slug, process=p) for p in (A, B)]
    for sock in sockets:
        await sock.wait_for(lambda p: p.first("welcome"), TIMEOUT, "welcome")
    for process in (A, B):
        assert await asyncio.to_thread(page_status, cluster, session, slug, process) == 200
    return session, sockets


def token_of(link: SeatLink) -> str:
    return urlsplit(link.join_url).path.rstrip("/").rsplit("/", 1)[1]


async def test_a_new_link_from_the_secretariat_ends_the_old_ones_sessions_on_both_processes(
    cluster, peers
):
    slug = "reissue"
    links = await asyncio.to_thread(new_room, cluster, slug)
    cora = links[f"cora.{slug}@example.org"]
    session, sockets = await signed_in_everywhere(cluster, peers, cora, slug)
    token = await asyncio.to_thread(secretariat_link_action, cluster, slug, cora.email, "issue")
    started = time.monotonic()
    await ended(cluster, peers, sockets, session, slug, started, "new link")
    fresh = SeatLink(
        cora.name,
        cora.email,
        cora.sector,
        cora.role,
        f"http://127.0.0.1:{cluster.ports[B]}/join/{token}/",
    )
    await signed_in_everywhere(cluster, peers, fresh, slug)


async def test_revoking_ends_the_sessions_and_a_later_link_does_not_revive_them(cluster, peers):
    slug = "revoke"
    links = await asyncio.to_thread(new_room, cluster, slug)
    gus = links[f"gus.{slug}@example.org"]
    session, sockets = await signed_in_everywhere(cluster, peers, gus, slug)
    await asyncio.to_thread(secretariat_link_action, cluster, slug, gus.email, "revoke")
    started = time.monotonic()
    await ended(cluster, peers, sockets, session, slug, started, "revocation")
    await asyncio.to_thread(secretariat_link_action, cluster, slug, gus.email, "issue")
    for process in (A, B):
        assert await asyncio.to_thread(page_status, cluster, session, slug, process) == 403
        await refused_at_connect(peers, session, slug, process)


async def test_removing_a_seat_ends_its_sessions_on_both_processes(cluster, peers):
    slug = "removal"
    links = await asyncio.to_thread(new_room, cluster, slug)
    gus = links[f"gus.{slug}@example.org"]
    chair_session = await asyncio.to_thread(
        cluster.sign_in, links[f"chair.{slug}@example.org"], process=B
    )
    chair = await peers(chair_session, slug, process=B)
    await chair.wait_for(lambda p: p.first("welcome"), TIMEOUT, "welcome")
    session, sockets = await signed_in_everywhere(cluster, peers, gus, slug)
    # The chair learns the seat's handle from the moderators' rendering of its first post.
    await sockets[0].post("A statement, so the chair sees my seat's handle.")
    posted = await chair.wait_for(
        lambda p: next((e for e in p.events if e["kind"] == "intervention.posted"), None),
        TIMEOUT,
        "the post",
    )
    await chair.send(
        {"type": "seat", "action": "remove", "seat": posted["data"]["author"], "reason": REASON}
    )
    started = time.monotonic()
    await ended(cluster, peers, sockets, session, slug, started, "removal")


async def test_a_csv_reissue_ends_the_old_links_sessions_on_both_processes(cluster, peers):
    slug = "csv-reissue"
    links = await asyncio.to_thread(new_room, cluster, slug)
    cora = links[f"cora.{slug}@example.org"]
    session, sockets = await signed_in_everywhere(cluster, peers, cora, slug)
    again = await asyncio.to_thread(
        import_people,
        cluster,
        slug,
        [p for p in people(slug) if p[1] == cora.email],
        "--reissue-links",
    )
    started = time.monotonic()
    await ended(cluster, peers, sockets, session, slug, started, "CSV re-issue")
    await signed_in_everywhere(cluster, peers, again[cora.email], slug)


async def test_a_link_of_one_room_opens_no_other_room_of_the_same_person(cluster, peers):
    first, second = "room-a", "room-b"
    a_links = await asyncio.to_thread(new_room, cluster, first)
    await asyncio.to_thread(
        cluster.manage, "create_room", second, "Round table B", "--rule", "open"
    )
    email = f"cora.{first}@example.org"
    await asyncio.to_thread(
        import_people, cluster, second, [("Cora Civil", email, "civil-society", "delegate")]
    )
    session, _sockets = await signed_in_everywhere(cluster, peers, a_links[email], first)
    for process in (A, B):
        assert await asyncio.to_thread(page_status, cluster, session, second, process) == 403
        await refused_at_connect(peers, session, second, process)
        assert await asyncio.to_thread(page_status, cluster, session, first, process) == 200


async def test_a_message_over_one_mebibyte_drops_the_connection_as_documented(cluster, peers):
    """Daphne refuses a message over 1 MiB by dropping the connection without a close frame:
    the client sees 1006 (docs/protocol.md). Up to that, a frame over 64 KiB is `too_large`."""
    slug = "big-frames"
    links = await asyncio.to_thread(new_room, cluster, slug)
    session = await asyncio.to_thread(cluster.sign_in, links[f"gus.{slug}@example.org"], process=A)
    peer = await peers(session, slug, process=B)
    await peer.wait_for(lambda p: p.first("welcome"), TIMEOUT, "welcome")
    await peer.ws.send("x" * 1024 * 1024)
    error = await peer.wait_for(lambda p: p.first("error"), TIMEOUT, "too_large")
    assert (error["code"], error["limit"]) == ("too_large", 65536)
    await peer.ws.send("x" * (1024 * 1024 + 1))
    await peer.wait_for(lambda p: p.closed, TIMEOUT, "the connection to drop")
    assert peer.ws.close_code == 1006, peer.closed


def sign_out(cluster: Cluster, session: str, slug: str, process: int) -> None:
    """Press "Sign out" on the room page, as a browser does (the page's CSRF token)."""
    from tests.support.cluster import HOST, cookie_header

    jar = {"sessionid": session}
    status, headers, page = cluster.http(
        "GET", f"/rooms/{slug}/", process=process, headers=cookie_header(jar)
    )
    assert status == 200, page[:300]
    jar.update(set_cookies(headers))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    status, headers, body = cluster.http(
        "POST",
        "/sign-out/",
        process=process,
        body=f"csrfmiddlewaretoken={token}",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": f"http://{HOST}:{cluster.ports[process]}",
            **cookie_header(jar),
        },
    )
    assert status == 302, body[:300]


async def test_signing_out_on_one_process_closes_the_sessions_sockets_on_both(cluster, peers):
    """The sign-out's notice travels Redis to the other process: its socket closes within a
    bounded wait (wait_for fails the test if it never does), the other device's stays."""
    slug = "sign-out"
    links = await asyncio.to_thread(new_room, cluster, slug)
    cora = links[f"cora.{slug}@example.org"]
    session, sockets = await signed_in_everywhere(cluster, peers, cora, slug)
    other_device = await asyncio.to_thread(cluster.sign_in, cora, process=B)
    spared = await peers(other_device, slug, process=A)
    await spared.wait_for(lambda p: p.first("welcome"), TIMEOUT, "welcome")
    await asyncio.to_thread(sign_out, cluster, session, slug, A)
    started = time.monotonic()
    await asyncio.gather(*(closed_with_4403(s) for s in sockets))
    print(f"sign-out: both sockets closed {time.monotonic() - started:.3f} s after it returned")
    await spared.send({"type": "ping"})
    await spared.wait_for(lambda p: p.first("pong"), TIMEOUT, "pong from the other device's socket")
    assert not spared.closed


async def test_a_role_change_closes_the_seats_sockets_on_both_processes(cluster, peers):
    slug = "role-change"
    links = await asyncio.to_thread(new_room, cluster, slug)
    gus = links[f"gus.{slug}@example.org"]
    session, sockets = await signed_in_everywhere(cluster, peers, gus, slug)
    assert all(s.first("welcome")["you"]["role"] == "delegate" for s in sockets)
    await asyncio.to_thread(
        import_people, cluster, slug, [("Gus Gobierno", gus.email, "government", "observer")]
    )
    for sock in sockets:
        await sock.wait_for(lambda p: p.closed, TIMEOUT, "the socket to close")
        assert sock.ws.close_code == 4409, sock.closed
        assert sock.errors[-1]["code"] == "seat_changed", sock.frames[-3:]
    for process in (A, B):
        again = await peers(session, slug, process=process)  # the session carries on
        welcome = await again.wait_for(lambda p: p.first("welcome"), TIMEOUT, "welcome")
        assert welcome["you"]["role"] == "observer"
