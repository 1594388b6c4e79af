"""The room websocket against the real ASGI stack (origin check, session auth, hub)."""

import uuid

import pytest
from channels.db import database_sync_to_async

from forum.models import Intervention, RoomEvent, Seat
from realtime.events import validate_payload

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def post(body="Hello **all**", client_id=None, **extra):
    return {"type": "post", "client_id": str(client_id or uuid.uuid4()), "body": body, **extra}


async def consent(sock):
    await sock.send({"type": "consent", "rule": "chatham-house"})
    assert (await sock.recv_type("consented"))["rule"] == "chatham-house"


async def test_welcome_tells_the_delegate_their_role_and_attribution(cast, sockets):
    sock, connected, _ = await sockets(cast.cora.user)
    assert connected
    welcome = await sock.recv_type("welcome")
    assert welcome["room"] == "test-room"
    assert welcome["last_seq"] == 0
    assert welcome["you"]["role"] == "delegate"
    assert welcome["you"]["attribution"].startswith("Civil society · Delegate ")
    assert welcome["you"]["consented"] is False


async def test_post_is_acknowledged_and_reaches_another_delegate(cast, sockets):
    cora, _, _ = await sockets(cast.cora.user)
    gus, _, _ = await sockets(cast.gus.user)
    await cora.recv_type("welcome")
    await gus.recv_type("welcome")
    await consent(cora)
    frame = post("We need **early warning** that works. <script>alert(1)</script>")
    await cora.send(frame)
    ack = await cora.recv_type("ack")
    assert ack == {"type": "ack", "client_id": frame["client_id"], "seq": ack["seq"]}
    redacted_consent, event = await gus.events(2)
    assert redacted_consent["kind"] == "redacted"
    assert event["seq"] == ack["seq"]
    assert event["kind"] == "intervention.posted"
    data = event["data"]
    validate_payload("intervention.posted", "participants", data)
    assert "<strong>early warning</strong>" in data["body_html"]
    assert "<script>" not in data["body_html"]
    assert data["attribution"]["label"].startswith("Civil society · Delegate ")
    assert "Cora" not in str(event)


async def test_repeated_client_id_is_acknowledged_again_and_not_posted_twice(cast, sockets):
    sock, _, _ = await sockets(cast.cora.user)
    await sock.recv_type("welcome")
    await consent(sock)
    frame = post("Once only")
    await sock.send(frame)
    first = await sock.recv_type("ack")
    await sock.send(frame)
    second = await sock.recv_type("ack")
    assert first["seq"] == second["seq"]
    count = await database_sync_to_async(
        Intervention.objects.filter(client_id=frame["client_id"]).count
    )()
    assert count == 1


async def test_a_post_says_its_language_else_the_posters_interface_language(cast, sockets):
    sock, _, _ = await sockets(cast.cora.user, language="fr")
    await sock.recv_type("welcome")
    await consent(sock)
    said = [post("مرحبا", lang="ar"), post("Bonjour à tous")]
    for frame in said:
        await sock.send(frame)
        await sock.recv_type("ack")
    stored = await database_sync_to_async(
        lambda: {
            str(row.client_id): row.language
            for row in Intervention.objects.filter(client_id__in=[f["client_id"] for f in said])
        }
    )()
    assert stored == {said[0]["client_id"]: "ar", said[1]["client_id"]: "fr"}
    events = await sock.events(3)  # the consent, then both posts
    posted = [e["data"]["lang"] for e in events if e["kind"] == "intervention.posted"]
    assert posted == ["ar", "fr"]


async def test_a_post_in_an_unknown_language_is_refused_and_posts_nothing(cast, sockets):
    sock, _, _ = await sockets(cast.cora.user)
    await sock.recv_type("welcome")
    await consent(sock)
    for lang in ("xx", "EN", 3, ""):
        frame = post("Hello", lang=lang)
        await sock.send(frame)
        error = await sock.recv_type("error")
        assert (error["code"], error["field"]) == ("invalid_frame", "lang")
        assert "en, es, fr, pt, ar, zh or ru" in error["message"]
        assert error["client_id"] == frame["client_id"]
    assert not await database_sync_to_async(Intervention.objects.exists)()


