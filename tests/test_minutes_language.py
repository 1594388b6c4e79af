"""Each round table has a language, and its minutes are written in it.

The document (forum/minutes/document.py) is built under the room's language, never the reader's, so
its content hash depends on the room alone; the renderers print their own words in the
document's language (forum/minutes/formats/common.py: `in_minutes_language`).

The catalogs do not yet hold the minutes' msgids, so the tests that need a translation put a
small Spanish catalog in front of Django's gettext (`spanish` fixture) and check the
mechanism: which strings go through gettext, and under which language.
"""

from __future__ import annotations

import io
import json
import uuid

import pytest
from django.core.management import call_command
from django.utils import translation
from docx import Document
from lxml import etree
from pypdf import PdfReader

import forum.minutes.document
from forum.minutes.document import content_sha256, minutes_document
from forum.minutes.formats.akn import AKN_NS, akn_errors, render_akn_minutes
from forum.minutes.formats.common import status_line
from forum.minutes.formats.docx import render_docx_minutes
from forum.minutes.formats.html import render_html_minutes
from forum.minutes.formats.json import render_json_minutes
from forum.minutes.formats.markdown import render_markdown_minutes
from forum.minutes.formats.pdf import render_pdf_minutes
from forum.minutes.phrases import sector_name
from forum.models import RoundTable, Seat
from forum.services.consensus import ballot_cast, check_close, check_open
from forum.services.interventions import intervention_post
from forum.services.recommendations import recommendation_save
from forum.services.seats import seat_consent

pytestmark = pytest.mark.django_db

SPANISH = {
    "The chair": "La presidencia",
    "A participant": "Una persona participante",
    "A participant from %(sector)s": "Una persona participante de %(sector)s",
    "%(speaker)s said:": "%(speaker)s dijo:",
    "Civil society": "Sociedad civil",
    "Government": "Gobierno",
    "online": "en línea",
    "Parity weighting": "Ponderación paritaria",
    "Attendance": "Asistencia",
    "Interventions": "Intervenciones",
    "Draft (not adopted)": "Borrador (no adoptado)",
    "Minutes: %(title)s": "Acta: %(title)s",
    "Page %(n)s": "Página %(n)s",
    "Support": "Apoyo",
    "consensus": "consenso",
}


@pytest.fixture
def spanish(monkeypatch):
    """Django's gettext with SPANISH in front of the "es" catalog (gettext_lazy included)."""
    real = translation._trans.gettext

    def gettext(message):
        if translation.get_language() == "es" and message in SPANISH:
            return SPANISH[message]
        return real(message)

    monkeypatch.setattr(translation._trans, "gettext", gettext)
    return SPANISH


def seat_of(room: RoundTable, local_part: str) -> Seat:
    return Seat.objects.get(room=room, user__email=f"{local_part}@demo.roundtables.invalid")


@pytest.fixture
def room() -> RoundTable:
    """The demo round table (Chatham House, by sector, k=3) with a short session."""
    call_command("seed_demo", quiet=True)
    room = RoundTable.objects.get(slug="demo-roundtable")
    for seat in Seat.objects.filter(room=room):
        seat_consent(seat_id=seat.pk, rule=room.rule)
    for who in ("gov1", "cso1", "chair"):
        intervention_post(
            seat_id=seat_of(room, who).pk, client_id=uuid.uuid4(), body=f"{who} speaks."
        )
    chair, rapporteur = seat_of(room, "chair"), seat_of(room, "rapporteur")
    check = check_open(actor_seat_id=chair.pk, proposition="Bulletins within a day.")
    for who in ("gov1", "cso1", "cso2"):
        ballot_cast(seat_id=seat_of(room, who).pk, check_id=check, option="support")
    check_close(actor_seat_id=chair.pk, check_id=check)
    recommendation_save(
        actor_seat_id=rapporteur.pk,
        text="Fund local alert networks.",
        audience="rigos",
        consensus_check=check,
    )
    return room


def in_spanish(room: RoundTable) -> RoundTable:
    room.language = "es"
    room.save(update_fields=["language"])
    return room


def test_a_round_table_is_in_english_unless_told_otherwise(room):
    assert room.language == "en"
    doc = minutes_document(room)
    assert doc["header"]["language"] == "en"
    assert b'<FRBRlanguage language="eng"/>' in render_akn_minutes(doc)
    assert '<html lang="en">' in render_html_minutes(doc)


def test_the_document_is_built_under_the_rooms_language_not_the_readers(room, monkeypatch):
    in_spanish(room)
    seen = []
    method = forum.minutes.document._method

    def spy(room):
        seen.append(translation.get_language())
        return method(room)

    monkeypatch.setattr(forum.minutes.document, "_method", spy)
    with translation.override("fr"):
        doc = minutes_document(room)
        assert translation.get_language() == "fr"  # restored for the reader
    assert seen == ["es"] and doc["header"]["language"] == "es"


def test_a_french_reader_gets_the_same_document_and_hash_as_an_english_one(room, spanish):
    in_spanish(room)
    with translation.override("fr"):
        french = minutes_document(room)
    with translation.override("en"):
        english = minutes_document(room)
    assert json.dumps(french, sort_keys=True) == json.dumps(english, sort_keys=True)
    assert content_sha256(french) == content_sha256(english)
    # and so every rendering: the renderers follow the document, not the reader either
    for render in (
        render_markdown_minutes,
        render_html_minutes,
        render_json_minutes,
        render_akn_minutes,
        render_pdf_minutes,
        render_docx_minutes,
    ):
        with translation.override("fr"):
            a = render(french)
        with translation.override("en"):
            b = render(english)
        assert a == b, render.__name__


