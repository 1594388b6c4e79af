"""Minutes draft (first slice): the document, its renderings, the leak check and
the export view's access rules."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
from django.test import RequestFactory

from forum.errors import ServiceError
from forum.minutes.document import SCHEMA, minutes_document
from forum.minutes.formats.html import render_html_minutes
from forum.minutes.formats.json import render_json_minutes
from forum.minutes.formats.markdown import render_markdown_minutes
from forum.minutes.leak import leak_check
from forum.minutes.views import minutes_export
from forum.models import Intervention, Recommendation, RoundTable, Seat
from forum.services.consensus import check_open
from forum.services.interventions import intervention_post
from forum.services.moderator_actions import intervention_redact
from forum.services.recommendations import recommendation_save
from tests.support.minutes import consent_all, identities, post, run_session
from tests.support.personas import build_cast, session_of

pytestmark = pytest.mark.django_db


def all_renderings(doc: dict) -> dict[str, str]:
    return {
        "md": render_markdown_minutes(doc),
        "html": render_html_minutes(doc),
        "json": render_json_minutes(doc),
    }


def test_chatham_house_minutes_attribute_by_sector_and_name_no_one(cast):
    ids = run_session(cast)
    doc = minutes_document(cast.room)
    assert doc["schema"] == SCHEMA and doc["status"] == "draft"
    header = doc["header"]
    assert (header["dialogue"], header["round_table"], header["place"]) == (
        "Test dialogue",
        "Test round table",
        "online",
    )
    assert header["rule"]["key"] == "chatham-house" and "identity" in header["rule"]["explanation"]
    assert header["attribution"]["key"] == "sector"
    attendance = header["attendance"]
    # Academia and the private sector seat one delegate each (< k = 3): two in all, too few to
    # pool: not counted by group (the total still counts them).
    assert {s["slug"]: s["delegates"] for s in attendance["sectors"]} == {
        "government": 3,
        "civil-society": 3,
    }
    assert attendance["delegates"] == 8
    assert (
        attendance["chair"],
        attendance["moderators"],
        attendance["rapporteur"],
        attendance["observers"],
    ) == (1, 1, 1, 1)

    [item] = doc["items"]
    assert item["summary"] == ""
    by_id = {iv["id"]: iv for iv in item["interventions"]}
    assert ids["pia"] not in by_id  # hidden: not in the minutes
    assert by_id[ids["cora"]]["sentence"] == "A participant from civil society said:"
    assert by_id[ids["gus"]]["sentence"] == "A participant from government said:"
    # Academia has one delegate (< k = 3): anonymous, not "from academia".
    assert by_id[ids["ada"]]["sentence"] == "A participant said:"
    assert by_id[ids["chloe"]]["sentence"] == "The chair said:"
    assert "<strong>village</strong>" in by_id[ids["cora"]]["body_html"]
    assert "<b>" not in by_id[ids["ada"]]["body_html"]  # the sanitised HTML, not the raw body
    redacted = by_id[ids["cyrus"]]
    assert redacted["redacted"] and "A point on funding." in redacted["body_html"]
    assert "offensive" not in json.dumps(doc)
    assert "hide" not in json.dumps(doc["items"])

    [check] = item["consensus_checks"]
    assert check["status"] == "closed" and check["outcome"] in {"consensus", "no consensus"}
    # Three sectors voted, each weighs 1/3 whatever its head count.
    assert check["weighted"] == pytest.approx({"support": 2 / 3, "live": 1 / 6, "object": 1 / 6})
    assert check["support"] == pytest.approx(5 / 6)
    sectors = {s["slug"]: s for s in check["sectors"]}
    # Ada's is the one ballot outside what is shown: government's two (the first of the
    # smallest) are left out with it, or the total minus what is shown would be hers.
    assert set(sectors) == {"civil-society"}
    assert sectors["civil-society"]["distribution"] == {"support": 1, "live": 1, "object": 0}
    [rec] = item["recommendations"]
    assert (
        rec["audience"] == "rigos"
        and rec["consensus_check"] == check["id"]
        and "<strong>monthly</strong>" in rec["text_html"]
    )
    assert doc["parity"]["room"]["sectors"]["civil-society"]["interventions"] == 2
    assert [part["title"] for part in doc["method"]][:3] == [
        "Attribution",
        "What these minutes show of each sector",
        "Parity weighting",
    ]

    for fmt, text in all_renderings(doc).items():
        for identity in identities(cast):
            assert identity.lower() not in text.lower(), (fmt, identity)
        leak_check(cast.room, text)  # passes: nothing identifying
        assert "A participant from civil society said:" in text, fmt
        assert "Publish the data monthly." in text, fmt
        assert "Parity" in text or "parity" in text, fmt


def test_weighted_results_and_parity_in_every_rendering(cast):
    run_session(cast)
    doc = minutes_document(cast.room)
    [check] = doc["items"][0]["consensus_checks"]
    share = f"{check['weighted']['support'] * 100:.1f}%"
    texts = all_renderings(doc)
    assert share in texts["md"] and share in texts["html"]
    assert json.loads(texts["json"]) == doc
    for fmt in ("md", "html"):
        assert "Balance index" in texts[fmt] and "Weighted share" in texts[fmt]
    assert texts["html"].startswith("<!DOCTYPE html>") and "@media print" in texts["html"]


def test_anonymous_room_says_a_participant(db):
    cast = build_cast(slug="anon-room", attribution=RoundTable.Attribution.ANONYMOUS)
    consent_all(cast)
    post(cast, "cora", "An anonymous point.")
    [iv] = minutes_document(cast.room)["items"][0]["interventions"]
    assert iv["sentence"] == "A participant said:"


def test_open_named_room_attributes_by_name_and_organization(db):
    cast = build_cast(slug="open-room", rule=RoundTable.Rule.OPEN)
    assert cast.room.attribution == RoundTable.Attribution.NAMED
    post(cast, "cora", "A named point.")
    doc = minutes_document(cast.room)
    [iv] = doc["items"][0]["interventions"]
    assert iv["sentence"] == "Cora Civil (Peace Network of Nowhere) said:"
    text = render_markdown_minutes(doc)
    assert "Cora Civil (Peace Network of Nowhere) said:" in text
    leak_check(cast.room, text)  # an open room is not checked


def test_user_text_is_escaped_in_html_and_markdown(cast):
    consent_all(cast)
    recommendation_save(
        actor_seat_id=cast.rita.pk,
        text="Plain text.",
        audience=Recommendation.Audience.UN,
    )
    check_open(actor_seat_id=cast.chloe.pk, proposition="<script>alert(1)</script> # heading")
    texts = all_renderings(minutes_document(cast.room))
    assert "<script>" not in texts["html"] and "&lt;script&gt;" in texts["html"]
    assert "<script>" not in texts["md"]
    assert "Still open" in texts["md"]


def test_leak_check_refuses_a_name_and_names_the_place(cast, caplog):
    doc = minutes_document(cast.room)
    text = render_markdown_minutes(doc)
    leaked = text.replace("## Attendance", "Thanks to Cora Civil for hosting.\n\n## Attendance")
    line = leaked.splitlines().index("Thanks to Cora Civil for hosting.") + 1
    with (
        caplog.at_level(logging.WARNING, logger="forum.minutes"),
        pytest.raises(ServiceError) as error,
    ):
        leak_check(cast.room, leaked)
    assert error.value.code == "export_leak"
    assert (
        f"line {line}" in error.value.message
        and "Thanks to Cora Civil for hosting" in error.value.message
    )
    [record] = [r for r in caplog.records if r.name == "forum.minutes"]
    assert "refused" in record.getMessage() and "Cora" not in record.getMessage()
    for leak in ("cyrus@example.org", "Women Mediators Forum"):
        with pytest.raises(ServiceError):
            leak_check(cast.room, text + f"\nSee {leak}.\n")


def test_a_redacted_leak_does_not_reach_the_minutes(cast):
    consent_all(cast)
    # Naming someone holds the intervention for the moderators; redacting publishes a clean version.
    result = intervention_post(
        seat_id=cast.cora.pk, client_id=uuid.uuid4(), body="As Gustavo Gobierno said, yes."
    )
    assert (
        Intervention.objects.get(public_id=result.intervention_id).status
        == Intervention.Status.HELD
    )
    assert minutes_document(cast.room)["items"][0]["interventions"] == []
    intervention_redact(
        actor_seat_id=cast.mona.pk,
        intervention_id=result.intervention_id,
        reason="Names.",
        body="As was said, yes.",
    )
    doc = minutes_document(cast.room)
    [iv] = doc["items"][0]["interventions"]
    assert iv["redacted"] and iv["body_text"] == "As was said, yes."
    for text in all_renderings(doc).values():
        leak_check(cast.room, text)
        assert "Gobierno" not in text


# -- the view ------------------------------------------------------------------------------------


def get(user, slug: str, fmt: str):
    request = RequestFactory().get(f"/rooms/{slug}/minutes.{fmt}")
    request.user = user
    # The session the user's join link opened in room `slug` (or, outside it, in test-room).
    request.session = session_of(
        user, slug if Seat.objects.filter(room__slug=slug).exists() else "test-room"
    )
    return minutes_export(request, slug, fmt)


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [
        ("md", "text/markdown; charset=utf-8"),
        ("html", "text/html; charset=utf-8"),
        ("json", "application/json"),
    ],
)
def test_chair_moderator_rapporteur_export_the_draft(cast, fmt, content_type):
    run_session(cast)
    for persona in ("chloe", "mona", "rita"):
        response = get(cast.seats[persona].user, cast.room.slug, fmt)
        assert response.status_code == 200, persona
        assert response["Content-Type"] == content_type
        body = response.content.decode()
        assert "A participant from civil society said:" in body
        assert "Cora Civil" not in body
    if fmt == "json":
        assert json.loads(body)["schema"] == SCHEMA


def test_other_roles_wait_for_adoption_and_outsiders_are_refused(cast, outsider):
    for persona in ("gus", "cora", "oscar"):
        response = get(cast.seats[persona].user, cast.room.slug, "md")
        assert response.status_code == 403
        assert "The minutes are shared once adopted" in response.content.decode()
    assert get(outsider, cast.room.slug, "md").status_code == 403
    assert get(cast.chloe.user, "no-such-room", "md").status_code == 404


def test_every_contract_format_is_served_and_others_are_a_404(cast):
    run_session(cast)
    for fmt, content_type in (
        ("pdf", "application/pdf"),
        ("akn.xml", "application/akn+xml"),
        ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ):
        response = get(cast.chloe.user, cast.room.slug, fmt)
        assert response.status_code == 200 and response["Content-Type"] == content_type, fmt
        assert f'minutes-draft.{fmt}"' in response["Content-Disposition"]
    response = get(cast.chloe.user, cast.room.slug, "exe")
    assert response.status_code == 404 and "akn.xml" in response.content.decode()


def test_the_view_refuses_a_leaking_export_with_409(cast):
    # A round table whose title names a seat holder: the export names them, so it is refused.
    RoundTable.objects.filter(pk=cast.room.pk).update(title="Hearing with Greta Government")
    response = get(cast.chloe.user, cast.room.slug, "html")
    assert response.status_code == 409
    assert "names a participant in header \u203a round_table" in response.content.decode()
    assert "Hearing with Greta Government" in response.content.decode()


def test_a_random_id_that_spells_a_surname_does_not_refuse_the_export(cast):
    """Public ids are random: one read with its underscores as soft gaps ("…P_ia_P_rivate")
    spells a participant's name by chance. Ids, hashes and keys are the product's, not
    words of the room: the export goes out; the same letters in a text are still refused."""
    from forum.minutes.leak import leak_check_document

    run_session(cast)
    doc = minutes_document(cast.room)
    spelled = "x3P_ia_P_rivate"
    with pytest.raises(ServiceError):  # read as text, the id names Pia Private
        leak_check(cast.room, f"See {spelled}.")
    doc["items"][0]["id"] = spelled
    doc["items"][0]["interventions"][0]["id"] = spelled
    leak_check_document(cast.room, doc)  # no refusal
    doc["items"][0]["interventions"][0]["body_text"] = "Thanks to Pia Private."
    with pytest.raises(ServiceError) as refused:
        leak_check_document(cast.room, doc)
    assert refused.value.code == "export_leak"
