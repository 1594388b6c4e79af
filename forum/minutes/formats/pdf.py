"""The minutes document (forum/minutes/document.py) as a PDF, laid out like
`render_html_minutes`.

A pure function of the document: `render_pdf_minutes(doc)` returns the bytes, the same bytes
for the same document (ReportLab's invariant mode fixes the dates and the file id), because
the submission package hashes its files.

All user text is set as literal text: ReportLab paragraphs parse a mini-markup, so every
string is XML-escaped before it reaches one, and interventions do not go through that parser
at all (see `TextBlock`). The fonts are DejaVu when the system has them (wide Unicode
coverage, text stays extractable), else Helvetica and Courier; a character the font cannot
show becomes "?" instead of an empty box or an error.
"""

from __future__ import annotations

import functools
import io

from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from forum.minutes.blocks import html_blocks, recommendation_text, runs_text
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
from forum.minutes.formats.pdf_text import (
    _HEX,
    BODY_LEADING,
    BODY_SIZE,
    GREY,
    Run,
    TextBlock,
    _Pen,
    esc,
    fonts,
    shown,
)
from forum.minutes.when import time_text

# -- styles ------------------------------------------------------------------------------------


@functools.cache
def styles() -> dict[str, ParagraphStyle]:
    f = fonts()
    body = ParagraphStyle(
        "body",
        fontName=f.regular,
        fontSize=BODY_SIZE,
        leading=BODY_LEADING,
        spaceAfter=4,
    )
    return {
        "title": ParagraphStyle(
            "title",
            parent=body,
            fontName=f.bold,
            fontSize=18,
            leading=22,
            spaceAfter=10,
        ),
        "h1": ParagraphStyle(
            "h1",
            parent=body,
            fontName=f.bold,
            fontSize=14,
            leading=18,
            spaceBefore=12,
            spaceAfter=6,
            keepWithNext=True,
        ),
        "h2": ParagraphStyle(
            "h2",
            parent=body,
            fontName=f.bold,
            fontSize=11,
            leading=14,
            spaceBefore=8,
            spaceAfter=4,
            keepWithNext=True,
        ),
        "body": body,
        "bullet": ParagraphStyle("bullet", parent=body, leftIndent=14, bulletIndent=4),
        "cell": ParagraphStyle("cell", parent=body, fontSize=9, leading=11, spaceAfter=0),
        "head": ParagraphStyle(
            "head",
            parent=body,
            fontName=f.bold,
            fontSize=9,
            leading=11,
            spaceAfter=0,
        ),
        "pre": ParagraphStyle("pre", parent=body, fontName=f.mono, fontSize=8.5, leading=10.5),
        "quote": ParagraphStyle("quote", parent=body, leftIndent=14, textColor=GREY),
    }


def _note(text: str) -> str:
    """Paragraph markup of a note; `text` is escaped already."""
    return f' <font color="{GREY}"><i>{text}</i></font>'


def _table(rows: list[list[object]], widths: list[float] | None = None) -> Table:
    """A grid table; the first row is the header. Cells are user text, set as paragraphs."""
    st = styles()
    data = [[Paragraph(esc(value), st["head"]) for value in rows[0]]]
    data += [[Paragraph(esc(value), st["cell"]) for value in row] for row in rows[1:]]
    table = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#999999")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


_TAGS = {"b": ("<b>", "</b>"), "i": ("<i>", "</i>"), "s": ("<strike>", "</strike>")}


def _markup(runs: list[tuple[str, frozenset[str]]], pre: bool = False) -> str:
    out = []
    for text, marks in runs:
        text = esc(text)
        if pre:  # paragraphs collapse spaces; code keeps its indentation as non-breaking ones
            text = text.replace(" ", "&nbsp;")
        if "code" in marks and not pre:
            text = f'<font name="{fonts().mono}">{text}</font>'
        for mark in sorted(marks & _TAGS.keys()):
            text = f"{_TAGS[mark][0]}{text}{_TAGS[mark][1]}"
        out.append(text)
    return "".join(out)


def _pairs(runs: list[dict]) -> list[tuple[str, frozenset[str]]]:
    return [(run["text"], frozenset(run["marks"])) for run in runs]