@pytest.mark.parametrize(
    "raw, code, field",
    [
        ("not json", "invalid_json", None),
        ("[1, 2]", "invalid_frame", None),
        ('{"body": "x"}', "invalid_frame", "type"),
        ('{"type": "dance"}', "unknown_type", None),
        ('{"type": "post", "body": "x"}', "invalid_frame", "client_id"),
        ('{"type": "post", "client_id": "nope", "body": "x"}', "invalid_frame", "client_id"),
        (
            '{"type": "post", "client_id": "6f1c1b52-8a0e-4f57-9d0e-9b1cb5b7f9a1", "body": 5}',
            "invalid_frame",
            "body",
        ),
        (
            '{"type": "post", "client_id": "6f1c1b52-8a0e-4f57-9d0e-9b1cb5b7f9a1"}',
            "invalid_frame",
            "body",
        ),
        (
            '{"type": "post", "client_id": "6f1c1b52-8a0e-4f57-9d0e-9b1cb5b7f9a1", '
            '"body": "x", "extra": 1}',
            "invalid_frame",
            "extra",
        ),
        ('{"type": "resume", "after": -1}', "invalid_frame", "after"),
        ('{"type": "resume", "after": true}', "invalid_frame", "after"),
        ('{"type": "consent"}', "invalid_frame", "rule"),
    ],
)
async def test_malformed_frames_get_stable_error_codes_and_change_nothing(
    cast, sockets, raw, code, field
):
    sock, _, _ = await sockets(cast.cora.user)
    await sock.recv_type("welcome")
    await sock.send(raw)
    error = await sock.recv_type("error")
    assert error["code"] == code
    assert error["message"]
    assert error.get("field") == field
    assert await database_sync_to_async(RoomEvent.objects.count)() == 0
    # The socket stays usable after a refusal.
    await sock.send({"type": "ping"})
    assert (await sock.recv_type("pong"))["type"] == "pong"


async def test_body_over_ten_thousand_characters_is_too_large(cast, sockets):
    sock, _, _ = await sockets(cast.cora.user)
    await sock.recv_type("welcome")
    await consent(sock)
    frame = post("x" * 10_001)
    await sock.send(frame)
    error = await sock.recv_type("error")
    assert (error["code"], error["field"], error["client_id"]) == (
        "too_large",
        "body",
        frame["client_id"],
    )
    await sock.send(post("x" * 10_000))
    assert (await sock.recv_type("ack"))["seq"] == 2  # seq 1 is cora's consent


async def test_frame_over_64_kib_is_too_large(cast, sockets):
    sock, _, _ = await sockets(cast.cora.user)
    await sock.recv_type("welcome")
    await sock.send(post("y" * (64 * 1024)))
    error = await sock.recv_type("error")
    assert (error["code"], error["field"]) == ("too_large", "frame")
    assert await database_sync_to_async(Intervention.objects.count)() == 0


async def test_binary_frames_are_refused(cast, sockets):
    sock, _, _ = await sockets(cast.cora.user)
    await sock.recv_type("welcome")
    await sock.comm.send_to(bytes_data=b"\x00\x01")
    assert (await sock.recv_type("error"))["code"] == "invalid_frame"


async def test_post_before_consent_in_a_chatham_house_room_is_refused(cast, sockets):
    sock, _, _ = await sockets(cast.gus.user)
    await sock.recv_type("welcome")
    frame = post("Too early")
    await sock.send(frame)
    error = await sock.recv_type("error")
    assert (error["code"], error["client_id"]) == ("consent_required", frame["client_id"])
    assert await database_sync_to_async(Intervention.objects.count)() == 0


