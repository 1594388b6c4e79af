"""Written contributions: a delegate sends one to an agenda item within its window (before the
session opens or during it); every one waits for the moderators, who publish it, ask for
changes (its author edits it and sends it again) or decline it, as with held interventions.

What names a participant (in the text, the executive summary or the attachment, at the page
where it does) is marked for the moderators; its author is told only that it waits, whatever
held it, so a contribution cannot test whether a name holds a seat. The moderators' decisions
are audited (`moderate_contributions`, with `step`)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from forum.attachments import (
    MAX_BYTES,
    AttachmentError,
    attachment_kind,
    extract_parts,
    place_label,
)
from forum.errors import ServiceError
from forum.minutes.document import html_to_text
from forum.models import (
    DEFAULT_WORD_LIMIT,
    AgendaItem,
    Contribution,
    RoundTable,
    Seat,
    is_public_id,
)
from moderation.attribution import attribute
from moderation.audit import audit_append
from moderation.disclosure import Reader, attribution_for
from moderation.guard import names_in, place
from moderation.permissions import Action, require
from moderation.sanitize import plain_input, render_markdown
from realtime.log import append_event

from .acting import load_acting, refuse_names, seat_marks
from .contribution_windows import require_open, window_for
from .reasons import clean_reason

MAX_BODY_CHARS = 100_000
SUMMARY_WORDS = 300
_WORD = re.compile(r"\w+(?:['’\-]\w+)*")


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


def markdown_words(markdown: str) -> int:
    """Words of Markdown as a reader reads them (markup and link targets left out)."""
    return count_words(html_to_text(render_markdown(markdown)))


def _check_text(body: object, summary: object, limit: int) -> tuple[str, str, int]:
    body = plain_input(body if isinstance(body, str) else "").strip()
    summary = plain_input(summary if isinstance(summary, str) else "").strip()
    if not body:
        raise ServiceError("invalid_body", _("The contribution has no text."), field="body")
    if len(body) + len(summary) > MAX_BODY_CHARS:
        raise ServiceError(
            "too_large",
            _("The contribution is longer than %(max)s characters.") % {"max": MAX_BODY_CHARS},
            field="body",
            limit=MAX_BODY_CHARS,
        )
    words = markdown_words(body)
    if words > limit:
        raise ServiceError(
            "too_many_words",
            _("The contribution is %(words)s words; the limit for this agenda item is %(limit)s.")
            % {"words": words, "limit": limit},
            field="body",
            limit=limit,
        )
    summary_words = markdown_words(summary) if summary else 0
    if summary_words > SUMMARY_WORDS:
        raise ServiceError(
            "too_many_words",
            _("The executive summary is %(words)s words; the limit is %(limit)s.")
            % {"words": summary_words, "limit": SUMMARY_WORDS},
            field="summary",
            limit=SUMMARY_WORDS,
        )
    return body, summary, words


def check_attachment_size(size: int) -> None:
    """Refuse an attachment over 10 MiB (a view asks before reading the upload)."""
    if size > MAX_BYTES:
        raise ServiceError(
            "too_large",
            _("The attachment is %(size)s MiB; the limit is 10 MiB.")
            % {"size": f"{size / 1048576:.1f}"},
            field="attachment",
            limit=MAX_BYTES,
        )


@dataclass(frozen=True)
class ReadAttachment:
    data: bytes
    kind: str
    parts: list[dict]


def read_attachment(data: bytes | None) -> ReadAttachment | None:
    """The attachment's kind and text, read before any transaction: parsing a long PDF takes
    about a second (300 pages), and the room's lock is held for none of it."""
    if data is None:
        return None
    check_attachment_size(len(data))
    try:
        kind = attachment_kind(data)
        return ReadAttachment(data, kind, extract_parts(data, kind))
    except AttachmentError as exc:
        raise ServiceError("invalid_attachment", str(exc), field="attachment") from None


def _attachment_words(read: ReadAttachment, limit: int) -> None:
    words = sum(
        count_words(p["text"]) for p in read.parts if p["place"] not in ("properties", "hidden")
    )
    if words > limit:
        raise ServiceError(
            "too_many_words",
            _("The attachment is %(words)s words; the limit for this agenda item is %(limit)s.")
            % {"words": words, "limit": limit},
            field="attachment",
            limit=limit,
        )


