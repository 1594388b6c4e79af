"""Each moderation action end to end over websockets: a moderator's socket acts, and the
chair's, the moderator's, the delegates' and the observer's sockets show who hears what.

After every action the audit chain verifies and holds the action with its actor (role and
opaque handle) and target; every event on every socket validates against realtime/events.py
for its audience, and so does every event left in the log.
"""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from forum.models import Flag, Intervention, RoomEvent, Seat
from forum.services.interventions import HELD, HELD_FOR_MENTIONS, HELD_FOR_PREMODERATION
from moderation.audit import audit_verify
from moderation.models import AuditEntry
from realtime.events import MODERATORS, PARTICIPANTS
from tests.support.moderation import (
    AUDIENCE,
    CLEAN,
    EVERYONE,
    REASON,
    held_post,
    log_is_valid,
    next_event,
    post,
    quiet,
    room_with,
)
from tests.support.personas import build_cast
from tests.support.state import snapshot

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def published_post(socks: dict, body: str = CLEAN, author: str = "gus") -> dict:
    await socks[author].send(post(body))
    ack = await socks[author].recv_type("ack")
    assert "held" not in ack
    frames = await next_event(socks, "intervention.posted", (PARTICIPANTS, MODERATORS))
    assert next(iter(frames.values()))["seq"] == ack["seq"]
    return frames["mona"]["data"]


@database_sync_to_async
def audited(room, action: str, actor: Seat, target: str, reason: str | None = None) -> AuditEntry:
    """The chain verifies, and its last entry for `action` on `target` names the actor."""
    report = audit_verify(room)
    assert report.ok, report
    entry = (
        AuditEntry.objects.filter(room_id=room.pk, action=action, target=target)
        .order_by("-seq")
        .first()
    )
    assert entry is not None, (action, target)
    assert (entry.actor_role, entry.actor_public_id) == (actor.role, actor.public_id)
    if reason is not None:
        assert entry.reason == reason
    return entry


@database_sync_to_async
def intervention(public_id: str) -> Intervention:
    return Intervention.objects.get(public_id=public_id)


@database_sync_to_async
def count(model, **filters) -> int:
    return model.objects.filter(**filters).count()


async def replay(cast, persona: str, sockets) -> list[dict]:
    """Everything a fresh socket of `persona` gets on connecting with ?after=0."""
    sock, _, _ = await sockets(cast.seats[persona].user, after=0)
    welcome = await sock.recv_type("welcome")
    return await sock.events(welcome["last_seq"])


def raw(frames) -> str:
    return json.dumps(frames, ensure_ascii=False)


# -- held interventions (the leak guard) ---------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "I agree with what CORA CIVIL said about early warning.",  # case
        "As Córa Cívil said, early warning comes first.",  # accents
        "As  cora   civil  said, early warning comes first.",  # spacing
        "Like CoraCivil said, early warning comes first.",  # no spacing at all
        "The peace  network of NOWHERE has data on this.",  # her organization
        "Write to cora@example.org for the district data.",  # her e-mail
        "Ask gus@EXAMPLE.org, he has the district data.",  # another delegate's e-mail
    ],
    ids=["case", "accents", "spacing", "glued", "organization", "email", "email-case"],
)
async def test_a_post_naming_a_seat_holder_is_held_for_the_moderators(cast, sockets, body):
    socks = await room_with(cast, sockets, *EVERYONE)
    ack, frames = await held_post(socks, body)
    # The author is told only that it waits (tests/test_moderated_text.py: the same words for
    # every cause); the moderators why, with the names found marked in the text as written.
    assert ack["reason"] == HELD
    held = frames["mona"]["data"]
    assert held["author"] == cast.gus.public_id
    assert held["reason"] == HELD_FOR_MENTIONS
    assert held["body_md"] == body and held["mentions"]
    for mention in held["mentions"]:
        assert body[mention["start"] : mention["end"]] == mention["text"]
    assert frames["chloe"]["data"]["id"] == held["id"]
    stored = await intervention(held["id"])
    assert (stored.status, stored.body_md) == ("held", body)
    assert await count(Intervention, room=cast.room, status="published") == 0
    await quiet(*socks.values())
    await log_is_valid(cast.room)


