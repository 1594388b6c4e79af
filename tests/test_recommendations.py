"""Recommendations: the rapporteur (or the chair) drafts, edits and withdraws them during the
session; each has an audience, an agenda item and, where it came from one, a closed check."""

from __future__ import annotations

import pytest

from forum.errors import ServiceError
from forum.models import ConsensusCheck, Recommendation, RoomEvent, RoundTable
from forum.services.consensus import ballot_cast, check_close, check_open
from forum.services.recommendations import recommendation_delete, recommendation_save
from forum.services.rooms import room_set_current_item
from moderation.audit import audit_verify
from moderation.models import AuditEntry
from realtime.events import MODERATORS, PARTICIPANTS, validate_payload
from tests.support.personas import build_cast
from tests.support.state import snapshot

pytestmark = pytest.mark.django_db

TEXT = "RIGOs should **publish** early-warning data for every district each month."
HTML = (
    "<p>RIGOs should <strong>publish</strong> early-warning data for every district each month.</p>"
)


def state(room: RoundTable) -> dict:
    return {
        **snapshot(room),
        "recommendations": list(Recommendation.objects.filter(room=room).order_by("pk").values()),
        "checks": list(ConsensusCheck.objects.filter(room=room).order_by("pk").values()),
    }


def save(cast, actor: str = "rita", **kwargs) -> Recommendation:
    kwargs.setdefault("text", TEXT)
    kwargs.setdefault("audience", Recommendation.Audience.RIGOS)
    return recommendation_save(actor_seat_id=cast.seats[actor].pk, **kwargs)


def refused(code: str, cast, call, *args, **kwargs) -> ServiceError:
    before = state(cast.room)
    with pytest.raises(ServiceError) as error:
        call(*args, **kwargs)
    assert error.value.code == code, error.value.message
    assert error.value.message
    assert state(cast.room) == before
    return error.value


def last_event(room: RoundTable) -> RoomEvent:
    return RoomEvent.objects.filter(room=room).order_by("-seq").first()


def closed_check(cast, agenda_item=None) -> str:
    if agenda_item is not None:
        room_set_current_item(room=cast.room, item=agenda_item)
    check_id = check_open(actor_seat_id=cast.chloe.pk, proposition="Publish the data monthly.")
    for persona in ("gus", "cora", "ada"):
        ballot_cast(seat_id=cast.seats[persona].pk, check_id=check_id, option="support")
    check_close(actor_seat_id=cast.chloe.pk, check_id=check_id)
    return check_id


def test_the_rapporteur_drafts_a_recommendation_under_the_current_item(cast):
    recommendation = save(cast)
    stored = Recommendation.objects.get(public_id=recommendation.public_id)
    assert (stored.room_id, stored.agenda_item_id) == (cast.room.pk, cast.room.current_item_id)
    assert (stored.text_md, stored.text_html, stored.audience) == (TEXT, HTML, "rigos")
    assert stored.consensus_check is None
    event = last_event(cast.room)
    assert event.kind == "recommendation.saved"
    validate_payload(event.kind, PARTICIPANTS, event.participants)
    validate_payload(event.kind, MODERATORS, event.moderators)
    assert event.participants == {
        "id": stored.public_id,
        "text_html": HTML,
        "text_md": TEXT,
        "audience": "rigos",
        "agenda_item": cast.room.current_item.public_id,
        "consensus_check": None,
        "consensus_outcome": None,
        "updated_at": stored.updated_at.isoformat(),
    }
    assert event.moderators == {**event.participants, "author": cast.rita.public_id, "sector": None}
    entry = AuditEntry.objects.filter(room_id=cast.room.pk).order_by("-seq").first()
    assert (entry.action, entry.actor_public_id, entry.target) == (
        "draft_recommendations",
        cast.rita.public_id,
        stored.public_id,
    )
    assert audit_verify(cast.room).ok


def test_a_recommendation_cites_the_closed_check_it_came_from_and_its_item(cast):
    second = cast.room.agenda_items.create(position=2, title="Who decides which CSOs are engaged")
    check_id = closed_check(cast, agenda_item=second)
    room_set_current_item(room=cast.room, item=cast.room.agenda_items.get(position=1))
    recommendation = save(cast, actor="chloe", consensus_check=check_id, audience="un")
    # Without an item, it goes under the check's item, not the current one.
    assert recommendation.agenda_item_id == second.pk
    assert recommendation.consensus_check.public_id == check_id
    assert last_event(cast.room).participants["consensus_check"] == check_id
    assert last_event(cast.room).participants["consensus_outcome"] == "consensus"


