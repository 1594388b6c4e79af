"""Minutes as PDF and Word files: the same content as the HTML rendering, user text set as
literal text, nothing identifying under the Chatham House Rule, the same bytes every time."""

from __future__ import annotations

import copy
import io
import re
import uuid
import zipfile

import pytest
from docx import Document
from pypdf import PdfReader

import forum.minutes.formats.pdf_fonts as pdf_fonts
from forum.minutes.blocks import blocks_text, html_blocks
from forum.minutes.document import content_sha256, minutes_document
from forum.minutes.formats.common import status_line
from forum.minutes.formats.docx import ZIP_TIME, render_docx_minutes
from forum.minutes.formats.pdf import render_pdf_minutes
from forum.models import Recommendation
from forum.services.consensus import check_open
from forum.services.interventions import intervention_post
from forum.services.recommendations import recommendation_save
from moderation.sanitize import render_markdown
from tests.support.minutes import consent_all, identities, run_session
from tests.support.services import require

pytestmark = pytest.mark.django_db

# Markup as a delegate might type it; in Markdown bodies it stays literal text.
INJECTION = "<b>x</b> & <font size=99> </para> <br/>"
# A proposition is plain text: even an entity reference is shown as typed.
PROPOSITION = f"{INJECTION} &amp; &nbsp;"
ACCENTS = "Ação é só: señal, garçon, coração, fenêtre, información"
NON_LATIN = "Ελληνικά Русский 中文 测试 🎉👍🏽"
HEX = re.compile(r"\b[0-9a-f]{64}\b")


