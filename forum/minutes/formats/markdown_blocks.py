"""The block model (forum/minutes/blocks.py) as Markdown (CommonMark with GFM tables and
strikethrough, as markdown-it reads it): what a speaker wrote keeps its structure, and their text
is escaped so that it can never make structure of its own (a heading, a list, a link, raw HTML)."""

from __future__ import annotations

import re

from forum.minutes.blocks import BREAK

# Every character that can start or end Markdown syntax inside a line.
_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~&!])")
# What makes a line a list item, a quote, a heading's underline or a rule when it starts one.
_LINE_START = re.compile(r"^(\d{1,9})([.)])(?=\s|$)|^([-+](?=\s|$)|[=>])")
_BACKTICKS = re.compile(r"`+")
_EMPHASIS = (("b", "**"), ("i", "*"), ("s", "~~"))


def escape(text: str) -> str:
    """Plain text as literal Markdown on one line: specials backslashed, spaces collapsed."""
    return _SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _line_start(line: str) -> str:
    return _LINE_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", line, count=1)


def _code_span(text: str) -> str:
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _marked(run: dict) -> str:
    """One run with its marks; the spaces around it stay outside the delimiters, where
    CommonMark needs them to open and close emphasis."""
    text = run["text"]
    core = text.strip(" ")
    if not core:
        return " " if text else ""
    lead, trail = text[: len(text) - len(text.lstrip(" "))], text[len(text.rstrip(" ")) :]
    out = _code_span(core) if "code" in run["marks"] else escape(core)
    for mark, delimiter in _EMPHASIS:
        if mark in run["marks"]:
            out = f"{delimiter}{out}{delimiter}"
    return f"{lead}{out}{trail}"


def _href(url: str) -> str:
    return "".join(f"%{ord(c):02X}" if c in " ()<>\\" else c for c in url)


def inline(runs: list[dict], breaks: str = "\\\n") -> str:
    """Runs as Markdown; consecutive runs of one link become one `[text](url)`; a line break
    is `breaks` (a backslash hard break, or a space where a line cannot break: a table cell)."""
    out: list[str] = []
    i = 0
    while i < len(runs):
        run = runs[i]
        if run["text"] == BREAK:
            out.append(breaks)
            i += 1
            continue
        href = run.get("href")
        if not href:
            out.append(_marked(run))
            i += 1
            continue
        j = i
        while j < len(runs) and runs[j].get("href") == href and runs[j]["text"] != BREAK:
            j += 1
        label = "".join(_marked(r) for r in runs[i:j])
        stripped = label.strip(" ")
        lead = " " if label.startswith(" ") else ""
        trail = " " if label.endswith(" ") and stripped else ""
        out.append(f"{lead}[{stripped or escape(href)}]({_href(href)}){trail}")
        i = j
    text = "".join(out)
    return "\n".join(_line_start(line) for line in text.split("\n"))


def _table(block: dict) -> list[str]:
    def row(cells: list[list[dict]]) -> str:
        return "| " + " | ".join(inline(cell, breaks=" ").strip() for cell in cells) + " |"

    rows = block["rows"]
    head, body = (rows[0], rows[1:]) if rows[0]["header"] else (None, rows)
    width = len(block["align"])
    rule = {"left": ":---", "center": ":---:", "right": "---:"}
    lines = [row(head["cells"]) if head else "|" + "   |" * width]
    lines.append("|" + "|".join(rule.get(a, "---") for a in block["align"]) + "|")
    return lines + [row(r["cells"]) for r in body]


def _fence(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"^ {0,3}(`{3,})", text, re.M)), default=0)
    return "`" * max(3, longest + 1)


def _list(block: dict, marker: str) -> list[str]:
    lines: list[str] = []
    for number, item in enumerate(block["items"], start=block["start"]):
        label = f"{number}{marker} " if block["ordered"] else f"{marker} "
        inner = lines_of(item) or [""]
        lines.append((label + inner[0]).rstrip())
        lines += [(" " * len(label) + line) if line else "" for line in inner[1:]]
    return lines


def _block(block: dict, marker: str) -> list[str]:
    kind = block["type"]
    if kind == "p":
        return inline(block["runs"]).split("\n")
    if kind == "h":  # under the minutes' own headings (#, ##, ###)
        return ["#" * min(6, block["level"] + 1) + " " + inline(block["runs"], breaks=" ")]
    if kind == "list":
        return _list(block, marker)
    if kind == "table":
        return _table(block)
    if kind == "quote":
        return [f"> {line}" if line else ">" for line in lines_of(block["blocks"])]
    if kind == "code":
        fence = _fence(block["text"])
        return [fence, *block["text"].split("\n"), fence]
    return ["***"]


def lines_of(blocks: list[dict]) -> list[str]:
    """Blocks as Markdown lines, a blank line between blocks. Two lists in a row alternate
    their markers (- and *, . and )) so a reader does not join them into one."""
    lines: list[str] = []
    previous = None
    for block in blocks:
        marker = ""
        if block["type"] == "list":
            marker = (".", ")") if block["ordered"] else ("-", "*")
            alternate = previous and previous["type"] == "list"
            alternate = alternate and previous["ordered"] == block["ordered"]
            marker = marker[1] if alternate and previous.get("_marker") == marker[0] else marker[0]
            block = {**block, "_marker": marker}
        if lines:
            lines.append("")
        lines += _block(block, marker)
        previous = block
    return lines


def blocks_markdown(blocks: list[dict]) -> str:
    return "\n".join(lines_of(blocks))
