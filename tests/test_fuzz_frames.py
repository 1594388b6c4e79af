"""Fuzzing the room websocket (the shared parts are in tests/support/fuzz.py).

The property: whatever a frame holds (every declared type, fields of the wrong type, numbers
at their limits, NaN and Infinity, deep nesting, long strings, lone surrogates, NUL,
bidirectional marks, unknown and missing keys, non-object and invalid JSON, binary frames),
the server answers it with an `error` frame carrying a documented code or with the frame's
own answer, refuses without changing anything, never closes the socket, and still answers a
`ping` after it. Every frame it sends is strict JSON that a real server can put on the wire
(UTF-8, so no lone surrogate), and the room's log stays valid.

The inputs the fuzzers found failing are kept at the end of the module as fixed examples.
"""

from __future__ import annotations

import json
import uuid

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone
from hypothesis import event, given, note
from hypothesis import strategies as st

from forum.models import Seat
from realtime.frames import FRAME_FIELDS
from tests.support.fuzz import FRAME_CODES, FUZZ, encode, strict_json, strings, values
from tests.support.moderation import log_is_valid
from tests.support.state import snapshot

# A frame's own answer, by type (`resume` has none: it replays events).
ANSWERS = {
    "post": {"ack"},
    "consent": {"consented"},
    "resume": set(),
    "ping": {"pong"},
    "flag": {"flagged"},
    "moderate": {"done"},
    "seat": {"done", "revealed"},
    "room": {"done"},
    "hand": {"done"},
    "floor": {"done"},
    "check": {"done"},
    "vote": {"done"},
    "recommendation": {"done"},
}
# What else may reach a socket between a frame and the answer to the next ping.
PASSIVE = {"event", "presence", "notice"}
OPTIONS = [{"key": "yes", "label": "Yes"}, {"key": "no", "label": "No"}]


def valid_values(known: dict) -> dict:
    """(frame type, field) -> values the server could accept, ids taken from the room.

    The room changes between examples; the draws must not (hypothesis replays them), so an
    id is drawn as an index into the room's current list."""
    ids = lambda name: st.integers(0, 15).map(lambda i: known[name][i % len(known[name])])  # noqa: E731
    reason = st.sampled_from(["It names a fellow participant.", "Off topic for this item."])
    return {
        ("post", "client_id"): st.one_of(
            st.uuids().map(str),
            # Other spellings uuid.UUID() accepts: upper case (Swift's uuidString), braces
            # (.NET's "B" format), no dashes, a URN.
            st.uuids().map(lambda u: str(u).upper()),
            st.uuids().map(lambda u: f"{{{u}}}"),
            st.uuids().map(lambda u: u.hex),
            st.uuids().map(lambda u: u.urn),
        ),
        ("post", "body"): st.sampled_from(
            ["Early warning needs local radio.", "**Yes**", 10_000]
        ).map(lambda b: "x" * b if isinstance(b, int) else b),
        ("post", "kind"): st.sampled_from(["statement", "question", "reply", "point_of_order"]),
        ("consent", "rule"): st.just("chatham-house"),
        ("resume", "after"): st.integers(0, 400),
        ("flag", "id"): ids("interventions"),
        ("flag", "reason"): reason,
        ("moderate", "action"): st.sampled_from(["approve", "reject", "hide", "restore", "redact"]),
        ("moderate", "id"): ids("interventions"),
        ("moderate", "reason"): reason,
        ("moderate", "body"): st.just("Redacted text."),
        ("seat", "action"): st.sampled_from(["mute", "unmute", "remove", "reveal"]),
        ("seat", "seat"): ids("seats"),
        ("seat", "minutes"): st.integers(1, 1_440),
        ("seat", "reason"): reason,
        ("hand", "action"): st.sampled_from(["raise", "lower"]),
        ("hand", "kind"): st.sampled_from(["statement", "reply", "point_of_order"]),
        ("floor", "action"): st.sampled_from(["next", "give", "move", "remove", "end", "mode"]),
        ("floor", "request"): ids("requests"),
        ("floor", "position"): st.integers(1, 4),
        ("floor", "reason"): reason,
        ("floor", "floor_mode"): st.sampled_from(["open", "queued"]),
        ("floor", "turn_seconds"): st.integers(30, 3_600),
        ("floor", "expected_speaker"): st.just("") | ids("requests"),
        ("check", "action"): st.sampled_from(["open", "close"]),
        ("check", "proposition"): st.just(
            "Regional early warning should include community monitors."
        ),
        ("check", "options"): st.just(OPTIONS),
        ("check", "rule"): st.just({}),
        ("check", "check"): ids("checks"),
        ("vote", "check"): ids("checks"),
        ("vote", "option"): st.sampled_from(["support", "live", "object", "yes", "no"]),
        ("recommendation", "action"): st.sampled_from(["save", "delete"]),
        ("recommendation", "id"): ids("recommendations"),
        ("recommendation", "text"): st.just("Fund community early warning monitors."),
        ("recommendation", "audience"): st.sampled_from(
            ["rigos", "csos", "un", "states", "private-sector"]
        ),
        ("recommendation", "agenda_item"): ids("agenda_items"),
        ("recommendation", "check"): ids("checks"),
        ("room", "action"): st.sampled_from(
            ["premoderation", "slow_mode", "lock", "unlock", "close", "reopen"]
        ),
        ("room", "on"): st.booleans(),
        ("room", "seconds"): st.integers(0, 3_600),
    }