def _paragraphs(blocks: list[dict], quote: bool = False):
    """The block tree as flat (kind, label, runs) paragraphs, the shape this renderer lays out:
    kind "p", "h", "li", "pre" or "quote"; a table's rows as lines with cells apart."""
    for block in blocks:
        kind = block["type"]
        if kind in {"p", "h"}:
            yield ("quote" if quote and kind == "p" else kind), "", _pairs(block["runs"])
        elif kind == "code":
            yield "pre", "", [(block["text"], frozenset())]
        elif kind == "quote":
            yield from _paragraphs(block["blocks"], True)
        elif kind == "table":
            for row in block["rows"]:
                cells = [runs_text(cell) for cell in row["cells"]]
                yield "p", "", [(" | ".join(cells), frozenset({"b"} if row["header"] else ()))]
        elif kind == "list":
            for number, item in enumerate(block["items"], start=block["start"]):
                label = f"{number}." if block["ordered"] else "\u2022"
                first = item[0] if item and item[0]["type"] == "p" else None
                yield "li", label, _pairs(first["runs"]) if first else []
                yield from _paragraphs(item[1:] if first else item, quote)


def summary_flowables(fragment: str) -> list[Paragraph]:
    """The rapporteur's summary (sanitised HTML) as paragraphs, lists and quotes."""
    st = styles()
    out = []
    for kind, label, runs in _paragraphs(html_blocks(fragment)):
        text = _markup(runs, pre=kind == "pre")
        if kind == "li":
            out.append(Paragraph(text, st["bullet"], bulletText=label))
        elif kind == "h":
            out.append(Paragraph(f"<b>{text}</b>", st["body"]))
        else:
            out.append(Paragraph(text, st["body" if kind == "p" else kind]))
    return out


# -- the document ------------------------------------------------------------------------------


def _status(doc: dict) -> str:
    """The status line; the content hash in a small monospace font so it stays on one line."""
    mono = fonts().mono
    return _HEX.sub(
        lambda m: f'<font name="{mono}" size="7.5">{m.group(0)}</font>', esc(status_line(doc))
    )


def _header(doc: dict) -> list:
    st = styles()
    h = doc["header"]
    att = h["attendance"]
    label = header_labels()
    fields = [
        (label["dialogue"], esc(h["dialogue"])),
        (label["date"], esc(h["date"])),
        *([(label["time"], esc(time_text(h)))] if time_text(h) else []),
        (label["place"], esc(h["place"])),
        (label["status"], _status(doc)),
        (label["rule"], f"{esc(h['rule']['name'])}. {esc(h['rule']['explanation'])}"),
        (
            label["attribution"],
            f"{esc(h['attribution']['name'])}. {esc(h['attribution']['explanation'])}",
        ),
    ]
    out = [Paragraph(esc(minutes_title(doc)), st["title"])]
    out += [Paragraph(f"<b>{esc(name)}:</b> {value}", st["body"]) for name, value in fields]
    out.append(Paragraph(esc(headings()["attendance"]), st["h1"]))
    rows = [attendance_head(att)] + attendance_rows(att)
    widths = [9 * cm, 3 * cm, 3 * cm] if "present" in att else [9 * cm, 3 * cm]
    out += [_table(rows, widths), Spacer(1, 6)]
    out.append(Paragraph(esc(attendance_line(att)), st["body"]))
    return out


def _intervention(pen: _Pen, iv: dict) -> TextBlock:
    f = fonts()
    said = [Run(f.bold, said_line(iv))]
    if iv["redacted"]:
        said.append(Run(f.italic, _("(redacted by the moderators)"), grey=True))
    body = [(14.0, [Run(f.regular, part)]) for part in iv["body_text"].split("\n") if part.strip()]
    return TextBlock(pen, [(0.0, said)] + body)


