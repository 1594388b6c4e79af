"""Sanitised HTML (moderation/sanitize.py) as a tree of blocks and runs: plain dicts, lists,
strings, ints and bools, so every renderer walks the same structure and a typesetter can take it
as data. Nothing is re-parsed from plain text.

Inline content is a list of runs, `{"text", "marks", "href"?}`: marks sorted among b, i, s and
code; "href" only on a link's runs; a line break is its own run `{"text": "\\n", "marks": []}`.
Blocks:

    {"type": "p", "runs": [...]}
    {"type": "h", "level": 3..6, "runs": [...]}
    {"type": "list", "ordered": bool, "start": int, "items": [[block, ...], ...]}
    {"type": "table", "align": ["left"|"center"|"right"|"", ...],
     "rows": [{"header": bool, "cells": [[run, ...], ...]}, ...]}
    {"type": "quote", "blocks": [...]}
    {"type": "code", "text": str}
    {"type": "hr"}

Any block may carry "lang" (BCP 47) when its language differs from the document's.
docs/minutes.md describes the same model for the JSON export's readers.
"""

from __future__ import annotations

import functools
import html
import re

from forum.minutes.document import html_to_text

_SPACES = re.compile(r"\s+")
_MARKS = {"strong": "b", "b": "b", "em": "i", "i": "i", "del": "s", "s": "s", "code": "code"}
_HEADINGS = {"h1": 3, "h2": 3, "h3": 3, "h4": 4, "h5": 5, "h6": 6}  # h1/h2 never pass sanitising
_VOID = {"br", "hr", "img", "input", "wbr", "col", "area", "meta", "link", "source"}
_ALIGN = {"left", "center", "right"}
_START = re.compile(r"^\d{1,9}$")  # markdown-it's own limit for an ordered list's start
BREAK = "\n"


# -- HTML to a small element tree ------------------------------------------------------------------


class _Node:
    __slots__ = ("tag", "attrs", "children")

    def __init__(self, tag: str, attrs: dict[str, str]):
        self.tag = tag
        self.attrs = attrs
        self.children: list[_Node | str] = []


# A tag, or the text up to the next one. Sanitised HTML is well formed (nh3 serialises it:
# attribute values quoted, "<" in text escaped), so a scan is enough, and several times faster
# than html.parser over the thousands of interventions of a long session.
_TOKEN = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>|<!--.*?-->|([^<]+|<)", re.S
)
_ATTR = re.compile(
    r"([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'>]+)))?"
)


def _tree(fragment: str) -> _Node:
    """The element tree of an HTML fragment, entities decoded: a stray end tag is ignored and
    an unclosed element ends with its parent, so any input gives a tree."""
    root = _Node("", {})
    stack = [root]
    for match in _TOKEN.finditer(fragment or ""):
        closing, tag, attrs, text = match.groups()
        if text is not None:
            stack[-1].children.append(html.unescape(text))
        elif tag is None:
            continue  # a comment
        elif closing:
            tag = tag.lower()
            for depth in range(len(stack) - 1, 0, -1):
                if stack[depth].tag == tag:
                    del stack[depth:]
                    break
        else:
            tag = tag.lower()
            values = {
                m[1].lower(): html.unescape(m[2] or m[3] or m[4] or "")
                for m in _ATTR.finditer(attrs)
            }
            node = _Node(tag, values)
            stack[-1].children.append(node)
            if tag not in _VOID and not attrs.rstrip().endswith("/"):
                stack.append(node)
    return root


# -- inline content ----------------------------------------------------------------------------


def _collect(node: _Node, marks: frozenset[str], href: str | None, out: list[dict]) -> None:
    """Raw runs of an element's inline content; block elements met inline (a paragraph in a
    table cell) are set apart by a space so their words do not run together."""
    for child in node.children:
        if isinstance(child, str):
            out.append(_run(_SPACES.sub(" ", child), marks, href))
        elif child.tag == "br":
            out.append({"text": BREAK, "marks": []})
        elif child.tag == "pre":
            out.append(_run(_text(child), marks | {"code"}, href))
        elif child.tag in _MARKS:
            _collect(child, marks | {_MARKS[child.tag]}, href, out)
        elif child.tag == "a":
            _collect(child, marks, child.attrs.get("href") or href, out)
        else:
            block = child.tag in _BLOCK_TAGS or child.tag in {"li", "tr", "td", "th"}
            if block:
                out.append(_run(" ", marks, href))
            _collect(child, marks, href, out)
            if block:
                out.append(_run(" ", marks, href))