async def test_approving_a_held_intervention_publishes_it_to_everyone_with_the_same_id(
    cast, sockets
):
    socks = await room_with(cast, sockets, *EVERYONE)
    await socks["chloe"].send({"type": "room", "action": "premoderation", "on": True})
    await socks["chloe"].recv_type("done")
    await next_event(socks, "room.settings_changed", (PARTICIPANTS, MODERATORS))
    _, frames = await held_post(socks, "Thanks to the district teams for the data.")
    held_id = frames["mona"]["data"]["id"]
    await socks["mona"].send({"type": "moderate", "action": "approve", "id": held_id, "ref": "a1"})
    done = await socks["mona"].recv_type("done")
    assert (done["action"], done["id"], done["ref"]) == ("approve", held_id, "a1")
    posted = await next_event(socks, "intervention.posted", (PARTICIPANTS, MODERATORS))
    assert {frame["data"]["id"] for frame in posted.values()} == {held_id}
    assert posted["chloe"]["data"]["author"] == cast.gus.public_id
    assert "author" not in posted["ada"]["data"]
    assert posted["ada"]["data"]["redaction"] is None
    assert (await intervention(held_id)).status == "published"
    await audited(cast.room, "approve", cast.mona, held_id)
    await quiet(*socks.values())
    await log_is_valid(cast.room)


async def test_rejecting_a_held_intervention_tells_only_its_author_and_the_moderators(
    cast, sockets
):
    socks = await room_with(cast, sockets, *EVERYONE)
    second, _, _ = await sockets(cast.gus.user)  # the author's other tab
    await second.recv_type("welcome")
    body = "Cora Civil should not have said that."
    _, frames = await held_post(socks, body)
    held_id = frames["mona"]["data"]["id"]
    await second.events(1)
    await socks["chloe"].send(
        {"type": "moderate", "action": "reject", "id": held_id, "reason": REASON}
    )
    assert (await socks["chloe"].recv_type("done"))["action"] == "reject"
    rejected = await next_event(socks, "intervention.rejected", (MODERATORS,))
    assert rejected["mona"]["data"] == {"id": held_id, "reason": REASON}
    for author_socket in (socks["gus"], second):
        notice = await author_socket.recv_type("notice")
        assert (notice["code"], notice["id"]) == ("rejected", held_id)
        assert REASON in notice["message"]
    assert (await second.events(1))[0]["kind"] == "redacted"
    stored = await intervention(held_id)
    assert (stored.status, stored.status_reason) == ("rejected", REASON)
    await audited(cast.room, "reject", cast.chloe, held_id, REASON)
    await quiet(*socks.values(), second)
    # Nobody outside the moderators ever gets the text, not even on replay.
    for persona in ("ada", "oscar"):
        assert "should not have said" not in raw(await replay(cast, persona, sockets))
    await log_is_valid(cast.room)


async def test_redacting_a_held_intervention_publishes_only_the_moderators_version(cast, sockets):
    socks = await room_with(cast, sockets, *EVERYONE)
    original = "Cora Civil of the Peace Network of Nowhere told us about the ceasefire talks."
    _, frames = await held_post(socks, original)
    held_id = frames["mona"]["data"]["id"]
    edited = "A participant told us about the ceasefire talks."
    await socks["mona"].send(
        {"type": "moderate", "action": "redact", "id": held_id, "reason": REASON, "body": edited}
    )
    assert (await socks["mona"].recv_type("done"))["action"] == "redact"
    posted = await next_event(socks, "intervention.posted", (PARTICIPANTS, MODERATORS))
    for frame in posted.values():
        assert frame["data"]["id"] == held_id
        assert "A participant told us about the ceasefire talks." in frame["data"]["body_html"]
        assert frame["data"]["redaction"] == {"reason": REASON}
    for persona in ("gus", "ada", "oscar"):
        assert "Peace Network" not in raw(posted[persona])
    await quiet(*socks.values())
    for persona in ("ada", "oscar", "cyrus"):
        replayed = await replay(cast, persona, sockets)
        assert any(
            e["kind"] == "intervention.posted" and e["data"]["id"] == held_id for e in replayed
        )
        assert "Peace Network" not in raw(replayed)
        assert "Cora" not in raw(replayed)
    stored = await intervention(held_id)
    assert stored.body_md == original  # kept for the audit
    assert stored.status == "published"
    entry = await audited(cast.room, "redact", cast.mona, held_id, REASON)
    assert entry.data == {"edited": True}
    await log_is_valid(cast.room)