def _check(check: dict) -> list:
    st = styles()
    words = headings()
    labels = {o["key"]: o["label"] for o in check["options"]}
    keys = [o["key"] for o in check["options"]]
    out = [
        Paragraph(
            f"<b>{esc(words['consensus_check'])}:</b> {esc(check['proposition'])}", st["body"]
        ),
        Paragraph(
            f"{esc(words['outcome'])}: "
            f"<b>{esc(outcome_text(check))}</b>{esc(support_text(check))}.",
            st["body"],
        ),
    ]
    if check["weighted"]:
        rows = [weighted_head()]
        rows += [[labels.get(k, k), percent(v)] for k, v in check["weighted"].items()]
        out += [_table(rows, [7 * cm, 3.5 * cm]), Spacer(1, 6)]
    if check["sectors"]:
        rows = [sectors_head(check)]
        rows += [
            [s["name"], s["voters"], f"{s['weight']:.3f}"]
            + [s["distribution"].get(k, 0) for k in keys]
            for s in check["sectors"]
        ]
        out += [_table(rows), Spacer(1, 6)]
    out += [Paragraph(esc(r), st["bullet"], bulletText="\u2022") for r in check["reasons"]]
    return out


def _recommendation(rec: dict) -> Paragraph:
    note = _note(esc(audience_note(rec)))
    text = f"{esc(recommendation_text(rec))}{note}"
    return Paragraph(text, styles()["bullet"], bulletText=rec_number(rec) or "\u2022")


def _item(pen: _Pen, item: dict) -> list:
    st = styles()
    words = headings()
    out = [Paragraph(f"{item['position']}. {esc(item['title'])}", st["h1"])]
    if item["description"]:
        out.append(Paragraph(esc(item["description"]), st["body"]))
    if item["summary"]:
        out.append(Paragraph(esc(words["summary"]), st["h2"]))
        summary = summary_flowables(item["summary_html"])
        out += summary or [Paragraph(esc(item["summary_text"]), st["body"])]
    out.append(Paragraph(esc(words["interventions"]), st["h2"]))
    if not item["interventions"]:
        out.append(Paragraph(_note(esc(words["no_interventions"])).strip(), st["body"]))
    out += [_intervention(pen, iv) for iv in item["interventions"]]
    if item["consensus_checks"]:
        out.append(Paragraph(esc(words["consensus_checks"]), st["h2"]))
        for check in item["consensus_checks"]:
            out += _check(check)
    if item["recommendations"]:
        out.append(Paragraph(esc(words["recommendations"]), st["h2"]))
        out += [_recommendation(rec) for rec in item["recommendations"]]
    return out


def _parity(parity: dict) -> list:
    rows, closing = parity_table(parity)
    return [
        _table([parity_head(), *rows], [4.4 * cm, 1.6 * cm, 3 * cm, 1.8 * cm, 3 * cm, 1.8 * cm]),
        Spacer(1, 6),
        Paragraph(esc(closing), styles()["body"]),
    ]


def _footer(canvas, document) -> None:
    # Called while the story is built, inside render_pdf_minutes' language.
    canvas.saveState()
    canvas.setFont(fonts().regular, 8)
    canvas.drawCentredString(A4[0] / 2, 1.2 * cm, shown(_("Page %(n)s") % {"n": document.page}))
    canvas.restoreState()


def render_pdf_minutes(doc: dict) -> bytes:
    with in_minutes_language(doc):
        return _render(doc)


def _render(doc: dict) -> bytes:
    st = styles()
    pen = _Pen()
    words = headings()
    story = _header(doc)
    for item in doc["items"]:
        story += _item(pen, item)
    story.append(Paragraph(esc(words["parity"]), st["h1"]))
    story += _parity(doc["parity"])
    story.append(Paragraph(esc(words["method"]), st["h1"]))
    story += [
        Paragraph(f"<b>{esc(p['title'])}.</b> {esc(p['text'])}", st["body"]) for p in doc["method"]
    ]
    buffer = io.BytesIO()
    template = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=2 * cm,
        rightMargin=2 * cm,
        topMargin=2 * cm,
        bottomMargin=2 * cm,
        title=minutes_title(doc),
        subject=doc["header"]["dialogue"],
        creator="Round tables",
        invariant=1,  # fixed dates and file id: the same document gives the same bytes
    )
    template.build(story, onFirstPage=_footer, onLaterPages=_footer)
    return buffer.getvalue()