@st.composite
def frame_objects(draw, known: dict):
    """A frame of a declared type, each field valid, fuzzed or left out, maybe an unknown key."""
    valid = valid_values(known)
    frame_type = draw(st.sampled_from(sorted(FRAME_FIELDS)))
    frame: dict = {"type": frame_type}
    for name in FRAME_FIELDS[frame_type]:
        choice = draw(st.sampled_from(["valid"] * 5 + ["fuzz", "omit"]))
        if choice == "omit":
            continue
        good = valid.get((frame_type, name), st.text(min_size=1, max_size=20))
        frame[name] = draw(good if choice == "valid" else values)
    if draw(st.integers(0, 9)) == 0:
        frame[draw(strings)] = draw(values)
    if draw(st.integers(0, 9)) == 0:
        frame["type"] = draw(values)
    return frame


@st.composite
def wire_frames(draw, known: dict) -> str | bytes:
    """What a client can put on the socket: text (JSON or not) or bytes."""
    shape = draw(
        st.sampled_from(["frame"] * 12 + ["value", "truncated", "text", "bytes", "duplicate"])
    )
    if shape == "bytes":
        return draw(st.binary(max_size=200) | st.just(b'{"type": "ping"}'))
    if shape == "text":
        return draw(
            strings
            | st.sampled_from(["NaN", "Infinity", "-Infinity", "[]", "{}", "null", "1e999", ""])
        )
    ensure_ascii = draw(st.booleans())
    if shape == "value":
        return encode(draw(values), ensure_ascii)
    text = encode(draw(frame_objects(known)), ensure_ascii)
    if shape == "truncated":
        return text[: draw(st.integers(0, max(0, len(text) - 1)))]
    if shape == "duplicate":
        # The same key twice: the last one wins in Python's json, as in JSON.parse.
        return text[:-1] + ', "type": ' + encode(draw(values), ensure_ascii) + "}"
    return text


def parsed(wire: str | bytes) -> dict | None:
    """`wire` as the server reads it, if it is a JSON object."""
    if not isinstance(wire, str):
        return None
    try:
        raw = json.loads(wire)
    except (ValueError, RecursionError):
        return None
    return raw if isinstance(raw, dict) else None


def frame_type_of(wire: str | bytes) -> str | None:
    """The declared type the server will dispatch `wire` to if it parses, else None."""
    raw = parsed(wire) or {}
    frame_type = raw.get("type")
    return frame_type if isinstance(frame_type, str) and frame_type in FRAME_FIELDS else None