def test_the_fixed_words_of_the_document_go_through_gettext(room, spanish):
    doc = minutes_document(in_spanish(room))
    header = doc["header"]
    assert header["place"] == "en línea"
    names = {s["slug"]: s["name"] for s in header["attendance"]["sectors"]}
    assert names["civil-society"] == "Sociedad civil" and names["government"] == "Gobierno"
    assert {s["name"] for s in doc["parity"]["sectors"]} >= {"Sociedad civil", "Gobierno"}
    sentences = [iv["sentence"] for iv in doc["items"][0]["interventions"]]
    # a default sector's whole phrase, with the article Spanish puts; the chair in its function
    assert "Un participante de la sociedad civil dijo:" in sentences
    assert "La presidencia dijo:" in sentences
    assert "Ponderación paritaria" in [part["title"] for part in doc["method"]]
    [check] = doc["items"][0]["consensus_checks"]
    assert {"key": "support", "label": "Apoyo"} in check["options"]
    assert check["outcome"] in {"consensus", "no consensus"}  # a key, not a word


def test_the_renderers_print_their_own_words_in_the_documents_language(room, spanish):
    doc = minutes_document(in_spanish(room))
    with translation.override("en"):
        markdown = render_markdown_minutes(doc)
        page = render_html_minutes(doc)
        status = status_line(doc)
        pdf = render_pdf_minutes(doc)
        docx = Document(io.BytesIO(render_docx_minutes(doc)))
    assert (
        "# Acta: " in markdown and "## Asistencia" in markdown and "### Intervenciones" in markdown
    )
    assert '<html lang="es">' in page and "<h2>Asistencia</h2>" in page
    assert status == "Borrador (no adoptado)"
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "Asistencia" in text and "Página 1" in text
    assert docx.core_properties.title.startswith("Acta: ")
    assert docx.core_properties.language == "es"
    assert "Página" in "".join(p.text for p in docx.sections[0].footer.paragraphs)


def test_akoma_ntoso_names_the_language_in_iso_639_2_and_stays_valid(room, spanish):
    doc = minutes_document(in_spanish(room))
    xml = render_akn_minutes(doc)
    assert akn_errors(xml) == []
    tree = etree.fromstring(xml)
    ns = {"a": AKN_NS}
    assert tree.xpath("//a:FRBRExpression/a:FRBRlanguage/@language", namespaces=ns) == ["spa"]
    uri = tree.xpath("//a:FRBRExpression/a:FRBRuri/@value", namespaces=ns)[0]
    assert "/spa@" in uri
    # speeches point at the same language-independent references as in English, read back
    # from the Spanish phrases; only showAs is Spanish
    persons = dict(
        zip(
            tree.xpath("//a:TLCPerson/@eId", namespaces=ns),
            tree.xpath("//a:TLCPerson/@showAs", namespaces=ns),
            strict=True,
        )
    )
    assert {"chair", "participant-civil-society"} <= set(persons)
    assert persons["participant-civil-society"] == "Un participante de la sociedad civil"


def test_a_document_without_a_language_renders_in_english(room, spanish):
    doc = minutes_document(in_spanish(room))
    del doc["header"]["language"]  # a version saved before rooms had a language
    with translation.override("es"):
        assert "## Attendance" in render_markdown_minutes(doc)
        assert b'<FRBRlanguage language="eng"/>' in render_akn_minutes(doc)


def test_only_the_default_sectors_names_are_translated(spanish):
    with translation.override("es"):
        assert sector_name("Civil society") == "Sociedad civil"
        assert sector_name("Support") == "Support"  # a custom sector's name stays as written
        assert sector_name("Youth networks") == "Youth networks"


def test_the_secretariat_chooses_the_language_of_a_new_round_table(db):
    from django.test import Client

    from forum.models import User
    from forum.services.rooms import dialogue_get_or_create

    sam = User.objects.create_user(
        username="sam", email="sam@example.org", password="x", is_staff=True
    )
    staff = Client()
    staff.force_login(sam)
    dialogue_get_or_create(slug="rigo-cso", title="RIGO–CSO dialogue")
    form = staff.get("/secretariat/").content.decode()
    assert 'name="language"' in form and ">Español<" in form
    fields = {
        "action": "room",
        "dialogue": "rigo-cso",
        "title": "Paz y seguridad",
        "rule": "chatham-house",
        "attribution": "",
        "seats_per_sector": 4,
        "k": 3,
        "status": "scheduled",
        "agenda": "",
    }
    response = staff.post(
        "/secretariat/", {**fields, "slug": "paz-2026", "language": "es"}, follow=True
    )
    assert response.redirect_chain == [("/secretariat/rooms/paz-2026/", 302)]
    assert RoundTable.objects.get(slug="paz-2026").language == "es"
    assert "Minutes in Español" in response.content.decode()
    # a form sent without the field (an older page) gives English
    staff.post("/secretariat/", {**fields, "slug": "peace-2026"})
    assert RoundTable.objects.get(slug="peace-2026").language == "en"
    # and a language outside settings.LANGUAGES is refused
    response = staff.post("/secretariat/", {**fields, "slug": "frieden", "language": "de"})
    assert response.status_code == 400 and not RoundTable.objects.filter(slug="frieden").exists()