def pdf_text(data: bytes) -> str:
    """The PDF's text with line breaks as spaces: wrapping must not hide a phrase."""
    pages = PdfReader(io.BytesIO(data)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


def docx_text(data: bytes) -> str:
    document = Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    parts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    props = document.core_properties
    parts += [props.title, props.subject, props.author, props.comments, props.last_modified_by]
    return "\n".join(parts)


def adopt(doc: dict) -> dict:
    doc["status"] = "adopted"
    doc["version"] = {
        "number": 2,
        "status": "adopted",
        "saved_at": "2026-11-28T09:00:00+00:00",
        "adopted_at": "2026-11-28T10:00:00+00:00",
        "content_sha256": content_sha256(doc),
    }
    return doc


def post(cast, persona: str, body: str) -> None:
    intervention_post(seat_id=cast.seats[persona].pk, client_id=uuid.uuid4(), body=body)


@pytest.fixture
def session_doc(cast) -> dict:
    run_session(cast)
    item = cast.room.agenda_items.get()
    summary = "The room **agreed** on data.\n\n- publish monthly\n- review in a year"
    return minutes_document(cast.room, {item.public_id: summary})


@pytest.fixture
def no_system_fonts(monkeypatch, tmp_path):
    """Render with typst's own fonts only, as on a machine without DejaVu or Noto."""

    def clear():
        for cached in (pdf_fonts._coverage, pdf_fonts._table, pdf_fonts.typst_fonts):
            cached.cache_clear()

    monkeypatch.setattr(pdf_fonts, "FONT_DIRS", (tmp_path,))
    clear()
    yield
    monkeypatch.undo()
    clear()


def expected_phrases(doc: dict) -> list[str]:
    [item] = doc["items"]
    [check] = item["consensus_checks"]
    return [
        "Minutes: Test round table",
        status_line(doc),
        "Chatham House Rule",
        "A participant from civil society said:",
        "A participant from government said:",
        "The chair said:",
        "Early warning must reach village councils.",
        "(redacted by the moderators)",
        "The room agreed on data.",
        "publish monthly",
        "Publish the data monthly.",
        f"{check['weighted']['support'] * 100:.1f}%",
        "RIGOs should publish data monthly.",
        "Regional intergovernmental organizations",
        "Balance index",
        "The floor rule",
        f"1. {item['title']}",
    ]


# -- PDF -----------------------------------------------------------------------------------------


def test_pdf_minutes_carry_the_html_content_in_order(session_doc):
    data = render_pdf_minutes(session_doc)
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    assert reader.metadata.title == "Minutes: Test round table"
    assert "Page 1" in reader.pages[0].extract_text()
    text = pdf_text(data)
    for phrase in expected_phrases(session_doc):
        assert phrase in text, phrase
    at = 0
    for heading in (
        "Minutes: Test round table",
        "Attendance Sector",
        "Summary The room",
        "Interventions 1.1 A participant",
        "Consensus checks",
        "Recommendations",
        "Parity figures",
        "Method Attribution.",
    ):
        at = text.find(heading, at)
        assert at >= 0, heading
    assert "**" not in text and "<strong>" not in text


def test_pdf_of_adopted_minutes_prints_the_content_hash_on_one_line(session_doc):
    doc = adopt(session_doc)
    first_page = PdfReader(io.BytesIO(render_pdf_minutes(doc))).pages[0].extract_text()
    assert doc["version"]["content_sha256"] in HEX.findall(first_page)
    assert "Adopted as version 2 on 2026-11-28." in first_page


def test_pdf_sets_markup_in_user_text_as_literal_text(cast):
    consent_all(cast)
    post(cast, "cora", INJECTION)
    check_open(actor_seat_id=cast.chloe.pk, proposition=PROPOSITION)
    recommendation_save(
        actor_seat_id=cast.rita.pk, text=INJECTION, audience=Recommendation.Audience.UN
    )
    doc = minutes_document(cast.room)
    doc["items"][0]["title"] = INJECTION
    text = pdf_text(render_pdf_minutes(doc))
    assert PROPOSITION in text
    assert text.count(INJECTION) == 4  # heading, intervention, proposition, recommendation


def test_pdf_keeps_accents_and_survives_scripts_its_font_lacks(cast):
    consent_all(cast)
    post(cast, "cora", f"{ACCENTS}\n\n{NON_LATIN}\n\nnul\x00 bell\x07 end")
    doc = minutes_document(cast.room)
    doc["header"]["round_table"] = f"Diálogo {NON_LATIN}"
    text = pdf_text(render_pdf_minutes(doc))
    assert ACCENTS in text and "Diálogo" in text and "bell end" in text
    require("fonts-noto-cjk", pdf_fonts.covered(ord("中")), "no CJK font (.ci/run installs it)")
    # DejaVu shows Greek and Cyrillic, Noto CJK the Chinese; no font has the party popper.
    assert "Ελληνικά Русский 中文 测试 \ufffd" in text


def test_pdf_with_typst_fonts_only_keeps_latin_accents(cast, no_system_fonts):
    consent_all(cast)
    post(cast, "cora", f"{ACCENTS} {NON_LATIN} {INJECTION}")
    doc = adopt(minutes_document(cast.room))
    text = pdf_text(render_pdf_minutes(doc))
    assert ACCENTS in text and INJECTION in text
    assert doc["version"]["content_sha256"] in text
    assert "Ελληνικά" not in text and "????????" in text


def test_a_long_intervention_flows_over_pages_and_long_words_are_cut(session_doc):
    doc = copy.deepcopy(session_doc)
    words = " ".join(f"word{i}" for i in range(3000))
    doc["items"][0]["interventions"][0]["body_html"] = f"<p>{'x' * 400} {words} the-last-word</p>"
    data = render_pdf_minutes(doc)
    assert len(PdfReader(io.BytesIO(data)).pages) > 3
    text = pdf_text(data)
    assert "word0 word1" in text and "word2999 the-last-word" in text


def test_pdf_of_a_chatham_house_room_names_no_one(session_doc, cast):
    text = pdf_text(render_pdf_minutes(session_doc)).lower()
    for identity in identities(cast):
        assert identity.lower() not in text, identity


def test_pdf_bytes_are_the_same_for_the_same_document(session_doc):
    assert render_pdf_minutes(session_doc) == render_pdf_minutes(copy.deepcopy(session_doc))


# -- Word ----------------------------------------------------------------------------------------


def test_docx_minutes_carry_the_html_content_with_real_styles(session_doc):
    data = render_docx_minutes(session_doc)
    document = Document(io.BytesIO(data))
    text = docx_text(data)
    for phrase in expected_phrases(session_doc):
        assert phrase in text, phrase
    styles = [(p.style.name, p.text) for p in document.paragraphs]
    assert styles[0] == ("Title", "Minutes: Test round table")
    status_at = next(i for i, (_, t) in enumerate(styles) if t.startswith("Status: "))
    assert status_at < 6 and styles[status_at][1] == f"Status: {status_line(session_doc)}"
    headings = [(name, t) for name, t in styles if name.startswith("Heading")]
    item = session_doc["items"][0]
    assert headings == [
        ("Heading 1", "Attendance"),
        ("Heading 1", f"1. {item['title']}"),
        ("Heading 2", "Summary"),
        ("Heading 2", "Interventions"),
        ("Heading 2", "Consensus checks"),
        ("Heading 2", "Recommendations"),
        ("Heading 1", "Parity figures"),
        ("Heading 1", "Method"),
    ]
    # The summary's bullets are a Word list (numbering), not typed bullets.
    [bullet] = [p for p in document.paragraphs if p.text == "publish monthly"]
    assert bullet.style.name == "List Paragraph" and bullet._p.pPr.numPr is not None
    speakers = [t for name, t in styles if name == "Intervention Speaker"]
    assert speakers[0] == "1.1 A participant from civil society said:"
    assert len(speakers) == len(item["interventions"])
    assert document.core_properties.title == "Minutes: Test round table"
    assert 'w:instr="PAGE"' in document.sections[0].footer._element.xml


def test_docx_tables_have_grid_style_and_header_cells(session_doc):
    document = Document(io.BytesIO(render_docx_minutes(session_doc)))
    heads = [[cell.text for cell in table.rows[0].cells] for table in document.tables]
    labels = [o["label"] for o in session_doc["items"][0]["consensus_checks"][0]["options"]]
    assert heads == [
        ["Sector", "Seats held", "Present"],
        ["Option", "Weighted share"],
        ["Sector", "Voters", "Weight", *labels],
        ["Sector", "Turns", "Speaking time (s)", "Share", "Interventions", "Words"],
    ]
    assert {table.style.name for table in document.tables} == {"Table Grid"}
    attendance = {row.cells[0].text: row.cells[1].text for row in document.tables[0].rows[1:]}
    assert attendance["Civil society"] == "3"
    shares = {row.cells[0].text: row.cells[1].text for row in document.tables[1].rows[1:]}
    assert shares["Support"] == "66.7%"


def test_docx_of_adopted_minutes_prints_the_content_hash(session_doc):
    doc = adopt(session_doc)
    document = Document(io.BytesIO(render_docx_minutes(doc)))
    status = next(p for p in document.paragraphs if p.text.startswith("Status: "))
    assert doc["version"]["content_sha256"] in HEX.findall(status.text)
    assert document.core_properties.created.isoformat().startswith("2026-11-28T10:00:00")


def test_docx_sets_markup_as_text_and_drops_what_xml_cannot_carry(cast):
    consent_all(cast)
    post(cast, "cora", f"{INJECTION}\n\n{ACCENTS} {NON_LATIN}\n\nnul\x00 bell\x07 end")
    check_open(actor_seat_id=cast.chloe.pk, proposition=PROPOSITION)
    recommendation_save(
        actor_seat_id=cast.rita.pk, text=INJECTION, audience=Recommendation.Audience.UN
    )
    doc = minutes_document(cast.room)
    doc["header"]["round_table"] = f"Title \x0b{NON_LATIN}"
    text = docx_text(render_docx_minutes(doc))
    assert PROPOSITION in text
    assert text.count(INJECTION) == 3  # intervention, proposition, recommendation
    assert ACCENTS in text and NON_LATIN in text and "bell end" in text


def test_docx_of_a_chatham_house_room_names_no_one(session_doc, cast):
    text = docx_text(render_docx_minutes(session_doc)).lower()
    for identity in identities(cast):
        assert identity.lower() not in text, identity


def test_docx_bytes_are_the_same_for_the_same_document(session_doc):
    data = render_docx_minutes(session_doc)
    assert data == render_docx_minutes(copy.deepcopy(session_doc))
    # Independent of the clock: every entry carries the fixed zip time.
    assert {info.date_time for info in zipfile.ZipFile(io.BytesIO(data)).infolist()} == {ZIP_TIME}


# -- the summary's HTML --------------------------------------------------------------------------


def test_summary_html_becomes_blocks_with_emphasis_lists_and_literal_text():
    fragment = render_markdown(
        "A **bold** & <b>raw</b> start.\n\n- one\n- two\n\n3. three\n\n> quoted\n\n```\n  code\n```"
    )
    blocks = html_blocks(fragment)
    assert (
        blocks_text(blocks)
        == "A bold & <b>raw</b> start.\n- one\n- two\n3. three\n> quoted\n  code"
    )
    assert [block["type"] for block in blocks] == ["p", "list", "list", "quote", "code"]
    assert {"text": "bold", "marks": ["b"]} in blocks[0]["runs"]
    assert blocks[2]["start"] == 3 and blocks[4]["text"] == "  code"