async def test_redacting_a_published_intervention_replaces_it_for_everyone(cast, sockets):
    socks = await room_with(cast, sockets, *EVERYONE)
    data = await published_post(socks, "The ceasefire monitors left the district in May.")
    await socks["chloe"].send(
        {"type": "moderate", "action": "redact", "id": data["id"], "reason": REASON}
    )
    await socks["chloe"].recv_type("done")
    redacted = await next_event(socks, "intervention.redacted", (PARTICIPANTS, MODERATORS))
    for frame in redacted.values():
        assert frame["data"]["id"] == data["id"]
        assert frame["data"]["reason"] == REASON
        assert "Redacted by the moderator" in frame["data"]["body_html"]
        assert "ceasefire" not in frame["data"]["body_html"]
    stored = await intervention(data["id"])
    assert stored.body_md == "The ceasefire monitors left the district in May."
    assert "Redacted" in stored.redacted_html
    entry = await audited(cast.room, "redact", cast.chloe, data["id"], REASON)
    assert entry.data == {"edited": False}
    await quiet(*socks.values())
    await log_is_valid(cast.room)


@pytest.mark.parametrize("action", ["redact", "hide"])
async def test_a_late_joiner_replaying_the_log_never_receives_what_a_moderator_took_down(
    cast, sockets, action
):
    """Redact and hide exist to take text away from readers; a participant who joins (or
    reconnects with ?after=0) afterwards must not receive the original in the replay."""
    socks = await room_with(cast, sockets, "chloe", "gus")
    await socks["gus"].send(post("The ceasefire monitors left the district in May."))
    ack = await socks["gus"].recv_type("ack")
    (event,) = await socks["chloe"].events(1)
    assert event["seq"] == ack["seq"]
    await socks["chloe"].send(
        {"type": "moderate", "action": action, "id": event["data"]["id"], "reason": REASON}
    )
    await socks["chloe"].recv_type("done")
    replayed = await replay(cast, "ada", sockets)
    assert replayed[-1]["kind"] == f"intervention.{'redacted' if action == 'redact' else 'hidden'}"
    assert "ceasefire" not in raw(replayed)


# -- hide and restore ----------------------------------------------------------------------


async def test_hiding_and_restoring_a_published_intervention(cast, sockets):
    socks = await room_with(cast, sockets, *EVERYONE)
    data = await published_post(socks)
    await socks["mona"].send(
        {"type": "moderate", "action": "hide", "id": data["id"], "reason": REASON}
    )
    await socks["mona"].recv_type("done")
    hidden = await next_event(socks, "intervention.hidden", (PARTICIPANTS, MODERATORS))
    assert {raw(frame["data"]) for frame in hidden.values()} == {
        raw({"id": data["id"], "reason": REASON})
    }
    assert (await intervention(data["id"])).status == "hidden"
    await audited(cast.room, "hide", cast.mona, data["id"], REASON)

    # Hiding it again, or restoring one that is not hidden, does not apply.
    await socks["mona"].send(
        {"type": "moderate", "action": "hide", "id": data["id"], "reason": REASON}
    )
    assert (await socks["mona"].recv_type("error"))["code"] == "invalid_state"

    await socks["mona"].send({"type": "moderate", "action": "restore", "id": data["id"]})
    await socks["mona"].recv_type("done")
    restored = await next_event(socks, "intervention.restored", (PARTICIPANTS, MODERATORS))
    for name, frame in restored.items():
        assert frame["data"]["id"] == data["id"]
        assert frame["data"]["body_html"] == data["body_html"]
        assert ("author" in frame["data"]) == (AUDIENCE[name] == MODERATORS)
    assert (await intervention(data["id"])).status == "published"
    await audited(cast.room, "restore", cast.mona, data["id"])

    await socks["mona"].send({"type": "moderate", "action": "restore", "id": data["id"]})
    assert (await socks["mona"].recv_type("error"))["code"] == "invalid_state"
    await quiet(*socks.values())
    await log_is_valid(cast.room)


# -- flags ---------------------------------------------------------------------------------


