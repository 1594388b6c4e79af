"""The minutes document (forum/minutes/document.py) as a PDF, laid out like
`render_html_minutes`, typeset by typst (the `typst` package: the compiler is in the wheel).

The PDF is tagged (a structure tree a screen reader follows, /Lang on the document and on
every intervention in another language), carries its title, its creation date (the version's
adoption, else its saving), bookmarks from the headings, a running header, "Page x of y" and,
for long minutes, a table of contents. A saved version is PDF/A-2a and PDF/UA-1 (an archive
wants a date; a live draft has none of its own, so it is PDF/UA-1 only).

User text reaches typst only as data: `minutes_data(doc)` is the whole document as JSON-ready
blocks and runs (forum/minutes/blocks.py), handed over in `sys.inputs`, and the fixed template
typesetting/minutes.typ shows each string as text. Nothing of the document is ever spliced
into typst markup, so markup typed by a delegate prints as typed and does nothing.

typst runs in a process of its own (typeset.py: its memoized work, hundreds of megabytes for
long minutes, goes back when it ends; a run that hangs is stopped).

A pure function of the document: the same document gives the same bytes (typst takes its
date from the document and nothing from the clock), because the submission package hashes
its files.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from django.utils.translation import gettext as _

from forum.minutes.blocks import blocks_text, html_blocks, recommendation_text, runs_text
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
    said_line,
    sectors_head,
    status_line,
    support_text,
    weighted_head,
)
from forum.minutes.formats.pdf_fonts import TEXT_FONTS, forget, needs_system_fonts, shown
from forum.minutes.when import time_text

log = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).resolve().parents[3]  # where `python -m forum...` finds forum
# Minutes of 5,000 interventions take seconds; a loaded machine may take ten times as long.
TYPESET_TIMEOUT = 300

# A saved version is an archival record; a live draft (no date of its own) is accessible only.
ARCHIVE_STANDARDS = ["a-2a", "ua-1"]
DRAFT_STANDARDS = ["ua-1"]

# Minutes with more agenda items than one or more interventions than this get a table of
# contents: beyond a few pages a printed copy needs one (on screen the bookmarks do the work).
CONTENTS_FROM_INTERVENTIONS = 20

# Lists and quotes nested deeper than this are set as their plain text (typst stops at a call
# depth of 80, two calls a level; Markdown lets a delegate nest as deep as a post is long).
MAX_DEPTH = 12

_HEX = re.compile(r"\b[0-9a-f]{64}\b")


# -- runs and blocks ---------------------------------------------------------------------------


def _run(text: object, *marks: str) -> dict:
    return {"text": str(text if text is not None else ""), "marks": sorted(marks)}


def _p(*runs: dict, lang: str = "") -> dict:
    block = {"type": "p", "runs": list(runs)}
    if lang:
        block["lang"] = lang
    return block


def _heading(level: int, text: str) -> dict:
    return {"type": "heading", "level": level, "text": text}


def _table(rows: list[list[object]]) -> dict:
    """A table of plain values; the first row is the header."""
    return {
        "type": "table",
        "align": [""] * len(rows[0]),
        "rows": [
            {"header": n == 0, "cells": [[_run(value)] for value in row]}
            for n, row in enumerate(rows)
        ],
    }


def _bullets(texts: list[str]) -> dict:
    return {"type": "list", "ordered": False, "start": 1, "items": [[_p(_run(t))] for t in texts]}


def _status(doc: dict) -> list[dict]:
    """The status line's runs; the content hash in monospace so it stays on one line."""
    line, runs, at = status_line(doc), [], 0
    for match in _HEX.finditer(line):
        runs += [_run(line[at : match.start()]), _run(match.group(0), "code")]
        at = match.end()
    return runs + [_run(line[at:])]


def _fit(blocks: list[dict], level: int = 2, depth: int = 0) -> tuple[list[dict], int]:
    """What a speaker wrote, as PDF/UA takes it (else typst refuses the whole file): headings
    that never skip a level below the section they sit in (level 2: "Interventions") and are
    never empty, no table without columns, and lists and quotes nested at most MAX_DEPTH deep
    (typst's call depth), deeper ones as their plain text. Returns the blocks and the level of
    the last heading. The blocks are shared (forum/minutes/blocks.py): changed ones are copies."""
    out = []
    for block in blocks:
        kind = block["type"]
        if kind == "h":
            if not runs_text(block["runs"]).strip():
                continue
            level = min(block["level"], level + 1)
            block = {**block, "level": level} if level != block["level"] else block
        elif kind == "table" and not block["align"]:
            continue
        elif kind in {"list", "quote"} and depth >= MAX_DEPTH:
            block = _p(_run(blocks_text([block])), lang=block.get("lang", ""))
        elif kind == "quote":
            inner, level = _fit(block["blocks"], level, depth + 1)
            block = {**block, "blocks": inner}
        elif kind == "list":
            items = []
            for item in block["items"]:
                inner, level = _fit(item, level, depth + 1)
                items.append(inner)
            block = {**block, "items": items}
        out.append(block)
    return out, level


