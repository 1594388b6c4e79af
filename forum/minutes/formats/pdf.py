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
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from forum.minutes.blocks import html_blocks, recommendation_text
from forum.minutes.formats.common import (
    attendance_head,
    attendance_line,
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

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
_TTF_FILES = {
    "regular": "DejaVuSans.ttf",
    "bold": "DejaVuSans-Bold.ttf",
    "italic": "DejaVuSans-Oblique.ttf",
    "bold_italic": "DejaVuSans-BoldOblique.ttf",
    "mono": "DejaVuSansMono.ttf",
}
_BUILTIN = {
    "regular": "Helvetica",
    "bold": "Helvetica-Bold",
    "italic": "Helvetica-Oblique",
    "bold_italic": "Helvetica-BoldOblique",
    "mono": "Courier",
}
_HEX = re.compile(r"\b[0-9a-f]{64}\b")
BODY_SIZE = 10
BODY_LEADING = 13
GREY = "#555555"


@dataclass(frozen=True)
class Fonts:
    regular: str
    bold: str
    italic: str
    bold_italic: str
    mono: str
    covers: frozenset[int] | None  # code points the text font shows; None: Windows-1252


@functools.cache
def fonts() -> Fonts:
    """DejaVu if every file is there (registered once per process), else the built-in fonts."""
    paths = {key: FONT_DIR / name for key, name in _TTF_FILES.items()}
    if not all(path.is_file() for path in paths.values()):
        return Fonts(**_BUILTIN, covers=None)
    names = {key: f"Minutes-{key}" for key in paths}
    faces = {key: TTFont(names[key], str(path)) for key, path in paths.items()}
    for face in faces.values():
        pdfmetrics.registerFont(face)
    pdfmetrics.registerFontFamily(
        names["regular"], normal=names["regular"], bold=names["bold"],
        italic=names["italic"], boldItalic=names["bold_italic"],
    )
    return Fonts(**names, covers=frozenset(faces["regular"].face.charToGlyph))


class _Shown(dict):
    """A str.translate table, filled on demand: a character the font shows stays, control
    and invisible format characters (variation selectors, joiners) go, the rest is "?"."""

    def __init__(self, covers: frozenset[int] | None):
        super().__init__()
        self.covers = covers

    def _shows(self, code: int) -> bool:
        if self.covers is not None:
            return code in self.covers
        try:
            chr(code).encode("cp1252")
        except UnicodeEncodeError:
            return False
        return True

    def __missing__(self, code: int) -> str:
        char = chr(code)
        category = unicodedata.category(char)
        if char in "\n\t":
            value = char
        elif category == "Cc" or (category in {"Cf", "Cs", "Mn"} and not self._shows(code)):
            value = ""
        else:
            value = char if self._shows(code) else "?"
        self[code] = value
        return value


@functools.cache
def _shown_table() -> _Shown:
    return _Shown(fonts().covers)


def shown(text: object) -> str:
    """`text` with what the font cannot show replaced (plain text, not yet escaped)."""
    text = str(text if text is not None else "")
    if text.isascii() and text.isprintable():
        return text
    return text.translate(_shown_table())


def esc(text: object) -> str:
    """User text as literal paragraph content: escaped, line breaks kept."""
    return escape(shown(text)).replace("\n", "<br/>")


# -- fast text: interventions ------------------------------------------------------------------

# A byte of a PDF string literal, escaped as ReportLab's own escapePDF does.
_PDF_BYTE = [
    f"\\{b:03o}" if b < 32 or b >= 127 else ("\\" + chr(b) if chr(b) in "\\()" else chr(b))
    for b in range(256)
]
_OTHER_SUBSET = "\x01"  # never produced by _PDF_BYTE: marks a character outside subset 0


class _Encoding(dict):
    """A str.translate table from text to an escaped PDF string for one font in one PDF.

    A TrueType font is embedded as subsets of 256 glyphs that ReportLab numbers as it meets
    characters (`splitString`); asking it once per new character and translating whole lines
    in C afterwards is what makes 5,000 interventions cheap."""

    def __init__(self, canv, font_name: str):
        super().__init__()
        self.doc = canv._doc
        self.font = pdfmetrics.getFont(font_name)
        if self.font._dynamicFont:
            self.names = {}
        else:
            self.names = {0: self.doc.getInternalFontName(font_name)}

    def __missing__(self, code: int) -> str:
        if not self.font._dynamicFont:
            value = _PDF_BYTE[chr(code).encode("cp1252", "replace")[0]]
        else:
            [(subset, raw)] = self.font.splitString(chr(code), self.doc)
            value = _PDF_BYTE[raw[0]] if subset == 0 else _OTHER_SUBSET
        self[code] = value
        return value

    def name(self, subset: int) -> str:
        if subset not in self.names:
            self.names[subset] = self.font.getSubsetInternalName(subset, self.doc)
        return self.names[subset]

    def pieces(self, text: str) -> list[tuple[str, str]]:
        """(PDF font name, escaped string) pieces that show `text`."""
        encoded = text.translate(self)
        if _OTHER_SUBSET not in encoded:
            return [(self.name(0), encoded)]
        return [
            (self.name(subset), "".join(_PDF_BYTE[b] for b in raw))
            for subset, raw in self.font.splitString(text, self.doc)
        ]


@dataclass(frozen=True)
class Run:
    """Text in one font; `grey` for the notes."""

    font: str
    text: str
    grey: bool = False


class _Widths(dict):
    """Word widths in one font at the body size, measured once per rendering."""

    def __init__(self, font: str):
        super().__init__()
        self.font = font

    def __missing__(self, word: str) -> float:
        self[word] = width = pdfmetrics.stringWidth(word, self.font, BODY_SIZE)
        return width


class _Pen:
    """What one rendering shares between its text blocks: word widths and font encodings."""

    def __init__(self):
        self.widths: dict[str, _Widths] = {}
        self.encodings: dict[str, _Encoding] = {}

    def sizes(self, font: str) -> _Widths:
        if font not in self.widths:
            self.widths[font] = _Widths(font)
        return self.widths[font]

    def encoding(self, canv, font: str) -> _Encoding:
        if font not in self.encodings:
            self.encodings[font] = _Encoding(canv, font)
        return self.encodings[font]


class TextBlock(Flowable):
    """Paragraphs of plain text, broken into lines by a greedy fill and written straight
    into the page as PDF text operators. It does what Paragraph does for these few styles
    at a fraction of the cost, and it parses no markup at all. Splits across pages by lines.

    `paragraphs` is a list of (left indent, runs)."""

    def __init__(self, pen: _Pen, paragraphs: list[tuple[float, list[Run]]], lines=None):
        super().__init__()
        self.pen = pen
        self.paragraphs = paragraphs
        self.lines = lines  # [(indent, [(run, text)])], once broken for a width
        self.spaceAfter = 6

    def _break(self, width: float) -> list:
        lines = []
        for indent, runs in self.paragraphs:
            lines += self._fill(runs, width - indent, indent)
        return lines

    def _fill(self, runs: list[Run], width: float, indent: float) -> list:
        # done: the finished runs of the line being filled; words: the current run's words.
        lines, done, words, used = [], [], [], 0.0
        for run in runs:
            sizes = self.pen.sizes(run.font)
            space = sizes[" "]
            for word in shown(run.text).split():
                size = sizes[word]
                if (done or words) and used + space + size > width:
                    lines.append((indent, _chunks(done + [(run, words)])))
                    done, words, used = [], [], 0.0
                if size > width:  # a word longer than the line (a URL, a hash): cut it
                    lines += [(indent, [(run, piece)]) for piece in _cut(word, sizes, width)]
                    continue
                used += size + (space if done or words else 0.0)
                words.append(word)
            if words:
                done.append((run, words))
                words = []
        if done:
            lines.append((indent, _chunks(done)))
        return lines

    def wrap(self, availWidth, availHeight):
        if self.lines is None:
            self.lines = self._break(availWidth)
        self.width = availWidth
        self.height = len(self.lines) * BODY_LEADING
        return availWidth, self.height

    def split(self, availWidth, availHeight):
        if self.lines is None:
            self.lines = self._break(availWidth)
        fit = int(availHeight // BODY_LEADING)
        if fit < 2 or fit >= len(self.lines):  # no single orphan line at a page's foot
            return []
        return [
            TextBlock(self.pen, self.paragraphs, self.lines[:fit]),
            TextBlock(self.pen, self.paragraphs, self.lines[fit:]),
        ]

    def draw(self):
        canv = self.canv
        ops, current, grey = ["BT"], None, False
        baseline = self.height - BODY_SIZE
        for number, (indent, chunks) in enumerate(self.lines):
            ops.append(f"1 0 0 1 {indent:.2f} {baseline - number * BODY_LEADING:.2f} Tm")
            for run, text in chunks:
                if run.grey != grey:
                    grey = run.grey
                    ops.append("0.333 0.333 0.333 rg" if grey else "0 0 0 rg")
                for name, string in self.pen.encoding(canv, run.font).pieces(text):
                    if name != current:
                        ops.append(f"{name} {BODY_SIZE} Tf")
                        current = name
                    ops.append(f"({string}) Tj")
        ops.append("0 0 0 rg ET" if grey else "ET")
        canv.addLiteral("\n".join(ops))


def _chunks(runs: list[tuple[Run, list[str]]]) -> list[tuple[Run, str]]:
    """A line's words as one string per run; a later run starts with its space."""
    runs = [(run, words) for run, words in runs if words]
    return [(run, (" " if i else "") + " ".join(words)) for i, (run, words) in enumerate(runs)]


def _cut(word: str, sizes: _Widths, width: float) -> list[str]:
    pieces, start, used = [], 0, 0.0
    for i, char in enumerate(word):
        size = sizes[char]
        if used + size > width and i > start:
            pieces.append(word[start:i])
            start, used = i, 0.0
        used += size
    return pieces + [word[start:]]


# -- styles ------------------------------------------------------------------------------------


@functools.cache
def styles() -> dict[str, ParagraphStyle]:
    f = fonts()
    body = ParagraphStyle(
        "body", fontName=f.regular, fontSize=BODY_SIZE, leading=BODY_LEADING, spaceAfter=4,
    )
    return {
        "title": ParagraphStyle(
            "title", parent=body, fontName=f.bold, fontSize=18, leading=22, spaceAfter=10,
        ),
        "h1": ParagraphStyle(
            "h1", parent=body, fontName=f.bold, fontSize=14, leading=18, spaceBefore=12,
            spaceAfter=6, keepWithNext=True,
        ),
        "h2": ParagraphStyle(
            "h2", parent=body, fontName=f.bold, fontSize=11, leading=14, spaceBefore=8,
            spaceAfter=4, keepWithNext=True,
        ),
        "body": body,
        "bullet": ParagraphStyle("bullet", parent=body, leftIndent=14, bulletIndent=4),
        "cell": ParagraphStyle("cell", parent=body, fontSize=9, leading=11, spaceAfter=0),
        "head": ParagraphStyle(
            "head", parent=body, fontName=f.bold, fontSize=9, leading=11, spaceAfter=0,
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
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#999999")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
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


def summary_flowables(fragment: str) -> list[Paragraph]:
    """The rapporteur's summary (sanitised HTML) as paragraphs, lists and quotes."""
    st = styles()
    out = []
    for block in html_blocks(fragment):
        text = _markup(block.runs, pre=block.kind == "pre")
        if block.kind == "li":
            out.append(Paragraph(text, st["bullet"], bulletText=block.label))
        elif block.kind == "h":
            out.append(Paragraph(f"<b>{text}</b>", st["body"]))
        else:
            out.append(Paragraph(text, st["body" if block.kind == "p" else block.kind]))
    return out


# -- the document ------------------------------------------------------------------------------


def _status(doc: dict) -> str:
    """The status line; the content hash in a small monospace font so it stays on one line."""
    mono = fonts().mono
    return _HEX.sub(lambda m: f'<font name="{mono}" size="7.5">{m.group(0)}</font>',
                    esc(status_line(doc)))


def _header(doc: dict) -> list:
    st = styles()
    h = doc["header"]
    att = h["attendance"]
    label = header_labels()
    fields = [
        (label["dialogue"], esc(h["dialogue"])),
        (label["date"], esc(h["date"])),
        (label["place"], esc(h["place"])),
        (label["status"], _status(doc)),
        (label["rule"], f"{esc(h['rule']['name'])}. {esc(h['rule']['explanation'])}"),
        (label["attribution"], f"{esc(h['attribution']['name'])}. {esc(h['attribution']['explanation'])}"),
    ]
    out = [Paragraph(esc(minutes_title(doc)), st["title"])]
    out += [Paragraph(f"<b>{esc(name)}:</b> {value}", st["body"]) for name, value in fields]
    out.append(Paragraph(esc(headings()["attendance"]), st["h1"]))
    rows = [attendance_head()] + [[s["name"], s["delegates"]] for s in att["sectors"]]
    out += [_table(rows, [9 * cm, 3 * cm]), Spacer(1, 6)]
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
        Paragraph(f"<b>{esc(words['consensus_check'])}:</b> {esc(check['proposition'])}", st["body"]),
        Paragraph(
            f"{esc(words['outcome'])}: " f"<b>{esc(outcome_text(check))}</b>{esc(support_text(check))}.",
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
        leftMargin=2 * cm, rightMargin=2 * cm, topMargin=2 * cm, bottomMargin=2 * cm,
        title=minutes_title(doc),
        subject=doc["header"]["dialogue"],
        creator="Round tables",
        invariant=1,  # fixed dates and file id: the same document gives the same bytes
    )
    template.build(story, onFirstPage=_footer, onLaterPages=_footer)
    return buffer.getvalue()