async def test_a_seat_flags_an_intervention_once(cast, sockets):
    socks = await room_with(cast, sockets, *EVERYONE, "cora")
    data = await published_post(socks)
    flag = {
        "type": "flag",
        "id": data["id"],
        "reason": "Personal attack on a delegate.",
        "ref": "f1",
    }
    await socks["cora"].send(flag)
    answer = await socks["cora"].recv_type("flagged")
    assert (answer["id"], answer["flags"], answer["ref"]) == (data["id"], 1, "f1")
    flagged = await next_event(socks, "intervention.flagged", (MODERATORS,))
    assert flagged["mona"]["data"] == {
        "id": data["id"],
        "reason": "Personal attack on a delegate.",
        "flags": 1,
    }
    before = await database_sync_to_async(snapshot)(cast.room)
    await socks["cora"].send(flag)
    error = await socks["cora"].recv_type("error")
    assert (error["code"], error["ref"]) == ("already_flagged", "f1")
    assert await database_sync_to_async(snapshot)(cast.room) == before
    await quiet(*socks.values())
    await log_is_valid(cast.room)


async def test_three_flags_from_different_delegates_hide_an_intervention_pending_review(
    cast, sockets
):
    socks = await room_with(cast, sockets, *EVERYONE, "cora", "cyrus")
    data = await published_post(socks)
    for n, flagger in enumerate(("cora", "cyrus", "ada"), start=1):
        await socks[flagger].send(
            {"type": "flag", "id": data["id"], "reason": "Off topic and hostile."}
        )
        assert (await socks[flagger].recv_type("flagged"))["flags"] == n
        flagged = await next_event(socks, "intervention.flagged", (MODERATORS,))
        assert flagged["chloe"]["data"]["flags"] == n
        if n < 3:
            assert (await intervention(data["id"])).status == "published"
    hidden = await next_event(socks, "intervention.hidden", (PARTICIPANTS, MODERATORS))
    assert hidden["oscar"]["data"]["id"] == data["id"]
    assert "pending review" in hidden["oscar"]["data"]["reason"]
    stored = await intervention(data["id"])
    assert stored.status == "hidden"
    assert await count(Flag, intervention=stored) == 3
    report = await database_sync_to_async(audit_verify)(cast.room)
    assert report.ok
    entry = await database_sync_to_async(
        AuditEntry.objects.filter(room_id=cast.room.pk, action="hide_after_flags").get
    )()
    assert (entry.target, entry.actor_role) == (data["id"], "secretariat")
    # A hidden intervention takes no more flags.
    await socks["cyrus"].send({"type": "flag", "id": data["id"], "reason": "Still there?"})
    assert (await socks["cyrus"].recv_type("error"))["code"] == "invalid_state"
    await quiet(*socks.values())
    await log_is_valid(cast.room)


# -- mute ----------------------------------------------------------------------------------


async def test_a_muted_seat_is_told_and_refused_until_unmuted(cast, sockets):
    socks = await room_with(cast, sockets, *EVERYONE)
    seat = cast.gus.public_id
    await socks["chloe"].send(
        {"type": "seat", "action": "mute", "seat": seat, "minutes": 10, "reason": REASON}
    )
    done = await socks["chloe"].recv_type("done")
    assert (done["action"], done["seat"]) == ("mute", seat)
    muted = await next_event(socks, "seat.muted", (MODERATORS,))
    assert muted["mona"]["data"]["seat"] == seat
    notice = await socks["gus"].recv_type("notice")
    assert notice["code"] == "muted"
    assert notice["until"] == muted["mona"]["data"]["until"]
    entry = await audited(cast.room, "mute", cast.chloe, seat, REASON)
    assert entry.data == {"minutes": 10}

    before = await database_sync_to_async(snapshot)(cast.room)
    frame = post()
    await socks["gus"].send(frame)
    error = await socks["gus"].recv_type("error")
    assert (error["code"], error["client_id"], error["until"]) == (
        "muted",
        frame["client_id"],
        notice["until"],
    )
    assert 0 < error["retry_after"] <= 600
    assert await database_sync_to_async(snapshot)(cast.room) == before
    await quiet(*socks.values())

    await socks["chloe"].send({"type": "seat", "action": "unmute", "seat": seat})
    await socks["chloe"].recv_type("done")
    await next_event(socks, "seat.unmuted", (MODERATORS,))
    assert (await socks["gus"].recv_type("notice"))["code"] == "unmuted"
    await audited(cast.room, "mute", cast.chloe, seat, "unmute")
    await published_post(socks)
    await quiet(*socks.values())
    await log_is_valid(cast.room)


