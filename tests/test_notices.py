"""Notices by e-mail: a review opened goes to the delegates, adopted minutes to every seat
holder, a submission's steps and follow-up updates to those who asked for outcomes; a holder
who chose none gets none; no notice names anyone; the holder's language is the one they use."""

from __future__ import annotations

import pytest
from django.test import Client

from forum.models import Committee, FollowUp, OutboxMessage, Seat, User
from forum.services.mail import send_due
from forum.services.minutes import minutes_adopt, minutes_review_open, minutes_save
from forum.services.submissions import follow_up_update, submission_advance, submission_create
from tests.support.minutes import run_session
from tests.support.personas import PERSONAS, sign_in
from tests.support.smtp import smtp_server

PEOPLE = {p for p, (*_, role) in PERSONAS.items()}
DELEGATES = {p for p, (*_, role) in PERSONAS.items() if role == "delegate"}


@pytest.fixture
def sam(db) -> User:
    return User.objects.create_user(
        username="sam", email="sam@example.org", password="x", is_staff=True
    )


def recipients(kind: str) -> set[str]:
    return {
        m.recipient.split("@")[0] for m in OutboxMessage.objects.filter(kind=kind, status="queued")
    }


def test_review_goes_to_delegates_and_adoption_to_every_seat_holder(cast, settings):
    Seat.objects.filter(pk=cast.cyrus.pk).update(notices="none")
    Seat.objects.filter(pk=cast.oscar.pk).update(notices="outcomes")
    item = cast.room.agenda_items.get().public_id
    minutes_save(actor_seat_id=cast.rita.pk, summaries={item: "Agreed on monthly data."})
    minutes_review_open(actor_seat_id=cast.rita.pk, version=1, until="2027-01-10T12:00")
    assert recipients("review_opened") == DELEGATES - {"cyrus"}
    review = OutboxMessage.objects.filter(kind="review_opened").first()
    assert "2027-01-10 12:00" in review.text and "/rooms/test-room/minutes/" in review.text

    minutes_adopt(actor_seat_id=cast.chloe.pk, version=1)
    assert recipients("minutes_adopted") == PEOPLE - {"cyrus"}

    with smtp_server(settings) as inbox:
        send_due()
    assert len(inbox.received) == OutboxMessage.objects.count()
    for message in inbox.received:
        text = message.as_string()
        own = message["To"].split("@")[0]
        for persona, (name, org, *_) in PERSONAS.items():
            if persona != own:
                assert name not in text and (not org or org not in text)


def test_outcome_notices_go_only_to_those_who_asked(cast, sam):
    run_session(cast)
    item = cast.room.agenda_items.get().public_id
    minutes_save(actor_seat_id=cast.rita.pk, summaries={item: "Agreed on monthly data."})
    minutes_adopt(actor_seat_id=cast.chloe.pk, version=1)
    committee = Committee.objects.create(
        name="Forum Regional Security Committee", rigo="Pacific Islands Forum"
    )
    submission = submission_create(
        user=sam,
        room_slug=cast.room.slug,
        committee_id=committee.public_id,
        recommendation_ids=list(cast.room.recommendations.values_list("public_id", flat=True)),
    )
    Seat.objects.filter(pk__in=[cast.ada.pk, cast.gus.pk]).update(notices="outcomes")
    submission_advance(
        user=sam, submission_id=submission.public_id, status="submitted", note="Cora Civil sent it."
    )
    assert recipients("submission_step") == {"ada", "gus"}
    step = OutboxMessage.objects.get(kind="submission_step", recipient="ada@example.org")
    assert "Cora" not in step.text  # a note is never carried, named or not

    follow_up = FollowUp.objects.get()
    follow_up_update(user=sam, follow_up_id=follow_up.public_id, note="Mandate given.")
    assert recipients("follow_up") == {"ada", "gus"}


def test_a_seat_holder_chooses_notices_on_the_room_page_and_their_language_is_kept(cast):
    client = sign_in(Client(), cast.gus)
    page = client.get("/rooms/test-room/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert 'name="notices"' in page and 'value="round_table" checked' in page
    cast.gus.refresh_from_db()
    assert cast.gus.language == "fr"

    response = client.post("/rooms/test-room/notices/", {"notices": "none"})
    assert response.status_code == 302
    cast.gus.refresh_from_db()
    assert cast.gus.notices == "none"
    bad = client.post("/rooms/test-room/notices/", {"notices": "everything"})
    assert bad.status_code == 400 and b"invalid_notices" in bad.content
    cast.gus.refresh_from_db()
    assert cast.gus.notices == "none"


def test_joining_with_a_link_records_the_language_and_that_the_link_was_opened(cast):
    browser = Client()
    assert cast.cora.link_opened_at is None
    browser.get(f"/join/{cast.tokens['cora']}/", HTTP_ACCEPT_LANGUAGE="pt")
    cast.cora.refresh_from_db()
    assert cast.cora.link_opened_at is not None
    browser.post(f"/join/{cast.tokens['cora']}/", HTTP_ACCEPT_LANGUAGE="pt")
    cast.cora.refresh_from_db()
    assert cast.cora.language == "pt"
