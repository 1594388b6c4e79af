"""The minutes document (forum/minutes.py) as a Word file, laid out like `render_html_minutes`.

A pure function of the document: `render_docx_minutes(doc)` returns the bytes, the same bytes
for the same document: the core properties carry a date taken from the document, and the
package is written with fixed zip timestamps (python-docx stamps the time of saving).

Real structure for whoever edits it next: heading styles (Title, Heading 1, Heading 2),
"Table Grid" tables, list styles. Interventions, thousands in a long session, are written as
WordprocessingML in one batch: python-docx inserts each paragraph by scanning the body for
its end, which makes 10,000 paragraphs take seconds. User text is always set as text, never
parsed; characters XML cannot carry (control characters) are dropped.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls
from docx.shared import Cm, Mm, Pt, RGBColor

from forum.minutes_pdf import html_blocks, recommendation_text
from forum.minutes_render import status_line

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


def _percent(share: float | None) -> str:
    return "n/a" if share is None else f"{share * 100:.1f}%"


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
    props.title = clean(f"Minutes: {doc['header']['round_table']}")
    props.subject = clean(doc["header"]["dialogue"])
    props.author = props.last_modified_by = "Round tables"
    props.comments = clean(status_line(doc))
    props.keywords = "minutes"
    props.created = props.modified = stamp
    props.revision = (doc.get("version") or {}).get("number") or 1


def _page(document) -> None:
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2))
    footer = section.footer.paragraphs[0]
    footer.alignment = 1  # centred
    footer.add_run("Page ")
    footer._p.append(parse_xml(
        f'<w:fldSimple {nsdecls("w")} w:instr="PAGE"><w:r><w:t>1</w:t></w:r></w:fldSimple>'
    ))


def _styles(document) -> dict[str, str]:
    """The two paragraph styles of an intervention; their ids for the batched XML."""
    styles = document.styles
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
    return {"speaker": speaker.style_id, "text": text.style_id}


# -- pieces ------------------------------------------------------------------------------------


def _note(paragraph, text: str):
    run = paragraph.add_run(clean(text))
    run.italic = True
    run.font.color.rgb = GREY
    return run


def _labelled(document, label: str, text: str, sep: str = ": "):
    paragraph = document.add_paragraph()
    paragraph.add_run(f"{clean(label)}{sep}").bold = True
    paragraph.add_run(clean(text))
    return paragraph


def _status(document, doc: dict):
    """The status line; the content hash in a small monospace run so it stays on one line."""
    paragraph = document.add_paragraph()
    paragraph.add_run("Status: ").bold = True
    for i, part in enumerate(_HEX.split(clean(status_line(doc)))):
        run = paragraph.add_run(part)
        if i % 2:
            run.font.name = MONO
            run.font.size = Pt(8)
    return paragraph


def _table(document, rows: list[list[object]]):
    """A "Table Grid" table; the first row is the header, bold and repeated on each page."""
    table = document.add_table(rows=len(rows), cols=len(rows[0]))
    table.style = document.styles["Table Grid"]
    for row, values in zip(table.rows, rows, strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = clean(value)
    for cell in table.rows[0].cells:
        for run in cell.paragraphs[0].runs:
            run.bold = True
    header = OxmlElement("w:tblHeader")
    table.rows[0]._tr.get_or_add_trPr().append(header)
    document.add_paragraph()  # Word runs adjacent tables together; a paragraph keeps them apart
    return table


def _run_xml(text: str, props: str = "") -> str:
    rpr = f"<w:rPr>{props}</w:rPr>" if props else ""
    return f'<w:r>{rpr}<w:t xml:space="preserve">{escape(clean(text))}</w:t></w:r>'


def _interventions_xml(interventions: list[dict], ids: dict[str, str]) -> str:
    speaker = f'<w:p><w:pPr><w:pStyle w:val="{ids["speaker"]}"/></w:pPr>'
    text = f'<w:p><w:pPr><w:pStyle w:val="{ids["text"]}"/></w:pPr>'
    note = _run_xml(
        " (redacted by the moderators)", '<w:b w:val="0"/><w:i/><w:color w:val="555555"/>'
    )
    out = []
    for iv in interventions:
        out.append(speaker + _run_xml(iv["sentence"]) + (note if iv["redacted"] else "") + "</w:p>")
        parts = [part for part in iv["body_text"].split("\n") if part.strip()]
        out += [text + _run_xml(part) + "</w:p>" for part in parts]
    return "".join(out)


def _add_interventions(document, interventions: list[dict], ids: dict[str, str]) -> None:
    if not interventions:
        _note(document.add_paragraph(), "No interventions.")
        return
    batch = parse_xml(f'<w:body {nsdecls("w")}>{_interventions_xml(interventions, ids)}</w:body>')
    end = document.element.body.sectPr  # the body's last child: content goes before it
    for paragraph in list(batch):
        end.addprevious(paragraph)


def _runs(paragraph, runs: list[tuple[str, frozenset[str]]], mono: bool = False) -> None:
    for text, marks in runs:
        run = paragraph.add_run(clean(text))
        run.bold = "b" in marks or None
        run.italic = "i" in marks or None
        run.font.strike = "s" in marks or None
        if mono or "code" in marks:
            run.font.name = MONO


def _summary(document, fragment: str, fallback: str) -> None:
    """The rapporteur's summary (sanitised HTML) with its lists, quotes and emphasis."""
    blocks = html_blocks(fragment)
    if not blocks:
        document.add_paragraph(clean(fallback))
    for block in blocks:
        if block.kind == "h":
            paragraph = document.add_heading(level=3)
        elif block.kind == "li" and block.label == "\u2022":
            paragraph = document.add_paragraph(style="List Bullet")
        elif block.kind == "li":
            paragraph = document.add_paragraph(f"{block.label} ", style="List Paragraph")
        else:
            paragraph = document.add_paragraph(style="Quote" if block.kind == "quote" else None)
        _runs(paragraph, block.runs, mono=block.kind == "pre")