class Arena:
    """One persona's socket, kept open across examples and reopened after a failed one."""

    def __init__(self, cast, persona: str, sockets):
        self.cast, self.persona, self.sockets = cast, persona, sockets
        self.sock = None

    async def socket(self):
        if self.sock is None:
            sock, connected, _ = await self.sockets(self.cast.seats[self.persona].user)
            assert connected
            await sock.recv_type("welcome")
            self.sock = sock
        return self.sock

    async def reset(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None:
            try:
                await sock.close()
            except BaseException:  # noqa: BLE001 - the server may have closed it already
                pass

    async def exchange(self, wire: str | bytes) -> list[dict]:
        """Send `wire`, then a ping; every frame up to the answer to that ping."""
        sock = await self.socket()
        # send_input, not send_to: an empty frame is a frame too.
        key = "bytes" if isinstance(wire, bytes) else "text"
        await sock.comm.send_input({"type": "websocket.receive", key: wire})
        await sock.send({"type": "ping"})
        pongs = 2 if parsed(wire) == {"type": "ping"} else 1
        frames: list[dict] = []
        while pongs:
            try:
                message = await sock.comm.receive_output(timeout=10)
            except TimeoutError:
                raise AssertionError(
                    f"no answer to the ping after the frame; got {frames}"
                ) from None
            if message["type"] == "websocket.close":
                raise AssertionError(
                    f"the server closed the socket ({message.get('code')}) after {frames}"
                )
            assert message["type"] == "websocket.send", message
            assert message.get("text") is not None, f"the server sent a binary frame: {message}"
            frame = strict_json(message["text"])
            if frame["type"] == "pong":
                pongs -= 1
            frames.append(frame)
        return frames


@database_sync_to_async
def room_state(room) -> dict:
    return snapshot(room)


@database_sync_to_async
def known_ids(cast) -> dict:
    """Real ids of the room, so that fuzzed frames also reach the services' checks."""
    from forum.models import AgendaItem, ConsensusCheck, FloorRequest, Intervention, Recommendation

    room = cast.room
    room.refresh_from_db()
    return {
        "interventions": list(
            Intervention.objects.filter(room=room).values_list("public_id", flat=True)
        )
        or ["none"],
        "seats": [cast.seats[p].public_id for p in ("gus", "greta", "cyrus", "chloe")],
        "requests": list(FloorRequest.objects.filter(room=room).values_list("public_id", flat=True))
        or ["none"],
        "checks": list(ConsensusCheck.objects.filter(room=room).values_list("public_id", flat=True))
        or ["none"],
        "recommendations": list(
            Recommendation.objects.filter(room=room).values_list("public_id", flat=True)
        )
        or ["none"],
        "agenda_items": list(
            AgendaItem.objects.filter(room=room).values_list("public_id", flat=True)
        ),
    }


@database_sync_to_async
def furnish(cast) -> None:
    """A room with something in it: interventions (one held), a raised hand, a closed and an
    open consensus check, a recommendation."""
    from forum.services.consensus import ballot_cast, check_close, check_open
    from forum.services.floor import hand_raise
    from forum.services.interventions import intervention_post
    from forum.services.recommendations import recommendation_save

    Seat.objects.filter(room=cast.room).exclude(pk=cast.cora.pk).update(consented_at=timezone.now())
    for seat, body in (
        (cast.gus, "Early warning needs local radio."),
        (cast.cyrus, "Greta Government said so."),
        (cast.greta, "Community monitors matter."),
    ):
        intervention_post(seat_id=seat.pk, client_id=uuid.uuid4(), body=body)
    hand_raise(seat_id=cast.gus.pk)
    closed = check_open(actor_seat_id=cast.chloe.pk, proposition="Monitors should be paid.")
    ballot_cast(seat_id=cast.gus.pk, check_id=closed, option="support")
    check_close(actor_seat_id=cast.chloe.pk, check_id=closed)
    check_open(actor_seat_id=cast.chloe.pk, proposition="Radio is the first channel.")
    recommendation_save(
        actor_seat_id=cast.rita.pk,
        text="Pay the monitors.",
        audience="rigos",
        consensus_check=closed,
    )


@pytest.fixture
def many_frames(settings):
    # Hundreds of frames on one socket: the frame limiter is not what is being fuzzed.
    settings.ROUNDTABLES = {
        **settings.ROUNDTABLES,
        "FRAME_BURST": 1_000_000,
        "POST_BURST": 1_000_000,
    }
    return settings


@pytest.fixture
async def arena(cast, sockets, many_frames, persona) -> Arena:
    """The furnished room and the persona's socket, shared by every example of a test."""
    await furnish(cast)
    return Arena(cast, persona, sockets)


async def check_frame(arena: Arena, wire: str | bytes) -> None:
    note(f"frame: {wire[:2000]!r}")
    room = arena.cast.room
    before = await room_state(room)
    try:
        frames = await arena.exchange(wire)
    except BaseException:
        await arena.reset()  # the next example starts on a fresh socket
        raise
    note(f"answers: {[f for f in frames if f['type'] != 'presence']}")
    answers = [f for f in frames if f["type"] not in PASSIVE]
    # The last is the pong to our ping; before it, at most the frame's own answer.
    assert answers[-1] == {"type": "pong"}, answers
    own = answers[:-1]
    for frame in own:
        if frame["type"] == "error":
            assert frame["code"] in FRAME_CODES, (
                f"undocumented error code {frame['code']!r}: {frame}"
            )
            assert frame["code"] != "internal_error", (
                f"an unexpected failure on client input: {frame}"
            )
            assert isinstance(frame.get("message"), str) and frame["message"], frame
    frame_type = frame_type_of(wire)
    event(f"{frame_type}: " + ",".join(f.get("code", f["type"]) for f in own))
    if frame_type == "resume" and not own:
        pass  # a replay answers with events only
    else:
        assert len(own) == 1, f"expected one answer, got {own}"
        answer = own[0]
        if answer["type"] != "error":
            assert frame_type is not None and answer["type"] in ANSWERS[frame_type], (
                frame_type,
                answer,
            )
        sent_id = (parsed(wire) or {}).get("client_id")
        if (
            frame_type == "post"
            and isinstance(sent_id, str)
            and ("client_id" in answer or answer["type"] == "ack")
        ):
            # The client matches the answer to its post by this id: it must come back as sent.
            assert answer.get("client_id") == sent_id, f"sent client_id {sent_id!r}, got {answer}"
    if not own or own[0]["type"] in ("error", "pong"):
        after = await room_state(room)
        assert after == before, "a refused frame changed the room"
    await log_is_valid(room)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("persona", ["cora", "chloe", "rita", "oscar"])
@FUZZ
@given(data=st.data())
async def test_any_frame_gets_an_error_or_its_answer_and_the_socket_lives_on(arena, persona, data):
    known = await known_ids(arena.cast)
    wire = data.draw(wire_frames(known), label="wire")
    await check_frame(arena, wire)


# --- what the fuzzers found, as fixed examples ------------------------------------------------
#
# Each of these failed when the module was written (a closed socket, a seat locked out, an
# internal error, an ack the client could not match); kept so they stay fixed.


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "wire",
    [
        '{"type": "ping", "\\ud800": 1}',  # echoed as the unexpected `field`
        '{"type": "post", "client_id": "\\udfff", "body": "x"}',  # echoed as `client_id`
        '{"type": "dance", "ref": "\\ud83d"}',  # echoed as `ref`
    ],
    ids=["field", "client_id", "ref"],
)
async def test_a_refusal_never_echoes_a_lone_surrogate(cast, sockets, wire):
    """JSON may escape a lone surrogate; the answer must still be UTF-8, or Daphne fails to
    encode it and drops the connection with 1011 and no error frame."""
    frames = await Arena(cast, "cora", sockets).exchange(wire)  # strict_json checks UTF-8
    assert [f["code"] for f in frames if f["type"] == "error"] in (
        ["invalid_frame"],
        ["unknown_type"],
    )


