"""What every format of the minutes shares: the document's language, its fixed words, the status
line, the parity table.

Every renderer (one module per format beside this one) takes only the document. User text is
escaped (HTML) or set as plain text (Markdown); intervention and recommendation bodies in HTML
are the product's already sanitised HTML (moderation/sanitize.py).

The renderers' own words (headings, table heads, the status line) are in the document's
language (`doc["header"]["language"]`, English for documents made before rooms had one): every
entry point renders inside `in_minutes_language(doc)`, whatever the reader's interface."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from forum.minutes.document import DEFAULT_LANGUAGE, floor_used


def minutes_language(doc: dict) -> str:
    """The language the document was written in (its room's)."""
    return (doc.get("header") or {}).get("language") or DEFAULT_LANGUAGE


@contextmanager
def in_minutes_language(doc: dict) -> Iterator[str]:
    """Render inside this: the renderers' own words come out in the document's language."""
    language = minutes_language(doc)
    with translation.override(language):
        yield language


# Languages written right to left, of those an intervention may be in (and a few more).
RIGHT_TO_LEFT = {"ar", "fa", "he", "ur"}


def other_language(part: dict, doc: dict) -> str:
    """The language of a part of the document (an intervention) when it differs from the
    document's, else "": what a format marks (lang, xml:lang, w:lang)."""
    lang = part.get("lang") or ""
    return lang if lang and lang != minutes_language(doc) else ""


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
            line += " " + _("Audit log at adoption: entry %(entry)s, chain head %(mac)s") % {
                "entry": head["entry"],
                "mac": head["mac"],
            }
        if version.get("open_comments"):
            line += " " + ngettext(
                "%(count)s review comment was left open.",
                "%(count)s review comments were left open.",
                version["open_comments"],
            ) % {"count": version["open_comments"]}
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
    """A consensus check's outcome as the minutes print it: the document's sentence of what
    happened (without its final stop: renderers close it), or for documents saved before
    they had one, the bare outcome."""
    if check.get("outcome_sentence"):
        return check["outcome_sentence"].rstrip(".")
    outcome = check["outcome"]
    if outcome == "consensus":
        return _("consensus")
    if outcome == "no consensus":
        return _("no consensus")
    if outcome:
        return outcome
    return _("still open") if check["status"] == "open" else _("no result")


def support_text(check: dict) -> str:
    """ "; weighted support 72.5%" after the outcome, or "" when there is none (the outcome
    sentence already says it)."""
    if check["support"] is None or check.get("outcome_sentence"):
        return ""
    return _("; weighted support %(share)s") % {"share": percent(check["support"])}


def weighted_head() -> list[str]:
    return [_("Option"), _("Weighted share")]


def sectors_head(check: dict) -> list[str]:
    """The head of a check's per-sector table: sector, voters, weight, then each option."""
    labels = {o["key"]: o["label"] for o in check["options"]}
    return [_("Sector"), _("Voters"), _("Weight")] + [labels[o["key"]] for o in check["options"]]


def attendance_head(att: dict) -> list[str]:
    """The attendance table's head: seats held, and (documents that record who came) present."""
    if "present" in att:
        return [_("Sector"), _("Seats held"), _("Present")]
    return [_("Sector"), _("Delegates")]


def attendance_rows(att: dict) -> list[list]:
    """One row per group of the attendance table (the groups the disclosure rule shows)."""
    if "present" in att:
        return [[s["name"], s["delegates"], s["present"]] for s in att["sectors"]]
    return [[s["name"], s["delegates"]] for s in att["sectors"]]


def attendance_line(att: dict) -> str:
    line = _(
        "Chair: %(chair)s; moderators: %(moderators)s; rapporteur: %(rapporteur)s; "
        "observers: %(observers)s; delegates in all: %(delegates)s."
    ) % {key: att[key] for key in ("chair", "moderators", "rapporteur", "observers", "delegates")}
    if "present" in att:
        line += " " + _(
            "Delegates present: %(present)s (of whom in the room: %(in_room)s). A delegate is "
            "present who connected to the session (and, under the Chatham House Rule, accepted "
            "it) or was marked in the room."
        ) % {"present": att["present"], "in_room": att["in_room"]}
    return line


def minutes_title(doc: dict) -> str:
    return _("Minutes: %(title)s") % {"title": doc["header"]["round_table"]}


def said_line(iv: dict) -> str:
    """An intervention's attribution line with its number: "2.3 A participant from the private
    sector asked:" (documents saved before interventions were numbered have no number)."""
    number = iv.get("number")
    return f"{number} {iv['sentence']}" if number else iv["sentence"]


def rec_number(rec: dict) -> str:
    """A recommendation's number as the lists print it ("3."), "" before they were numbered."""
    number = rec.get("number")
    return f"{number}." if number else ""


def audience_note(rec: dict) -> str:
    return _("(to: %(audience)s)") % {"audience": rec["audience_label"]}


def header_labels() -> dict[str, str]:
    return {
        "dialogue": _("Dialogue"),
        "date": _("Date"),
        "time": _("Time"),
        "place": _("Place"),
        "status": _("Status"),
        "rule": _("Rule"),
        "attribution": _("Attribution"),
    }


def headings() -> dict[str, str]:
    return {
        "attendance": _("Attendance"),
        "summary": _("Summary"),
        "interventions": _("Interventions"),
        "consensus_checks": _("Consensus checks"),
        "consensus_check": _("Consensus check"),
        "recommendations": _("Recommendations"),
        "parity": _("Parity figures"),
        "method": _("Method"),
        "outcome": _("Outcome"),
        "redacted": _("(redacted by the moderators)"),
        "no_interventions": _("No interventions."),
    }


# The parity table's head; `parity_head()` gives it in the active language.
PARITY_HEAD = [
    gettext_lazy("Sector"),
    gettext_lazy("Turns"),
    gettext_lazy("Speaking time (s)"),
    gettext_lazy("Share"),
    gettext_lazy("Interventions"),
    gettext_lazy("Words"),
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
        rows.append(
            [
                s["name"],
                str(f.get("turns", 0)),
                f"{f.get('speaking_seconds', 0):.0f}",
                percent(f.get("speaking_share", 0.0)),
                str(f.get("interventions", 0)),
                str(f.get("words", 0)),
            ]
        )
    if room.get("balance") is None or not floor_used(room):
        # Nobody had the floor: no shares, no balance to speak of.
        rows = [[row[0], row[1], row[2], _("not used"), *row[4:]] for row in rows]
        closing = _(
            "Balance index: not used (nobody had the floor); "
            "departures from the floor rule: %(departures)s."
        ) % {"departures": room["overrides"]["total"]}
        return rows, closing
    closing = _("Balance index: %(balance)s; departures from the floor rule: %(departures)s.") % {
        "balance": f"{room['balance']:.2f}",
        "departures": room["overrides"]["total"],
    }
    return rows, closing