def _user_blocks(fragment: str, lang: str = "") -> list[dict]:
    return _fit(html_blocks(fragment, lang))[0]


# -- the document ------------------------------------------------------------------------------


def _long(doc: dict) -> bool:
    """Whether the minutes get a table of contents."""
    interventions = sum(len(item["interventions"]) for item in doc["items"])
    return len(doc["items"]) > 1 or interventions > CONTENTS_FROM_INTERVENTIONS


def _header(doc: dict) -> list[dict]:
    h = doc["header"]
    att = h["attendance"]
    label = header_labels()
    fields = [
        (label["dialogue"], [_run(h["dialogue"])]),
        (label["date"], [_run(h["date"])]),
        *([(label["time"], [_run(time_text(h))])] if time_text(h) else []),
        (label["place"], [_run(h["place"])]),
        (label["status"], _status(doc)),
        (label["rule"], [_run(f"{h['rule']['name']}. {h['rule']['explanation']}")]),
        (
            label["attribution"],
            [_run(f"{h['attribution']['name']}. {h['attribution']['explanation']}")],
        ),
    ]
    out = [_p(_run(f"{name}:", "b"), _run(" "), *value) for name, value in fields]
    if _long(doc):
        out.append({"type": "contents", "title": _("Contents")})
    out.append(_heading(1, headings()["attendance"]))
    out.append(_table([attendance_head(att), *attendance_rows(att)]))
    out.append(_p(_run(attendance_line(att))))
    return out


def _intervention(iv: dict, language: str) -> dict:
    runs = [_run(said_line(iv), "b")]
    if iv["redacted"]:
        runs += [_run(" "), _run(headings()["redacted"], "note")]
    lang = iv.get("lang") or language
    blocks = _user_blocks(iv["body_html"], lang if lang != language else "")
    return {"type": "said", "runs": runs, "blocks": blocks}


def _check(check: dict) -> list[dict]:
    words = headings()
    labels = {o["key"]: o["label"] for o in check["options"]}
    keys = [o["key"] for o in check["options"]]
    out = [
        _p(_run(f"{words['consensus_check']}:", "b"), _run(" " + check["proposition"])),
        _p(
            _run(f"{words['outcome']}: "),
            _run(outcome_text(check), "b"),
            _run(f"{support_text(check)}."),
        ),
    ]
    if check["weighted"]:
        rows = [[labels.get(k, k), percent(v)] for k, v in check["weighted"].items()]
        out.append(_table([weighted_head(), *rows]))
    if check["sectors"]:
        rows = [
            [s["name"], s["voters"], f"{s['weight']:.3f}"]
            + [s["distribution"].get(k, 0) for k in keys]
            for s in check["sectors"]
        ]
        out.append(_table([sectors_head(check), *rows]))
    if check["reasons"]:
        out.append(_bullets(check["reasons"]))
    return out


def _recommendations(recs: list[dict]) -> dict:
    """The item's recommendations as one numbered list with the document's numbers (they run
    on across items); documents saved before they were numbered count from 1."""
    items = []
    for rec in recs:
        blocks = _user_blocks(rec["text_html"]) if rec.get("text_html") else []
        blocks = blocks or [_p(_run(recommendation_text(rec)))]
        items.append([*blocks, _p(_run(audience_note(rec), "note"))])
    numbers = [rec.get("number") for rec in recs]
    out = {"type": "list", "ordered": True, "start": 1, "items": items}
    if all(str(n).isdigit() for n in numbers):
        out["numbers"] = [int(n) for n in numbers]
    return out


def _item(item: dict, language: str) -> list[dict]:
    words = headings()
    out = [_heading(1, f"{item['position']}. {item['title']}")]
    if item["description"]:
        out.append(_p(_run(item["description"])))
    if item["summary"]:
        out.append(_heading(2, words["summary"]))
        summary = _user_blocks(item["summary_html"])
        out += summary or [_p(_run(item["summary_text"]))]
    out.append(_heading(2, words["interventions"]))
    if not item["interventions"]:
        out.append(_p(_run(words["no_interventions"], "note")))
    out += [_intervention(iv, language) for iv in item["interventions"]]
    if item["consensus_checks"]:
        out.append(_heading(2, words["consensus_checks"]))
        for check in item["consensus_checks"]:
            out += _check(check)
    if item["recommendations"]:
        out.append(_heading(2, words["recommendations"]))
        out.append(_recommendations(item["recommendations"]))
    return out


def _annex(doc: dict, language: str) -> list[dict]:
    """The annex of written contributions, their structure kept as in interventions."""
    entries = annex_words.contributions(doc)
    if not entries:
        return []
    out = [_heading(1, annex_words.annex_title()), _p(_run(annex_words.annex_intro(), "note"))]
    for entry in entries:
        out.append(_heading(2, annex_words.contribution_heading(entry)))
        lang = entry.get("lang") or language
        lang = lang if lang != language else ""
        if entry.get("summary_html"):
            out.append(_p(_run(annex_words.summary_label(), "b")))
            out += _user_blocks(entry["summary_html"], lang)
        out += _user_blocks(entry["body_html"], lang)
        if entry.get("attachment"):
            out.append(_p(_run(annex_words.attachment_line(entry), "note")))
    return out