# -- remove --------------------------------------------------------------------------------


async def test_a_removed_seat_is_disconnected_and_cannot_come_back(cast, sockets):
    socks = await room_with(cast, sockets, *EVERYONE)
    second, _, _ = await sockets(cast.gus.user)
    await second.recv_type("welcome")
    seat = cast.gus.public_id
    await socks["mona"].send({"type": "seat", "action": "remove", "seat": seat, "reason": REASON})
    assert (await socks["mona"].recv_type("done"))["action"] == "remove"
    others = {name: sock for name, sock in socks.items() if name != "gus"}
    removed = await next_event(others, "seat.removed", (MODERATORS,))
    assert removed["chloe"]["data"]["seat"] == seat
    for gus_socket in (socks["gus"], second):
        error = await gus_socket.recv_type("error")
        assert error["code"] == "forbidden"
        assert await gus_socket.comm.receive_output(timeout=3) == {
            "type": "websocket.close",
            "code": 4403,
        }
        gus_socket.closed = True
    await audited(cast.room, "remove_seat", cast.mona, seat, REASON)
    stored = await database_sync_to_async(Seat.objects.get)(pk=cast.gus.pk)
    assert stored.removed_at is not None and stored.token_revoked_at is not None

    join = await database_sync_to_async(Client().get)(f"/join/{cast.tokens['gus']}/")
    assert join.status_code == 404
    again, _, _ = await sockets(cast.gus.user)
    assert (await again.recv_type("error"))["code"] == "forbidden"
    assert await again.comm.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}

    # Removing the same seat twice does not apply.
    await socks["mona"].send({"type": "seat", "action": "remove", "seat": seat, "reason": REASON})
    assert (await socks["mona"].recv_type("error"))["code"] == "invalid_state"
    await quiet(*others.values())
    await log_is_valid(cast.room)


# -- reveal --------------------------------------------------------------------------------


async def test_reveal_shows_the_identity_to_the_asking_socket_alone(cast, sockets):
    socks = await room_with(cast, sockets, *EVERYONE)
    seat = cast.gus.public_id
    await socks["mona"].send(
        {"type": "seat", "action": "reveal", "seat": seat, "reason": REASON, "ref": "v1"}
    )
    revealed = await socks["mona"].recv_type("revealed")
    assert revealed["ref"] == "v1"
    assert revealed["identity"] == {
        "seat": seat, "name": "Gustavo Gobierno", "email": "gus@example.org",
        "organization": "Ministry of Testing", "sector": "government", "role": "delegate",
        "erased": None,
    }  # fmt: skip
    frames = await next_event(socks, "seat.revealed", (MODERATORS,))
    assert frames["chloe"]["data"]["seat"] == seat
    assert frames["chloe"]["data"]["by"] == "Moderator"
    for name, frame in frames.items():
        for secret in ("Gustavo", "Gobierno", "gus@example.org", "Ministry of Testing"):
            assert secret not in raw(frame), (name, secret)
    await quiet(*socks.values())  # nothing more to anyone, the asking socket included
    entry = await audited(cast.room, "reveal", cast.mona, seat, REASON)
    for secret in ("Gustavo", "gus@example.org", "Ministry"):
        assert secret not in raw([entry.reason, entry.target, entry.data])
    stored = await database_sync_to_async(
        lambda: list(RoomEvent.objects.values_list("participants", "moderators"))
    )()
    assert "Gustavo" not in raw(stored)
    await log_is_valid(cast.room)


# -- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reason", [None, "", "    ", "ok"], ids=["missing", "empty", "blank", "too-short"]
)
@pytest.mark.parametrize("action", ["reject", "hide", "redact", "remove", "reveal"])
async def test_actions_that_need_a_reason_refuse_without_one(cast, sockets, action, reason):
    socks = await room_with(cast, sockets, "mona", "gus")
    if action == "reject":
        _, frames = await held_post(socks, "Cora Civil has the data.")
        frame = {"type": "moderate", "action": action, "id": frames["mona"]["data"]["id"]}
    elif action in ("hide", "redact"):
        data = await published_post(socks)
        frame = {"type": "moderate", "action": action, "id": data["id"]}
    else:
        frame = {"type": "seat", "action": action, "seat": cast.gus.public_id}
    if reason is not None:
        frame["reason"] = reason
    before = await database_sync_to_async(snapshot)(cast.room)
    await socks["mona"].send(frame)
    error = await socks["mona"].recv_type("error")
    assert (error["code"], error["field"]) == ("reason_required", "reason")
    assert await database_sync_to_async(snapshot)(cast.room) == before
    await quiet(*socks.values())


