"""The PDF minutes as a record to file: tagged (a structure tree a screen reader follows),
PDF/A-2a and PDF/UA-1, with its title, creation date, language, bookmarks, running header and
"Page x of y"; what delegates wrote keeps its tables, numbered lists and links; Arabic,
Spanish and Chinese interventions are marked and shaped; and markup of the typesetting
language typed by a delegate prints as typed, doing nothing."""

from __future__ import annotations

import copy
import io
import re
import shutil
import subprocess
import uuid

import pytest
from pypdf import PdfReader
from pypdf.generic import IndirectObject

from forum.minutes.access import version_document
from forum.minutes.formats import pdf_fonts
from forum.minutes.formats.pdf import minutes_data, render_pdf_minutes
from forum.minutes.formats.pdf_fonts import covered
from forum.models import Intervention
from forum.services.interventions import intervention_post
from forum.services.minutes import minutes_adopt, minutes_save
from tests.support.minutes import consent_all, run_session
from tests.support.services import require

pytestmark = pytest.mark.django_db

Kind = Intervention.Kind

BLOCKS = """Our proposal, in three parts:

| Region | Districts | Reached |
|:-------|:---------:|--------:|
| North  | 12        | 9       |
| South  | 7         | 7       |

3. publish the data monthly
4. review it within a year
   - with civil society
   - with the ministries

See [the OAS charter](https://www.oas.org/en/charter?x=1&y=2) for the mandate.

> A quoted line.

```
code  kept   as typed
```
"""
SPANISH = "La propuesta es **razonable** y la apoyamos."
ARABIC = "نحن ندعم هذا الاقتراح بالكامل"
CHINESE = "我们支持这项提议"
# What a delegate might type to make the typesetter read a file, import a package, run code
# or change the layout: each must print as typed.
PAYLOADS = [
    '#read("/etc/passwd")',
    '#import "@preview/cetz:0.3.0": *',
    "#set text(size: 40pt)",
    '#panic("stop")',
    "$x^2 + y$",
    "<label-here>",
    "@ref-target",
    "#{ let x = 1 }",
    "= Not a heading",
    "]) #raw(",
]


def post(cast, persona: str, body: str, kind: str = Kind.STATEMENT, language: str = "") -> None:
    intervention_post(
        seat_id=cast.seats[persona].pk,
        client_id=uuid.uuid4(),
        body=body,
        kind=kind,
        language=language,
    )


def adopted_document(cast) -> dict:
    version = minutes_save(actor_seat_id=cast.rita.pk, summaries={})
    version = minutes_adopt(actor_seat_id=cast.chloe.pk, version=version.number)
    return version_document(version)


@pytest.fixture
def record(cast) -> tuple[dict, bytes]:
    """Adopted minutes with a table, numbered lists, a link, a Spanish, an Arabic and a Chinese
    intervention, a question, a reply and a point of order, long enough for two pages."""
    run_session(cast)
    post(cast, "cora", BLOCKS)
    post(cast, "gus", SPANISH, language="es")
    post(cast, "ada", ARABIC, language="ar")
    post(cast, "pia", CHINESE, language="zh")
    post(cast, "greta", "Who reviews the data?", kind=Kind.QUESTION)
    post(cast, "cora", "The regional office does.", kind=Kind.REPLY)
    post(cast, "cyrus", "The speaking time was exceeded.", kind=Kind.POINT_OF_ORDER)
    post(cast, "gus", " ".join(f"word{i}" for i in range(900)))
    doc = adopted_document(cast)
    data = render_pdf_minutes(doc)
    return doc, data


def reader(data: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(data))


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in reader(data).pages).split())


def poppler_text(data: bytes, *args: str) -> str:
    """What poppler's pdftotext reads (it puts right-to-left text in logical order)."""
    require("poppler-utils", bool(shutil.which("pdftotext")), "no pdftotext (.ci/run installs it)")
    out = subprocess.run(
        ["pdftotext", *args, "-", "-"], input=data, capture_output=True, check=True
    )
    return out.stdout.decode("utf-8")


def structure(data: bytes) -> list[dict]:
    """Every element of the structure tree, depth first."""
    out, todo = [], [reader(data).trailer["/Root"]["/StructTreeRoot"]]
    while todo:
        node = todo.pop()
        node = node.get_object() if isinstance(node, IndirectObject) else node
        if isinstance(node, list):
            todo += reversed(node)
        elif hasattr(node, "get") and "/K" in node:
            out.append(node)
            todo.append(node["/K"])
    return out


