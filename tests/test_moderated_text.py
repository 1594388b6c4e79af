"""Moderated text is leak-checked before it is published, no answer is a roster oracle, and
observers accept the rule before they read the stream.

Over real sockets where a reader's view matters (who is told what, and nothing else), through
the services and pages elsewhere.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.utils import timezone

from forum.errors import ServiceError
from forum.models import (
    HeldText,
    Intervention,
    MinutesComment,
    MinutesVersion,
    NameStatement,
    RoomEvent,
    Seat,
    Sector,
)
from forum.services.holds import held_text_decline, held_text_publish, name_statement_withdraw
from forum.services.interventions import HELD, intervention_post
from forum.services.minutes import minutes_adopt, minutes_comment, minutes_review_open, minutes_save
from forum.services.moderator_actions import (
    intervention_approve,
    intervention_hide,
    intervention_redact,
    intervention_reject,
)
from forum.services.recommendations import recommendation_save
from forum.services.seats import organization_get_or_create, seat_upsert, user_upsert
from moderation.audit import audit_verify
from moderation.guard import mentions_in, withheld
from moderation.models import AuditEntry
from realtime.events import MODERATORS, PARTICIPANTS, validate_payload
from tests.support.moderation import EVERYONE, REASON, held_post, next_event, post, quiet, room_with
from tests.support.personas import build_cast, sign_in
from tests.support.state import snapshot

NAMING = "Cora Civil of the Peace Network of Nowhere told us about the ceasefire talks."
VOUCH = "The harbour of the town, a place, not the participant."


def consent_delegates(room) -> None:
    Seat.objects.filter(room=room).exclude(role=Seat.Role.OBSERVER).update(
        consented_at=timezone.now()
    )


def client_for(seat) -> Client:
    return sign_in(Client(), seat)


def item_id(cast) -> str:
    return cast.room.agenda_items.get().public_id


def entries(room, action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(room_id=room.pk, action=action).order_by("seq"))


# -- the guard of what a moderator publishes ------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_redaction_of_a_held_post_still_naming_someone_is_refused_to_that_moderator_alone(
    cast, sockets
):
    socks = await room_with(cast, sockets, *EVERYONE)
    _, frames = await held_post(socks, NAMING)
    held = frames["mona"]["data"]
    before = await database_sync_to_async(snapshot)(cast.room)
    # What the old dialog sent: the original text, ready to go, with only a reason typed.
    for body in (NAMING, "A participant of the PEACE NETWORK OF NOWHERE told us about the talks."):
        await socks["mona"].send(
            {
                "type": "moderate",
                "action": "redact",
                "id": held["id"],
                "reason": REASON,
                "body": body,
                "ref": "x",
            }
        )
        error = await socks["mona"].recv_type("error")
        assert (error["code"], error["field"], error["ref"]) == ("names_participant", "body", "x")
        assert error["mentions"][0]["text"] in error["message"]  # the place
        assert error["mentions"] and all(
            body[m["start"] : m["end"]] == m["text"] for m in error["mentions"]
        )
    # Nobody else hears of it, nothing changed, nothing was published or audited.
    await quiet(*socks.values())
    assert await database_sync_to_async(snapshot)(cast.room) == before
    assert (
        await database_sync_to_async(Intervention.objects.get)(public_id=held["id"])
    ).status == "held"

    # Where the dialog starts now: the names taken out. That goes out, to everyone.
    redacted = withheld(held["body_md"], [_mention(m) for m in held["mentions"]])
    assert "Cora" not in redacted and "Nowhere" not in redacted
    await socks["mona"].send(
        {
            "type": "moderate",
            "action": "redact",
            "id": held["id"],
            "reason": REASON,
            "body": redacted,
        }
    )
    await socks["mona"].recv_type("done")
    posted = await next_event(socks, "intervention.posted", (PARTICIPANTS, MODERATORS))
    assert (
        "ceasefire talks" in posted["oscar"]["data"]["body_html"]
        and "Cora" not in posted["oscar"]["data"]["body_html"]
    )


def _mention(span: dict):
    from moderation.leakguard import Mention

    return Mention(span["kind"], span["start"], span["end"])


@pytest.mark.django_db
def test_approving_a_post_that_names_someone_needs_a_stated_reason_which_is_audited(cast):
    seat_upsert(
        room=cast.room,
        user=user_upsert(email="dana@example.org", name="Dana Harbour"),
        role="delegate",
        sector=Sector.objects.get(slug="academia"),
        organization=None,
    )
    consent_delegates(cast.room)
    body = "The harbour flooded the district road."  # a common word that is also Dana's surname
    assert mentions_in(cast.room, body)
    held = intervention_post(seat_id=cast.gus.pk, client_id=uuid.uuid4(), body=body)
    assert held.held_reason == HELD
    before = snapshot(cast.room)
    with pytest.raises(ServiceError) as refused:
        intervention_approve(actor_seat_id=cast.mona.pk, intervention_id=held.intervention_id)
    assert (
        refused.value.code == "names_participant" and "The harbour flooded" in refused.value.message
    )
    with pytest.raises(ServiceError) as short:
        intervention_approve(
            actor_seat_id=cast.mona.pk, intervention_id=held.intervention_id, not_a_participant="no"
        )
    assert (short.value.code, short.value.extra["field"]) == (
        "reason_required",
        "not_a_participant",
    )
    assert snapshot(cast.room) == before

    intervention_approve(
        actor_seat_id=cast.mona.pk, intervention_id=held.intervention_id, not_a_participant=VOUCH
    )
    assert Intervention.objects.get(public_id=held.intervention_id).status == "published"
    [vouched] = entries(cast.room, "not_a_participant")
    assert (vouched.actor_public_id, vouched.target, vouched.reason) == (
        cast.mona.public_id,
        held.intervention_id,
        VOUCH,
    )
    assert vouched.data == {"field": "body", "mentions": 1, "kinds": ["name"]}
    assert "arbour" not in str(
        vouched.data
    )  # the audit says why, and where to look; not the name again
    assert audit_verify(cast.room).ok


@pytest.mark.django_db
def test_a_redaction_of_a_published_post_is_checked_again_before_it_goes_out(cast):
    consent_delegates(cast.room)
    published = intervention_post(
        seat_id=cast.gus.pk, client_id=uuid.uuid4(), body="The alerts came late."
    )
    with pytest.raises(ServiceError) as refused:
        intervention_redact(
            actor_seat_id=cast.mona.pk,
            intervention_id=published.intervention_id,
            reason=REASON,
            body="The alerts came late, said Gustavo Gobierno.",
        )
    assert refused.value.code == "names_participant"
    assert Intervention.objects.get(public_id=published.intervention_id).redacted_html is None
    # Redacting to the placeholder needs no check: it names nobody.
    intervention_redact(
        actor_seat_id=cast.mona.pk, intervention_id=published.intervention_id, reason=REASON
    )


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["redact", "hide", "reject"])
def test_a_moderation_reason_that_names_someone_is_refused_and_nothing_changes(cast, action):
    consent_delegates(cast.room)
    cast.room.premoderation = action == "reject"
    cast.room.save(update_fields=["premoderation"])
    target = intervention_post(
        seat_id=cast.gus.pk, client_id=uuid.uuid4(), body="The alerts came late."
    )
    act = {"redact": intervention_redact, "hide": intervention_hide, "reject": intervention_reject}[
        action
    ]
    before = snapshot(cast.room)
    events = RoomEvent.objects.filter(room=cast.room).count()
    reason = "As Greta Government asked, off the record."
    with pytest.raises(ServiceError) as refused:
        act(actor_seat_id=cast.mona.pk, intervention_id=target.intervention_id, reason=reason)
    assert (refused.value.code, refused.value.extra["field"]) == ("names_participant", "reason")
    assert (
        "Greta Government asked" in refused.value.message
    )  # quoted to the moderator, who rephrases
    [mark] = refused.value.extra["mentions"]
    assert reason[mark["start"] : mark["end"]] == "Greta Government"
    assert (
        snapshot(cast.room) == before and RoomEvent.objects.filter(room=cast.room).count() == events
    )
    assert not AuditEntry.objects.filter(room_id=cast.room.pk, action=action).exists()
    # Rephrased, it goes through.
    act(
        actor_seat_id=cast.mona.pk,
        intervention_id=target.intervention_id,
        reason="Off the record, as asked.",
    )


@pytest.mark.django_db
def test_recommendations_and_summaries_naming_someone_are_refused_unless_the_editor_vouches(cast):
    text = "Fund the Chamber of Mocks early warning desk."
    with pytest.raises(ServiceError) as refused:
        recommendation_save(actor_seat_id=cast.rita.pk, text=text, audience="states")
    assert refused.value.code == "names_participant" and "Chamber of Mocks" in refused.value.message
    saved = recommendation_save(
        actor_seat_id=cast.rita.pk, text="Fund the district desks.", audience="states"
    )
    with pytest.raises(ServiceError):
        minutes_save(actor_seat_id=cast.rita.pk, recommendations={saved.public_id: {"text": text}})
    with pytest.raises(ServiceError) as summary:
        minutes_save(
            actor_seat_id=cast.rita.pk, summaries={item_id(cast): "Greta Government opened."}
        )
    assert (summary.value.code, summary.value.extra["field"]) == ("names_participant", "summaries")
    assert not MinutesVersion.objects.exists() and not entries(cast.room, "not_a_participant")

    minutes_save(
        actor_seat_id=cast.rita.pk,
        recommendations={saved.public_id: {"text": text}},
        summaries={item_id(cast): "Greta Government opened."},
        not_a_participant="A fictional body in the scenario.",
    )
    assert {(e.target, e.data["field"]) for e in entries(cast.room, "not_a_participant")} == {
        (saved.public_id, "text"),
        (f"summary:{item_id(cast)}", "summaries"),
    }


# -- no roster oracle ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize("language", ["en", "es"])
async def test_a_held_posts_ack_and_a_premoderated_posts_ack_carry_the_same_reason(
    cast, sockets, language
):
    await database_sync_to_async(consent_delegates)(cast.room)
    gus, _, _ = await sockets(cast.gus.user, language=language)
    await gus.recv_type("welcome")
    named = post("Is Cora Civil here?")
    await gus.send(named)
    by_name = await gus.recv_type("ack")
    await gus.send(named)  # a repeated client_id is acknowledged again, in the same words
    again = await gus.recv_type("ack")
    chloe, _, _ = await sockets(cast.chloe.user)
    await chloe.recv_type("welcome")
    await chloe.send({"type": "room", "action": "premoderation", "on": True})
    await chloe.recv_type("done")
    await gus.send(post("Is anyone from the coast here?"))
    by_premoderation = await gus.recv_type("ack")
    for ack in (by_name, again, by_premoderation):
        assert ack["held"] is True
    assert by_name["reason"] == again["reason"] == by_premoderation["reason"]
    assert ("moderación" if language == "es" else "moderators") in by_name["reason"]
    # A post naming nobody, in a room that does not pre-moderate, is simply posted.
    await chloe.send({"type": "room", "action": "premoderation", "on": False})
    await chloe.recv_type("done")
    await gus.send(post("Is anyone from the hills here?"))
    assert "held" not in await gus.recv_type("ack")


@pytest.mark.django_db
def test_three_name_holds_of_one_seat_in_ten_minutes_raise_an_alert_for_the_moderators_only(cast):
    consent_delegates(cast.room)

    def hold(persona: str, body: str = "Is Cora Civil here?") -> None:
        before = RoomEvent.objects.filter(room=cast.room).count()
        assert intervention_post(
            seat_id=cast.seats[persona].pk, client_id=uuid.uuid4(), body=body
        ).held_reason
        # Every hold is one event, whatever held it and whether it raised an alert: the
        # delegate's socket gets one `redacted` stub, never a second one that says "alert".
        assert RoomEvent.objects.filter(room=cast.room).count() == before + 1

    def alerts() -> list[dict]:
        return [
            e.moderators["alert"]
            for e in RoomEvent.objects.filter(room=cast.room).order_by("seq")
            if e.moderators and "alert" in e.moderators
        ]

    hold("gus")
    Intervention.objects.filter(seat=cast.gus).update(
        created_at=timezone.now() - timedelta(minutes=11)
    )
    hold("gus", "Is Pia Private here?")
    hold("gus", "Is the Chamber of Mocks here?")
    hold("greta")  # another seat's holds count for that seat alone
    assert not alerts()  # the first hold is older than ten minutes
    cast.room.premoderation = True
    cast.room.save(update_fields=["premoderation"])
    hold("gus", "A question about the coast.")  # held, but not for a name
    assert not alerts()
    minutes_save(actor_seat_id=cast.rita.pk, summaries={item_id(cast): "Draft."})
    minutes_review_open(actor_seat_id=cast.rita.pk, version=1)
    before = RoomEvent.objects.filter(room=cast.room).count()
    assert minutes_comment(seat_id=cast.gus.pk, version=1, body="Is Ada Academic here?") is None
    assert RoomEvent.objects.filter(room=cast.room).count() == before + 1
    [alert] = alerts()
    held = RoomEvent.objects.filter(room=cast.room).order_by("-seq").first()
    assert held.kind == "text.held" and held.participants is None
    assert not RoomEvent.objects.filter(room=cast.room, kind="seat.alert").exists()
    assert alert["seat"] == cast.gus.public_id
    assert (alert["alert"], alert["count"], alert["minutes"]) == ("name_holds", 3, 10)
    validate_payload("text.held", MODERATORS, held.moderators)
    assert "Gustavo" not in str(alert)
    # Nothing a participant may read carries the cause or the names guessed.
    for event in RoomEvent.objects.filter(room=cast.room):
        assert "alert" not in json.dumps(event.participants) and "Cora" not in json.dumps(
            event.participants
        )
    for entry in AuditEntry.objects.filter(room_id=cast.room.pk):
        assert "Cora" not in json.dumps(
            entry.data
        ) + entry.reason and "name_holds" not in json.dumps(entry.data)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_delegate_who_raises_a_name_hold_alert_gets_the_same_frames_as_for_any_hold(
    cast, sockets
):
    await database_sync_to_async(consent_delegates)(cast.room)
    gus, _, _ = await sockets(cast.gus.user)
    await gus.recv_type("welcome")

    async def frames_of(body: str) -> list[dict]:
        await gus.send(post(body))
        got, quiet_since = [], asyncio.get_running_loop().time()
        # Everything until the socket has been silent for half a second, presence aside (read
        # off its queue: a receive that times out would stop the consumer).
        while asyncio.get_running_loop().time() - quiet_since < 0.5:
            if gus.comm.output_queue.empty():
                await asyncio.sleep(0.02)
                continue
            frame = json.loads(gus.comm.output_queue.get_nowait()["text"])
            quiet_since = asyncio.get_running_loop().time()
            if frame["type"] != "presence":
                got.append({k: v for k, v in frame.items() if k not in ("seq", "client_id")})
        return sorted(got, key=json.dumps)

    first = await frames_of("Is Cora Civil here?")
    await frames_of("Is Pia Private here?")
    third = await frames_of("Is Ada Academic here?")  # the third name hold in ten minutes
    assert third == first
    assert await database_sync_to_async(
        lambda: any(
            "alert" in (e.moderators or {}) for e in RoomEvent.objects.filter(room=cast.room)
        )
    )()


@pytest.mark.django_db
def test_a_comment_naming_a_participant_is_held_and_reaches_the_rapporteur_not_refused(cast):
    minutes_save(actor_seat_id=cast.rita.pk, summaries={item_id(cast): "The room agreed."})
    minutes_review_open(actor_seat_id=cast.rita.pk, version=1)
    url = f"/rooms/{cast.room.slug}/minutes/"
    body = "Gustavo Gobierno's point on monthly data is missing."
    answer = client_for(cast.cora).post(
        url, {"action": "comment", "version": "1", "body": body}, follow=True
    )
    assert answer.status_code == 200
    page = answer.content.decode()
    assert "waits for the rapporteur and the chair" in page and "names_participant" not in page
    assert not MinutesComment.objects.exists()
    for reader in (cast.cora, cast.gus, cast.mona):
        assert "monthly data is missing" not in client_for(reader).get(url).content.decode()
    event = RoomEvent.objects.filter(room=cast.room).order_by("-seq").first()
    assert (event.kind, event.participants) == ("text.held", None)

    # The rapporteur (and the chair) find it on the minutes page, the names marked, and a
    # redaction that starts with them taken out.
    for reader in (cast.rita, cast.chloe):
        page = client_for(reader).get(url).content.decode()
        assert "<mark>Gustavo Gobierno</mark>&#x27;s point on monthly data is missing." in page
        assert "[…]&#x27;s point on monthly data is missing.</textarea>" in page
    held = HeldText.objects.get()
    refused = client_for(cast.rita).post(
        url, {"action": "publish_held", "held": held.public_id, "body": body}
    )
    assert refused.status_code == 400 and "names_participant" in refused.content.decode()
    client_for(cast.rita).post(
        url,
        {
            "action": "publish_held",
            "held": held.public_id,
            "body": "A delegate's point on monthly data is missing.",
        },
    )
    [comment] = MinutesComment.objects.all()
    assert comment.seat_id == cast.cora.pk and comment.attribution["sector"] == "civil-society"
    page = client_for(cast.gus).get(url).content.decode()
    assert "<p>A delegate's point on monthly data is missing.</p>" in page and "Gustavo" not in page
    held.refresh_from_db()
    assert (held.status, held.decided_by_id, held.comment_id) == (
        "published",
        cast.rita.pk,
        comment.pk,
    )
    kinds = list(
        RoomEvent.objects.filter(room=cast.room).order_by("-seq").values_list("kind", flat=True)[:2]
    )
    assert kinds == ["text.published", "minutes.commented"]
    [entry] = entries(cast.room, "moderate_notes")
    assert (entry.actor_public_id, entry.target, entry.data["edited"]) == (
        cast.rita.public_id,
        held.public_id,
        True,
    )


@pytest.mark.django_db
def test_declining_a_held_note_leaves_it_unseen_and_delegates_may_not_act_on_holds(cast):
    minutes_save(
        actor_seat_id=cast.rita.pk,
        summaries={item_id(cast): "Draft."},
        note="After Cora Civil's remarks",
    )
    held = HeldText.objects.get(kind="version_note")
    url = f"/rooms/{cast.room.slug}/minutes/"
    for persona in ("gus", "mona", "oscar"):
        response = client_for(cast.seats[persona]).post(
            url, {"action": "decline_held", "held": held.public_id, "reason": REASON}
        )
        assert response.status_code == 403, persona
    assert "Cora Civil" not in client_for(cast.gus).get(url).content.decode()
    with pytest.raises(ServiceError) as no_reason:
        held_text_decline(actor_seat_id=cast.chloe.pk, held_id=held.public_id, reason="")
    assert no_reason.value.code == "reason_required"
    held_text_decline(actor_seat_id=cast.chloe.pk, held_id=held.public_id, reason=REASON)
    with pytest.raises(ServiceError) as again:
        held_text_publish(
            actor_seat_id=cast.chloe.pk, held_id=held.public_id, body="After the remarks"
        )
    assert again.value.code == "invalid_state"
    assert MinutesVersion.objects.get().note == ""


@pytest.mark.django_db
def test_a_published_version_note_shows_with_its_version(cast):
    minutes_save(
        actor_seat_id=cast.rita.pk,
        summaries={item_id(cast): "Draft."},
        note="Added Cora Civil's point",
    )
    held = HeldText.objects.get()
    held_text_publish(
        actor_seat_id=cast.chloe.pk, held_id=held.public_id, body="Added a delegate's point"
    )
    assert MinutesVersion.objects.get().note == "Added a delegate's point"


# -- export refusals quote only to those who fix them -------------------------------------------


@pytest.mark.django_db
def test_an_export_refusal_quotes_the_match_only_to_those_who_may_read_the_draft(cast):
    minutes_save(
        actor_seat_id=cast.rita.pk,
        summaries={item_id(cast): "The Riverside Institute offered data."},
    )
    minutes_adopt(actor_seat_id=cast.chloe.pk, version=1)
    org = organization_get_or_create(
        name="Riverside Institute", sector=Sector.objects.get(slug="academia")
    )
    seat_upsert(
        room=cast.room,
        user=user_upsert(email="rio@example.org", name="Rio Rivers"),
        role="delegate",
        sector=org.sector,
        organization=org,
    )
    slug = cast.room.slug
    for persona in ("gus", "oscar"):
        for path in (
            f"/rooms/{slug}/minutes.md",
            f"/rooms/{slug}/minutes/",
            f"/rooms/{slug}/outcomes/",
        ):
            response = client_for(cast.seats[persona]).get(path)
            assert response.status_code == 409, (persona, path)
            assert "Riverside" not in response.content.decode()
    for persona in ("rita", "chloe", "mona"):
        response = client_for(cast.seats[persona]).get(f"/rooms/{slug}/minutes.md?version=1")
        assert (
            response.status_code == 409
            and "The Riverside Institute offered data" in response.content.decode()
        )


# -- a statement that a match is not a participant ----------------------------------------------


@pytest.mark.django_db
def test_a_not_a_participant_statement_lets_the_minutes_be_adopted_exported_and_withdrawn(cast):
    seat_upsert(
        room=cast.room,
        user=user_upsert(email="dana@example.org", name="Dana Harbour"),
        role="delegate",
        sector=Sector.objects.get(slug="academia"),
        organization=None,
    )
    consent_delegates(cast.room)
    held = intervention_post(
        seat_id=cast.gus.pk, client_id=uuid.uuid4(), body="The harbour flooded the road."
    )
    intervention_approve(
        actor_seat_id=cast.mona.pk, intervention_id=held.intervention_id, not_a_participant=VOUCH
    )
    version = minutes_save(actor_seat_id=cast.rita.pk)
    minutes_adopt(
        actor_seat_id=cast.chloe.pk, version=version.number
    )  # not refused by its own statement
    slug = cast.room.slug
    for persona in ("gus", "rita"):
        for fmt in ("md", "json", "html", "akn.xml"):
            response = client_for(cast.seats[persona]).get(f"/rooms/{slug}/minutes.{fmt}")
            assert response.status_code == 200, (persona, fmt, response.content[:300])
            assert "harbour flooded" in response.content.decode()
    # The statement covers the words it was made for, not the person: a full name still refuses.
    [statement] = NameStatement.objects.filter(room=cast.room)
    assert (statement.words, statement.withdrawn_at) == ("harbour", None)

    # Withdrawn (audited), the words are a match again: the exports say what to do, to those
    # who fix them, and tell others only that the minutes wait.
    with pytest.raises(ServiceError) as refused:
        name_statement_withdraw(
            actor_seat_id=cast.gus.pk, statement_id=statement.public_id, reason=REASON
        )
    assert refused.value.code == "forbidden"
    name_statement_withdraw(
        actor_seat_id=cast.chloe.pk, statement_id=statement.public_id, reason=REASON
    )
    [entry] = entries(cast.room, "not_a_participant_withdrawn")
    assert (entry.target, entry.reason) == (
        statement.public_id,
        REASON,
    ) and "arbour" not in json.dumps(entry.data)
    response = client_for(cast.rita).get(f"/rooms/{slug}/minutes.md")
    assert response.status_code == 409
    text = response.content.decode()
    assert "harbour flooded" in text and "not a participant" in text  # where, and the way out
    assert client_for(cast.gus).get(f"/rooms/{slug}/minutes.md").status_code == 409
    with pytest.raises(ServiceError) as again:
        name_statement_withdraw(
            actor_seat_id=cast.chloe.pk, statement_id=statement.public_id, reason=REASON
        )
    assert again.value.code == "invalid_state"

    # Stated again (the minutes page's form, for the words the refusal quoted): exports go out.
    response = client_for(cast.rita).post(
        f"/rooms/{slug}/minutes/",
        {
            "action": "state_not_a_participant",
            "words": "harbour",
            "reason": VOUCH,
        },
    )
    assert response.status_code == 302, response.content[:500]
    assert client_for(cast.gus).get(f"/rooms/{slug}/minutes.md").status_code == 200
    # Words that are a seat holder's whole name are not "not a participant".
    response = client_for(cast.rita).post(
        f"/rooms/{slug}/minutes/",
        {
            "action": "state_not_a_participant",
            "words": "Dana Harbour",
            "reason": VOUCH,
        },
    )
    assert response.status_code == 400


# -- observers accept the rule before the stream ---------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize("after", [None, 0, 1])
async def test_observers_must_consent_before_they_receive_the_stream(cast, sockets, after):
    await database_sync_to_async(consent_delegates)(cast.room)
    gus, _, _ = await sockets(cast.gus.user)
    await gus.recv_type("welcome")
    await gus.send(post("The early alerts worked."))
    await gus.recv_type("ack")
    oscar, connected, _ = await sockets(cast.oscar.user, after=after)
    assert connected
    welcome = await oscar.recv_type("welcome")
    assert (welcome["you"]["role"], welcome["you"]["consented"]) == ("observer", False)
    await gus.send(post("The late alerts did not."))
    await gus.recv_type("ack")
    # Nothing: no event, no replay, no presence.
    assert await oscar.comm.receive_nothing(timeout=0.5)
    await oscar.send({"type": "resume", "after": 0})
    refused = await oscar.recv()
    assert refused["code"] == "consent_required"
    assert await oscar.comm.receive_nothing(timeout=0.3)

    await oscar.send({"type": "consent", "rule": "chatham-house"})
    assert (await oscar.recv_type("consented"))["rule"] == "chatham-house"
    # Then the stream from where it would have started: the replay after `after` (or, with
    # none, from the welcome's last_seq), then live, every seq once, in order.
    start = welcome["last_seq"] if after is None else after
    replayed = await oscar.events(2 - start + 1)  # two posts and the consent (a redacted stub)
    assert [e["seq"] for e in replayed] == list(range(start + 1, 4))
    assert replayed[-1] == {
        "type": "event",
        "seq": 3,
        "kind": "redacted",
        "data": {},
    }  # seat.consented
    await gus.send(post("Now live."))
    await gus.recv_type("ack")
    [live] = await oscar.events(1)
    assert live["seq"] == 4 and "Now live." in live["data"]["body_html"]
    assert await database_sync_to_async(
        lambda: Seat.objects.get(pk=cast.oscar.pk).consented_at is not None
    )()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_an_observer_who_has_consented_and_observers_of_an_open_room_get_the_stream_at_once(
    sockets,
):
    for slug, rule, attribution, consented in (
        ("open-room", "open", "named", False),
        ("closed-room", "chatham-house", "sector", True),
    ):
        cast = await database_sync_to_async(build_cast)(
            slug, rule=rule, attribution=attribution, status="live"
        )
        await database_sync_to_async(consent_delegates)(cast.room)
        if consented:
            await database_sync_to_async(Seat.objects.filter(pk=cast.oscar.pk).update)(
                consented_at=timezone.now()
            )
        oscar, _, _ = await sockets(cast.oscar.user, slug, after=0)
        await oscar.recv_type("welcome")
        gus, _, _ = await sockets(cast.gus.user, slug)
        await gus.recv_type("welcome")
        await gus.send(post("Open to every reader."))
        await gus.recv_type("ack")
        [event] = await oscar.events(1)
        assert event["kind"] == "intervention.posted"


@pytest.mark.django_db
def test_the_room_page_asks_an_observer_to_accept_the_rule(cast):
    page = client_for(cast.oscar).get(f"/rooms/{cast.room.slug}/").content.decode()
    assert (
        'id="consent-button"' in page
        and "appear once you have accepted the Chatham House Rule" in page
    )
    Seat.objects.filter(pk=cast.oscar.pk).update(consented_at=timezone.now())
    page = client_for(cast.oscar).get(f"/rooms/{cast.room.slug}/").content.decode()
    assert "No interventions yet." in page


@pytest.mark.django_db
def test_erasing_an_identity_also_scrubs_the_held_texts_that_name_it(cast):
    from forum.models import User
    from forum.services.retention import seat_erase_identity

    minutes_save(
        actor_seat_id=cast.rita.pk,
        summaries={item_id(cast): "Draft."},
        note="After Cora Civil spoke",
    )
    minutes_review_open(actor_seat_id=cast.rita.pk, version=1)
    assert (
        minutes_comment(seat_id=cast.gus.pk, version=1, body="Cora Civil's data is missing.")
        is None
    )
    staff = User.objects.create_user(
        username="sam", email="sam@example.org", password="x", is_staff=True
    )
    seat_erase_identity(seat=cast.cora, actor=staff, reason="She asked for it.")
    texts = list(HeldText.objects.values_list("text_md", flat=True))
    assert len(texts) == 2 and not [t for t in texts if "Cora" in t], texts