async def test_consent_for_the_wrong_rule_is_refused(cast, sockets):
    sock, _, _ = await sockets(cast.gus.user)
    await sock.recv_type("welcome")
    await sock.send({"type": "consent", "rule": "open"})
    assert (await sock.recv_type("error"))["code"] == "invalid_rule"
    seat = await database_sync_to_async(Seat.objects.get)(pk=cast.gus.pk)
    assert seat.consented_at is None


async def test_observer_may_not_post(cast, sockets):
    sock, _, _ = await sockets(cast.oscar.user)
    await sock.recv_type("welcome")
    await sock.send(post("I observe"))
    assert (await sock.recv_type("error"))["code"] == "forbidden"


async def test_consent_is_seen_by_moderators_and_redacted_for_participants(cast, sockets):
    chloe, _, _ = await sockets(cast.chloe.user)
    ada, _, _ = await sockets(cast.ada.user)
    gus, _, _ = await sockets(cast.gus.user)
    for sock in (chloe, ada, gus):
        await sock.recv_type("welcome")
    await consent(gus)
    (mod_view,) = await chloe.events(1)
    (participant_view,) = await ada.events(1)
    assert mod_view["kind"] == "seat.consented"
    assert participant_view == {"type": "event", "seq": 1, "kind": "redacted", "data": {}}


async def test_socket_without_a_seat_is_refused(cast, outsider, sockets):
    sock, connected, _ = await sockets(outsider)
    assert connected  # accepted only to say why, then closed
    error = await sock.recv_type("error")
    assert error["code"] == "forbidden"
    closed = await sock.comm.receive_output(timeout=3)
    assert closed == {"type": "websocket.close", "code": 4403}


async def test_anonymous_socket_is_refused(cast, sockets):
    sock, _, _ = await sockets(None)
    assert (await sock.recv_type("error"))["code"] == "forbidden"


async def test_unknown_room_is_refused(cast, sockets):
    sock, _, _ = await sockets(cast.cora.user, slug="no-such-room")
    assert (await sock.recv_type("error"))["code"] == "not_found"
    assert (await sock.comm.receive_output(timeout=3))["code"] == 4404


async def test_revoked_seat_is_refused(cast, sockets):
    from forum.services.seats import seat_revoke_token

    await database_sync_to_async(seat_revoke_token)(seat=cast.cora)
    sock, _, _ = await sockets(cast.cora.user)
    assert (await sock.recv_type("error"))["code"] == "forbidden"


async def test_foreign_origin_is_refused_at_the_handshake(cast, sockets):
    _, connected, _ = await sockets(cast.cora.user, origin="https://evil.example.com")
    assert not connected


async def test_bad_after_parameter_is_refused(cast, sockets):
    sock, _, _ = await sockets(cast.cora.user, after="abc")
    assert (await sock.recv_type("error"))["code"] == "invalid_frame"


@pytest.mark.parametrize(
    "status, code", [("closed", "room_closed"), ("scheduled", "room_not_open")]
)
async def test_posts_are_refused_unless_the_room_is_live(cast, sockets, status, code):
    from forum.models import RoundTable

    await database_sync_to_async(RoundTable.objects.filter(pk=cast.room.pk).update)(status=status)
    sock, _, _ = await sockets(cast.cora.user)
    await sock.recv_type("welcome")
    await consent(sock)
    frame = post("Is anyone there?")
    await sock.send(frame)
    error = await sock.recv_type("error")
    assert (error["code"], error["client_id"]) == (code, frame["client_id"])
    assert await database_sync_to_async(Intervention.objects.count)() == 0


async def test_an_unexpected_failure_is_an_internal_error_and_rolls_back(
    cast, sockets, monkeypatch
):
    from forum.services import interventions

    def explode(html_source):
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(interventions, "render_markdown", explode)
    sock, _, _ = await sockets(cast.cora.user)
    await sock.recv_type("welcome")
    await consent(sock)
    await sock.send(post("boom"))
    assert (await sock.recv_type("error"))["code"] == "internal_error"
    assert await database_sync_to_async(Intervention.objects.count)() == 0
    assert (
        await database_sync_to_async(RoomEvent.objects.filter(kind="intervention.posted").count)()
        == 0
    )
