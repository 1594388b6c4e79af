"""The minutes document (forum/minutes/document.py) as a Word file, laid out like
`render_html_minutes`.

A pure function of the document: `render_docx_minutes(doc)` returns the bytes, the same bytes
for the same document: the core properties carry a date taken from the document, and the
package is written with fixed zip timestamps (python-docx stamps the time of saving).

Real structure for whoever edits it next: heading styles (Title, Heading 1, Heading 2),
"Table Grid" tables, list styles. Interventions, thousands in a long session, are written as
WordprocessingML in one batch: python-docx inserts each paragraph after scanning the body for
its end, so 10,000 paragraphs take about 2 s (10 s with a style each), against 0.1 s here.
User text is always set as text, never parsed; characters XML cannot carry (control
characters) are dropped.
"""

from __future__ import annotations

import io
import re
import zipfile

from django.utils.translation import gettext as _
from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls
from docx.shared import Cm, Mm, Pt, RGBColor

from forum.minutes.blocks import html_blocks, recommendation_text
from forum.minutes.formats import annex_words
from forum.minutes.formats.common import (
    attendance_head,
    attendance_line,
    attendance_rows,
    audience_note,
    header_labels,
    headings,
    in_minutes_language,
    minutes_title,
    outcome_text,
    parity_head,
    parity_table,
    percent,
    rec_number,
    said_line,
    sectors_head,
    status_line,
    support_text,
    weighted_head,
)
from forum.minutes.formats.docx_blocks import (
    MONO,
    BlockWriter,
    Numbering,
    body_elements,
    clean,
    run_xml,
)
from forum.minutes.formats.docx_properties import clean_package
from forum.minutes.when import time_text

GREY = RGBColor(0x55, 0x55, 0x55)
SPEAKER_STYLE = "Intervention Speaker"
TEXT_STYLE = "Intervention Text"
TEXT_INDENT = 340  # twips: the intervention text's indent (0.6 cm)
# A fixed zip entry time (the zip epoch): the bytes must not depend on when they were made.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)

_HEX = re.compile(r"\b([0-9a-f]{64})\b")


# -- setup -------------------------------------------------------------------------------------


_PAGE_FIELD = "\x00"  # where the page number field goes in the translated "Page %(n)s"


def _page(document) -> None:
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2))
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    before, _sep, after = (_("Page %(n)s") % {"n": _PAGE_FIELD}).partition(_PAGE_FIELD)
    if before:
        footer.add_run(clean(before))
    footer._p.append(
        parse_xml(
            f'<w:fldSimple {nsdecls("w")} w:instr="PAGE"><w:r><w:t>1</w:t></w:r></w:fldSimple>'
        )
    )
    if after:
        footer.add_run(clean(after))


class Writer:
    """Adds to a python-docx Document, with paragraph styles set by id: python-docx scans
    every style of its template each time a style is set by name (about 1.5 ms a time)."""

    NAMED = (
        "Title",
        "Heading 1",
        "Heading 2",
        "Heading 3",
        "Heading 4",
        "Heading 5",
        "Heading 6",
        "List Bullet",
        "List Paragraph",
        "Quote",
        "Table Grid",
    )

    def __init__(self, document):
        self.document = document
        styles = document.styles
        self.ids = {name: styles[name].style_id for name in self.NAMED}
        speaker = styles.add_style(SPEAKER_STYLE, WD_STYLE_TYPE.PARAGRAPH)
        speaker.base_style = styles["Normal"]
        speaker.font.bold = True
        speaker.paragraph_format.keep_with_next = True
        speaker.paragraph_format.space_before = Pt(6)
        speaker.paragraph_format.space_after = Pt(0)
        text = styles.add_style(TEXT_STYLE, WD_STYLE_TYPE.PARAGRAPH)
        text.base_style = styles["Normal"]
        text.paragraph_format.left_indent = Cm(0.6)
        text.paragraph_format.space_after = Pt(2)
        self.ids.update({SPEAKER_STYLE: speaker.style_id, TEXT_STYLE: text.style_id})
        self.numbering = Numbering(document)
        self.blocks = BlockWriter(document, self.ids, self.numbering)

    def append_xml(self, xml: str) -> None:
        """WordprocessingML (paragraphs, tables) added at the end of the body in one batch."""
        end = self.document.element.body.sectPr  # the body's last child: content goes before
        for element in body_elements(xml):
            end.addprevious(element)

    def paragraph(self, text: object = "", style: str | None = None):
        """A paragraph of user text (cleaned), in the named style (Normal if None)."""
        paragraph = self.document.add_paragraph(clean(text))
        if style:
            paragraph._p.style = self.ids[style]
        return paragraph

    def heading(self, text: object, level: int):
        return self.paragraph(text, "Title" if level == 0 else f"Heading {level}")

    def labelled(self, label: str, text: object, sep: str = ": "):
        paragraph = self.paragraph()
        paragraph.add_run(f"{clean(label)}{sep}").bold = True
        paragraph.add_run(clean(text))
        return paragraph

    def table(self, rows: list[list[object]]):
        """A "Table Grid" table; the first row is the header, bold and repeated on each page."""
        table = self.document.add_table(rows=len(rows), cols=len(rows[0]))
        table._tbl.tblPr.style = self.ids["Table Grid"]
        for row, values in zip(table.rows, rows, strict=True):
            for cell, value in zip(row.cells, values, strict=True):
                cell.text = clean(value)
        for cell in table.rows[0].cells:
            for run in cell.paragraphs[0].runs:
                run.bold = True
        table.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
        self.paragraph()  # Word joins adjacent tables into one; a paragraph keeps them apart
        return table

    def interventions(self, interventions: list[dict]) -> None:
        if not interventions:
            _note(self.paragraph(), headings()["no_interventions"])
            return
        self.append_xml(_interventions_xml(self, interventions))


