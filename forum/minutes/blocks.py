"""Sanitised HTML (moderation/sanitize.py) as plain blocks and runs, for the renderers that
lay out paragraphs rather than HTML (PDF, DOCX)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from forum.minutes.document import html_to_text

_SPACES = re.compile(r"\s+")
_MARKS = {"strong": "b", "em": "i", "del": "s", "s": "s", "code": "code"}
_HEADINGS = {"h3", "h4", "h5", "h6"}
_BLOCKS = {"p", "li", "pre", "blockquote", "tr", "hr"} | _HEADINGS


@dataclass
class Block:
    """A paragraph of a summary: kind "p", "li", "h", "pre" or "quote"; `label` is a list
    item's bullet or number; runs are (text, marks) with marks among b, i, s, code."""

    kind: str
    label: str = ""
    runs: list[tuple[str, frozenset[str]]] = field(default_factory=list)


class _BlockParser(HTMLParser):
    """The product's sanitised HTML (moderation/sanitize.py) as plain blocks and runs, for
    renderers that have paragraphs rather than HTML. Unknown tags keep only their text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.block = Block("p")
        self.marks: list[str] = []
        self.lists: list[list[int]] = []  # per open list: [next number], or [] if bulleted
        self.pre = 0
        self.quote = 0

    def flush(self, kind: str = "p", label: str = "") -> None:
        runs = self.block.runs
        while runs and not runs[0][0].strip():
            runs.pop(0)
        while runs and not runs[-1][0].strip():
            runs.pop()
        if runs:
            self.blocks.append(self.block)
        self.block = Block("quote" if kind == "p" and self.quote else kind, label)

    def handle_starttag(self, tag, attrs):
        if tag in _MARKS:
            self.marks.append(_MARKS[tag])
        elif tag in {"ul", "ol"}:
            self.flush()
            start = dict(attrs).get("start") or "1"
            self.lists.append([int(start) if start.isdigit() else 1] if tag == "ol" else [])
        elif tag == "br":
            self._add("\n")
        elif tag in _BLOCKS:
            self._open(tag)
        elif tag in {"td", "th"}:
            self._cell()

    def _open(self, tag: str) -> None:
        if tag == "li":
            label = "\u2022"
            if self.lists and self.lists[-1]:
                label = f"{self.lists[-1][0]}."
                self.lists[-1][0] += 1
            self.flush("li", label)
        elif tag == "pre":
            self.pre += 1
            self.flush("pre")
        else:
            self.quote += tag == "blockquote"
            self.flush("h" if tag in _HEADINGS else "p")

    def _cell(self) -> None:
        """Table rows become lines, their cells joined by a bar."""
        runs = self.block.runs
        while runs and not runs[-1][0].strip():
            runs.pop()
        if runs:
            self._add(" | ")

    def handle_endtag(self, tag):
        if tag in _MARKS and _MARKS[tag] in self.marks:
            # close the innermost open mark of that kind
            del self.marks[len(self.marks) - 1 - self.marks[::-1].index(_MARKS[tag])]
        elif tag in {"ul", "ol"}:
            self.flush()
            if self.lists:
                self.lists.pop()
        elif tag in _BLOCKS:
            self.pre = max(0, self.pre - 1) if tag == "pre" else self.pre
            self.quote = max(0, self.quote - 1) if tag == "blockquote" else self.quote
            self.flush()

    def handle_data(self, data):
        self._add(data.strip("\n") if self.pre else _SPACES.sub(" ", data))

    def _add(self, text: str) -> None:
        runs = self.block.runs
        if runs and runs[-1][0].endswith(("\n", " ")) and not self.pre:
            text = text.lstrip(" ")  # no space at the start of a line, none doubled
        if text:
            runs.append((text, frozenset(self.marks)))


def html_blocks(fragment: str) -> list[Block]:
    """Blocks of a sanitised HTML fragment (a summary, a recommendation)."""
    parser = _BlockParser()
    parser.feed(fragment or "")
    parser.close()
    parser.flush()
    return parser.blocks


def recommendation_text(rec: dict) -> str:
    """A recommendation as plain text: its sanitised HTML flattened, else its Markdown."""
    return html_to_text(rec["text_html"]) if rec.get("text_html") else rec.get("text_md") or ""


def plain_text(fragment: str, indent: str = "") -> str:
    """Sanitised HTML as plain text a letter can carry: paragraphs apart, list items with
    their bullet ("-") or number, quotes with "> ", no markup characters (`**`) left in."""
    lines = []
    for block in html_blocks(fragment):
        text = " ".join("".join(run for run, _marks in block.runs).split())
        if block.kind == "li":
            text = f"{'-' if block.label == chr(0x2022) else block.label} {text}"
        elif block.kind == "quote":
            text = f"> {text}"
        lines.append(indent + text)
    return "\n".join(lines)
