"""The minutes in Markdown. What speakers wrote keeps its structure (formats/markdown_blocks.py
walks the block model); every other user text is set as plain text (Markdown specials escaped)."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from forum.minutes.blocks import html_blocks
from forum.minutes.formats import annex_words
from forum.minutes.formats.common import (
    attendance_head,
    attendance_line,
    attendance_rows,
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
from forum.minutes.formats.markdown_blocks import inline, lines_of
from forum.minutes.when import time_text

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def _md(text: object) -> str:
    """User text as literal Markdown: no markup, no raw HTML."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text or "").split()))


def _quoted(fragment: str) -> str:
    """What a speaker wrote (sanitised HTML), its structure kept, as a block quote."""
    lines = lines_of(html_blocks(fragment))
    return "\n".join(f"> {line}" if line else ">" for line in lines) or ">"


def _recommendation(rec: dict) -> list[str]:
    """ "3. <text> (to: ...)": the text's first paragraph on the numbered line, any further
    blocks (a list, a table) indented under it."""
    blocks = html_blocks(rec["text_html"]) if rec.get("text_html") else []
    first = inline(blocks.pop(0)["runs"]) if blocks and blocks[0]["type"] == "p" else ""
    if not rec.get("text_html"):
        first = _md(rec["text_md"])
    label = rec_number(rec) or "-"
    note = _("(to: %(audience)s)") % {"audience": _md(rec["audience_label"])}
    head = " ".join(part for part in (label, first.replace("\n", " "), note) if part)
    indent = " " * (len(label) + 1)
    return [head, *(f"{indent}{line}" if line else "" for line in lines_of(blocks))]


def _check_lines(check: dict) -> list[str]:
    words = headings()
    labels = {o["key"]: o["label"] for o in check["options"]}
    outcome = outcome_text(check)
    lines = [
        f"**{words['consensus_check']}:** {_md(check['proposition'])}",
        "",
        f"{words['outcome']}: **{_md(outcome)}**",
    ]
    if support_text(check):
        lines.append(support_text(check))
    lines[-1] += "."
    if check["weighted"]:
        lines += ["", "| " + " | ".join(weighted_head()) + " |", "|---|---|"]
        lines += [
            f"| {_md(labels.get(k, k))} | {percent(v)} |" for k, v in check["weighted"].items()
        ]
    if check["sectors"]:
        keys = [o["key"] for o in check["options"]]
        head = sectors_head(check)
        lines += ["", "| " + " | ".join(head[:3] + [_md(label) for label in head[3:]]) + " |"]
        lines.append("|---" * (3 + len(keys)) + "|")
        for sector in check["sectors"]:
            counts = " | ".join(str(sector["distribution"].get(k, 0)) for k in keys)
            lines.append(
                f"| {_md(sector['name'])} | {sector['voters']} | {sector['weight']:.3f} "
                f"| {counts} |"
            )
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
        *([f"**{label['time']}:** {_md(time_text(h))}  "] if time_text(h) else []),
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
        "| " + " | ".join(attendance_head(att)) + " |",
        "|---" * len(attendance_head(att)) + "|",
    ]
    out += [
        "| " + " | ".join([_md(row[0])] + [str(n) for n in row[1:]]) + " |"
        for row in attendance_rows(att)
    ]
    out += ["", attendance_line(att)]
    for item in doc["items"]:
        out += ["", f"## {item['position']}. {_md(item['title'])}"]
        if item["description"]:
            out += ["", _md(item["description"])]
        if item["summary"]:
            out += ["", f"### {words['summary']}", "", *lines_of(html_blocks(item["summary_html"]))]
        out += ["", f"### {words['interventions']}", ""]
        if not item["interventions"]:
            out.append(words["no_interventions"])
        for iv in item["interventions"]:
            note = f" *{words['redacted']}*" if iv["redacted"] else ""
            out += [f"{_md(said_line(iv))}{note}", "", _quoted(iv["body_html"]), ""]
        if item["consensus_checks"]:
            out += ["", f"### {words['consensus_checks']}"]
            for check in item["consensus_checks"]:
                out += [""] + _check_lines(check)
        if item["recommendations"]:
            out += ["", f"### {words['recommendations']}", ""]
            for rec in item["recommendations"]:
                out += _recommendation(rec)
    out += ["", f"## {words['parity']}", ""]
    out += _parity_md(doc["parity"])
    out += ["", f"## {words['method']}", ""]
    for part in doc["method"]:
        out += [f"**{_md(part['title'])}.** {_md(part['text'])}", ""]
    out += _annex_md(doc)
    return "\n".join(out).rstrip() + "\n"


def _annex_md(doc: dict) -> list[str]:
    """The annex of written contributions, their structure kept as in interventions."""
    entries = annex_words.contributions(doc)
    if not entries:
        return []
    out = [f"## {annex_words.annex_title()}", "", _md(annex_words.annex_intro()), ""]
    for entry in entries:
        out += [f"### {_md(annex_words.contribution_heading(entry))}", ""]
        if entry["summary_html"]:
            summary = lines_of(html_blocks(entry["summary_html"]))
            out += [f"**{annex_words.summary_label()}**", "", *summary, ""]
        out += [*lines_of(html_blocks(entry["body_html"])), ""]
        if entry.get("attachment"):
            out += [_md(annex_words.attachment_line(entry)), ""]
    return out


def _parity_md(parity: dict) -> list[str]:
    rows, closing = parity_table(parity)
    head = parity_head()
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    lines += ["| " + " | ".join([_md(row[0]), *row[1:]]) + " |" for row in rows]
    return [*lines, "", closing]
