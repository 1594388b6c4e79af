"""The minutes in HTML: user text escaped; intervention and recommendation bodies are the
product's already sanitised HTML (moderation/sanitize.py)."""

from __future__ import annotations

from html import escape

from forum.minutes.formats import annex_words
from forum.minutes.formats.common import (
    RIGHT_TO_LEFT,
    attendance_head,
    attendance_line,
    attendance_rows,
    audience_note,
    header_labels,
    headings,
    in_minutes_language,
    minutes_title,
    other_language,
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
from forum.minutes.when import time_text

STYLE = """
body { font: 11pt/1.5 Georgia, "Times New Roman", serif; max-width: 46em; margin: 2em auto;
       padding: 0 1em; color: #111; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #999; margin-top: 1.6em; }
h3 { font-size: 1.05em; }
table { border-collapse: collapse; margin: .6em 0; }
th, td { border: 1px solid #999; padding: .2em .5em; text-align: left; }
.intervention { margin: .8em 0; } .intervention .said { font-weight: bold; margin: 0; }
.intervention .body { margin: .2em 0 0 1.2em; } .note { color: #555; font-style: italic; }
dl.header dt { font-weight: bold; float: left; clear: left; width: 7em; }
dl.header dd { margin-left: 8em; }
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


def _lang(part: dict, doc: dict) -> str:
    """lang (and dir for a right-to-left script) of a part in another language."""
    lang = other_language(part, doc)
    if not lang:
        return ""
    return f' lang="{_e(lang)}"' + (' dir="rtl"' if lang in RIGHT_TO_LEFT else "")


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
            f"<div "
            f'class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>'
        )
    if check["reasons"]:
        parts.append("<ul>" + "".join(f"<li>{_e(r)}</li>" for r in check["reasons"]) + "</ul>")
    parts.append("</div>")
    return "\n".join(parts)


def render_html_minutes(doc: dict) -> str:
    """A standalone HTML document with its print stylesheet."""
    with in_minutes_language(doc) as language:
        return "\n".join(
            [
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
            ]
        )


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
        *([f"<dt>{_e(label['time'])}</dt><dd>{_e(time_text(h))}</dd>"] if time_text(h) else []),
        f"<dt>{_e(label['place'])}</dt><dd>{_e(h['place'])}</dd>",
        f"<dt>{_e(label['status'])}</dt><dd>{_e(status_line(doc))}</dd>",
        f"<dt>{_e(label['rule'])}</dt><dd>{_e(h['rule']['name'])}. "
        f"{_e(h['rule']['explanation'])}</dd>",
        f"<dt>{_e(label['attribution'])}</dt>"
        f"<dd>{_e(h['attribution']['name'])}. {_e(h['attribution']['explanation'])}</dd>",
        "</dl>",
        f"<h2>{_e(words['attendance'])}</h2>",
        f"<div "
        f'class="table-wrap"><table><thead><tr>{_ths(attendance_head(att))}</tr></thead><tbody>',
    ]
    out += [
        "<tr>" + "".join(f"<td>{_e(cell)}</td>" for cell in row) + "</tr>"
        for row in attendance_rows(att)
    ]
    out += ["</tbody></table></div>", f"<p>{_e(attendance_line(att))}</p>"]
    for item in doc["items"]:
        out.append(f'<section class="item"><h2>{item["position"]}. {_e(item["title"])}</h2>')
        if item["description"]:
            out.append(f"<p>{_e(item['description'])}</p>")
        if item["summary"]:
            out.append(
                f'<h3>{_e(words["summary"])}</h3><div class="summary">{item["summary_html"]}</div>'
            )
        out.append(f"<h3>{_e(words['interventions'])}</h3>")
        if not item["interventions"]:
            out.append(f'<p class="note">{_e(words["no_interventions"])}</p>')
        for iv in item["interventions"]:
            note = f' <span class="note">{_e(words["redacted"])}</span>' if iv["redacted"] else ""
            # body_html is the product's sanitised HTML (moderation/sanitize.py).
            out.append(
                f'<div class="intervention"><p class="said">{_e(said_line(iv))}{note}</p>'
                f'<div class="body"{_lang(iv, doc)}>{iv["body_html"]}</div></div>'
            )
        if item["consensus_checks"]:
            out.append(f"<h3>{_e(words['consensus_checks'])}</h3>")
            out += [_check_html(check) for check in item["consensus_checks"]]
        if item["recommendations"]:
            # An ordered list whose items carry the document's numbers (they run on across items).
            out.append(f"<h3>{_e(words['recommendations'])}</h3><ol>")
            out += [
                f"<li{_value(rec)}>{rec['text_html']} "
                f'<span class="note">{_e(audience_note(rec))}</span></li>'
                for rec in item["recommendations"]
            ]
            out.append("</ol>")
        out.append("</section>")
    out.append(f"<h2>{_e(words['parity'])}</h2>")
    out.append(_parity_html(doc["parity"]))
    out.append(f"<h2>{_e(words['method'])}</h2>")
    out += [f"<p><strong>{_e(p['title'])}.</strong> {_e(p['text'])}</p>" for p in doc["method"]]
    out += _annex_html(doc)
    return "\n".join(out)


def _annex_html(doc: dict) -> list[str]:
    """The annex of written contributions; their HTML is the product's sanitised HTML."""
    entries = annex_words.contributions(doc)
    if not entries:
        return []
    out = [
        f'<section class="annex" id="contributions"><h2>{_e(annex_words.annex_title())}</h2>',
        f'<p class="note">{_e(annex_words.annex_intro())}</p>',
    ]
    for entry in entries:
        out.append(
            f'<section class="contribution" id="contribution-{_e(entry["number"])}">'
            f"<h3>{_e(annex_words.contribution_heading(entry))}</h3>"
        )
        if entry["summary_html"]:
            out.append(
                f"<p><strong>{_e(annex_words.summary_label())}</strong></p>"
                f'<div class="summary">{entry["summary_html"]}</div>'
            )
        out.append(f'<div class="body">{entry["body_html"]}</div>')
        if entry.get("attachment"):
            out.append(f'<p class="note">{_e(annex_words.attachment_line(entry))}</p>')
        out.append("</section>")
    out.append("</section>")
    return out


def _parity_html(parity: dict) -> str:
    rows, closing = parity_table(parity)
    head = _ths(parity_head())
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return (
        f"<div "
        f'class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>\n<p>{_e(closing)}</p>'
    )


def _value(rec: dict) -> str:
    number = rec.get("number")
    return f' value="{int(number)}"' if number and str(number).isdigit() else ""