async def test_actions_on_the_wrong_state_or_target_are_refused_and_change_nothing(cast, sockets):
    socks = await room_with(cast, sockets, "chloe", "mona", "gus", "cora")
    data = await published_post(socks)
    _, held = await held_post(socks, "Cora Civil has the data.")
    held_id = held["mona"]["data"]["id"]
    other = await database_sync_to_async(build_cast)("other-room")
    other_seat = other.gus.public_id
    refusals = [
        ({"type": "moderate", "action": "approve", "id": data["id"]}, "invalid_state"),
        (
            {"type": "moderate", "action": "reject", "id": data["id"], "reason": REASON},
            "invalid_state",
        ),
        ({"type": "moderate", "action": "restore", "id": data["id"]}, "invalid_state"),
        ({"type": "moderate", "action": "hide", "id": held_id, "reason": REASON}, "invalid_state"),
        (
            {"type": "seat", "action": "mute", "seat": cast.mona.public_id, "minutes": 5},
            "invalid_target",
        ),
        (
            {"type": "seat", "action": "mute", "seat": cast.chloe.public_id, "minutes": 5},
            "invalid_target",
        ),
        (
            {"type": "seat", "action": "remove", "seat": cast.mona.public_id, "reason": REASON},
            "invalid_target",
        ),
        (
            {"type": "seat", "action": "remove", "seat": cast.chloe.public_id, "reason": REASON},
            "invalid_target",
        ),
        ({"type": "moderate", "action": "approve", "id": "no-such-id"}, "not_found"),
        ({"type": "moderate", "action": "hide", "id": "no-such-id", "reason": REASON}, "not_found"),
        ({"type": "seat", "action": "mute", "seat": "no-such-seat", "minutes": 5}, "not_found"),
        (
            {"type": "seat", "action": "reveal", "seat": "no-such-seat", "reason": REASON},
            "not_found",
        ),
        # a seat handle of the same person in another room means nothing here
        ({"type": "seat", "action": "reveal", "seat": other_seat, "reason": REASON}, "not_found"),
        (
            {"type": "seat", "action": "mute", "seat": cast.gus.public_id, "minutes": 0},
            "invalid_frame",
        ),
        (
            {"type": "seat", "action": "mute", "seat": cast.gus.public_id, "minutes": 1441},
            "invalid_frame",
        ),
    ]
    before = await database_sync_to_async(snapshot)(cast.room)
    for frame, code in refusals:
        await socks["mona"].send({**frame, "ref": "x"})
        error = await socks["mona"].recv_type("error")
        assert (error["code"], error["ref"]) == (code, "x"), frame
        assert error["message"]
    assert await database_sync_to_async(snapshot)(cast.room) == before
    # The other room's seat was not touched either.
    assert await count(AuditEntry, room_id=other.room.pk) == 0
    await quiet(*socks.values())


# -- the room: pre-moderation, lock, close -------------------------------------------------


async def test_premoderation_holds_every_delegate_post_but_not_the_chairs(cast, sockets):
    socks = await room_with(cast, sockets, *EVERYONE, "rita")
    await socks["chloe"].send({"type": "room", "action": "premoderation", "on": True})
    assert (await socks["chloe"].recv_type("done"))["action"] == "premoderation"
    changed = await next_event(socks, "room.settings_changed", (PARTICIPANTS, MODERATORS))
    assert changed["gus"]["data"] == {
        "premoderation": True,
        "slow_mode_seconds": 0,
        "locked": False,
    }
    entry = await audited(cast.room, "premoderation", cast.chloe, cast.room.slug)
    assert entry.data == {"premoderation": True}

    ack, frames = await held_post(socks, CLEAN)
    assert ack["reason"] == HELD
    assert frames["mona"]["data"]["reason"] == HELD_FOR_PREMODERATION
    for persona in ("rita",):
        await socks[persona].send(post())
        assert (await socks[persona].recv_type("ack"))["held"] is True
        await next_event(socks, "intervention.held", (MODERATORS,))
    for persona in ("chloe", "mona"):
        await published_post(socks, author=persona)

    await socks["mona"].send({"type": "room", "action": "premoderation", "on": False})
    await socks["mona"].recv_type("done")
    await next_event(socks, "room.settings_changed", (PARTICIPANTS, MODERATORS))
    await published_post(socks)
    assert await count(Intervention, room=cast.room, status="held") == 2
    await quiet(*socks.values())
    await log_is_valid(cast.room)