# -- pieces ------------------------------------------------------------------------------------


def _note(paragraph, text: str):
    run = paragraph.add_run(clean(text))
    run.italic = True
    run.font.color.rgb = GREY
    return run


def _status(w: Writer, doc: dict):
    """The status line; the content hash in a small monospace run so it stays on one line."""
    paragraph = w.paragraph()
    paragraph.add_run(f"{clean(header_labels()['status'])}: ").bold = True
    for i, part in enumerate(_HEX.split(clean(status_line(doc)))):
        run = paragraph.add_run(part)
        if i % 2:
            run.font.name = MONO
            run.font.size = Pt(8)
    return paragraph


def _interventions_xml(w: Writer, interventions: list[dict]) -> str:
    """Each intervention: its attribution line, then what the speaker wrote with its
    structure (formats/docx_blocks.py), marked with its language when not the document's."""
    speaker = f'<w:p><w:pPr><w:pStyle w:val="{w.ids[SPEAKER_STYLE]}"/></w:pPr>'
    note = run_xml(f" {headings()['redacted']}", '<w:b w:val="0"/><w:i/><w:color w:val="555555"/>')
    out = []
    for iv in interventions:
        out.append(speaker + run_xml(said_line(iv)) + (note if iv["redacted"] else "") + "</w:p>")
        out.append(
            w.blocks.blocks(
                html_blocks(iv["body_html"]), base=TEXT_INDENT, style=TEXT_STYLE, lang=iv["lang"]
            )
        )
    return "".join(out)


def _summary(w: Writer, fragment: str, fallback: str) -> None:
    """The rapporteur's summary (sanitised HTML) with its lists, tables, links and emphasis."""
    blocks = html_blocks(fragment)
    if not blocks:
        w.paragraph(fallback)
    w.append_xml(w.blocks.blocks(blocks))


def _recommendation(w: Writer, rec: dict) -> None:
    """ "3. <text> (to: ...)": the number as the minutes number it everywhere (typed: Word would
    renumber it per list), the text's first paragraph after it, further blocks under it."""
    number = rec_number(rec)
    blocks = html_blocks(rec["text_html"]) if rec.get("text_html") else []
    first = blocks.pop(0)["runs"] if blocks and blocks[0]["type"] == "p" else None
    if first is None and not blocks:
        first = [{"text": recommendation_text(rec), "marks": []}]
    style = w.ids["List Paragraph" if number else "List Bullet"]
    runs = run_xml(f"{number} ") if number else ""
    runs += w.blocks.runs(first or [])
    note = run_xml(f" {audience_note(rec)}", '<w:i/><w:color w:val="555555"/>')
    xml = f'<w:p><w:pPr><w:pStyle w:val="{style}"/></w:pPr>{runs}{note}</w:p>'
    w.append_xml(xml + w.blocks.blocks(blocks, base=720))