def find_mentions(room: RoundTable, contribution: Contribution) -> list[dict]:
    """Where the contribution names a participant, for the moderators: the words and a few
    around them, and the place ("body", "summary", or "attachment" with the part and number)."""
    found = []
    places = [
        ("body", None, None, contribution.body_md),
        ("summary", None, None, contribution.summary_md),
    ]
    if contribution.attachment_kind and not contribution.attachment_withheld:
        places += [
            ("attachment", p["place"], p["number"], p["text"])
            for p in contribution.attachment_parts
        ]
    for where, part, number, text in places:
        for mention in names_in(room, text):
            found.append(
                {
                    "where": where,
                    "place": part,
                    "number": number,
                    "text": text[mention.start : mention.end],
                    "excerpt": place(text, mention),
                }
            )
    return found


def _set_attachment(contribution: Contribution, read: ReadAttachment | None, limit: int) -> None:
    if read is None:
        return
    _attachment_words(read, limit)
    contribution.attachment = read.data
    contribution.attachment_kind = read.kind
    contribution.attachment_bytes = len(read.data)
    contribution.attachment_sha256 = hashlib.sha256(read.data).hexdigest()
    contribution.attachment_parts = read.parts
    contribution.attachment_withheld = False


def _held(room: RoundTable, contribution: Contribution) -> None:
    contribution.mentions = find_mentions(room, contribution)
    contribution.status = Contribution.Status.HELD
    contribution.save()
    append_event(
        room,
        "contribution.submitted",
        participants=None,
        moderators={
            "id": contribution.public_id,
            "agenda_item": contribution.agenda_item.public_id,
            "attribution": contribution.attribution,
            "author": contribution.seat.public_id,
            "revision": contribution.revision,
            "mentions": len(contribution.mentions),
        },
    )


def _author(seat_id: int) -> tuple[Seat, RoundTable]:
    seat = Seat.objects.select_related("user", "sector", "organization").get(pk=seat_id)
    room = RoundTable.objects.select_for_update().get(pk=seat.room_id)
    seat.room = room
    require(seat, Action.CONTRIBUTE)
    if room.status == RoundTable.Status.CLOSED:
        raise ServiceError("room_closed", _("This round table is closed."))
    if room.is_chatham_house and seat.consented_at is None:
        raise ServiceError(
            "consent_required",
            _("Accept the Chatham House Rule before you send a written contribution."),
        )
    return seat, room


def contribution_submit(
    *,
    seat_id: int,
    agenda_item: str,
    body: str,
    summary: str = "",
    attachment: bytes | None = None,
) -> Contribution:
    """Send a written contribution to `agenda_item` (its public id); it waits for the
    moderators. Refusals: forbidden, room_closed, consent_required, not_found,
    contributions_closed, contributions_not_open, deadline_passed, invalid_body, too_large,
    too_many_words, invalid_attachment."""
    return _submit(
        seat_id=seat_id,
        agenda_item=agenda_item,
        body=body,
        summary=summary,
        read=read_attachment(attachment),
    )


@transaction.atomic
def _submit(
    *, seat_id: int, agenda_item: str, body: str, summary: str, read: ReadAttachment | None
) -> Contribution:
    seat, room = _author(seat_id)
    item = None
    if is_public_id(agenda_item):
        item = AgendaItem.objects.filter(room=room, public_id=agenda_item).first()
    if item is None:
        raise ServiceError(
            "not_found", _("There is no such agenda item here."), field="agenda_item"
        )
    window = window_for(room, item)
    now = timezone.now()
    require_open(room, window, now)
    body, summary, words = _check_text(body, summary, window.word_limit)
    contribution = Contribution(
        room=room,
        seat=seat,
        agenda_item=item,
        body_md=body,
        body_html=render_markdown(body),
        summary_md=summary,
        summary_html=render_markdown(summary) if summary else "",
        words=words,
        attribution=attribute(seat).as_payload(),
        submitted_at=now,
    )
    _set_attachment(contribution, read, window.word_limit)
    _held(room, contribution)
    return contribution


def _own(seat: Seat, public_id: object) -> Contribution:
    contribution = (
        Contribution.objects.select_for_update(of=("self",))
        .select_related("agenda_item", "seat")
        .filter(seat=seat, public_id=public_id)
        .first()
        if is_public_id(public_id)
        else None
    )
    if contribution is None:
        raise ServiceError(
            "not_found", _("You have sent no such contribution."), field="contribution"
        )
    return contribution