def _check(document, check: dict) -> None:
    labels = {o["key"]: o["label"] for o in check["options"]}
    keys = [o["key"] for o in check["options"]]
    outcome = check["outcome"] or ("still open" if check["status"] == "open" else "no result")
    _labelled(document, "Consensus check", check["proposition"])
    paragraph = document.add_paragraph("Outcome: ")
    paragraph.add_run(clean(outcome)).bold = True
    if check["support"] is not None:
        paragraph.add_run(f"; weighted support {_percent(check['support'])}")
    paragraph.add_run(".")
    if check["weighted"]:
        rows = [["Option", "Weighted share"]]
        rows += [[labels.get(k, k), _percent(v)] for k, v in check["weighted"].items()]
        _table(document, rows)
    if check["sectors"]:
        rows = [["Sector", "Voters", "Weight"] + [labels[k] for k in keys]]
        rows += [
            [s["name"], s["voters"], f"{s['weight']:.3f}"]
            + [s["distribution"].get(k, 0) for k in keys]
            for s in check["sectors"]
        ]
        _table(document, rows)
    for reason in check["reasons"]:
        document.add_paragraph(clean(reason), style="List Bullet")


def _item(document, item: dict, ids: dict[str, str]) -> None:
    document.add_heading(clean(f"{item['position']}. {item['title']}"), level=1)
    if item["description"]:
        document.add_paragraph(clean(item["description"]))
    if item["summary"]:
        document.add_heading("Summary", level=2)
        _summary(document, item["summary_html"], item["summary_text"])
    document.add_heading("Interventions", level=2)
    _add_interventions(document, item["interventions"], ids)
    if item["consensus_checks"]:
        document.add_heading("Consensus checks", level=2)
        for check in item["consensus_checks"]:
            _check(document, check)
    if item["recommendations"]:
        document.add_heading("Recommendations", level=2)
        for rec in item["recommendations"]:
            paragraph = document.add_paragraph(clean(recommendation_text(rec)), style="List Bullet")
            _note(paragraph, f" (to: {rec['audience_label']})")


def _header(document, doc: dict) -> None:
    h = doc["header"]
    att = h["attendance"]
    document.add_heading(clean(f"Minutes: {h['round_table']}"), level=0)
    _labelled(document, "Dialogue", h["dialogue"])
    _labelled(document, "Date", h["date"])
    _labelled(document, "Place", h["place"])
    _status(document, doc)
    _labelled(document, "Rule", f"{h['rule']['name']}. {h['rule']['explanation']}")
    _labelled(
        document, "Attribution", f"{h['attribution']['name']}. {h['attribution']['explanation']}"
    )
    document.add_heading("Attendance", level=1)
    rows = [["Sector", "Delegates"]] + [[s["name"], s["delegates"]] for s in att["sectors"]]
    _table(document, rows)
    document.add_paragraph(
        f"Chair: {att['chair']}; moderators: {att['moderators']}; rapporteur: {att['rapporteur']}; "
        f"observers: {att['observers']}; delegates in all: {att['delegates']}."
    )


def _parity(document, parity: dict) -> None:
    room = parity["room"]
    rows = [["Sector", "Turns", "Speaking time (s)", "Share", "Interventions", "Words"]]
    for s in parity["sectors"]:
        f = room["sectors"].get(s["slug"], {})
        rows.append([
            s["name"], f.get("turns", 0), f"{f.get('speaking_seconds', 0):.0f}",
            _percent(f.get("speaking_share", 0.0)), f.get("interventions", 0), f.get("words", 0),
        ])
    _table(document, rows)
    document.add_paragraph(
        f"Balance index: {room['balance']:.2f}; departures from the floor rule: "
        f"{room['overrides']['total']}."
    )


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
    document = Document()
    _properties(document, doc)
    _page(document)
    ids = _styles(document)
    _header(document, doc)
    for item in doc["items"]:
        _item(document, item, ids)
    document.add_heading("Parity figures", level=1)
    _parity(document, doc["parity"])
    document.add_heading("Method", level=1)
    for part in doc["method"]:
        _labelled(document, part["title"], part["text"], sep=". ")
    buffer = io.BytesIO()
    document.save(buffer)
    return _fixed_zip(buffer.getvalue())
