"""Renderings of the minutes document (forum/minutes.py) and the leak check before export.

Every renderer takes only the document. User text is escaped (HTML) or set as plain text
(Markdown); intervention and recommendation bodies in HTML are the product's already
sanitised HTML (moderation/sanitize.py).

The renderers' own words (headings, table heads, the status line) are in the document's
language (`doc["header"]["language"]`, English for documents made before rooms had one):
every entry point renders inside `in_minutes_language(doc)`, whatever the reader's interface.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from html import escape

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from forum.errors import ServiceError
from forum.minutes import DEFAULT_LANGUAGE, content_sha256
from forum.models import RoundTable
from moderation.guard import mentions_in, room_identities, stated_words, unstated

logger = logging.getLogger("forum.minutes")

EXCERPT_CHARS = 30


def minutes_language(doc: dict) -> str:
    """The language the document was written in (its room's)."""
    return (doc.get("header") or {}).get("language") or DEFAULT_LANGUAGE


@contextmanager
def in_minutes_language(doc: dict) -> Iterator[str]:
    """Render inside this: the renderers' own words come out in the document's language."""
    language = minutes_language(doc)
    with translation.override(language):
        yield language


def status_line(doc: dict) -> str:
    """The version line every export prints near its top (the hash only once adopted)."""
    with in_minutes_language(doc):
        return _status_line(doc)


def _status_line(doc: dict) -> str:
    version = doc.get("version") or {}
    number = version.get("number")
    if doc.get("status") == "adopted" and version.get("content_sha256"):
        day = (version.get("adopted_at") or "")[:10]
        line = _(
            "Adopted as version %(number)s on %(date)s. SHA-256 of the adopted content: %(sha256)s"
        ) % {"number": number, "date": day, "sha256": version["content_sha256"]}
        head = version.get("audit_head")
        if head:  # versions adopted before the audit chain was keyed have none
            line += " " + _(
                "Audit log at adoption: entry %(entry)s, chain head %(mac)s"
            ) % {"entry": head["entry"], "mac": head["mac"]}
        return line
    if doc.get("status") == "in_review":
        if number:
            return _("Under review, version %(number)s (not adopted)") % {"number": number}
        return _("Under review (not adopted)")
    if number:
        return _("Draft, version %(number)s (not adopted)") % {"number": number}
    return _("Draft (not adopted)")


# -- words every format prints -----------------------------------------------------------------


def percent(share: float | None) -> str:
    return _("n/a") if share is None else f"{share * 100:.1f}%"


def outcome_text(check: dict) -> str:
    """A consensus check's outcome as the minutes print it."""
    outcome = check["outcome"]
    if outcome == "consensus":
        return _("consensus")
    if outcome == "no consensus":
        return _("no consensus")
    if outcome:
        return outcome
    return _("still open") if check["status"] == "open" else _("no result")


def support_text(check: dict) -> str:
    """"; weighted support 72.5%" after the outcome, or "" when there is none."""
    if check["support"] is None:
        return ""
    return _("; weighted support %(share)s") % {"share": percent(check["support"])}


def weighted_head() -> list[str]:
    return [_("Option"), _("Weighted share")]


def sectors_head(check: dict) -> list[str]:
    """The head of a check's per-sector table: sector, voters, weight, then each option."""
    labels = {o["key"]: o["label"] for o in check["options"]}
    return [_("Sector"), _("Voters"), _("Weight")] + [labels[o["key"]] for o in check["options"]]


def attendance_head() -> list[str]:
    return [_("Sector"), _("Delegates")]


def attendance_line(att: dict) -> str:
    return _(
        "Chair: %(chair)s; moderators: %(moderators)s; rapporteur: %(rapporteur)s; "
        "observers: %(observers)s; delegates in all: %(delegates)s."
    ) % {key: att[key] for key in ("chair", "moderators", "rapporteur", "observers", "delegates")}


def minutes_title(doc: dict) -> str:
    return _("Minutes: %(title)s") % {"title": doc["header"]["round_table"]}


def audience_note(rec: dict) -> str:
    return _("(to: %(audience)s)") % {"audience": rec["audience_label"]}


def header_labels() -> dict[str, str]:
    return {
        "dialogue": _("Dialogue"), "date": _("Date"), "place": _("Place"), "status": _("Status"),
        "rule": _("Rule"), "attribution": _("Attribution"),
    }


def headings() -> dict[str, str]:
    return {
        "attendance": _("Attendance"), "summary": _("Summary"), "interventions": _("Interventions"),
        "consensus_checks": _("Consensus checks"), "consensus_check": _("Consensus check"),
        "recommendations": _("Recommendations"), "parity": _("Parity figures"),
        "method": _("Method"), "outcome": _("Outcome"),
        "redacted": _("(redacted by the moderators)"), "no_interventions": _("No interventions."),
    }


# -- Markdown ----------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def _md(text: object) -> str:
    """User text as literal Markdown: no markup, no raw HTML."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text or "").split()))


def _md_block(text: str) -> str:
    paragraphs = [_md(p) for p in (text or "").split("\n\n") if p.strip()]
    return "\n>\n".join(f"> {p}" for p in paragraphs) or ">"


def _check_lines(check: dict) -> list[str]:
    words = headings()
    labels = {o["key"]: o["label"] for o in check["options"]}
    outcome = outcome_text(check)
    lines = [
        f"**{words['consensus_check']}:** {_md(check['proposition'])}", "",
        f"{words['outcome']}: **{_md(outcome)}**",
    ]
    if check["support"] is not None:
        lines.append(support_text(check))
    lines[-1] += "."
    if check["weighted"]:
        lines += ["", "| " + " | ".join(weighted_head()) + " |", "|---|---|"]
        lines += [f"| {_md(labels.get(k, k))} | {percent(v)} |" for k, v in check["weighted"].items()]
    if check["sectors"]:
        keys = [o["key"] for o in check["options"]]
        head = sectors_head(check)
        lines += ["", "| " + " | ".join(head[:3] + [_md(label) for label in head[3:]]) + " |"]
        lines.append("|---" * (3 + len(keys)) + "|")
        for sector in check["sectors"]:
            counts = " | ".join(str(sector["distribution"].get(k, 0)) for k in keys)
            lines.append(f"| {_md(sector['name'])} | {sector['voters']} | {sector['weight']:.3f} | {counts} |")
    for reason in check["reasons"]:
        lines += ["", f"- {_md(reason)}"]
    return lines


def render_markdown_minutes(doc: dict) -> str:
    with in_minutes_language(doc):
        return _markdown(doc)


def _markdown(doc: dict) -> str:
    h = doc["header"]
    att = h["attendance"]
    label = header_labels()
    words = headings()
    out = [
        f"# {_md(minutes_title(doc))}",
        "",
        f"**{label['dialogue']}:** {_md(h['dialogue'])}  ",
        f"**{label['date']}:** {h['date']}  ",
        f"**{label['place']}:** {_md(h['place'])}  ",
        f"**{label['status']}:** {_md(status_line(doc))}",
        "",
        f"**{label['rule']}:** {_md(h['rule']['name'])}. {_md(h['rule']['explanation'])}",
        "",
        f"**{label['attribution']}:** {_md(h['attribution']['name'])}. "
        f"{_md(h['attribution']['explanation'])}",
        "",
        f"## {words['attendance']}",
        "",
        "| " + " | ".join(attendance_head()) + " |",
        "|---|---|",
    ]
    out += [f"| {_md(s['name'])} | {s['delegates']} |" for s in att["sectors"]]
    out += ["", attendance_line(att)]
    for item in doc["items"]:
        out += ["", f"## {item['position']}. {_md(item['title'])}"]
        if item["description"]:
            out += ["", _md(item["description"])]
        if item["summary"]:
            # The rapporteur's own Markdown keeps its formatting; raw HTML is neutralised.
            out += ["", f"### {words['summary']}", "", item["summary"].strip().replace("<", "&lt;")]
        out += ["", f"### {words['interventions']}", ""]
        if not item["interventions"]:
            out.append(words["no_interventions"])
        for iv in item["interventions"]:
            note = f" *{words['redacted']}*" if iv["redacted"] else ""
            out += [f"{_md(iv['sentence'])}{note}", "", _md_block(iv["body_text"]), ""]
        if item["consensus_checks"]:
            out += ["", f"### {words['consensus_checks']}"]
            for check in item["consensus_checks"]:
                out += [""] + _check_lines(check)
        if item["recommendations"]:
            out += ["", f"### {words['recommendations']}", ""]
            for rec in item["recommendations"]:
                note = _("(to: %(audience)s)") % {"audience": _md(rec["audience_label"])}
                out.append(f"- {_md(rec['text_md'])} {note}")
    out += ["", f"## {words['parity']}", ""]
    out += _parity_md(doc["parity"])
    out += ["", f"## {words['method']}", ""]
    for part in doc["method"]:
        out += [f"**{_md(part['title'])}.** {_md(part['text'])}", ""]
    return "\n".join(out).rstrip() + "\n"


# The parity table's head; `parity_head()` gives it in the active language.
PARITY_HEAD = [
    gettext_lazy("Sector"), gettext_lazy("Turns"), gettext_lazy("Speaking time (s)"),
    gettext_lazy("Share"), gettext_lazy("Interventions"), gettext_lazy("Words"),
]


def parity_head() -> list[str]:
    return [str(head) for head in PARITY_HEAD]


def parity_table(parity: dict) -> tuple[list[list[str]], str]:
    """The parity figures as every format prints them: rows of text under `parity_head()`,
    and the closing sentence (balance index, departures from the floor rule), in the active
    language (renderers call it inside `in_minutes_language`)."""
    room = parity["room"]
    rows = []
    for s in parity["sectors"]:
        f = room["sectors"].get(s["slug"], {})
        rows.append([
            s["name"], str(f.get("turns", 0)), f"{f.get('speaking_seconds', 0):.0f}",
            percent(f.get("speaking_share", 0.0)), str(f.get("interventions", 0)), str(f.get("words", 0)),
        ])
    closing = _("Balance index: %(balance)s; departures from the floor rule: %(departures)s.") % {
        "balance": f"{room['balance']:.2f}", "departures": room["overrides"]["total"],
    }
    return rows, closing


def _parity_md(parity: dict) -> list[str]:
    rows, closing = parity_table(parity)
    head = parity_head()
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
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


def _ths(cells: list[str]) -> str:
    return "".join(f"<th>{_e(cell)}</th>" for cell in cells)


def _check_html(check: dict) -> str:
    words = headings()
    labels = {o["key"]: o["label"] for o in check["options"]}
    keys = [o["key"] for o in check["options"]]
    parts = [
        '<div class="check">',
        f"<p><strong>{_e(words['consensus_check'])}:</strong> {_e(check['proposition'])}</p>",
        f"<p>{_e(words['outcome'])}: <strong>{_e(outcome_text(check))}</strong>"
        f"{_e(support_text(check))}.</p>",
    ]
    if check["weighted"]:
        rows = "".join(
            f"<tr><td>{_e(labels.get(k, k))}</td><td>{_e(percent(v))}</td></tr>"
            for k, v in check["weighted"].items()
        )
        parts.append(
            f'<div class="table-wrap"><table><thead><tr>{_ths(weighted_head())}</tr></thead>'
            f"<tbody>{rows}</tbody></table></div>"
        )
    if check["sectors"]:
        head = _ths(sectors_head(check))
        rows = "".join(
            f"<tr><td>{_e(s['name'])}</td><td>{s['voters']}</td><td>{s['weight']:.3f}</td>"
            + "".join(f"<td>{s['distribution'].get(k, 0)}</td>" for k in keys)
            + "</tr>"
            for s in check["sectors"]
        )
        parts.append(
            f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>'
        )
    if check["reasons"]:
        parts.append("<ul>" + "".join(f"<li>{_e(r)}</li>" for r in check["reasons"]) + "</ul>")
    parts.append("</div>")
    return "\n".join(parts)


def render_html_minutes(doc: dict) -> str:
    """A standalone HTML document with its print stylesheet."""
    with in_minutes_language(doc) as language:
        return "\n".join([
            "<!DOCTYPE html>",
            f'<html lang="{_e(language)}">',
            "<head>",
            '<meta charset="utf-8">',
            f"<title>{_e(minutes_title(doc))}</title>",
            f"<style>{STYLE}</style>",
            "</head>",
            "<body>",
            _html_fragment(doc, heading="h1"),
            "</body>",
            "</html>",
            "",
        ])


def render_html_fragment(doc: dict, *, heading: str = "h1") -> str:
    """The minutes as HTML to place inside a page (the minutes page uses it; the page sets
    `lang` on its container when the minutes' language differs from the interface's)."""
    with in_minutes_language(doc):
        return _html_fragment(doc, heading=heading)


def _html_fragment(doc: dict, *, heading: str) -> str:
    h = doc["header"]
    att = h["attendance"]
    label = header_labels()
    words = headings()
    out = [
        f"<{heading}>{_e(minutes_title(doc))}</{heading}>",
        '<dl class="header">',
        f"<dt>{_e(label['dialogue'])}</dt><dd>{_e(h['dialogue'])}</dd>",
        f"<dt>{_e(label['date'])}</dt><dd>{_e(h['date'])}</dd>",
        f"<dt>{_e(label['place'])}</dt><dd>{_e(h['place'])}</dd>",
        f"<dt>{_e(label['status'])}</dt><dd>{_e(status_line(doc))}</dd>",
        f"<dt>{_e(label['rule'])}</dt><dd>{_e(h['rule']['name'])}. {_e(h['rule']['explanation'])}</dd>",
        f"<dt>{_e(label['attribution'])}</dt>"
        f"<dd>{_e(h['attribution']['name'])}. {_e(h['attribution']['explanation'])}</dd>",
        "</dl>",
        f"<h2>{_e(words['attendance'])}</h2>",
        f'<div class="table-wrap"><table><thead><tr>{_ths(attendance_head())}</tr></thead><tbody>',
    ]
    out += [f"<tr><td>{_e(s['name'])}</td><td>{s['delegates']}</td></tr>" for s in att["sectors"]]
    out += ["</tbody></table></div>", f"<p>{_e(attendance_line(att))}</p>"]
    for item in doc["items"]:
        out.append(f'<section class="item"><h2>{item["position"]}. {_e(item["title"])}</h2>')
        if item["description"]:
            out.append(f"<p>{_e(item['description'])}</p>")
        if item["summary"]:
            out.append(f"<h3>{_e(words['summary'])}</h3><div class=\"summary\">{item['summary_html']}</div>")
        out.append(f"<h3>{_e(words['interventions'])}</h3>")
        if not item["interventions"]:
            out.append(f'<p class="note">{_e(words["no_interventions"])}</p>')
        for iv in item["interventions"]:
            note = f' <span class="note">{_e(words["redacted"])}</span>' if iv["redacted"] else ""
            # body_html is the product's sanitised HTML (moderation/sanitize.py).
            out.append(
                f'<div class="intervention"><p class="said">{_e(iv["sentence"])}{note}</p>'
                f'<div class="body">{iv["body_html"]}</div></div>'
            )
        if item["consensus_checks"]:
            out.append(f"<h3>{_e(words['consensus_checks'])}</h3>")
            out += [_check_html(check) for check in item["consensus_checks"]]
        if item["recommendations"]:
            out.append(f"<h3>{_e(words['recommendations'])}</h3><ul>")
            out += [
                f"<li>{rec['text_html']} <span class=\"note\">{_e(audience_note(rec))}</span></li>"
                for rec in item["recommendations"]
            ]
            out.append("</ul>")
        out.append("</section>")
    out.append(f"<h2>{_e(words['parity'])}</h2>")
    out.append(_parity_html(doc["parity"]))
    out.append(f"<h2>{_e(words['method'])}</h2>")
    out += [f"<p><strong>{_e(p['title'])}.</strong> {_e(p['text'])}</p>" for p in doc["method"]]
    return "\n".join(out)


def _parity_html(parity: dict) -> str:
    rows, closing = parity_table(parity)
    head = _ths(parity_head())
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
    found = unstated(rendered, mentions_in(room, rendered), stated_words(room))
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
    stated = stated_words(room)
    key = (content_sha256(doc), room_identities(room), stated)
    if key not in _VERDICTS:
        if len(_VERDICTS) >= _VERDICTS_MAX:
            _VERDICTS.pop(next(iter(_VERDICTS)))
        _VERDICTS[key] = _first_mention(room, doc, stated)
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
        "Remove the mention (redact the intervention or edit the text) and export again; or, if "
        "the words matched are not a participant (a common word that is also a surname), state "
        "that on the minutes page, with a reason.",
        kind=kind,
        mentions=count,
    )


# Keys of the document's shape (safe to log; values are not).
DOC_KEYS = frozenset({
    "header", "items", "parity", "method", "place", "dialogue", "round_table", "slug", "title",
    "description", "summary", "summary_html", "summary_text", "interventions", "body_html",
    "body_text", "consensus_checks", "recommendations", "text_md", "text_html", "proposition",
})


def _first_mention(room: RoundTable, doc: dict, stated: frozenset[str] = frozenset()) -> tuple | None:
    # One text, strings apart by a blank line (a hard gap: no match runs from one to the next).
    pieces = list(_texts(doc))
    joined = "\n\n".join(text for _, text in pieces)
    # Words someone who runs the room stated are not a participant (forum/services/holds.py).
    found = unstated(joined, mentions_in(room, joined), stated)
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