def test_an_edit_replaces_text_audience_and_check_and_keeps_the_item(cast):
    check_id = closed_check(cast)
    first = save(cast, consensus_check=check_id)
    edited = save(
        cast, recommendation_id=first.public_id, text="States *should* fund it.", audience="states"
    )
    assert edited.pk == first.pk and Recommendation.objects.count() == 1
    stored = Recommendation.objects.get(pk=first.pk)
    assert (stored.text_html, stored.audience, stored.consensus_check) == (
        "<p>States <em>should</em> fund it.</p>",
        "states",
        None,
    )
    assert stored.agenda_item_id == first.agenda_item_id
    assert stored.updated_at >= first.updated_at
    assert last_event(cast.room).participants["id"] == first.public_id


def test_markdown_is_sanitised(cast):
    recommendation = save(
        cast, text="<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>"
    )
    assert "<script" not in recommendation.text_html
    assert "&lt;script&gt;" in recommendation.text_html  # shown as text
    assert "href" not in recommendation.text_html
    assert "<img" not in recommendation.text_html


def test_the_rapporteur_withdraws_a_recommendation(cast):
    recommendation = save(cast)
    recommendation_delete(actor_seat_id=cast.rita.pk, recommendation_id=recommendation.public_id)
    assert not Recommendation.objects.filter(pk=recommendation.pk).exists()
    event = last_event(cast.room)
    assert event.kind == "recommendation.deleted"
    assert event.participants == {"id": recommendation.public_id}
    assert event.moderators == {
        "id": recommendation.public_id,
        "author": cast.rita.public_id,
        "sector": None,
    }
    assert audit_verify(cast.room).ok


# -- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["mona", "gus", "oscar"])
def test_only_the_rapporteur_and_the_chair_draft(cast, persona):
    error = refused("forbidden", cast, save, cast, actor=persona)
    assert error.extra == {"action": "draft_recommendations"}
    existing = save(cast)
    refused("forbidden", cast, save, cast, actor=persona, recommendation_id=existing.public_id)
    refused("forbidden", cast, recommendation_delete, actor_seat_id=cast.seats[persona].pk,
            recommendation_id=existing.public_id)  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"text": ""}, "invalid_text"),
        ({"text": " \n "}, "invalid_text"),
        ({"text": None}, "invalid_text"),
        ({"text": "x" * 10_001}, "too_large"),
        ({"text": "Cora Civil's network should lead."}, "names_participant"),
        ({"audience": "everyone"}, "invalid_audience"),
        ({"audience": None}, "invalid_audience"),
        ({"agenda_item": "nope"}, "not_found"),
        ({"consensus_check": "nope"}, "not_found"),
        ({"recommendation_id": "nope"}, "not_found"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(cast, kwargs, code):
    save(cast)  # something that must survive the refusal
    refused(code, cast, save, cast, **kwargs)


def test_an_open_check_cannot_be_cited(cast):
    check_id = check_open(actor_seat_id=cast.chloe.pk, proposition="Publish the data monthly.")
    refused("check_not_closed", cast, save, cast, consensus_check=check_id)


def test_a_check_of_another_item_cannot_be_cited_under_this_one(cast):
    check_id = closed_check(cast)
    second = cast.room.agenda_items.create(position=2, title="The role of the media")
    refused(
        "invalid_agenda_item",
        cast,
        save,
        cast,
        consensus_check=check_id,
        agenda_item=second.public_id,
    )


def test_nothing_of_another_room_can_be_reached(cast):
    other = build_cast(slug="other-room")
    elsewhere_check = closed_check(other)
    elsewhere = save(other)
    refused("not_found", cast, save, cast, consensus_check=elsewhere_check)
    refused("not_found", cast, save, cast, agenda_item=other.room.current_item.public_id)
    refused("not_found", cast, save, cast, recommendation_id=elsewhere.public_id)
    refused(
        "not_found",
        cast,
        recommendation_delete,
        actor_seat_id=cast.rita.pk,
        recommendation_id=elsewhere.public_id,
    )
    assert Recommendation.objects.filter(pk=elsewhere.pk).exists()