async def test_a_locked_room_refuses_delegates_and_lets_the_chair_speak(cast, sockets):
    socks = await room_with(cast, sockets, *EVERYONE)
    await socks["mona"].send({"type": "room", "action": "lock"})
    await socks["mona"].recv_type("done")
    changed = await next_event(socks, "room.settings_changed", (PARTICIPANTS, MODERATORS))
    assert changed["ada"]["data"]["locked"] is True
    await audited(cast.room, "lock", cast.mona, cast.room.slug)
    before = await database_sync_to_async(snapshot)(cast.room)
    frame = post()
    await socks["gus"].send(frame)
    error = await socks["gus"].recv_type("error")
    assert (error["code"], error["client_id"]) == ("room_locked", frame["client_id"])
    assert await database_sync_to_async(snapshot)(cast.room) == before
    await published_post(socks, author="chloe")
    await published_post(socks, author="mona")
    await socks["chloe"].send({"type": "room", "action": "unlock"})
    await socks["chloe"].recv_type("done")
    changed = await next_event(socks, "room.settings_changed", (PARTICIPANTS, MODERATORS))
    assert changed["oscar"]["data"]["locked"] is False
    await published_post(socks)
    await quiet(*socks.values())
    await log_is_valid(cast.room)


async def test_only_the_chair_closes_the_room_and_then_nobody_posts(cast, sockets):
    socks = await room_with(cast, sockets, *EVERYONE)
    before = await database_sync_to_async(snapshot)(cast.room)
    await socks["mona"].send({"type": "room", "action": "close"})
    error = await socks["mona"].recv_type("error")
    assert (error["code"], error["action"]) == ("forbidden", "close")
    assert await database_sync_to_async(snapshot)(cast.room) == before

    await socks["chloe"].send({"type": "room", "action": "close", "ref": "c1"})
    assert (await socks["chloe"].recv_type("done"))["ref"] == "c1"
    changed = await next_event(socks, "room.status_changed", (PARTICIPANTS, MODERATORS))
    assert changed["oscar"]["data"] == {"status": "closed"}
    await audited(cast.room, "close", cast.chloe, cast.room.slug, "close")
    for persona in ("gus", "chloe"):
        await socks[persona].send(post())
        assert (await socks[persona].recv_type("error"))["code"] == "room_closed"
    await socks["chloe"].send({"type": "room", "action": "close"})
    assert (await socks["chloe"].recv_type("error"))["code"] == "invalid_state"

    await socks["chloe"].send({"type": "room", "action": "reopen"})
    await socks["chloe"].recv_type("done")
    changed = await next_event(socks, "room.status_changed", (PARTICIPANTS, MODERATORS))
    assert changed["gus"]["data"] == {"status": "live"}
    await audited(cast.room, "close", cast.chloe, cast.room.slug, "reopen")
    await published_post(socks)
    await quiet(*socks.values())
    await log_is_valid(cast.room)


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "seat", "action": "mute", "seat": "any"},
        {"type": "room", "action": "premoderation"},
        {"type": "room", "action": "slow_mode"},
    ],
    ids=["mute-without-minutes", "premoderation-without-on", "slow-mode-without-seconds"],
)
async def test_a_frame_missing_an_action_field_is_invalid_and_echoes_its_ref(cast, sockets, frame):
    socks = await room_with(cast, sockets, "mona")
    before = await database_sync_to_async(snapshot)(cast.room)
    await socks["mona"].send({**frame, "ref": "m1"})
    error = await socks["mona"].recv_type("error")
    assert error["code"] == "invalid_frame"
    assert error["field"] in ("minutes", "on", "seconds")
    assert await database_sync_to_async(snapshot)(cast.room) == before
    assert error.get("ref") == "m1"  # docs/protocol.md: `ref` is echoed in any error