def _run(text: str, marks: frozenset[str] | set[str], href: str | None) -> dict:
    run: dict = {"text": text, "marks": sorted(marks)}
    if href:
        run["href"] = href
    return run


def _tidy(raw: list[dict]) -> list[dict]:
    """HTML's white space rules on raw runs: spaces collapsed across runs, none at the start
    or end of a line, adjacent runs with the same marks and link merged."""
    runs: list[dict] = []
    for run in raw:
        text = run["text"]
        if text == BREAK:
            if runs and runs[-1]["text"] != BREAK:
                runs[-1]["text"] = runs[-1]["text"].rstrip(" ")
                if not runs[-1]["text"]:
                    runs.pop()
            runs.append(run)
            continue
        if not runs or runs[-1]["text"] == BREAK or runs[-1]["text"].endswith(" "):
            text = text.lstrip(" ")
        if not text:
            continue
        last = runs[-1] if runs else None
        if last and last["text"] != BREAK and _same(last, run):
            last["text"] += text
        else:
            runs.append({**run, "text": text})
    while runs and runs[-1]["text"] in {BREAK, " "}:
        runs.pop()
    if runs:
        runs[-1]["text"] = runs[-1]["text"].rstrip(" ")
    while runs and runs[0]["text"] == BREAK:
        runs.pop(0)
    return runs


def _same(a: dict, b: dict) -> bool:
    return a["marks"] == b["marks"] and a.get("href") == b.get("href")


def _raw(node: _Node) -> list[dict]:
    raw: list[dict] = []
    _collect(node, frozenset(), None, raw)
    return raw


def _inline(node: _Node) -> list[dict]:
    return _tidy(_raw(node))


def _text(node: _Node) -> str:
    return "".join(c if isinstance(c, str) else _text(c) for c in node.children)


# -- blocks ------------------------------------------------------------------------------------

_BLOCK_TAGS = {"p", "ul", "ol", "table", "blockquote", "pre", "hr", "div"} | _HEADINGS.keys()


def _flow(node: _Node) -> list[dict]:
    """The blocks of an element's content; loose inline content between blocks (a tight
    list item's text) becomes a paragraph of its own."""
    blocks: list[dict] = []
    loose = _Node("", {})

    def settle() -> None:
        runs = _tidy(_raw(loose))
        if any(run["text"].strip() for run in runs):
            blocks.append({"type": "p", "runs": runs})
        loose.children = []

    for child in node.children:
        if isinstance(child, _Node) and child.tag in _BLOCK_TAGS:
            settle()
            blocks += _block(child)
        elif isinstance(child, _Node) and child.tag in {"li", "thead", "tbody", "tr", "td", "th"}:
            settle()  # out of their list or table: their content, in place
            blocks += _flow(child)
        else:
            loose.children.append(child)
    settle()
    return blocks


def _block(node: _Node) -> list[dict]:
    tag = node.tag
    if tag == "p":
        runs = _inline(node)
        return [{"type": "p", "runs": runs}] if any(r["text"].strip() for r in runs) else []
    if tag in _HEADINGS:
        runs = _inline(node)
        return [{"type": "h", "level": _HEADINGS[tag], "runs": runs}] if runs else []
    if tag in {"ul", "ol"}:
        return _list(node)
    if tag == "table":
        return _table(node)
    if tag == "blockquote":
        inner = _flow(node)
        return [{"type": "quote", "blocks": inner}] if inner else []
    if tag == "pre":
        text = _text(node).removeprefix("\n").rstrip("\n")  # HTML drops <pre>'s first newline
        return [{"type": "code", "text": text}] if text.strip() else []
    if tag == "hr":
        return [{"type": "hr"}]
    return _flow(node)  # div: its content