def outline_titles(data: bytes) -> list[str]:
    def walk(entries):
        for entry in entries:
            if isinstance(entry, list):
                yield from walk(entry)
            else:
                yield entry.title

    return list(walk(reader(data).outline))


# -- an archival, accessible file --------------------------------------------------------------


def test_adopted_minutes_are_a_tagged_pdfa_and_pdfua_file_with_title_date_and_language(record):
    doc, data = record
    pdf = reader(data)
    root = pdf.trailer["/Root"]
    assert bool(root["/MarkInfo"]["/Marked"])
    assert "/StructTreeRoot" in root and len(structure(data)) > 50
    assert root["/Lang"] == "en"
    xmp = root["/Metadata"].get_object().get_data().decode("utf-8")
    assert "<pdfaid:part>2</pdfaid:part>" in xmp and "<pdfaid:conformance>A" in xmp
    assert "<pdfuaid:part>1</pdfuaid:part>" in xmp
    assert b"/ByteRange" not in data  # only the submission package's copy is signed
    assert pdf.metadata.title == "Minutes: Test round table"
    adopted = doc["version"]["adopted_at"]  # "2026-...T10:00:00.123+00:00"
    stamp = re.sub(r"[-:T]", "", adopted[:19])
    assert pdf.metadata["/CreationDate"].startswith(f"D:{stamp}")
    # Every font is embedded (a PDF/A requirement: the file shows the same everywhere).
    for page in pdf.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = (
                font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            )
            descriptor = descendant["/FontDescriptor"].get_object()
            assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor), font["/BaseFont"]


def test_bookmarks_running_header_and_page_x_of_y(record):
    doc, data = record
    pdf = reader(data)
    pages = len(pdf.pages)
    assert pages >= 2
    item = f"1. {doc['items'][0]['title']}"
    titles = outline_titles(data)
    for title in ("Attendance", item, "Interventions", "Parity figures", "Method"):
        assert title in titles, title
    assert titles.index("Attendance") < titles.index(item) < titles.index("Method")
    first, last = (" ".join(pdf.pages[n].extract_text().split()) for n in (0, -1))
    assert f"Page 1 of {pages}" in first and f"Page {pages} of {pages}" in last
    version = doc["version"]["number"]
    assert f"Test round table test-room, version {version}" in last
    assert "test-room, version" not in first  # the first page has the title instead


def test_long_minutes_get_a_table_of_contents_and_short_ones_do_not(record):
    doc, data = record
    contents = [b for b in minutes_data(doc)["body"] if b["type"] == "contents"]
    assert not contents and "Contents" not in pdf_text(data)
    two_items = copy.deepcopy(doc)
    second = copy.deepcopy(two_items["items"][0])
    second.update(position=2, title="Second item")
    two_items["items"].append(second)
    text = pdf_text(render_pdf_minutes(two_items))
    assert "Contents" in text
    first = f"1. {doc['items'][0]['title']}"
    assert text.index("Status:") < text.index("Contents") < text.index(first)
    assert text.index(first) < text.index("2. Second item")
    assert re.search(r"Contents Attendance \.[ .]* 1 1\. ", text)


# -- what delegates wrote, faithfully --------------------------------------------------------


def test_tables_lists_links_quotes_and_code_keep_their_structure(record):
    _doc, data = record
    text = pdf_text(data)
    layout = poppler_text(data, "-layout")
    # The table: three rows of three cells, the header row tagged as header cells.
    rows = [
        line.split()
        for line in layout.splitlines()
        if line.split()[:1] in (["Region"], ["North"], ["South"])
    ]
    assert rows == [["Region", "Districts", "Reached"], ["North", "12", "9"], ["South", "7", "7"]]
    kinds = [element.get("/S") for element in structure(data)]
    assert "/Table" in kinds and "/TH" in kinds and "/TD" in kinds
    # Numbered items keep their numbers (from the list's start), nested bullets stay nested.
    assert "3. publish the data monthly 4. review it within a year" in text
    assert "with civil society" in text and "/L" in kinds and "/LI" in kinds
    # The link keeps its target, as a link annotation over its text.
    uris = [
        annot.get_object()["/A"]["/URI"]
        for page in reader(data).pages
        for annot in page.get("/Annots", [])
        if annot.get_object().get("/Subtype") == "/Link"
    ]
    assert "https://www.oas.org/en/charter?x=1&y=2" in uris
    assert "See the OAS charter for the mandate." in text
    assert "A quoted line." in text and "code kept as typed" in text
    assert {"/BlockQuote", "/Code", "/Link"} <= set(kinds)
    # Who spoke, numbered, with what kind of intervention.
    for phrase in (
        "A participant from government asked:",
        "A participant from civil society replied:",
        "A participant from civil society raised a point of order:",
    ):
        assert phrase in text, phrase


