"""Written contributions: the window's deadline and word limit, the leak check of the text and
of a real PDF's and DOCX's attachment (held with the place named), the moderators' decisions
(audited), and what the room page shows each reader."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from forum.errors import ServiceError
from forum.models import Contribution, ContributionWindow, RoomEvent
from forum.services.contributions import (
    contribution_decline,
    contribution_publish,
    contribution_request_changes,
    contribution_resubmit,
    contribution_submit,
)
from moderation.models import AuditEntry
from tests.support.contributions import (
    PAPER,
    SUMMARY,
    consent,
    docx_bytes,
    first_item,
    open_window,
    pdf_bytes,
    published_contribution,
)
from tests.support.personas import build_cast, client_for
from tests.support.state import snapshot


@pytest.fixture
def scheduled(db):
    """A Chatham House round table (sector attribution) that has not opened yet."""
    cast = build_cast(status="scheduled")
    consent(cast, "cora", "gus", "cyrus")
    return cast


def send(cast, persona="cora", **kwargs):
    return contribution_submit(
        seat_id=cast.seats[persona].pk,
        agenda_item=kwargs.pop("item", None) or first_item(cast),
        body=kwargs.pop("body", PAPER),
        summary=kwargs.pop("summary", SUMMARY),
        **kwargs,
    )


def state(cast) -> dict:
    return {
        **snapshot(cast.room),
        "contributions": list(Contribution.objects.filter(room=cast.room).values()),
    }


def test_a_delegate_sends_a_contribution_before_the_session_and_it_waits(scheduled):
    open_window(scheduled)
    sent = send(scheduled)
    assert sent.status == Contribution.Status.HELD
    assert sent.attribution["kind"] == "pseudonym"  # "Civil society · Delegate N"
    assert sent.words == 22
    event = RoomEvent.objects.filter(room=scheduled.room).order_by("-seq").first()
    assert event.kind == "contribution.submitted"
    assert event.participants is None  # delegates get a redacted stub
    assert event.moderators["id"] == sent.public_id and event.moderators["mentions"] == 0


def test_a_contribution_after_the_deadline_is_refused_naming_the_deadline(scheduled):
    window = open_window(scheduled)
    ContributionWindow.objects.filter(pk=window.pk).update(
        closes_at=timezone.now() - dt.timedelta(minutes=1)
    )
    before = state(scheduled)
    with pytest.raises(ServiceError) as refused:
        send(scheduled)
    assert refused.value.code == "deadline_passed"
    assert "The deadline for written contributions to this agenda item was" in (
        refused.value.message
    )
    assert "(UTC)" in refused.value.message
    assert state(scheduled) == before


def test_an_item_without_a_window_and_a_window_not_yet_open_are_refused(scheduled):
    with pytest.raises(ServiceError) as refused:
        send(scheduled)
    assert refused.value.code == "contributions_closed"
    from forum.services.contribution_windows import contribution_window_set
    from tests.support.contributions import secretariat

    contribution_window_set(
        room=scheduled.room,
        actor=secretariat(),
        agenda_item=None,
        opens_at=timezone.now() + dt.timedelta(days=1),
        closes_at=timezone.now() + dt.timedelta(days=2),
    )
    before = state(scheduled)
    with pytest.raises(ServiceError) as refused:
        send(scheduled)
    assert refused.value.code == "contributions_not_open"
    assert "open on" in refused.value.message
    assert state(scheduled) == before


def test_a_contribution_over_the_word_limit_is_refused_with_its_count(scheduled):
    open_window(scheduled, word_limit=10)
    before = state(scheduled)
    with pytest.raises(ServiceError) as refused:
        send(scheduled)
    assert refused.value.code == "too_many_words"
    assert refused.value.message == (
        "The contribution is 22 words; the limit for this agenda item is 10."
    )
    assert refused.value.extra["field"] == "body"
    assert state(scheduled) == before


def test_the_default_word_limit_is_two_thousand_and_an_item_window_overrides(scheduled):
    assert open_window(scheduled).word_limit == 2000
    item = first_item(scheduled)
    open_window(scheduled, item=item, word_limit=5)
    with pytest.raises(ServiceError) as refused:
        send(scheduled)
    assert "the limit for this agenda item is 5" in refused.value.message
    with pytest.raises(ServiceError) as refused:
        send(scheduled, body="word " * 2001, item=scheduled.room.agenda_items.last().public_id)
    assert refused.value.code == "too_many_words" or refused.value.code == "contributions_closed"


def test_a_refusal_is_translated(scheduled):
    from django.utils import translation

    open_window(scheduled, word_limit=10)
    with translation.override("es"), pytest.raises(ServiceError) as refused:
        send(scheduled)
    assert "22" in refused.value.message and "10" in refused.value.message
    assert "The contribution is" not in refused.value.message


def test_an_attachment_that_is_not_pdf_or_docx_is_refused(scheduled):
    open_window(scheduled)
    with pytest.raises(ServiceError) as refused:
        send(scheduled, attachment=b"GIF89a not a paper")
    assert refused.value.code == "invalid_attachment"
    assert "PDF or a DOCX" in refused.value.message


def test_a_pdf_naming_a_participant_on_page_two_is_held_with_the_page(scheduled):
    open_window(scheduled)
    paper = pdf_bytes(["Early warning in the districts.", "As Greta Government told us."])
    sent = send(scheduled, attachment=paper)
    assert sent.attachment_kind == "pdf" and sent.attachment_bytes == len(paper)
    [mention] = sent.mentions
    assert (mention["where"], mention["place"], mention["number"]) == ("attachment", "page", 2)
    assert mention["text"] == "Greta Government"
    # The moderators' page names the place.
    page = client_for(scheduled.mona).get(f"/rooms/{scheduled.room.slug}/")
    assert "attachment, page 2" in page.content.decode()
    # Publishing it as it is refuses, quoting the place; without the attachment it goes out.
    with pytest.raises(ServiceError) as refused:
        contribution_publish(actor_seat_id=scheduled.mona.pk, contribution_id=sent.public_id)
    assert refused.value.code == "names_participant"
    assert "attachment, page 2" in refused.value.message
    done = contribution_publish(
        actor_seat_id=scheduled.mona.pk, contribution_id=sent.public_id, without_attachment=True
    )
    assert done.status == Contribution.Status.PUBLISHED and not done.has_attachment
    response = client_for(scheduled.gus).get(
        f"/rooms/{scheduled.room.slug}/contributions/{sent.public_id}/attachment"
    )
    assert response.status_code == 404  # withheld: nobody but its author and moderators


def test_a_pdf_whose_author_field_names_a_participant_is_held(scheduled):
    open_window(scheduled)
    sent = send(scheduled, attachment=pdf_bytes(["A clean paper."], author="Cora Civil"))
    [mention] = sent.mentions
    assert mention["place"] == "properties"


def test_a_docx_whose_comment_author_is_a_participant_is_held(scheduled):
    """A reviewer's comment carries its author's name: no reader of the text sees it, but
    every delegate who downloads the file would."""
    import io

    import docx

    document = docx.Document()
    paragraph = document.add_paragraph("A clean paper on early warning.")
    document.add_comment(paragraph.runs, text="Fine by me.", author="Cora Civil", initials="CC")
    buffer = io.BytesIO()
    document.save(buffer)
    open_window(scheduled)
    sent = send(scheduled, attachment=buffer.getvalue())
    [mention] = sent.mentions
    assert (mention["place"], mention["text"]) == ("hidden", "Cora Civil")
    page = client_for(scheduled.mona).get(f"/rooms/{scheduled.room.slug}/")
    assert "attachment, comments, notes, tracked changes or metadata" in page.content.decode()


def test_a_pdf_whose_annotation_author_is_a_participant_is_held(scheduled):
    import io

    from pypdf import PdfWriter
    from pypdf.generic import (
        ArrayObject,
        DictionaryObject,
        FloatObject,
        NameObject,
        TextStringObject,
    )

    writer = PdfWriter(clone_from=io.BytesIO(pdf_bytes(["A clean paper."])))
    note = {"/Type": NameObject("/Annot"), "/Subtype": NameObject("/Text")}
    note["/Rect"] = ArrayObject([FloatObject(v) for v in (10, 10, 30, 30)])
    note["/T"] = TextStringObject("Greta Government")
    note["/Contents"] = TextStringObject("Check the figures.")
    writer.add_annotation(
        page_number=0, annotation=DictionaryObject({NameObject(k): v for k, v in note.items()})
    )
    buffer = io.BytesIO()
    writer.write(buffer)
    open_window(scheduled)
    sent = send(scheduled, attachment=buffer.getvalue())
    [mention] = sent.mentions
    assert (mention["place"], mention["text"]) == ("hidden", "Greta Government")


def test_a_docx_naming_an_organization_is_held_with_the_paragraph(scheduled):
    open_window(scheduled)
    paper = docx_bytes(["Our proposal.", "", "The Chamber of Mocks agreed with it."])
    sent = send(scheduled, attachment=paper)
    assert sent.attachment_kind == "docx"
    [mention] = sent.mentions
    assert (mention["place"], mention["number"]) == ("paragraph", 3)
    assert mention["text"] == "Chamber of Mocks"
    page = client_for(scheduled.chloe).get(f"/rooms/{scheduled.room.slug}/")
    assert "attachment, paragraph 3" in page.content.decode()


def test_the_author_is_told_only_that_it_waits_whatever_held_it(scheduled):
    open_window(scheduled)
    client = client_for(scheduled.cora)
    for body in (PAPER, "Greta Government said so."):
        response = client.post(
            f"/rooms/{scheduled.room.slug}/contributions/",
            {"agenda_item": first_item(scheduled), "body": body},
            follow=True,
        )
        html = response.content.decode()
        assert "Your contribution waits for the moderators" in html
        assert "Greta" not in html.replace("Greta Government said so.", "")


def test_a_refused_form_shows_the_error_and_keeps_what_was_typed(scheduled):
    open_window(scheduled, word_limit=3)
    response = client_for(scheduled.cora).post(
        f"/rooms/{scheduled.room.slug}/contributions/",
        {"agenda_item": first_item(scheduled), "body": "four words right here"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "The contribution is 4 words; the limit for this agenda item is 3." in html
    assert "four words right here</textarea>" in html
    assert not Contribution.objects.exists()


def test_asked_for_changes_the_author_edits_and_sends_it_again(scheduled):
    open_window(scheduled)
    sent = send(scheduled, body="As Greta Government said, alerts are late.")
    contribution_request_changes(
        actor_seat_id=scheduled.mona.pk,
        contribution_id=sent.public_id,
        note="Please remove the name of the person you quote.",
    )
    # The note may not name anyone: it would tell the author that the name holds a seat.
    with pytest.raises(ServiceError) as refused:
        contribution_decline(
            actor_seat_id=scheduled.mona.pk,
            contribution_id=sent.public_id,
            reason="Greta Government is named.",
        )
    assert refused.value.code == "invalid_state"
    page = client_for(scheduled.cora).get(
        f"/rooms/{scheduled.room.slug}/contributions/{sent.public_id}/"
    )
    assert "Please remove the name of the person you quote." in page.content.decode()
    again = contribution_resubmit(
        seat_id=scheduled.cora.pk, contribution_id=sent.public_id, body="Alerts are late."
    )
    assert (again.status, again.revision, again.mentions) == ("held", 2, [])
    done = contribution_publish(actor_seat_id=scheduled.mona.pk, contribution_id=sent.public_id)
    assert done.status == "published"
    steps = [
        (e.action, e.data["step"], e.actor_role)
        for e in AuditEntry.objects.filter(room_id=scheduled.room.pk).order_by("seq")
        if e.action == "moderate_contributions"
    ]
    assert steps == [
        ("moderate_contributions", "request_changes", "moderator"),
        ("moderate_contributions", "publish", "moderator"),
    ]


def test_a_note_that_names_a_participant_is_refused(scheduled):
    open_window(scheduled)
    sent = send(scheduled)
    with pytest.raises(ServiceError) as refused:
        contribution_request_changes(
            actor_seat_id=scheduled.mona.pk,
            contribution_id=sent.public_id,
            note="Do not quote Greta Government.",
        )
    assert refused.value.code == "names_participant"
    assert Contribution.objects.get().status == "held"


def test_a_declined_contribution_is_never_shown_and_the_decline_is_audited(scheduled):
    open_window(scheduled)
    sent = send(scheduled)
    contribution_decline(
        actor_seat_id=scheduled.chloe.pk, contribution_id=sent.public_id, reason="Off the agenda."
    )
    entry = AuditEntry.objects.filter(room_id=scheduled.room.pk).order_by("-seq").first()
    assert (entry.action, entry.data["step"], entry.target) == (
        "moderate_contributions",
        "decline",
        sent.public_id,
    )
    html = client_for(scheduled.gus).get(f"/rooms/{scheduled.room.slug}/").content.decode()
    assert "district councils" not in html


def test_only_delegates_send_and_only_moderators_decide(scheduled):
    open_window(scheduled)
    consent(scheduled, "rita")
    with pytest.raises(ServiceError) as refused:
        send(scheduled, "rita")
    assert refused.value.code == "forbidden"
    sent = send(scheduled)
    with pytest.raises(ServiceError) as refused:
        contribution_publish(actor_seat_id=scheduled.gus.pk, contribution_id=sent.public_id)
    assert refused.value.code == "forbidden"


def test_a_contribution_needs_the_rule_accepted_first(scheduled):
    open_window(scheduled)
    with pytest.raises(ServiceError) as refused:
        send(scheduled, "greta")
    assert refused.value.code == "consent_required"


def test_published_contributions_appear_on_the_room_page_by_their_label(scheduled):
    open_window(scheduled)
    paper = pdf_bytes(["A clean paper on alerts."])
    published = published_contribution(scheduled, "cora", attachment=paper)
    html = client_for(scheduled.gus).get(f"/rooms/{scheduled.room.slug}/").content.decode()
    assert "Contribution 1.1" in html
    assert "district councils" in html and SUMMARY in html
    assert "Civil society · Delegate" in html
    assert "Cora" not in html and "Peace Network" not in html
    response = client_for(scheduled.gus).get(
        f"/rooms/{scheduled.room.slug}/contributions/{published.public_id}/attachment"
    )
    assert response.status_code == 200 and response.content == paper
    assert published.public_id in response["Content-Disposition"]
    event = RoomEvent.objects.filter(room=scheduled.room).order_by("-seq").first()
    assert event.kind == "contribution.published"
    assert "author" not in event.participants and event.moderators["author"]


def test_the_secretariat_sets_a_window_in_the_round_tables_time_zone(scheduled):
    from django.test import Client

    from tests.support.contributions import secretariat

    staff = Client()
    staff.force_login(secretariat())
    url = f"/secretariat/rooms/{scheduled.room.slug}/contributions/"
    assert staff.get(url).status_code == 200
    item = first_item(scheduled)
    response = staff.post(
        url, {"agenda_item": item, "closes_at": "2031-03-01T17:00", "word_limit": "1500"}
    )
    assert response.status_code == 302
    window = ContributionWindow.objects.get(agenda_item__public_id=item)
    assert (window.closes_at.isoformat(), window.word_limit) == ("2031-03-01T17:00:00+00:00", 1500)
    refused = staff.post(url, {"agenda_item": "", "closes_at": "soon", "word_limit": "0"})
    assert refused.status_code == 400
    assert "is not a date and time" in refused.content.decode()
    assert ContributionWindow.objects.count() == 1
    assert (
        client_for(scheduled.chloe).post(url, {"closes_at": "2031-03-01T17:00"}).status_code == 403
    )
    entry = AuditEntry.objects.filter(room_id=scheduled.room.pk).order_by("-seq").first()
    assert entry.action == "set_contribution_window" and entry.target == item


def test_erasing_a_person_scrubs_the_contributions_that_name_them(scheduled):
    from forum.services.retention import seat_erase_identity
    from tests.support.contributions import secretariat

    open_window(scheduled)
    sent = send(scheduled, body="As Greta Government said, alerts are late.")
    assert sent.mentions
    seat_erase_identity(seat=scheduled.greta, actor=secretariat(), reason="Her request.")
    row = Contribution.objects.get(pk=sent.pk)
    assert "Greta" not in row.body_md + row.body_html + str(row.mentions)
    assert "[…]" in row.body_md


def test_a_contributions_markup_is_sanitised_on_the_room_page(scheduled):
    open_window(scheduled)
    body = '<script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror="alert(3)">'
    published_contribution(scheduled, "cora", body=body, summary="<b onclick=alert(4)>s</b>")
    html = client_for(scheduled.gus).get(f"/rooms/{scheduled.room.slug}/").content.decode()
    assert "<script>alert(1)" not in html
    # What is left of them is text, escaped: no element, no attribute, no link.
    assert 'href="javascript' not in html and "<img" not in html and "<b onclick" not in html
    assert "&lt;script&gt;alert(1)" in html


def test_an_agenda_item_with_a_contribution_is_not_removed(scheduled):
    from forum.services.agenda import agenda_add, agenda_remove
    from tests.support.contributions import secretariat

    agenda_add(actor=secretariat(), room=scheduled.room, title="Funding")
    open_window(scheduled)
    send(scheduled)
    with pytest.raises(ServiceError) as refused:
        agenda_remove(item_id=first_item(scheduled), actor=secretariat(), room=scheduled.room)
    assert refused.value.code == "agenda_item_used"
