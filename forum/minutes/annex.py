"""The minutes' annex of written contributions: the published ones, numbered per agenda item
as interventions are ("2.1": the first published contribution to agenda item 2, in the order
of publication), attributed by the room's policy as an intervention is ("A participant from
civil society"), in the document's top-level list `contributions`.

Shape of an entry (docs/minutes.md):

    {"id", "number", "agenda_item" (the item's id), "item_position", "item_title",
     "speaker", "speaker_key", "published_at" (ISO 8601 in the session's time zone),
     "words", "summary_html", "summary_text", "body_html", "body_text",
     "attachment": {"file" (its name in the submission package), "kind" ("pdf" | "docx"),
                    "bytes", "sha256"} or null}

Imported by document.py, which hands it its two helpers (the plain text of sanitised HTML,
the language-independent key of a speaker) so that neither module imports the other back.
"""

from __future__ import annotations

from collections.abc import Callable

from forum.minutes.phrases import speaker_phrase
from forum.minutes.when import _local
from forum.models import AgendaItem, Contribution, RoundTable
from moderation.disclosure import Disclosure

# Where an attachment sits in the submission package (forum/minutes/package.py).
ATTACHMENT_DIR = "contributions"


def attachment_file(number: str, public_id: str, kind: str) -> str:
    return f"{ATTACHMENT_DIR}/contribution-{number}-{public_id}.{kind}"


def contributions_annex(
    room: RoundTable,
    items: list[AgendaItem],
    names: tuple[dict[str, str], dict[str, str]],
    shown: Disclosure,
    *,
    text_of: Callable[[str], str],
    speaker_key: Callable[[RoundTable, dict | None], str],
) -> list[dict]:
    """The published contributions of `room`, in agenda order, then in order of publication."""
    sector_names, stored_names = names
    rows = (
        Contribution.objects.filter(room=room, status=Contribution.Status.PUBLISHED)
        .defer("attachment", "attachment_parts")
        .order_by("published_at", "pk")
    )
    by_item: dict[int, list[Contribution]] = {item.pk: [] for item in items}
    for row in rows:
        by_item.setdefault(row.agenda_item_id, []).append(row)
    annex = []
    for item in items:
        for count, row in enumerate(by_item[item.pk], start=1):
            number = f"{item.position}.{count}"
            # As sent, unless its sector is no longer one the record may name.
            stored = shown.attribution(row.attribution)
            annex.append(
                {
                    "id": row.public_id,
                    "number": number,
                    "agenda_item": item.public_id,
                    "item_position": item.position,
                    "item_title": item.title,
                    "speaker": speaker_phrase(room, stored, sector_names, stored_names),
                    "speaker_key": speaker_key(room, stored),
                    "published_at": _local(room, row.published_at),
                    "words": row.words,
                    "summary_html": row.summary_html,
                    "summary_text": text_of(row.summary_html),
                    "body_html": row.body_html,
                    "body_text": text_of(row.body_html),
                    "attachment": (
                        {
                            "file": attachment_file(number, row.public_id, row.attachment_kind),
                            "kind": row.attachment_kind,
                            "bytes": row.attachment_bytes,
                            "sha256": row.attachment_sha256,
                        }
                        if row.has_attachment
                        else None
                    ),
                }
            )
    return annex