def contribution_resubmit(
    *,
    seat_id: int,
    contribution_id: str,
    body: str,
    summary: str = "",
    attachment: bytes | None = None,
    remove_attachment: bool = False,
) -> Contribution:
    """Send an edited contribution again, after the moderators asked for changes (also after
    the deadline: they asked). `attachment` None keeps the one sent before, unless
    `remove_attachment`. Refusals as contribution_submit's, and invalid_state."""
    return _resubmit(
        seat_id=seat_id,
        contribution_id=contribution_id,
        body=body,
        summary=summary,
        read=read_attachment(attachment),
        remove_attachment=remove_attachment,
    )


@transaction.atomic
def _resubmit(
    *,
    seat_id: int,
    contribution_id: str,
    body: str,
    summary: str,
    read: ReadAttachment | None,
    remove_attachment: bool,
) -> Contribution:
    seat, room = _author(seat_id)
    contribution = _own(seat, contribution_id)
    if contribution.status != Contribution.Status.CHANGES_REQUESTED:
        raise ServiceError(
            "invalid_state",
            _("Only a contribution the moderators returned for changes can be sent again."),
            field="contribution",
        )
    window = window_for(room, contribution.agenda_item)
    limit = window.word_limit if window else DEFAULT_WORD_LIMIT
    body, summary, words = _check_text(body, summary, limit)
    contribution.body_md, contribution.body_html = body, render_markdown(body)
    contribution.summary_md = summary
    contribution.summary_html = render_markdown(summary) if summary else ""
    contribution.words = words
    if remove_attachment and read is None:
        contribution.attachment, contribution.attachment_kind = None, ""
        contribution.attachment_bytes, contribution.attachment_sha256 = 0, ""
        contribution.attachment_parts = []
    _set_attachment(contribution, read, limit)
    contribution.revision += 1
    contribution.submitted_at = timezone.now()
    _held(room, contribution)
    return contribution


# -- the moderators --------------------------------------------------------------------------


def _pending(acting, public_id: object) -> Contribution:
    contribution = (
        Contribution.objects.select_for_update(of=("self",))
        .select_related("agenda_item", "seat")
        .filter(room=acting.room, public_id=public_id)
        .first()
        if is_public_id(public_id)
        else None
    )
    if contribution is None:
        raise ServiceError(
            "not_found",
            _("There is no such contribution in this round table."),
            field="contribution",
        )
    if contribution.status != Contribution.Status.HELD:
        raise ServiceError(
            "invalid_state",
            _("This contribution is %(status)s; that action does not apply.")
            % {"status": contribution.get_status_display().lower()},
            field="contribution",
        )
    return contribution


def attachment_url(contribution: Contribution) -> str:
    return reverse(
        "room_contribution_attachment", args=[contribution.room.slug, contribution.public_id]
    )


def contribution_payloads(contribution: Contribution) -> tuple[dict, dict]:
    """(participants, moderators) renderings of a published contribution."""
    data = {
        "id": contribution.public_id,
        "agenda_item": contribution.agenda_item.public_id,
        "attribution": contribution.attribution,
        "summary_html": contribution.summary_html,
        "body_html": contribution.body_html,
        "attachment": (
            {
                "kind": contribution.attachment_kind,
                "bytes": contribution.attachment_bytes,
                "url": attachment_url(contribution),
            }
            if contribution.has_attachment
            else None
        ),
        "published_at": contribution.published_at.isoformat(),
    }
    shown = attribution_for(contribution.room, Reader.PARTICIPANTS, contribution.attribution)
    return {**data, "attribution": shown}, {**data, **seat_marks(contribution.seat)}


def _attachment_guard(acting, contribution, not_a_participant: str | None) -> None:
    """The attachment cannot be redacted here: one that still names a participant goes out
    only with the moderator's audited statement that the match is not one."""
    found = [m for m in find_mentions(acting.room, contribution) if m["where"] == "attachment"]
    if not found:
        return
    if not_a_participant is None:
        first = found[0]
        raise ServiceError(
            "names_participant",
            _(
                "The attachment names a participant or an organization of this round table, at "
                "%(place)s: %(excerpt)s. Publish the contribution without it, ask for changes, "
                "or, if it is not a participant, say so with a reason."
            )
            % {
                "place": place_label("attachment", first["place"], first["number"]),
                "excerpt": first["excerpt"],
            },
            field="attachment",
        )
    for part in contribution.attachment_parts:
        refuse_names(
            acting.room,
            part["text"],
            what=_("attachment"),
            field="attachment",
            actor=acting.seat,
            target=contribution.public_id,
            not_a_participant=not_a_participant,
        )