def _creation_date(doc: dict) -> list[int] | None:
    """The version's adoption (else its saving) in UTC, as the template's [y, m, d, h, min, s];
    None for a live draft."""
    version = doc.get("version") or {}
    stamp = version.get("adopted_at") or version.get("saved_at")
    if not stamp:
        return None
    moment = datetime.fromisoformat(stamp)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return [moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second]


def _page_label() -> list[str]:
    """ "Page x of y" as the template's pieces: text, then the markers "page" and "pages"."""
    marker = "\x00"
    label = _("Page %(page)s of %(pages)s") % {
        "page": f"{marker}page{marker}",
        "pages": f"{marker}pages{marker}",
    }
    return label.split(marker)


def _running(doc: dict) -> list[str]:
    """The running header: the round table on the left, the document's symbol on the right."""
    h = doc["header"]
    number = (doc.get("version") or {}).get("number")
    symbol = h.get("slug") or ""
    if number:
        symbol = _("%(symbol)s, version %(number)s") % {"symbol": symbol, "number": number}
    return [h["round_table"], symbol]


def minutes_data(doc: dict) -> dict:
    """The whole document as the template's data (see typesetting/minutes.typ), in the
    document's language."""
    with in_minutes_language(doc) as language:
        words = headings()
        body = _header(doc)
        for item in doc["items"]:
            body += _item(item, language)
        rows, closing = parity_table(doc["parity"])
        body += [_heading(1, words["parity"]), _table([parity_head(), *rows]), _p(_run(closing))]
        body.append(_heading(1, words["method"]))
        body += [_p(_run(f"{p['title']}.", "b"), _run(" " + p["text"])) for p in doc["method"]]
        body += _annex(doc, language)
        return {
            "title": minutes_title(doc),
            "lang": language,
            "author": (doc["header"].get("convener") or {}).get("name")
            or doc["header"]["dialogue"],
            "date": _creation_date(doc),
            "fonts": list(TEXT_FONTS),
            "running": _running(doc),
            "page": _page_label(),
            "body": body,
        }


# -- typesetting -------------------------------------------------------------------------------

# JSON escapes of the control characters typst must not see; an escaped backslash is matched
# too, so that the one after it is never read as the start of an escape.
_CONTROL_ESCAPES = re.compile(r"\\\\|\\u00[01][0-9a-fA-F]|\\[bfr]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_ESCAPE = re.compile(r"\\u\{([0-9a-fA-F]+)\}|\\(.)")
_UNSHOWN = re.compile(r'the text `"(.+?)"` could not be displayed|codepoint `"(.+?)"`')


def _json(data: dict) -> str:
    """The data as JSON with every character the fonts cannot show replaced (pdf_fonts)."""
    text = json.dumps(data, ensure_ascii=False)
    text = _CONTROL_ESCAPES.sub(lambda m: m.group(0) if m.group(0) == "\\\\" else "", text)
    return _NON_ASCII.sub(lambda m: shown(m.group(0)), text)


def _unescape(quoted: str) -> str:
    """The text of a typst message's quoted string (Rust's escapes: `\\u{301}`, `\\"`)."""
    return _ESCAPE.sub(
        lambda m: chr(int(m.group(1), 16)) if m.group(1) else m.group(2).replace("n", "\n"),
        quoted,
    )


def _typeset(text: str, standards: list[str]) -> subprocess.CompletedProcess:
    """typst in a process of its own (forum/minutes/formats/typeset.py says why)."""
    fonts = "system" if needs_system_fonts(text) else "embedded"
    try:
        return subprocess.run(
            [sys.executable, "-m", "forum.minutes.formats.typeset", ",".join(standards), fonts],
            input=text.encode("utf-8"),
            capture_output=True,
            cwd=PROJECT_DIR,
            timeout=TYPESET_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"typst took over {TYPESET_TIMEOUT} s for the minutes PDF") from None


def _compile(data: dict) -> bytes:
    standards = ARCHIVE_STANDARDS if data["date"] else DRAFT_STANDARDS
    for _attempt in range(5):
        done = _typeset(_json(data), standards)
        if done.returncode == 0:
            return done.stdout
        message = done.stderr.decode("utf-8", "replace")
        # A character a font's map lists but its shaping could not show: replace it from now
        # on and typeset again. Anything else is a bug of the template.
        unshown = _UNSHOWN.search(message)
        if not unshown:
            raise RuntimeError(f"typst could not typeset the minutes: {message}")
        log.warning("minutes PDF: %s; replaced and typeset again", message)
        forget(_unescape(unshown.group(1) or unshown.group(2)))
    raise RuntimeError("the minutes PDF could not be typeset: characters no font shows")


def render_pdf_minutes(doc: dict) -> bytes:
    return _compile(minutes_data(doc))