def test_interventions_in_other_languages_are_marked_and_shaped(record):
    require(
        "fonts-noto-core and fonts-noto-cjk",
        covered(ord(ARABIC[0])) and covered(ord(CHINESE[0])),
        "no Arabic or CJK font (.ci/run installs them)",
    )
    _doc, data = record
    langs = {str(element.get("/Lang")) for element in structure(data) if "/Lang" in element}
    assert {"es", "ar", "zh"} <= langs
    text = poppler_text(data)
    assert ARABIC in text  # logical order, letters joined as typed
    assert CHINESE in text and "La propuesta es razonable y la apoyamos." in pdf_text(data)


# -- user text is data ---------------------------------------------------------------------------


def test_typesetting_markup_typed_by_a_delegate_prints_as_typed(cast):
    consent_all(cast)
    for payload in PAYLOADS:
        post(cast, "cora", f"`{payload}`")  # as code: Markdown leaves it alone
        post(cast, "gus", payload.replace("@", "at @"))
    post(cast, "ada", "```\n" + "\n".join(PAYLOADS) + "\n```")
    doc = adopted_document(cast)
    doc["items"][0]["title"] = PAYLOADS[0]
    data = render_pdf_minutes(doc)
    text = pdf_text(data)
    for payload in PAYLOADS:
        assert text.count(payload) >= 2, payload
    assert f"1. {PAYLOADS[0]}" in outline_titles(data)
    assert not [title for title in outline_titles(data) if "Not a heading" in title]
    assert "root:" not in text  # no file was read
    sizes = set(
        re.findall(
            rb"/f\d+ ([\d.]+) Tf", b"".join(p.get_contents().get_data() for p in reader(data).pages)
        )
    )
    assert b"40" not in sizes  # no `#set` took effect


def test_characters_no_font_shows_become_the_replacement_character(cast):
    consent_all(cast)
    post(cast, "cora", "Thanks 🎉 and \ue000 private; nul\x00 bell\x07 end; Ελληνικά Русский")
    data = render_pdf_minutes(adopted_document(cast))
    text = pdf_text(data)
    assert "Thanks \ufffd and \ufffd private; nul bell end; Ελληνικά Русский" in text


def test_the_same_document_gives_the_same_bytes(cast):
    run_session(cast)
    doc = adopted_document(cast)
    assert render_pdf_minutes(doc) == render_pdf_minutes(copy.deepcopy(doc))


def test_a_character_a_font_map_promised_but_typst_could_not_show_is_replaced(cast):
    """The fonts' character maps are read once; should one list a character its font cannot
    show after all, typst refuses the PDF/A: the renderer replaces that character and
    typesets again rather than failing the export."""
    consent_all(cast)
    post(cast, "cora", "Party \U0001f389 time")
    doc = adopted_document(cast)
    pdf_fonts._table()[0x1F389] = "\U0001f389"  # as if some font showed it
    try:
        text = pdf_text(render_pdf_minutes(doc))
    finally:
        pdf_fonts._table.cache_clear()
    assert "Party ? time" in text


def test_a_link_typst_would_refuse_keeps_its_text(cast):
    consent_all(cast)
    long = "https://example.org/" + "a" * 9000
    post(
        cast, "cora", f"An [empty]() link, a [long]({long}) one and [a good one](https://oas.org/)."
    )
    data = render_pdf_minutes(adopted_document(cast))
    assert "An empty link, a long one and a good one." in pdf_text(data)
    uris = [
        annot.get_object()["/A"]["/URI"]
        for page in reader(data).pages
        for annot in page.get("/Annots", [])
    ]
    assert uris == ["https://oas.org/"]


def test_what_pdf_ua_would_refuse_is_fitted_not_failed(cast):
    """A heading five levels down, an empty one and quotes nested fifty deep are all a
    delegate's to type; PDF/UA refuses skipped heading levels and typst deep nesting, so the
    headings are moved up under their section and the deepest quotes set as text."""
    consent_all(cast)
    post(cast, "cora", "##### A deep heading\n\n###\n\nAfter it.")
    post(cast, "gus", "> " * 50 + "Deeply quoted.")
    data = render_pdf_minutes(adopted_document(cast))
    text = pdf_text(data)
    assert "A deep heading After it." in text and "Deeply quoted." in text
    levels = [element.get("/S") for element in structure(data)]
    assert "/H3" in levels and "/H5" not in levels
