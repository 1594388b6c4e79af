"""What speakers wrote survives every format: a room whose interventions hold a 3x3 table,
numbered lists (one starting at 3), links, a Spanish and an Arabic intervention, a question, a
reply and a point of order, read back with the tools a secretariat uses (python-docx, a Markdown
parser, the OASIS Akoma Ntoso schema)."""

from __future__ import annotations

import copy
import io
import uuid
import zipfile

import pytest
from docx import Document
from docx.oxml.ns import qn
from markdown_it import MarkdownIt

from forum.minutes.document import minutes_document
from forum.minutes.formats.akn import AKN_NS, render_akn_minutes
from forum.minutes.formats.docx import render_docx_minutes
from forum.minutes.formats.html import render_html_minutes
from forum.minutes.formats.markdown import render_markdown_minutes
from forum.minutes.leak import leak_check
from forum.services.interventions import intervention_post
from tests.support.minutes import consent_all, identities
from tests.support.personas import build_cast
from tests.test_minutes_akn import assert_valid

pytestmark = pytest.mark.django_db

NS = {"a": AKN_NS}
TABLE = "| Region | Sirens | Budget |\n|---|:-:|--:|\n| North | 12 | 3.5 |\n| South | 7 | 2.1 |"
STEPS = (
    "Three steps:\n\n1. Map the risks\n2. Train the [councils](https://example.org/councils)\n"
    "3. Test"
)
LATER = "3. Fund the sirens\n4. Publish **monthly**\n   - in print\n   - online"
SPANISH = "Las alertas deben llegar a los consejos *municipales*."
ARABIC = "يجب أن تصل الإنذارات المبكرة إلى المجالس القروية."


def say(cast, persona: str, body: str, kind: str = "statement", lang: str = "") -> str:
    return intervention_post(
        seat_id=cast.seats[persona].pk, client_id=uuid.uuid4(), body=body, kind=kind, language=lang
    ).intervention_id


def rich_session(cast) -> None:
    consent_all(cast)
    say(cast, "cora", TABLE, lang="en")
    say(cast, "gus", STEPS, lang="en")
    say(cast, "ada", LATER, lang="en")
    say(cast, "cora", SPANISH, lang="es")
    say(cast, "gus", ARABIC, lang="ar")
    say(cast, "greta", "Who pays for the sirens?", kind="question", lang="en")
    say(cast, "cora", "The councils, with a fund.", kind="reply", lang="en")
    say(cast, "ada", "We are off the agenda item.", kind="point_of_order", lang="en")


@pytest.fixture
def rich(cast) -> dict:
    rich_session(cast)
    return minutes_document(cast.room)


def test_the_document_carries_each_interventions_language(rich):
    langs = [iv["lang"] for iv in rich["items"][0]["interventions"]]
    assert langs == ["en", "en", "en", "es", "ar", "en", "en", "en"]


# -- Word --------------------------------------------------------------------------------------


def docx_of(doc: dict) -> Document:
    return Document(io.BytesIO(render_docx_minutes(doc)))


def test_docx_has_a_real_three_by_three_table_with_a_header_row(rich):
    document = docx_of(rich)
    [table] = [t for t in document.tables if t.cell(0, 0).text == "Region"]
    assert (len(table.rows), len(table.columns)) == (3, 3)
    assert [c.text for c in table.rows[1].cells] == ["North", "12", "3.5"]
    assert table.rows[0]._tr.find(f"{qn('w:trPr')}/{qn('w:tblHeader')}") is not None
    assert table.cell(0, 0).paragraphs[0].runs[0].bold


def numbered(document) -> list[tuple[str, str, str]]:
    """(text, numId, ilvl) of every paragraph Word numbers."""
    out = []
    for p in document.paragraphs:
        num = p._p.find(f"{qn('w:pPr')}/{qn('w:numPr')}")
        if num is not None:
            ids = (
                num.find(qn("w:numId")).get(qn("w:val")),
                num.find(qn("w:ilvl")).get(qn("w:val")),
            )
            out.append((p.text, *ids))
    return out


