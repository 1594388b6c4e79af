"""Renderings of the minutes document (forum/minutes.py) and the leak check before export.

Every renderer takes only the document. User text is escaped (HTML) or set as plain text
(Markdown); intervention and recommendation bodies in HTML are the product's already
sanitised HTML (moderation/sanitize.py).
"""

from __future__ import annotations

import html
import json
import logging
import re
from html import escape

from forum.errors import ServiceError
from forum.minutes import content_sha256
from forum.models import RoundTable
from moderation.guard import mentions_in, room_identities

logger = logging.getLogger("forum.minutes")

EXCERPT_CHARS = 30


def status_line(doc: dict) -> str:
    """The version line every export prints near its top (the hash only once adopted)."""
    version = doc.get("version") or {}
    number = version.get("number")
    if doc.get("status") == "adopted" and version.get("content_sha256"):
        day = (version.get("adopted_at") or "")[:10]
        return (
            f"Adopted as version {number} on {day}. "
            f"SHA-256 of the adopted content: {version['content_sha256']}"
        )
    state = "Under review" if doc.get("status") == "in_review" else "Draft"
    saved = f", version {number}" if number else ""
    return f"{state}{saved} (not adopted)"


# -- Markdown ----------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def _md(text: object) -> str:
    """User text as literal Markdown: no markup, no raw HTML."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text or "").split()))


def _md_block(text: str) -> str:
    paragraphs = [_md(p) for p in (text or "").split("\n\n") if p.strip()]
    return "\n>\n".join(f"> {p}" for p in paragraphs) or ">"


def _percent(share: float | None) -> str:
    return "n/a" if share is None else f"{share * 100:.1f}%"


def _check_lines(check: dict) -> list[str]:
    labels = {o["key"]: o["label"] for o in check["options"]}
    outcome = check["outcome"] or ("still open" if check["status"] == "open" else "no result")
    lines = [f"**Consensus check:** {_md(check['proposition'])}", "", f"Outcome: **{_md(outcome)}**"]
    if check["support"] is not None:
        lines.append(f"; weighted support {_percent(check['support'])}")
    lines[-1] += "."
    if check["weighted"]:
        lines += ["", "| Option | Weighted share |", "|---|---|"]
        lines += [f"| {_md(labels.get(k, k))} | {_percent(v)} |" for k, v in check["weighted"].items()]
    if check["sectors"]:
        keys = [o["key"] for o in check["options"]]
        lines += ["", "| Sector | Voters | Weight | " + " | ".join(_md(labels[k]) for k in keys) + " |"]
        lines.append("|---" * (3 + len(keys)) + "|")
        for sector in check["sectors"]:
            counts = " | ".join(str(sector["distribution"].get(k, 0)) for k in keys)
            lines.append(f"| {_md(sector['name'])} | {sector['voters']} | {sector['weight']:.3f} | {counts} |")
    for reason in check["reasons"]:
        lines += ["", f"- {_md(reason)}"]
    return lines


def render_markdown_minutes(doc: dict) -> str:
    h = doc["header"]
    att = h["attendance"]
    out = [
        f"# Minutes: {_md(h['round_table'])}",
        "",
        f"**Dialogue:** {_md(h['dialogue'])}  ",
        f"**Date:** {h['date']}  ",
        f"**Place:** {_md(h['place'])}  ",
        f"**Status:** {_md(status_line(doc))}",
        "",
        f"**Rule:** {_md(h['rule']['name'])}. {_md(h['rule']['explanation'])}",
        "",
        f"**Attribution:** {_md(h['attribution']['name'])}. {_md(h['attribution']['explanation'])}",
        "",
        "## Attendance",
        "",
        "| Sector | Delegates |",
        "|---|---|",
    ]
    out += [f"| {_md(s['name'])} | {s['delegates']} |" for s in att["sectors"]]
    out += [
        "",
        f"Chair: {att['chair']}; moderators: {att['moderators']}; rapporteur: {att['rapporteur']}; "
        f"observers: {att['observers']}; delegates in all: {att['delegates']}.",
    ]
    for item in doc["items"]:
        out += ["", f"## {item['position']}. {_md(item['title'])}"]
        if item["description"]:
            out += ["", _md(item["description"])]
        if item["summary"]:
            # The rapporteur's own Markdown keeps its formatting; raw HTML is neutralised.
            out += ["", "### Summary", "", item["summary"].strip().replace("<", "&lt;")]
        out += ["", "### Interventions", ""]
        if not item["interventions"]:
            out.append("No interventions.")
        for iv in item["interventions"]:
            note = " *(redacted by the moderators)*" if iv["redacted"] else ""
            out += [f"{_md(iv['sentence'])}{note}", "", _md_block(iv["body_text"]), ""]
        if item["consensus_checks"]:
            out += ["", "### Consensus checks"]
            for check in item["consensus_checks"]:
                out += [""] + _check_lines(check)
        if item["recommendations"]:
            out += ["", "### Recommendations", ""]
            for rec in item["recommendations"]:
                out.append(f"- {_md(rec['text_md'])} (to: {_md(rec['audience_label'])})")
    out += ["", "## Parity figures", ""]
    out += _parity_md(doc["parity"])
    out += ["", "## Method", ""]
    for part in doc["method"]:
        out += [f"**{_md(part['title'])}.** {_md(part['text'])}", ""]
    return "\n".join(out).rstrip() + "\n"


PARITY_HEAD = ["Sector", "Turns", "Speaking time (s)", "Share", "Interventions", "Words"]


def parity_table(parity: dict) -> tuple[list[list[str]], str]:
    """The parity figures as every format prints them: rows of text under PARITY_HEAD, and
    the closing sentence (balance index, departures from the floor rule)."""
    room = parity["room"]
    rows = []
    for s in parity["sectors"]:
        f = room["sectors"].get(s["slug"], {})
        rows.append([
            s["name"], str(f.get("turns", 0)), f"{f.get('speaking_seconds', 0):.0f}",
            _percent(f.get("speaking_share", 0.0)), str(f.get("interventions", 0)), str(f.get("words", 0)),
        ])
    closing = f"Balance index: {room['balance']:.2f}; departures from the floor rule: {room['overrides']['total']}."
    return rows, closing


def _parity_md(parity: dict) -> list[str]:
    rows, closing = parity_table(parity)
    lines = ["| " + " | ".join(PARITY_HEAD) + " |", "|---" * len(PARITY_HEAD) + "|"]
    lines += ["| " + " | ".join([_md(row[0]), *row[1:]]) + " |" for row in rows]
    return [*lines, "", closing]


# -- HTML --------------------------------------------------------------------------------------

STYLE = """
body { font: 11pt/1.5 Georgia, "Times New Roman", serif; max-width: 46em; margin: 2em auto; padding: 0 1em; color: #111; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #999; margin-top: 1.6em; }
h3 { font-size: 1.05em; }
table { border-collapse: collapse; margin: .6em 0; } th, td { border: 1px solid #999; padding: .2em .5em; text-align: left; }
.intervention { margin: .8em 0; } .intervention .said { font-weight: bold; margin: 0; }
.intervention .body { margin: .2em 0 0 1.2em; } .note { color: #555; font-style: italic; }
dl.header dt { font-weight: bold; float: left; clear: left; width: 7em; } dl.header dd { margin-left: 8em; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  h2 { page-break-after: avoid; } table, .intervention { page-break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
  @page { margin: 2cm; }
}
"""


def _e(text: object) -> str:
    return escape(str(text if text is not None else ""))


def _check_html(check: dict) -> str:
    labels = {o["key"]: o["label"] for o in check["options"]}
    keys = [o["key"] for o in check["options"]]
    outcome = check["outcome"] or ("still open" if check["status"] == "open" else "no result")
    support = f"; weighted support {_percent(check['support'])}" if check["support"] is not None else ""
    parts = [
        '<div class="check">',
        f"<p><strong>Consensus check:</strong> {_e(check['proposition'])}</p>",
        f"<p>Outcome: <strong>{_e(outcome)}</strong>{support}.</p>",
    ]
    if check["weighted"]:
        rows = "".join(
            f"<tr><td>{_e(labels.get(k, k))}</td><td>{_percent(v)}</td></tr>" for k, v in check["weighted"].items()
        )
        parts.append(f'<div class="table-wrap"><table><thead><tr><th>Option</th><th>Weighted share</th></tr></thead><tbody>{rows}</tbody></table></div>')
    if check["sectors"]:
        head = "".join(f"<th>{_e(labels[k])}</th>" for k in keys)
        rows = "".join(
            f"<tr><td>{_e(s['name'])}</td><td>{s['voters']}</td><td>{s['weight']:.3f}</td>"
            + "".join(f"<td>{s['distribution'].get(k, 0)}</td>" for k in keys)
            + "</tr>"
            for s in check["sectors"]
        )
        parts.append(
            f'<div class="table-wrap"><table><thead><tr><th>Sector</th><th>Voters</th><th>Weight</th>{head}</tr></thead><tbody>{rows}</tbody></table></div>'
        )
    if check["reasons"]:
        parts.append("<ul>" + "".join(f"<li>{_e(r)}</li>" for r in check["reasons"]) + "</ul>")
    parts.append("</div>")
    return "\n".join(parts)


def render_html_minutes(doc: dict) -> str:
    """A standalone HTML document with its print stylesheet."""
    title = _e(doc["header"]["round_table"])
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>Minutes: {title}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        render_html_fragment(doc, heading="h1"),
        "</body>",
        "</html>",
        "",
    ])


def render_html_fragment(doc: dict, *, heading: str = "h1") -> str:
    """The minutes as HTML to place inside a page (the minutes page uses it)."""
    h = doc["header"]
    att = h["attendance"]
    out = [
        f"<{heading}>Minutes: {_e(h['round_table'])}</{heading}>",
        '<dl class="header">',
        f"<dt>Dialogue</dt><dd>{_e(h['dialogue'])}</dd>",
        f"<dt>Date</dt><dd>{_e(h['date'])}</dd>",
        f"<dt>Place</dt><dd>{_e(h['place'])}</dd>",
        f"<dt>Status</dt><dd>{_e(status_line(doc))}</dd>",
        f"<dt>Rule</dt><dd>{_e(h['rule']['name'])}. {_e(h['rule']['explanation'])}</dd>",
        f"<dt>Attribution</dt><dd>{_e(h['attribution']['name'])}. {_e(h['attribution']['explanation'])}</dd>",
        "</dl>",
        "<h2>Attendance</h2>",
        '<div class="table-wrap"><table><thead><tr><th>Sector</th><th>Delegates</th></tr></thead><tbody>',
    ]
    out += [f"<tr><td>{_e(s['name'])}</td><td>{s['delegates']}</td></tr>" for s in att["sectors"]]
    out += [
        "</tbody></table></div>",
        f"<p>Chair: {att['chair']}; moderators: {att['moderators']}; rapporteur: {att['rapporteur']}; "
        f"observers: {att['observers']}; delegates in all: {att['delegates']}.</p>",
    ]
    for item in doc["items"]:
        out.append(f'<section class="item"><h2>{item["position"]}. {_e(item["title"])}</h2>')
        if item["description"]:
            out.append(f"<p>{_e(item['description'])}</p>")
        if item["summary"]:
            out.append(f"<h3>Summary</h3><div class=\"summary\">{item['summary_html']}</div>")
        out.append("<h3>Interventions</h3>")
        if not item["interventions"]:
            out.append('<p class="note">No interventions.</p>')
        for iv in item["interventions"]:
            note = ' <span class="note">(redacted by the moderators)</span>' if iv["redacted"] else ""
            # body_html is the product's sanitised HTML (moderation/sanitize.py).
            out.append(
                f'<div class="intervention"><p class="said">{_e(iv["sentence"])}{note}</p>'
                f'<div class="body">{iv["body_html"]}</div></div>'
            )
        if item["consensus_checks"]:
            out.append("<h3>Consensus checks</h3>")
            out += [_check_html(check) for check in item["consensus_checks"]]
        if item["recommendations"]:
            out.append("<h3>Recommendations</h3><ul>")
            out += [
                f"<li>{rec['text_html']} <span class=\"note\">(to: {_e(rec['audience_label'])})</span></li>"
                for rec in item["recommendations"]
            ]
            out.append("</ul>")
        out.append("</section>")
    out.append("<h2>Parity figures</h2>")
    out.append(_parity_html(doc["parity"]))
    out.append("<h2>Method</h2>")
    out += [f"<p><strong>{_e(p['title'])}.</strong> {_e(p['text'])}</p>" for p in doc["method"]]
    return "\n".join(out)


def _parity_html(parity: dict) -> str:
    rows, closing = parity_table(parity)
    head = "".join(f"<th>{h}</th>" for h in PARITY_HEAD)
    body = "".join("<tr>" + "".join(f"<td>{_e(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>\n<p>{_e(closing)}</p>'


# -- JSON --------------------------------------------------------------------------------------


def render_json_minutes(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


# -- The leak check ----------------------------------------------------------------------------


def _place(rendered: str, start: int, end: int) -> str:
    """Where a match is: its line number and a short excerpt around it."""
    line = rendered.count("\n", 0, start) + 1
    left = max(0, start - EXCERPT_CHARS)
    right = min(len(rendered), end + EXCERPT_CHARS)
    excerpt = " ".join(rendered[left:right].split())
    return f"line {line}: \u201c{'…' if left else ''}{excerpt}{'…' if right < len(rendered) else ''}\u201d"


def leak_check(room: RoundTable, rendered: str) -> None:
    """Refuse (ServiceError "export_leak") a Chatham House room's export that names a seat
    holder (name, e-mail or organization); the refusal is logged without the identity."""
    if not room.is_chatham_house:
        return
    found = mentions_in(room, rendered)
    if not found:
        return
    first = found[0]
    logger.warning(
        "minutes export refused: room %s, %d mention(s) of a participant (%s) at line %d",
        room.slug, len(found), first.kind, rendered.count("\n", 0, first.start) + 1,
    )
    raise ServiceError(
        "export_leak",
        f"The export was refused: it names a participant at {_place(rendered, first.start, first.end)}. "
        "Remove the mention (redact the intervention or edit the text) and export again.",
        kind=first.kind,
        mentions=len(found),
    )


# -- Every format ------------------------------------------------------------------------------


def exports() -> dict:
    """Format -> (renderer, content type): the contract's six minutes formats.

    The PDF, DOCX and AKN renderers live in their own modules (and import this one)."""
    from forum.minutes_akn import render_akn_minutes
    from forum.minutes_docx import render_docx_minutes
    from forum.minutes_pdf import render_pdf_minutes

    return {
        "md": (render_markdown_minutes, "text/markdown; charset=utf-8"),
        "html": (render_html_minutes, "text/html; charset=utf-8"),
        "pdf": (render_pdf_minutes, "application/pdf"),
        "docx": (
            render_docx_minutes,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        "json": (render_json_minutes, "application/json"),
        "akn.xml": (render_akn_minutes, "application/akn+xml"),
    }


_ATTRIBUTE = re.compile(r'\s(?:href|title)="([^"]*)"')


def _texts(value, path: tuple = ()):
    """Every string of the document with where it sits: ("items", 1, "summary"), ...

    An intervention's `body_html` is read as its `body_text` (the same text, entities decoded,
    next to it in the document; a tag inside a word cannot split a name there) plus the values
    of the only attributes the sanitiser keeps (moderation/sanitize.py): link targets and titles.
    """
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "body_html" and "body_text" in value and isinstance(item, str):
                attributes = " ".join(html.unescape(v) for v in _ATTRIBUTE.findall(item))
                if attributes:
                    yield (*path, key), attributes
                continue
            yield from _texts(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _texts(item, (*path, index))
    elif isinstance(value, str) and value:
        yield path, value


def _where(doc: dict, path: tuple) -> str:
    """A reader's address for a place in the document: "agenda item 2 (“Title”), intervention 14, body_text"."""
    if path[:1] == ("items",) and len(path) > 1:
        item = doc["items"][path[1]]
        words = [f"agenda item {item['position']} (“{item['title'][:60]}”)"]
        rest = path[2:]
        if len(rest) >= 2 and isinstance(rest[1], int):
            words.append(f"{rest[0].replace('_', ' ').rstrip('s')} {rest[1] + 1}")
            rest = rest[2:]
        words += [str(part) for part in rest]
        return ", ".join(words)
    return " › ".join(str(part) for part in path)


# (content hash, the room's identities) -> (path, excerpt, kind, count) or None: an adopted
# version is exported in six formats, the verdict is the same for each.
_VERDICTS: dict[tuple, tuple | None] = {}
_VERDICTS_MAX = 64


def leak_check_document(room: RoundTable, doc: dict) -> None:
    """The leak check of every export: each string the document holds (the renderers print
    nothing else identifying: their own words are fixed), checked once per content and
    roster. A refusal (ServiceError "export_leak") names the place in the document."""
    if not room.is_chatham_house:
        return
    key = (content_sha256(doc), room_identities(room))
    if key not in _VERDICTS:
        if len(_VERDICTS) >= _VERDICTS_MAX:
            _VERDICTS.pop(next(iter(_VERDICTS)))
        _VERDICTS[key] = _first_mention(room, doc)
    verdict = _VERDICTS[key]
    if verdict is None:
        return
    path, excerpt, kind, count = verdict
    logger.warning(
        "minutes export refused: room %s, %d mention(s) of a participant (%s) in %s",
        room.slug, count, kind, " ".join(str(p) for p in path if not isinstance(p, str) or p in DOC_KEYS),
    )
    raise ServiceError(
        "export_leak",
        f"The export was refused: it names a participant in {_where(doc, path)}: {excerpt}. "
        "Remove the mention (redact the intervention or edit the text) and export again.",
        kind=kind,
        mentions=count,
    )


# Keys of the document's shape (safe to log; values are not).
DOC_KEYS = frozenset({
    "header", "items", "parity", "method", "place", "dialogue", "round_table", "slug", "title",
    "description", "summary", "summary_html", "summary_text", "interventions", "body_html",
    "body_text", "consensus_checks", "recommendations", "text_md", "text_html", "proposition",
})


def _first_mention(room: RoundTable, doc: dict) -> tuple | None:
    # One text, strings apart by a blank line (a hard gap: no match runs from one to the next).
    pieces = list(_texts(doc))
    joined = "\n\n".join(text for _, text in pieces)
    found = mentions_in(room, joined)
    if not found:
        return None
    first = found[0]
    offset = 0
    for path, text in pieces:
        if offset + len(text) >= first.start:
            start, end = first.start - offset, first.end - offset
            left, right = max(0, start - EXCERPT_CHARS), min(len(text), end + EXCERPT_CHARS)
            excerpt = " ".join(text[left:right].split())
            quoted = f"\u201c{'…' if left else ''}{excerpt}{'…' if right < len(text) else ''}\u201d"
            return path, quoted, first.kind, len(found)
        offset += len(text) + 2
    return (), "", first.kind, len(found)