@transaction.atomic
def contribution_publish(
    *,
    actor_seat_id: int,
    contribution_id: str,
    not_a_participant: str | None = None,
    without_attachment: bool = False,
) -> Contribution:
    """Publish a contribution as its author sent it: refused (`names_participant`, quoting
    the place) while it names a seat holder, unless the moderator states why the match is
    not one; `without_attachment` publishes the text alone."""
    acting = load_acting(actor_seat_id, Action.MODERATE_CONTRIBUTIONS)
    contribution = _pending(acting, contribution_id)
    for field, text in (("body", contribution.body_md), ("summary", contribution.summary_md)):
        refuse_names(
            acting.room,
            text,
            what=_("contribution"),
            field=field,
            actor=acting.seat,
            target=contribution.public_id,
            not_a_participant=not_a_participant,
        )
    contribution.attachment_withheld = bool(without_attachment and contribution.attachment_kind)
    _attachment_guard(acting, contribution, not_a_participant)
    now = timezone.now()
    contribution.status = Contribution.Status.PUBLISHED
    contribution.published_at = contribution.decided_at = now
    contribution.decided_by, contribution.note = acting.seat, ""
    contribution.save()
    participants, moderators = contribution_payloads(contribution)
    append_event(
        acting.room, "contribution.published", participants=participants, moderators=moderators
    )
    _audit(acting, contribution, "publish", without_attachment=contribution.attachment_withheld)
    return contribution


def _decide(acting, contribution, status: str, note: str) -> None:
    contribution.status, contribution.note = status, note
    contribution.decided_by, contribution.decided_at = acting.seat, timezone.now()
    contribution.save(update_fields=["status", "note", "decided_by", "decided_at"])


def _note(acting, note: str, field: str) -> str:
    note = clean_reason(note, field=field)
    # Only the author reads it, but a name in it would tell them that it holds a seat.
    refuse_names(acting.room, note, what=_("note"), field=field, rephrase_only=True)
    return note


@transaction.atomic
def contribution_request_changes(
    *, actor_seat_id: int, contribution_id: str, note: str
) -> Contribution:
    """Return a contribution to its author with what to change (at least 5 characters, no
    participant's name); they edit it and send it again."""
    acting = load_acting(actor_seat_id, Action.MODERATE_CONTRIBUTIONS)
    contribution = _pending(acting, contribution_id)
    note = _note(acting, note, "note")
    _decide(acting, contribution, Contribution.Status.CHANGES_REQUESTED, note)
    append_event(
        acting.room,
        "contribution.returned",
        participants=None,
        moderators={"id": contribution.public_id, "author": contribution.seat.public_id},
    )
    _audit(acting, contribution, "request_changes", reason=note)
    return contribution


@transaction.atomic
def contribution_decline(*, actor_seat_id: int, contribution_id: str, reason: str) -> Contribution:
    """Decline a contribution, with a reason its author reads: it is never shown to anyone
    else (the original stays for the audit)."""
    acting = load_acting(actor_seat_id, Action.MODERATE_CONTRIBUTIONS)
    contribution = _pending(acting, contribution_id)
    reason = _note(acting, reason, "reason")
    _decide(acting, contribution, Contribution.Status.DECLINED, reason)
    append_event(
        acting.room,
        "contribution.declined",
        participants=None,
        moderators={"id": contribution.public_id, "author": contribution.seat.public_id},
    )
    _audit(acting, contribution, "decline", reason=reason)
    return contribution


def _audit(acting, contribution: Contribution, step: str, reason: str = "", **data) -> None:
    audit_append(
        room=acting.room,
        action=str(Action.MODERATE_CONTRIBUTIONS),
        actor=acting.seat,
        target=contribution.public_id,
        reason=reason,
        data={"step": step, "revision": contribution.revision, **data},
    )
