"""The words every format prints in the annex of written contributions (the document's
`contributions`, forum/minutes/annex.py), in the minutes' language: each format renders the
annex in one function of its own and calls it from one place."""

from __future__ import annotations

from django.utils.translation import gettext as _


def contributions(doc: dict) -> list[dict]:
    """The annex's entries (none in a document saved before contributions existed)."""
    return doc.get("contributions") or []


def annex_title() -> str:
    return _("Annex: written contributions")


def annex_intro() -> str:
    return _(
        "Written contributions published by the moderators, numbered by agenda item in the "
        "order of publication and attributed as interventions are."
    )


def contribution_heading(entry: dict) -> str:
    """ "Contribution 2.1 (agenda item 2, Title): A participant from civil society" """
    return _("Contribution %(number)s (agenda item %(position)s, %(title)s): %(speaker)s") % {
        "number": entry["number"],
        "position": entry["item_position"],
        "title": entry["item_title"],
        "speaker": entry["speaker"],
    }


def summary_label() -> str:
    return _("Executive summary")


def attachment_line(entry: dict) -> str:
    """The attachment as the package holds it, or ""."""
    attachment = entry.get("attachment")
    if not attachment:
        return ""
    return _("Attachment: %(file)s (%(kind)s, %(bytes)s bytes; SHA-256 %(sha256)s)") % {
        "file": attachment["file"],
        "kind": attachment["kind"].upper(),
        "bytes": attachment["bytes"],
        "sha256": attachment["sha256"],
    }