def test_docx_lists_are_word_numbering_restarting_at_their_start(rich):
    document = docx_of(rich)
    items = {text: (num, level) for text, num, level in numbered(document)}
    # typed numbers are gone: Word numbers the paragraphs
    assert "Map the risks" in items and "1. Map the risks" not in items
    assert items["Map the risks"][0] == items["Test"][0] != items["Fund the sirens"][0]
    assert items["in print"][1] == "1" and items["Fund the sirens"][1] == "0"
    numbering = document.part.numbering_part.element
    starts = {
        num.get(qn("w:numId")): num.find(f".//{qn('w:startOverride')}").get(qn("w:val"))
        for num in numbering.findall(qn("w:num"))
        if num.find(f".//{qn('w:startOverride')}") is not None
    }
    assert starts[items["Map the risks"][0]] == "1" and starts[items["Fund the sirens"][0]] == "3"
    # the definition is a decimal list, not bullets
    fmt = numbering.xpath(".//w:abstractNum/w:lvl[@w:ilvl='0']/w:numFmt/@w:val")
    assert "decimal" in fmt and "bullet" in fmt


def test_docx_links_are_hyperlinks_to_their_url(rich):
    document = docx_of(rich)
    links = document.element.body.findall(f".//{qn('w:hyperlink')}")
    targets = {
        document.part.rels[link.get(qn("r:id"))].target_ref: "".join(
            t.text for t in link.iter(qn("w:t"))
        )
        for link in links
    }
    assert targets == {"https://example.org/councils": "councils"}
    rel = next(r for r in document.part.rels.values() if r.target_ref.startswith("https://"))
    assert rel.is_external


def test_docx_says_its_language_and_marks_spanish_and_arabic(rich):
    data = render_docx_minutes(rich)
    document = Document(io.BytesIO(data))
    defaults = document.styles.element.find(qn("w:docDefaults"))
    assert [el.get(qn("w:val")) for el in defaults.iter(qn("w:lang"))] == ["en"]
    assert document.core_properties.language == "en"
    spanish = next(p for p in document.paragraphs if p.text.startswith("Las alertas"))
    assert {r._r.find(f"{qn('w:rPr')}/{qn('w:lang')}").get(qn("w:val")) for r in spanish.runs} == {
        "es"
    }
    arabic = next(p for p in document.paragraphs if p.text == ARABIC)
    assert arabic._p.find(f"{qn('w:pPr')}/{qn('w:bidi')}") is not None
    run = arabic.runs[0]._r.find(qn("w:rPr"))
    assert run.find(qn("w:rtl")) is not None and run.find(qn("w:lang")).get(qn("w:bidi")) == "ar"
    # a Spanish room's file is Spanish throughout
    spanish_room = copy.deepcopy(rich)
    spanish_room["header"]["language"] = "es"
    defaults = docx_of(spanish_room).styles.element.find(qn("w:docDefaults"))
    assert [el.get(qn("w:val")) for el in defaults.iter(qn("w:lang"))] == ["es"]


def test_docx_properties_name_the_convener_and_carry_no_template_leftovers(rich, cast):
    rich["version"]["saved_at"] = "2026-11-27T18:00:00+00:00"
    data = render_docx_minutes(rich)
    props = Document(io.BytesIO(data)).core_properties
    convener = cast.room.dialogue.convener
    assert props.author == props.last_modified_by == (convener or "Round tables")
    assert props.created.isoformat().startswith("2026-11-27T18:00")
    assert props.modified == props.created and props.title
    package = zipfile.ZipFile(io.BytesIO(data))
    app = package.read("docProps/app.xml").decode()
    assert "<Application>Round tables</Application>" in app
    for leftover in ("Macintosh", "<Pages>", "<Words>", "Normal.dotm", "AppVersion"):
        assert leftover not in app
    assert not [name for name in package.namelist() if "thumbnail" in name]
    assert b"python-docx" not in package.read("docProps/core.xml")
    assert data == render_docx_minutes(copy.deepcopy(rich))  # the same bytes every time


# -- Markdown ----------------------------------------------------------------------------------


def token_types(text: str) -> set[str]:
    """What a Markdown reader (markdown-it, as the product reads Markdown) makes of it."""
    tokens = MarkdownIt("js-default").parse(text)
    return {t.type for t in tokens} | {c.type for t in tokens for c in t.children or ()}