def _list(node: _Node) -> list[dict]:
    items: list[list[dict]] = []
    for child in node.children:
        if isinstance(child, _Node) and child.tag == "li":
            items.append(_flow(child))
        elif isinstance(child, str) and not child.strip():
            continue
        else:  # stray content between items belongs to the item before it
            holder = _Node("li", {})
            holder.children = [child]
            if not items:
                items.append([])
            items[-1] += _flow(holder)
    if not items:
        return []
    start = node.attrs.get("start", "").strip()
    return [
        {
            "type": "list",
            "ordered": node.tag == "ol",
            "start": int(start) if node.tag == "ol" and _START.match(start) else 1,
            "items": items,
        }
    ]


def _rows(node: _Node, head: bool) -> list[tuple[bool, _Node]]:
    rows = []
    for child in node.children:
        if not isinstance(child, _Node):
            continue
        if child.tag == "tr":
            rows.append((head, child))
        elif child.tag in {"thead", "tbody", "tfoot"}:
            rows += _rows(child, child.tag == "thead")
    return rows


def _table(node: _Node) -> list[dict]:
    rows, aligns = [], []
    for head, tr in _rows(node, False):
        cells = [c for c in tr.children if isinstance(c, _Node) and c.tag in {"td", "th"}]
        if not cells:
            continue
        for column, cell in enumerate(cells):
            align = cell.attrs.get("align", "").strip().lower()
            if column == len(aligns):
                aligns.append("")
            if align in _ALIGN and not aligns[column]:
                aligns[column] = align
        header = head or all(cell.tag == "th" for cell in cells)
        rows.append({"header": header, "cells": [_inline(cell) for cell in cells]})
    if not rows:
        return []
    for row in rows:
        row["cells"] += [[] for _ in range(len(aligns) - len(row["cells"]))]
    return [{"type": "table", "align": aligns, "rows": rows}]


@functools.lru_cache(maxsize=20_000)
def _parsed(fragment: str) -> tuple[dict, ...]:
    return tuple(_flow(_tree(fragment)))


def html_blocks(fragment: str, lang: str = "") -> list[dict]:
    """The blocks of a sanitised HTML fragment (an intervention, a summary, a
    recommendation); `lang`, when given, marks each top-level block with that language.

    Read-only below the returned list: a fragment is parsed once per process (the package
    renders six formats of the same minutes) and its blocks are shared between callers."""
    blocks = _parsed(fragment or "")
    if lang:
        return [{**block, "lang": lang} for block in blocks]
    return list(blocks)


# -- plain text --------------------------------------------------------------------------------


def runs_text(runs: list[dict]) -> str:
    """The text of a list of runs, line breaks kept."""
    return "".join(run["text"] for run in runs)


def _block_lines(block: dict) -> list[str]:
    kind = block["type"]
    if kind in {"p", "h"}:
        return runs_text(block["runs"]).split(BREAK)
    if kind == "code":
        return block["text"].split("\n")
    if kind == "hr":
        return ["---"]
    if kind == "quote":
        return [f"> {line}".rstrip() for line in _lines(block["blocks"])]
    if kind == "table":
        return [
            " | ".join(" ".join(runs_text(cell).split()) for cell in row["cells"])
            for row in block["rows"]
        ]
    lines = []
    for number, item in enumerate(block["items"], start=block["start"]):
        label = f"{number}. " if block["ordered"] else "- "
        inner = _lines(item) or [""]
        lines.append(label + inner[0])
        lines += [" " * len(label) + line if line else "" for line in inner[1:]]
    return lines


def _lines(blocks: list[dict]) -> list[str]:
    return [line for block in blocks for line in _block_lines(block)]


def blocks_text(blocks: list[dict]) -> str:
    """Blocks as plain text: one block a line (a paragraph's breaks kept), list items with
    their number or "-" (nested lists indented), table cells separated by " | ", quotes with
    "> ", code as written."""
    return "\n".join(_lines(blocks))


def recommendation_text(rec: dict) -> str:
    """A recommendation as plain text: its sanitised HTML flattened, else its Markdown."""
    return html_to_text(rec["text_html"]) if rec.get("text_html") else rec.get("text_md") or ""


def plain_text(fragment: str, indent: str = "") -> str:
    """Sanitised HTML as plain text a letter can carry: paragraphs apart, list items with
    their bullet ("-") or number, quotes with "> ", no markup characters (`**`) left in."""
    text = blocks_text(html_blocks(fragment))
    return "\n".join(indent + line for line in text.split("\n")) if text else ""
