"""The PDF's fonts and its fast text: the DejaVu fonts (or the built-in ones), the characters
they show, and TextBlock, the flowable that sets an intervention's text without ReportLab's
paragraph parser."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable

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
        names["regular"],
        normal=names["regular"],
        bold=names["bold"],
        italic=names["italic"],
        boldItalic=names["bold_italic"],
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