class Utf8Wire:
    """What Daphne does with a text frame the application sends: encode it as UTF-8
    (daphne/ws_protocol.py, serverSend). A str the in-process communicator would pass on
    unchanged makes the application fail here, as it does under Daphne."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        async def wire_send(message):
            if message.get("type") == "websocket.send" and message.get("text") is not None:
                message["text"].encode("utf-8")
            await send(message)

        return await self.app(scope, receive, wire_send)


@pytest.mark.django_db(transaction=True)
async def test_frames_the_server_fails_to_encode_do_not_lock_the_seat_out(cast, sockets):
    """Five connections that each die on such a frame must not leave five ghost sockets
    behind: the sixth connection of the seat is welcomed, not refused with too_many_sockets."""
    from channels.testing import WebsocketCommunicator
    from django.conf import settings as django_settings

    from forum.asgi import application
    from tests.support.personas import session_cookie_for

    cookie = await database_sync_to_async(session_cookie_for)(cast.cora.user)
    headers = [
        (b"origin", b"http://127.0.0.1:8000"),
        (b"host", b"127.0.0.1:8000"),
        (b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={cookie}".encode()),
    ]
    for _ in range(django_settings.ROUNDTABLES["MAX_SOCKETS_PER_SEAT"]):
        comm = WebsocketCommunicator(Utf8Wire(application), "/ws/rooms/test-room/", headers=headers)
        connected, _ = await comm.connect(timeout=5)
        assert connected
        assert json.loads(await comm.receive_from(timeout=3))["type"] == "welcome"
        await comm.send_to(text_data='{"type": "ping", "\\ud800": 1}')
        await comm.send_to(text_data='{"type": "ping"}')
        try:
            # A dead application is only noticed when the wait for its output ends: keep it short.
            while json.loads(await comm.receive_from(timeout=1))["type"] != "pong":
                pass
        except UnicodeEncodeError:
            continue  # the application died on it: under Daphne, a close with 1011 and no reason
        await comm.disconnect()
    sock, connected, _ = await sockets(cast.cora.user)
    assert connected
    first = await sock.recv()
    assert first["type"] == "welcome", f"the seat is locked out: {first}"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "wire",
    [
        "[" * 1_000 + "]" * 1_000,
        '{"type": "check", "action": "open", "proposition": "p", "rule": '
        + '{"a":' * 5_000
        + "1"
        + "}" * 5_000
        + "}",
    ],
    ids=["list", "object"],
)
async def test_deeply_nested_json_is_refused_as_a_bad_frame_not_an_internal_error(
    cast, sockets, wire
):
    frames = await Arena(cast, "cora", sockets).exchange(wire)
    codes = [f["code"] for f in frames if f["type"] == "error"]
    assert codes in (["invalid_json"], ["invalid_frame"]), codes


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "client_id",
    [
        "6F1C1B52-8A0E-4F57-9D0E-9B1CB5B7F9A1",
        "{6f1c1b52-8a0e-4f57-9d0e-9b1cb5b7f9a1}",
        "6f1c1b528a0e4f579d0e9b1cb5b7f9a1",
        "urn:uuid:6f1c1b52-8a0e-4f57-9d0e-9b1cb5b7f9a1",
    ],
    ids=["upper", "braces", "hex", "urn"],
)
async def test_the_answer_to_a_post_carries_its_client_id_as_sent(cast, sockets, client_id):
    """docs/protocol.md: the ack (or error) carries the same client_id; the server accepts
    every spelling uuid.UUID() reads, so it must answer with the one it was given."""
    arena = Arena(cast, "cora", sockets)
    refused = [
        f
        for f in await arena.exchange(
            json.dumps({"type": "post", "client_id": client_id, "body": "Hi"})
        )
        if f["type"] == "error"
    ]
    assert [(f["code"], f.get("client_id")) for f in refused] == [("consent_required", client_id)]
    await arena.exchange('{"type": "consent", "rule": "chatham-house"}')
    frames = await arena.exchange(
        json.dumps({"type": "post", "client_id": client_id, "body": "Hi"})
    )
    (ack,) = [f for f in frames if f["type"] == "ack"]
    assert ack["client_id"] == client_id
