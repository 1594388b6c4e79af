"""Minutes versions, review comments and adoption: every save is a version with a
diff, delegates comment during review, the chair adopts, the content hash is printed in every
export and matches the content, and a later edit is a new version that needs adopting again."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.test import Client
from docx import Document
from pypdf import PdfReader

from forum.errors import ServiceError
from forum.minutes.access import version_diff
from forum.minutes.document import content_sha256
from forum.models import HeldText, MinutesVersion, RoomEvent
from forum.services.minutes import (
    minutes_adopt,
    minutes_comment,
    minutes_review_close,
    minutes_review_open,
    minutes_save,
)
from moderation.models import AuditEntry
from tests.support.minutes import identities, run_session
from tests.support.personas import build_cast, sign_in

pytestmark = pytest.mark.django_db

FORMATS = ("md", "html", "pdf", "docx", "json", "akn.xml")
HEX64 = re.compile(r"\b[0-9a-f]{64}\b")


def client_for(seat) -> Client:
    return sign_in(Client(), seat)


def export(seat, fmt: str, version: str | int | None = None):
    query = f"?version={version}" if version is not None else ""
    return client_for(seat).get(f"/rooms/{seat.room.slug}/minutes.{fmt}{query}")


def text_of(fmt: str, body: bytes) -> str:
    if fmt == "pdf":
        return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    if fmt == "docx":
        document = Document(io.BytesIO(body))
        cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
        return "\n".join([p.text for p in document.paragraphs] + cells)
    return body.decode("utf-8")


def item_id(cast) -> str:
    return cast.room.agenda_items.get().public_id


def test_every_save_is_a_version_with_a_diff(cast):
    run_session(cast)
    first = minutes_save(
        actor_seat_id=cast.rita.pk, summaries={item_id(cast): "The room agreed on **data**."}
    )
    assert (
        first.number == 1
        and first.document["items"][0]["summary_html"]
        == "<p>The room agreed on <strong>data</strong>.</p>"
    )
    with pytest.raises(ServiceError) as unchanged:
        minutes_save(actor_seat_id=cast.rita.pk)
    assert unchanged.value.code == "unchanged" and "version 1" in unchanged.value.message

    [rec] = cast.room.recommendations.all()
    second = minutes_save(
        actor_seat_id=cast.chloe.pk,
        summaries={item_id(cast): "The room agreed to publish data monthly."},
        recommendations={rec.public_id: {"text": "RIGOs should publish open data monthly."}},
        note="Tighter summary",
    )
    assert second.number == 2 and second.content_sha256 != first.content_sha256
    rec.refresh_from_db()
    assert rec.text_md == "RIGOs should publish open data monthly."
    diff = version_diff(first, second)
    assert (
        "-The room agreed on **data**." in diff
        and "+The room agreed to publish data monthly." in diff
    )
    assert "+1. RIGOs should publish open data monthly." in diff
    kinds = list(
        RoomEvent.objects.filter(room=cast.room, kind="minutes.saved").values_list(
            "participants", flat=True
        )
    )
    assert [k["version"] for k in kinds] == [1, 2]
    assert AuditEntry.objects.filter(room=cast.room, action="edit_minutes").count() == 2


@pytest.mark.parametrize("persona", ["gus", "mona", "oscar"])
def test_only_the_rapporteur_and_the_chair_save(cast, persona):
    with pytest.raises(ServiceError) as refused:
        minutes_save(actor_seat_id=cast.seats[persona].pk, summaries={item_id(cast): "x"})
    assert refused.value.code == "forbidden"
    assert not MinutesVersion.objects.exists()


def test_bad_input_is_refused_and_saves_nothing(cast):
    for summaries, code in (
        ({"nope": "x"}, "not_found"),
        ({item_id(cast): 5}, "invalid_summaries"),
        ({item_id(cast): "x" * 20_001}, "too_large"),
        ({item_id(cast): "As Gustavo Gobierno said."}, "names_participant"),
        ("text", "invalid_summaries"),
    ):
        with pytest.raises(ServiceError) as refused:
            minutes_save(actor_seat_id=cast.rita.pk, summaries=summaries)
        assert refused.value.code == code
    assert not MinutesVersion.objects.exists()


def test_review_comments_are_attributed_by_the_rooms_policy(cast):
    run_session(cast)
    version = minutes_save(actor_seat_id=cast.rita.pk, summaries={item_id(cast): "Draft summary."})
    with pytest.raises(ServiceError) as closed:
        minutes_comment(seat_id=cast.cora.pk, version=1, body="Too early.")
    assert closed.value.code == "review_closed"
    minutes_review_open(actor_seat_id=cast.rita.pk, version=1)
    comment = minutes_comment(
        seat_id=cast.cora.pk,
        version=1,
        body="Please mention *village* councils.",
        agenda_item=item_id(cast),
    )
    assert (
        comment.attribution["sector"] == "civil-society"
        and "Cora" not in comment.attribution["label"]
    )
    assert comment.body_html == "<p>Please mention <em>village</em> councils.</p>"
    with pytest.raises(ServiceError) as refused:
        minutes_comment(seat_id=cast.oscar.pk, version=1, body="Ask Cora Civil about it.")
    assert refused.value.code == "forbidden"
    # Naming someone holds the comment for the rapporteur and the chair (not refused with a code
    # that would confirm the name): it is not among the comments.
    assert minutes_comment(seat_id=cast.gus.pk, version=1, body="Ask Cora Civil about it.") is None

    # The delegate reads the circulated version on the minutes page, with the comment.
    page = client_for(cast.cora).get(f"/rooms/{cast.room.slug}/minutes/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Version 1" in body and "Please mention <em>village</em> councils." in body
    assert "Cora Civil" not in body
    assert export(cast.cora, "md", 1).status_code == 200  # circulated: readable
    minutes_review_close(actor_seat_id=cast.rita.pk, version=1)
    assert export(cast.cora, "md", 1).status_code == 403  # a draft again
    assert version.comments.count() == 1


def test_adoption_freezes_and_the_hash_in_every_export_matches(cast):
    run_session(cast)
    minutes_save(actor_seat_id=cast.rita.pk, summaries={item_id(cast): "Agreed."})
    minutes_review_open(actor_seat_id=cast.rita.pk, version=1)
    for persona in ("rita", "gus", "mona"):
        with pytest.raises(ServiceError) as refused:
            minutes_adopt(actor_seat_id=cast.seats[persona].pk, version=1)
        assert refused.value.code == "forbidden"
    with pytest.raises(ServiceError) as stale:
        minutes_adopt(actor_seat_id=cast.chloe.pk, version=1, content_sha256="0" * 64)
    assert stale.value.code == "stale_version"
    assert export(cast.gus, "md").status_code == 403  # nothing adopted yet

    adopted = minutes_adopt(actor_seat_id=cast.chloe.pk, version=1)
    digest = adopted.content_sha256
    assert adopted.review_closed_at is not None
    assert (
        RoomEvent.objects.filter(room=cast.room, kind="minutes.adopted")
        .get()
        .participants["content_sha256"]
        == digest
    )

    # The audit chain's head at adoption is the MAC of the adoption's own entry.
    head = AuditEntry.objects.filter(room=cast.room).order_by("-seq").first()
    assert (head.action, head.data["content_sha256"]) == ("adopt_minutes", digest)
    data = json.loads(export(cast.gus, "json").content)
    assert data["status"] == "adopted" and data["version"]["content_sha256"] == digest
    assert data["version"]["audit_head"] == {"entry": head.seq, "mac": head.hash}
    assert content_sha256(data) == digest  # the hash is recomputable from the export itself
    for fmt in FORMATS:
        response = export(cast.gus, fmt)  # a delegate: adopted minutes are for every seat holder
        assert response.status_code == 200, (fmt, response.content[:200])
        assert response["X-Minutes-Content-SHA256"] == digest
        text = text_of(fmt, response.content)
        assert digest in HEX64.findall(text) or digest in text, fmt
        assert head.hash in HEX64.findall(text) or head.hash in text, fmt
        if fmt != "json":
            assert f"Audit log at adoption: entry {head.seq}, chain head" in " ".join(
                text.split()
            ), fmt
        for identity in identities(cast):
            assert identity.lower() not in text.lower(), (fmt, identity)

    # A later change is a new version; the adopted one does not move.
    with pytest.raises(ServiceError) as again:
        minutes_adopt(actor_seat_id=cast.chloe.pk, version=1)
    assert again.value.code == "minutes_adopted"
    later = minutes_save(
        actor_seat_id=cast.rita.pk, summaries={item_id(cast): "Agreed, with one reservation."}
    )
    assert later.number == 2 and later.adopted_at is None
    assert MinutesVersion.objects.get(number=1).content_sha256 == digest
    assert json.loads(export(cast.gus, "json").content)["version"]["number"] == 1
    assert export(cast.gus, "json", 2).status_code == 403
    assert json.loads(export(cast.rita, "json").content)["status"] == "draft"
    with pytest.raises(ServiceError) as old:
        minutes_adopt(actor_seat_id=cast.chloe.pk, version=1)
    assert old.value.code in {"minutes_adopted", "stale_version"}
    minutes_adopt(actor_seat_id=cast.chloe.pk, version=2)
    assert json.loads(export(cast.gus, "json").content)["version"]["number"] == 2


def test_a_leak_blocks_adoption_and_export_naming_the_place(cast):
    cast.room.place = "the offices of Peace Network of Nowhere"  # Cora's organization
    cast.room.save(update_fields=["place"])
    minutes_save(actor_seat_id=cast.rita.pk, summaries={item_id(cast): "Short."})
    with pytest.raises(ServiceError) as leak:
        minutes_adopt(actor_seat_id=cast.chloe.pk, version=1)
    assert leak.value.code == "export_leak" and "header \u203a place" in leak.value.message
    assert "the offices of Peace Network of Nowhere" in leak.value.message
    assert MinutesVersion.objects.get().adopted_at is None
    for fmt in FORMATS:
        response = export(cast.rita, fmt)
        assert response.status_code == 409, fmt
        assert "names a participant in header \u203a place" in response.content.decode()


def test_the_minutes_page_saves_circulates_and_adopts_through_forms(cast):
    run_session(cast)
    rita, chloe = client_for(cast.rita), client_for(cast.chloe)
    url = f"/rooms/{cast.room.slug}/minutes/"
    page = rita.get(url)
    assert page.status_code == 200 and "live draft" in page.content.decode()
    saved = rita.post(
        url, {"action": "save", f"summary:{item_id(cast)}": "From the form.", "note": "first"}
    )
    assert saved.status_code == 302
    version = MinutesVersion.objects.get()
    assert version.summaries == {item_id(cast): "From the form."} and version.note == "first"
    assert rita.post(url, {"action": "review_open", "version": "1"}).status_code == 302
    refused = rita.post(url, {"action": "adopt", "version": "1"})
    assert refused.status_code == 403
    bad = chloe.post(url, {"action": "adopt", "version": "one"})
    assert bad.status_code == 400 and "version" in bad.content.decode()
    assert (
        chloe.post(
            url, {"action": "adopt", "version": "1", "content_sha256": version.content_sha256}
        ).status_code
        == 302
    )
    version.refresh_from_db()
    assert version.adopted_at is not None
    page = client_for(cast.gus).get(url).content.decode()
    assert version.content_sha256 in page and "Adopted" in page


def test_named_open_rooms_keep_names_and_are_not_leak_checked(db):
    cast = build_cast(slug="open-room", rule="open")
    from tests.support.minutes import post

    post(cast, "cora", "On the record.")
    minutes_save(
        actor_seat_id=cast.rita.pk, summaries={item_id(cast): "Cora Civil opened the debate."}
    )
    minutes_adopt(actor_seat_id=cast.chloe.pk, version=1)
    text = export(cast.gus, "md").content.decode()
    assert (
        "Cora Civil (Peace Network of Nowhere) said:" in text
        and "Cora Civil opened the debate." in text
    )


def test_a_new_seat_holder_named_in_adopted_minutes_blocks_the_export_and_draft_readers_see_where(
    cast,
):
    from forum.models import Sector
    from forum.services.seats import organization_get_or_create, seat_upsert, user_upsert
    from tests.support.minutes import consent_all, post

    consent_all(cast)
    post(cast, "gus", "The Harbour Pilots Guild could run the pilot.")
    minutes_save(actor_seat_id=cast.rita.pk, summaries={item_id(cast): "A pilot was proposed."})
    minutes_adopt(actor_seat_id=cast.chloe.pk, version=1)
    assert export(cast.gus, "pdf").status_code == 200  # the verdict is cached for this roster ...
    org = organization_get_or_create(
        name="Harbour Pilots Guild", sector=Sector.objects.get(slug="private-sector")
    )
    seat_upsert(
        room=cast.room,
        user=user_upsert(email="hal@example.org", name="Hal Harbour"),
        role="delegate",
        sector=org.sector,
        organization=org,
    )
    for fmt in FORMATS:  # ... and a new seat holder makes a new roster: checked again
        response = export(cast.gus, fmt)
        assert response.status_code == 409, fmt
        # A delegate is not told what the minutes say about whom (that would name them) ...
        message = response.content.decode()
        assert "withheld until the rapporteur corrects them" in message, message
        assert "Harbour" not in message and "intervention 1" not in message
        # ... the rapporteur, who removes the mention, is told where it is.
        message = export(cast.rita, fmt, 1).content.decode()
        assert "agenda item 1 (\u201cGeneral discussion\u201d), intervention 1" in message, message
        assert "Harbour Pilots Guild could run" in message


def test_the_leak_check_reads_link_targets_and_text_split_by_markup(cast):
    from forum.minutes.leak import _VERDICTS, leak_check_document
    from forum.models import Intervention
    from tests.support.minutes import consent_all, post

    consent_all(cast)
    post(cast, "gus", "See [the notes](https://example.org/notes) and **Co**ra.")
    from forum.minutes.document import minutes_document

    row = Intervention.objects.get()
    for body_html in (
        '<p>See <a href="mailto:cyrus@example.org" rel="nofollow">the notes</a>.</p>',  # a target
        '<p>Ask <a href="https://example.org" title="Cyrus Society">them</a>.</p>',  # a title
        "<p>Thanks to Gustavo <em>Gob</em>ierno.</p>",  # markup inside a name
        "<p>Thanks to &#71;ustavo Gobierno.</p>",  # an entity
    ):
        Intervention.objects.filter(pk=row.pk).update(body_html=body_html)
        _VERDICTS.clear()
        with pytest.raises(ServiceError) as leak:
            leak_check_document(cast.room, minutes_document(cast.room))
        assert leak.value.code == "export_leak", body_html


def test_the_editor_resends_every_recommendation_but_only_edits_are_saved(cast):
    run_session(cast)
    [rec] = cast.room.recommendations.all()
    unchanged = {rec.public_id: {"text": rec.text_md, "audience": rec.audience}}
    minutes_save(
        actor_seat_id=cast.rita.pk, summaries={item_id(cast): "One."}, recommendations=unchanged
    )
    events = RoomEvent.objects.filter(room=cast.room, kind="recommendation.saved").count()
    with pytest.raises(ServiceError) as refused:
        minutes_save(
            actor_seat_id=cast.rita.pk, summaries={item_id(cast): "One."}, recommendations=unchanged
        )
    assert refused.value.code == "unchanged"
    assert RoomEvent.objects.filter(room=cast.room, kind="recommendation.saved").count() == events


# -- what the review found ---------------------------------------------------------------------


def test_a_version_note_naming_a_participant_waits_and_the_version_is_saved_without_it(cast):
    version = minutes_save(
        actor_seat_id=cast.rita.pk, summaries={item_id(cast): "x"}, note="Added Cora Civil's point"
    )
    assert MinutesVersion.objects.get().note == "" and version.number == 1
    held = HeldText.objects.get(room=cast.room)
    assert (held.kind, held.text_md, held.version_id, held.seat_id) == (
        "version_note",
        "Added Cora Civil's point",
        version.pk,
        cast.rita.pk,
    )


def test_the_minutes_page_refuses_readers_what_the_exports_refuse(cast):
    cast.room.place = "the offices of Peace Network of Nowhere"
    cast.room.save(update_fields=["place"])
    minutes_save(actor_seat_id=cast.rita.pk, summaries={item_id(cast): "Short."})
    minutes_review_open(actor_seat_id=cast.rita.pk, version=1)
    page = client_for(cast.gus).get(f"/rooms/{cast.room.slug}/minutes/")
    assert (
        page.status_code == 409
        and "Peace Network of Nowhere" not in page.content.decode().split("names a participant")[0]
    )
    assert (
        client_for(cast.rita).get(f"/rooms/{cast.room.slug}/minutes/").status_code == 200
    )  # to fix it


def test_a_review_ends_at_its_date_and_observers_do_not_read_it(cast):
    import datetime as dt

    from django.utils import timezone

    minutes_save(actor_seat_id=cast.rita.pk, summaries={item_id(cast): "Draft."})
    minutes_review_open(
        actor_seat_id=cast.rita.pk, version=1, until=timezone.now() + dt.timedelta(hours=1)
    )
    assert export(cast.gus, "json", 1).status_code == 200
    assert export(cast.oscar, "json", 1).status_code == 403  # observers read adopted minutes only
    assert (
        "Draft."
        not in client_for(cast.oscar).get(f"/rooms/{cast.room.slug}/minutes/").content.decode()
    )
    MinutesVersion.objects.update(review_until=timezone.now() - dt.timedelta(days=1))
    assert export(cast.gus, "json", 1).status_code == 403
    with pytest.raises(ServiceError) as closed:
        minutes_comment(seat_id=cast.gus.pk, version=1, body="Late.")
    assert closed.value.code == "review_closed"
    minutes_review_open(actor_seat_id=cast.rita.pk, version=1)  # it can be circulated again


def test_odd_version_numbers_are_a_clear_refusal(cast):
    minutes_save(actor_seat_id=cast.rita.pk, summaries={item_id(cast): "x"})
    for query in ("version=\u00b2", "version=-1", "version=1e3", "diff=1..\u00b2", "diff=1"):
        response = client_for(cast.rita).get(f"/rooms/{cast.room.slug}/minutes/?{query}")
        assert response.status_code == 400 and "invalid_version" in response.content.decode(), query
    assert export(cast.rita, "md", "\u00b2").status_code == 400


def test_line_breaks_from_a_browser_do_not_make_an_edit(cast):
    run_session(cast)
    [rec] = cast.room.recommendations.all()
    url = f"/rooms/{cast.room.slug}/minutes/"
    form = {
        "action": "save",
        f"summary:{item_id(cast)}": "Line one.\r\n\r\nLine two.",
        f"rec:{rec.public_id}": rec.text_md.replace("\n", "\r\n"),
        f"audience:{rec.public_id}": rec.audience,
    }
    assert client_for(cast.rita).post(url, form).status_code == 302
    assert MinutesVersion.objects.get().summaries[item_id(cast)] == "Line one.\n\nLine two."
    assert client_for(cast.rita).post(url, form).status_code == 409  # unchanged


def test_the_rapporteur_asks_the_chair_to_adopt_the_latest_version(cast):
    from forum.services.minutes import minutes_request_adoption

    minutes_save(actor_seat_id=cast.rita.pk, summaries={item_id(cast): "One."})
    for persona in ("gus", "oscar", "mona"):
        with pytest.raises(ServiceError) as refused:
            minutes_request_adoption(actor_seat_id=cast.seats[persona].pk, version=1)
        assert refused.value.code == "forbidden"
    page = client_for(cast.rita).post(
        f"/rooms/{cast.room.slug}/minutes/", {"action": "request_adoption", "version": "1"}
    )
    assert page.status_code == 302
    event = RoomEvent.objects.filter(room=cast.room, kind="minutes.adoption_requested").get()
    assert event.participants == {
        "version": 1,
        "content_sha256": MinutesVersion.objects.get().content_sha256,
    }
    minutes_save(actor_seat_id=cast.rita.pk, summaries={item_id(cast): "Two."})
    with pytest.raises(ServiceError) as stale:
        minutes_request_adoption(actor_seat_id=cast.rita.pk, version=1)
    assert stale.value.code == "stale_version"
