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
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _
from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls
from docx.shared import Cm, Mm, Pt, RGBColor

from forum.minutes.blocks import html_blocks, recommendation_text, runs_text
from forum.minutes.formats.common import (
    attendance_head,
    attendance_line,
    attendance_rows,
    audience_note,
    header_labels,
    headings,
    in_minutes_language,
    minutes_language,
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
from forum.minutes.when import time_text

GREY = RGBColor(0x55, 0x55, 0x55)
MONO = "Courier New"
SPEAKER_STYLE = "Intervention Speaker"
TEXT_STYLE = "Intervention Text"
# A fixed zip entry time (the zip epoch): the bytes must not depend on when they were made.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_HEX = re.compile(r"\b([0-9a-f]{64})\b")


def clean(text: object) -> str:
    """User text that XML can carry (python-docx refuses control characters)."""
    return _NOT_XML.sub("", str(text if text is not None else ""))


# -- setup -------------------------------------------------------------------------------------


def _stamp(doc: dict) -> datetime:
    """The date the file says it was made: adoption, else the last save, else the session day."""
    version = doc.get("version") or {}
    for value in (version.get("adopted_at"), version.get("saved_at")):
        try:
            return datetime.fromisoformat(value).astimezone(UTC)
        except (TypeError, ValueError):
            continue
    try:
        return datetime.fromisoformat(doc["header"]["date"]).replace(tzinfo=UTC)
    except (KeyError, TypeError, ValueError):
        return datetime(2000, 1, 1, tzinfo=UTC)


def _properties(document, doc: dict) -> None:
    props = document.core_properties
    stamp = _stamp(doc)
    props.title = clean(minutes_title(doc))
    props.subject = clean(doc["header"]["dialogue"])
    props.author = props.last_modified_by = "Round tables"
    props.comments = clean(status_line(doc))
    props.keywords = _("minutes")
    props.language = minutes_language(doc)
    props.created = props.modified = stamp
    props.revision = (doc.get("version") or {}).get("number") or 1


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
        xml = _interventions_xml(interventions, self.ids[SPEAKER_STYLE], self.ids[TEXT_STYLE])
        batch = parse_xml(f"<w:body {nsdecls('w')}>{xml}</w:body>")
        end = self.document.element.body.sectPr  # the body's last child: content goes before
        for paragraph in list(batch):
            end.addprevious(paragraph)


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


def _run_xml(text: str, props: str = "") -> str:
    rpr = f"<w:rPr>{props}</w:rPr>" if props else ""
    return f'<w:r>{rpr}<w:t xml:space="preserve">{escape(clean(text))}</w:t></w:r>'


def _interventions_xml(interventions: list[dict], speaker_id: str, text_id: str) -> str:
    speaker = f'<w:p><w:pPr><w:pStyle w:val="{speaker_id}"/></w:pPr>'
    text = f'<w:p><w:pPr><w:pStyle w:val="{text_id}"/></w:pPr>'
    note = _run_xml(f" {headings()['redacted']}", '<w:b w:val="0"/><w:i/><w:color w:val="555555"/>')
    out = []
    for iv in interventions:
        out.append(speaker + _run_xml(said_line(iv)) + (note if iv["redacted"] else "") + "</w:p>")
        parts = [part for part in iv["body_text"].split("\n") if part.strip()]
        out += [text + _run_xml(part) + "</w:p>" for part in parts]
    return "".join(out)


def _runs(paragraph, runs: list[dict], mono: bool = False) -> None:
    for part in runs:
        run = paragraph.add_run(clean(part["text"]))
        marks = part["marks"]
        run.bold = "b" in marks or None
        run.italic = "i" in marks or None
        run.font.strike = "s" in marks or None
        if mono or "code" in marks:
            run.font.name = MONO


def _blocks(w: Writer, blocks: list[dict], quote: bool = False) -> None:
    for block in blocks:
        kind = block["type"]
        if kind == "h":
            _runs(w.heading("", level=3), block["runs"])
        elif kind == "p":
            _runs(w.paragraph(style="Quote" if quote else None), block["runs"])
        elif kind == "code":
            w.paragraph(style="Quote" if quote else None).add_run(
                clean(block["text"])
            ).font.name = MONO
        elif kind == "quote":
            _blocks(w, block["blocks"], quote=True)
        elif kind == "table":
            w.table([[runs_text(cell) for cell in row["cells"]] for row in block["rows"]])
        elif kind == "list":
            for number, item in enumerate(block["items"], start=block["start"]):
                first = item[0]["runs"] if item and item[0]["type"] == "p" else []
                if block["ordered"]:
                    paragraph = w.paragraph(f"{number}. ", style="List Paragraph")
                else:
                    paragraph = w.paragraph(style="List Bullet")
                _runs(paragraph, first)
                _blocks(w, item[1:] if first else item, quote)


def _summary(w: Writer, fragment: str, fallback: str) -> None:
    """The rapporteur's summary (sanitised HTML) with its lists, quotes and emphasis."""
    blocks = html_blocks(fragment)
    if not blocks:
        w.paragraph(fallback)
    _blocks(w, blocks)


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
            number = rec_number(rec)
            text = f"{number} {recommendation_text(rec)}" if number else recommendation_text(rec)
            paragraph = w.paragraph(text, style="List Paragraph" if number else "List Bullet")
            _note(paragraph, f" {audience_note(rec)}")


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
    _properties(document, doc)
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
    buffer = io.BytesIO()
    document.save(buffer)
    return _fixed_zip(buffer.getvalue())