def test_markdown_keeps_the_table_the_numbered_lists_and_the_links(rich):
    text = render_markdown_minutes(rich)
    assert "> | Region | Sirens | Budget |" in text
    assert "> |---|:---:|---:|" in text or "> |---|---|---|" in text
    assert "> | North | 12 | 3.5 |" in text
    assert "> 1. Map the risks" in text and "> 3. Test" in text
    assert "> 3. Fund the sirens" in text and ">    - in print" in text
    assert "[councils](https://example.org/councils)" in text
    # and a Markdown reader sees them as such
    tokens = token_types(text)
    assert "table_open" in tokens and "ordered_list_open" in tokens and "link_open" in tokens


def test_markdown_escapes_speakers_text_that_would_make_structure(cast):
    consent_all(cast)
    say(cast, "cora", "\\# not a heading, \\[not](a link) 1\\. not a list | pipe")
    text = render_markdown_minutes(minutes_document(cast.room))
    assert "link_open" not in token_types(text)
    html = MarkdownIt("js-default").render(text)
    assert "# not a heading, [not](a link) 1. not a list | pipe" in html


# -- HTML and Akoma Ntoso ----------------------------------------------------------------------


def test_html_marks_interventions_in_another_language(rich):
    page = render_html_minutes(rich)
    assert f'<div class="body" lang="ar" dir="rtl"><p>{ARABIC}</p></div>' in page
    assert '<div class="body" lang="es">' in page
    assert page.count('<div class="body">') == 6  # the room's language is not repeated


def test_akn_is_valid_and_keeps_the_table_lists_links_and_languages(rich):
    root = assert_valid(render_akn_minutes(rich))
    [table] = root.xpath("//a:speech//a:table", namespaces=NS)
    rows = table.findall("a:tr", NS)
    assert len(rows) == 3 and [len(r) for r in rows] == [3, 3, 3]
    assert [c.tag.split("}")[1] for c in rows[0]] == ["th", "th", "th"]
    assert root.xpath("//a:a[@href='https://example.org/councils']/text()", namespaces=NS) == [
        "councils"
    ]
    lists = root.xpath("//a:speech//a:ol", namespaces=NS)
    assert [len(ol.findall("a:li", NS)) for ol in lists] == [3, 2]
    assert lists[1].findall("a:li", NS)[1].find(".//a:ul", NS) is not None
    assert root.xpath("//*[@xml:lang='es']", namespaces=NS)
    assert root.xpath("//*[@xml:lang='ar']", namespaces=NS)
    for kind in ("question", "answer", "pointOfOrder"):
        assert root.xpath(f"//a:{kind}", namespaces=NS)


def test_akn_references_and_eids_do_not_depend_on_language_or_version(rich, cast):
    english = assert_valid(render_akn_minutes(rich))
    twin = build_cast(slug="sala-es", language="es")
    rich_session(twin)
    spanish = assert_valid(render_akn_minutes(minutes_document(twin.room)))

    def refs(root):
        return sorted(el.get("eId") for el in root.find(".//a:references", NS))

    def by(root):
        return [el.get("by") for el in root.xpath("//*[@by]")]

    assert refs(english) == refs(spanish) and by(english) == by(spanish)
    later = copy.deepcopy(rich)
    later["version"]["number"] = 2
    again = assert_valid(render_akn_minutes(later))

    def eids(root):
        return [el.get("eId") for el in root.xpath("//a:debateBody//*[@eId]", namespaces=NS)]

    assert eids(english) == eids(again)


def test_the_structured_exports_name_nobody(rich, cast):
    names = identities(cast)
    for text in (
        render_markdown_minutes(rich),
        render_html_minutes(rich),
        render_akn_minutes(rich).decode(),
    ):
        leak_check(cast.room, text)
        assert not [name for name in names if name in text]
    document = docx_of(rich)
    text = "\n".join(p.text for p in document.paragraphs)
    text += "\n".join(c.text for t in document.tables for r in t.rows for c in r.cells)
    assert not [name for name in names if name in text]