def _annex(w: Writer, doc: dict) -> None:
    """The annex of written contributions, their text with its formatting (as summaries)."""
    entries = annex_words.contributions(doc)
    if not entries:
        return
    w.heading(annex_words.annex_title(), level=1)
    _note(w.paragraph(), annex_words.annex_intro())
    for entry in entries:
        w.heading(annex_words.contribution_heading(entry), level=2)
        if entry["summary_html"]:
            w.paragraph(annex_words.summary_label(), SPEAKER_STYLE)
            _summary(w, entry["summary_html"], entry["summary_text"])
        _summary(w, entry["body_html"], entry["body_text"])
        if entry.get("attachment"):
            _note(w.paragraph(), annex_words.attachment_line(entry))


def _check(w: Writer, check: dict) -> None:
    words = headings()
    labels = {o["key"]: o["label"] for o in check["options"]}
    keys = [o["key"] for o in check["options"]]
    w.labelled(words["consensus_check"], check["proposition"])
    paragraph = w.paragraph(f"{words['outcome']}: ")
    paragraph.add_run(clean(outcome_text(check))).bold = True
    if check["support"] is not None:
        paragraph.add_run(clean(support_text(check)))
    paragraph.add_run(".")
    if check["weighted"]:
        rows = [weighted_head()]
        rows += [[labels.get(k, k), percent(v)] for k, v in check["weighted"].items()]
        w.table(rows)
    if check["sectors"]:
        rows = [sectors_head(check)]
        rows += [
            [s["name"], s["voters"], f"{s['weight']:.3f}"]
            + [s["distribution"].get(k, 0) for k in keys]
            for s in check["sectors"]
        ]
        w.table(rows)
    for reason in check["reasons"]:
        w.paragraph(reason, style="List Bullet")


def _item(w: Writer, item: dict) -> None:
    words = headings()
    w.heading(f"{item['position']}. {item['title']}", level=1)
    if item["description"]:
        w.paragraph(item["description"])
    if item["summary"]:
        w.heading(words["summary"], level=2)
        _summary(w, item["summary_html"], item["summary_text"])
    w.heading(words["interventions"], level=2)
    w.interventions(item["interventions"])
    if item["consensus_checks"]:
        w.heading(words["consensus_checks"], level=2)
        for check in item["consensus_checks"]:
            _check(w, check)
    if item["recommendations"]:
        w.heading(words["recommendations"], level=2)
        for rec in item["recommendations"]:
            _recommendation(w, rec)


def _header(w: Writer, doc: dict) -> None:
    h = doc["header"]
    att = h["attendance"]
    label = header_labels()
    w.heading(minutes_title(doc), level=0)
    w.labelled(label["dialogue"], h["dialogue"])
    w.labelled(label["date"], h["date"])
    if time_text(h):
        w.labelled(label["time"], time_text(h))
    w.labelled(label["place"], h["place"])
    _status(w, doc)
    w.labelled(label["rule"], f"{h['rule']['name']}. {h['rule']['explanation']}")
    w.labelled(
        label["attribution"], f"{h['attribution']['name']}. {h['attribution']['explanation']}"
    )
    w.heading(headings()["attendance"], level=1)
    w.table([attendance_head(att)] + attendance_rows(att))
    w.paragraph(attendance_line(att))


def _parity(w: Writer, parity: dict) -> None:
    rows, closing = parity_table(parity)
    w.table([parity_head(), *rows])
    w.paragraph(closing)


def _fixed_zip(data: bytes) -> bytes:
    """The same package with every entry stamped ZIP_TIME, in the same order."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            target.writestr(entry, source.read(info))
    return out.getvalue()


def render_docx_minutes(doc: dict) -> bytes:
    with in_minutes_language(doc):
        return _render(doc)


def _render(doc: dict) -> bytes:
    document = Document()
    _page(document)
    w = Writer(document)
    _header(w, doc)
    for item in doc["items"]:
        _item(w, item)
    words = headings()
    w.heading(words["parity"], level=1)
    _parity(w, doc["parity"])
    w.heading(words["method"], level=1)
    for part in doc["method"]:
        w.labelled(part["title"], part["text"], sep=". ")
    _annex(w, doc)
    w.numbering.flush()
    clean_package(document, doc)
    buffer = io.BytesIO()
    document.save(buffer)
    return _fixed_zip(buffer.getvalue())
