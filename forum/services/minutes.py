"""Minutes: versions, review, comments and adoption.

A save projects the room (forum/minutes/document.py) with the rapporteur's summaries and freezes the
result as a new version; versions are never changed afterwards. Only the latest version can be
circulated for review or adopted, so an adoption always covers what the chair last read; any
later save is a new draft that needs adopting again. The content hash is computed once, at
save, over the frozen content (forum.minutes.document.content_sha256).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from forum.errors import ServiceError
from forum.minutes.access import version_document
from forum.minutes.document import UNHASHED, content_sha256, minutes_document
from forum.minutes.leak import leak_check_document
from forum.models import HeldText, MinutesComment, MinutesVersion, RoundTable
from forum.services.acting import Acting, load_acting, refuse_names, seat_marks
from forum.services.hold_guard import hold_if_named
from forum.services.notices import notify_minutes_adopted, notify_review_opened
from forum.services.recommendations import recommendation_save
from moderation.attribution import attribute
from moderation.audit import audit_append
from moderation.permissions import Action
from moderation.sanitize import plain_input, render_markdown
from realtime.log import append_event

SUMMARY_LIMIT = 20_000
COMMENT_LIMIT = 4_000
NOTE_LIMIT = 500


def latest_version(room: RoundTable) -> MinutesVersion | None:
    return room.minutes_versions.order_by("-number").first()


def _version(acting: Acting, number: object) -> MinutesVersion:
    if isinstance(number, bool) or not isinstance(number, int):
        raise ServiceError("invalid_version", _("Name the version by its number."), field="version")
    version = acting.room.minutes_versions.filter(number=number).first()
    if version is None:
        raise ServiceError(
            "not_found",
            _("There is no version %(number)s of these minutes.") % {"number": number},
            field="version",
        )
    return version


def _latest_only(acting: Acting, version: MinutesVersion, what: str) -> None:
    _LATEST_ONLY = {
        "circulated": _(
            "Version %(number)s is not the latest (version %(latest)s is); only the "
            "latest can be circulated."
        ),
        "adopted": _(
            "Version %(number)s is not the latest (version %(latest)s is); only the "
            "latest can be adopted."
        ),
        "put forward": _(
            "Version %(number)s is not the latest (version %(latest)s is); only the "
            "latest can be put forward for adoption."
        ),
    }
    latest = latest_version(acting.room)
    if latest.pk != version.pk:
        raise ServiceError(
            "stale_version",
            _LATEST_ONLY[what] % {"number": version.number, "latest": latest.number},
            field="version",
        )


def _clean_summaries(room: RoundTable, summaries: object, **vouch) -> dict[str, str]:
    if summaries is None:
        return {}
    if not isinstance(summaries, dict):
        raise ServiceError(
            "invalid_summaries",
            _("Summaries go by agenda item: {item id: Markdown}."),
            field="summaries",
        )
    items = dict(room.agenda_items.values_list("public_id", "title"))
    clean = {}
    for item_id, text in summaries.items():
        if item_id not in items:
            raise ServiceError(
                "not_found",
                _("There is no agenda item %(item)s in this round table.")
                % {"item": repr(item_id)},
                field="summaries",
            )
        if not isinstance(text, str):
            raise ServiceError(
                "invalid_summaries",
                _("The summary of %(item)s must be text.") % {"item": repr(items[item_id])},
                field="summaries",
            )
        text = plain_input(text).strip()
        if len(text) > SUMMARY_LIMIT:
            raise ServiceError(
                "too_large",
                _("The summary of %(item)s is %(length)s characters; the limit is %(limit)s.")
                % {"item": repr(items[item_id]), "length": len(text), "limit": SUMMARY_LIMIT},
                field="summaries",
            )
        refuse_names(
            room,
            text,
            what=_("summary of %(item)s") % {"item": repr(items[item_id])},
            field="summaries",
            target=f"summary:{item_id}",
            **vouch,
        )
        clean[item_id] = text
    return clean


def _clean_note(note: object) -> str:
    if note is None:
        return ""
    if not isinstance(note, str):
        raise ServiceError("invalid_note", _("The note must be text."), field="note")
    note = " ".join(plain_input(note).split())
    if len(note) > NOTE_LIMIT:
        raise ServiceError(
            "too_large",
            _("The note is at most %(limit)s characters.") % {"limit": NOTE_LIMIT},
            field="note",
        )
    return note


@transaction.atomic
def minutes_save(
    *,
    actor_seat_id: int,
    summaries: dict[str, str] | None = None,
    recommendations: dict[str, dict] | None = None,
    note: str = "",
    not_a_participant: str | None = None,
) -> MinutesVersion:
    """Save a new version: the room as it stands, the summaries given (others keep their
    last saved text), and edits of recommendations ({id: {"text", "audience"}}).

    Summaries and recommendations pass the guard of published text (`not_a_participant`:
    why what it finds is not a participant, audited); a note that names someone is held for
    the rapporteur and the chair. Refused with `unchanged` when the content would be the
    same as the latest version's.
    """
    acting = load_acting(actor_seat_id, Action.EDIT_MINUTES)
    room = acting.room
    note = _clean_note(note)
    vouch = {"actor": acting.seat, "not_a_participant": not_a_participant}
    clean = _clean_summaries(room, summaries, **vouch)
    if recommendations is not None and not isinstance(recommendations, dict):
        raise ServiceError(
            "invalid_recommendations",
            _("Recommendations go by id: {id: {text, audience}}."),
            field="recommendations",
        )
    for rec_id, edit in (recommendations or {}).items():
        if not isinstance(edit, dict):
            raise ServiceError(
                "invalid_recommendations",
                _("The edit of %(id)s must be an object.") % {"id": repr(rec_id)},
                field="recommendations",
            )
        current = room.recommendations.filter(public_id=rec_id).first()
        if current is None:
            raise ServiceError(
                "not_found",
                _("There is no recommendation %(id)s in this round table.") % {"id": repr(rec_id)},
                field="recommendations",
            )
        text, audience = edit.get("text", current.text_md), edit.get("audience", current.audience)
        if (
            isinstance(text, str)
            and plain_input(text).strip() == current.text_md
            and audience == current.audience
        ):
            continue  # the editor sends every recommendation: only real edits are saved
        recommendation_save(
            actor_seat_id=actor_seat_id,
            text=text,
            audience=audience,
            consensus_check=current.consensus_check.public_id
            if current.consensus_check_id
            else None,
            recommendation_id=rec_id,
            not_a_participant=not_a_participant,
        )

    previous = latest_version(room)
    merged = {**(previous.summaries if previous else {}), **clean}
    merged = {item_id: text for item_id, text in merged.items() if text}
    doc = minutes_document(room, merged)
    digest = content_sha256(doc)
    if previous is not None and previous.content_sha256 == digest:
        raise ServiceError(
            "unchanged",
            _("Nothing has changed since version %(number)s; there is nothing to save.")
            % {"number": previous.number},
        )
    now = timezone.now()
    if previous is not None and previous.in_review:
        # The new version supersedes the one under review: its comments stay with it.
        previous.review_closed_at = now
        previous.save(update_fields=["review_closed_at"])
    version = MinutesVersion.objects.create(
        room=room,
        number=(previous.number + 1) if previous else 1,
        summaries=merged,
        document={key: value for key, value in doc.items() if key not in UNHASHED},
        content_sha256=digest,
        note="",
        saved_by=acting.seat,
        saved_at=now,
    )
    # The note is shown with the version to every reader: one that names someone waits.
    if note and not hold_if_named(
        room, note, kind=HeldText.Kind.VERSION_NOTE, seat=acting.seat, version=version
    ):
        version.note = note
        version.save(update_fields=["note"])
    data = {"version": version.number, "content_sha256": digest}
    append_event(room, "minutes.saved", participants=data, moderators=data)
    audit_append(
        room=room,
        action=str(Action.EDIT_MINUTES),
        actor=acting.seat,
        target=f"v{version.number}",
        reason=version.note,
        data={"content_sha256": digest},
    )
    return version


def _until(value: object) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        until = value
    else:
        try:
            until = dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise ServiceError(
                "invalid_date",
                _("%(value)s is not a date and time (ISO 8601).") % {"value": repr(value)},
                field="until",
            )
    if timezone.is_naive(until):
        until = timezone.make_aware(until)
    try:
        # Stored in UTC: PostgreSQL refuses offsets past ±15:59, which fromisoformat reads.
        until = until.astimezone(dt.UTC)
    except OverflowError:
        raise ServiceError(
            "invalid_date",
            _("%(value)s is beyond the last date and time that can be stored.")
            % {"value": repr(value)},
            field="until",
        ) from None
    if until <= timezone.now():
        raise ServiceError(
            "invalid_date", _("The end of the review must be in the future."), field="until"
        )
    return until


@transaction.atomic
def minutes_review_open(
    *, actor_seat_id: int, version: int, until: object = None
) -> MinutesVersion:
    """Circulate the latest version for review, optionally until a date and time."""
    acting = load_acting(actor_seat_id, Action.REVIEW_MINUTES)
    row = _version(acting, version)
    _latest_only(acting, row, "circulated")
    if row.adopted_at:
        raise ServiceError(
            "minutes_adopted",
            _("Version %(number)s is already adopted.") % {"number": row.number},
            field="version",
        )
    if row.in_review:
        raise ServiceError(
            "review_open",
            _("Version %(number)s is already under review.") % {"number": row.number},
            field="version",
        )
    row.review_opened_at = timezone.now()
    row.review_until = _until(until)
    row.review_closed_at = None
    row.save(update_fields=["review_opened_at", "review_until", "review_closed_at"])
    data = {
        "version": row.number,
        "until": row.review_until.isoformat() if row.review_until else None,
    }
    append_event(acting.room, "minutes.review_opened", participants=data, moderators=data)
    notify_review_opened(room=acting.room, version=row)
    audit_append(
        room=acting.room,
        action=str(Action.REVIEW_MINUTES),
        actor=acting.seat,
        target=f"v{row.number}",
        data={"step": "open", "until": data["until"]},
    )
    return row


@transaction.atomic
def minutes_review_close(*, actor_seat_id: int, version: int) -> MinutesVersion:
    acting = load_acting(actor_seat_id, Action.REVIEW_MINUTES)
    row = _version(acting, version)
    if not row.in_review:
        raise ServiceError(
            "review_closed",
            _("Version %(number)s is not under review.") % {"number": row.number},
            field="version",
        )
    row.review_closed_at = timezone.now()
    row.save(update_fields=["review_closed_at"])
    _review_closed(acting, row, "close")
    return row


@transaction.atomic
def minutes_request_adoption(*, actor_seat_id: int, version: int) -> MinutesVersion:
    """The rapporteur tells the chair that the latest version is ready to be adopted."""
    acting = load_acting(actor_seat_id, Action.REVIEW_MINUTES)
    row = _version(acting, version)
    _latest_only(acting, row, "put forward")
    if row.adopted_at:
        raise ServiceError(
            "minutes_adopted",
            _("Version %(number)s is already adopted.") % {"number": row.number},
            field="version",
        )
    data = {"version": row.number, "content_sha256": row.content_sha256}
    append_event(acting.room, "minutes.adoption_requested", participants=data, moderators=data)
    audit_append(
        room=acting.room,
        action=str(Action.REVIEW_MINUTES),
        actor=acting.seat,
        target=f"v{row.number}",
        data={"step": "request_adoption"},
    )
    return row


def _review_closed(acting: Acting, row: MinutesVersion, step: str) -> None:
    data = {"version": row.number}
    append_event(acting.room, "minutes.review_closed", participants=data, moderators=data)
    audit_append(
        room=acting.room,
        action=str(Action.REVIEW_MINUTES),
        actor=acting.seat,
        target=f"v{row.number}",
        data={"step": step},
    )


@transaction.atomic
def minutes_comment(
    *, seat_id: int, version: int, body: object, agenda_item: str | None = None
) -> MinutesComment | None:
    """A review comment, attributed like an intervention by the room's policy; None when it
    is held for the rapporteur and the chair."""
    acting = load_acting(seat_id, Action.COMMENT_MINUTES)
    row = _version(acting, version)
    if not row.in_review:
        raise ServiceError(
            "review_closed",
            _("Version %(number)s is not open for comments.") % {"number": row.number},
            field="version",
        )
    if not isinstance(body, str) or not plain_input(body).strip():
        raise ServiceError("invalid_body", _("A comment may not be empty."), field="body")
    body = plain_input(body).strip()
    if len(body) > COMMENT_LIMIT:
        raise ServiceError(
            "too_large",
            _("A comment is at most %(limit)s characters.") % {"limit": COMMENT_LIMIT},
            field="body",
            limit=COMMENT_LIMIT,
        )
    item = None
    if agenda_item:
        item = acting.room.agenda_items.filter(public_id=agenda_item).first()
        if item is None:
            raise ServiceError(
                "not_found",
                _("There is no agenda item %(item)s in this round table.")
                % {"item": repr(agenda_item)},
                field="agenda_item",
            )
    seat = acting.seat
    seat.room = acting.room
    # A comment naming someone waits for the rapporteur and the chair; its author is told
    # only that (a refusal saying why would confirm that the name holds a seat).
    if hold_if_named(
        acting.room, body, kind=HeldText.Kind.COMMENT, seat=seat, version=row, agenda_item=item
    ):
        return None
    return comment_publish(
        room=acting.room,
        version=row,
        seat=seat,
        agenda_item=item,
        body=body,
        attribution=attribute(seat).as_payload(),
    )


def comment_publish(
    *,
    room: RoundTable,
    version: MinutesVersion,
    seat,
    agenda_item,
    body: str,
    attribution: dict,
) -> MinutesComment:
    """Record a review comment and tell the room (in the caller's transaction)."""
    comment = MinutesComment.objects.create(
        version=version,
        seat=seat,
        agenda_item=agenda_item,
        body_md=body,
        body_html=render_markdown(body),
        attribution=attribution,
    )
    data = {
        "version": version.number,
        "id": comment.public_id,
        "attribution": comment.attribution,
        "body_html": comment.body_html,
        "agenda_item": agenda_item.public_id if agenda_item else None,
        "created_at": comment.created_at.isoformat(),
    }
    append_event(
        room, "minutes.commented", participants=data, moderators={**data, **seat_marks(seat)}
    )
    return comment


def open_comments(room: RoundTable, version: MinutesVersion) -> int:
    """Review comments the rapporteur has not answered (marked neither addressed nor not
    addressed) on the versions since the last adopted one, up to `version`."""
    adopted = (
        room.minutes_versions.filter(adopted_at__isnull=False, number__lt=version.number)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    ) or 0
    return MinutesComment.objects.filter(
        version__room=room,
        version__number__gt=adopted,
        version__number__lte=version.number,
        addressed__isnull=True,
    ).count()


@transaction.atomic
def minutes_comment_mark(
    *, actor_seat_id: int, comment: object, addressed: object
) -> MinutesComment:
    """The rapporteur's (or the chair's) answer to a review comment: addressed (True), not
    addressed (False), or back to unanswered (None). Audited; the room hears of it."""
    acting = load_acting(actor_seat_id, Action.EDIT_MINUTES)
    if addressed is not None and not isinstance(addressed, bool):
        raise ServiceError(
            "invalid_frame",
            _("Say whether the comment was addressed: true, false or null."),
            field="addressed",
        )
    row = (
        MinutesComment.objects.select_related("version")
        .filter(version__room=acting.room, public_id=comment)
        .first()
        if isinstance(comment, str)
        else None
    )
    if row is None:
        raise ServiceError(
            "not_found",
            _("There is no review comment %(id)s in these minutes.") % {"id": repr(comment)},
            field="comment",
        )
    if row.version.adopted_at is not None:
        raise ServiceError(
            "minutes_adopted",
            _("Version %(number)s is already adopted.") % {"number": row.version.number},
            field="comment",
        )
    if row.addressed is addressed:
        return row
    row.addressed = addressed
    row.save(update_fields=["addressed"])
    data = {"version": row.version.number, "id": row.public_id, "addressed": addressed}
    append_event(acting.room, "minutes.comment_marked", participants=data, moderators=data)
    audit_append(
        room=acting.room,
        action="mark_comment",
        actor=acting.seat,
        target=row.public_id,
        data={"version": row.version.number, "addressed": addressed},
    )
    return row


@transaction.atomic
def minutes_adopt(
    *,
    actor_seat_id: int,
    version: int,
    content_sha256: str | None = None,
    confirm_open_comments: bool = False,
) -> MinutesVersion:
    """Adopt the latest version: it freezes (it already is) and is shared with every seat.

    `content_sha256`, when given, must be the hash of the version the chair read, so an
    adoption never covers content the chair has not seen. A Chatham House room's minutes
    are leak-checked first: minutes that could not be exported are not adopted. Review
    comments the rapporteur has not answered need `confirm_open_comments` (refused with
    `open_comments` and their count otherwise); their number goes into the status line.
    """
    acting = load_acting(actor_seat_id, Action.ADOPT_MINUTES)
    row = _version(acting, version)
    _latest_only(acting, row, "adopted")
    if row.adopted_at:
        raise ServiceError(
            "minutes_adopted",
            _("Version %(number)s is already adopted.") % {"number": row.number},
            field="version",
        )
    if content_sha256 is not None and content_sha256 != row.content_sha256:
        raise ServiceError(
            "stale_version",
            _(
                "Version %(number)s is not the content you read (its SHA-256 differs); "
                "read it again."
            )
            % {"number": row.number},
            field="content_sha256",
        )
    left_open = open_comments(acting.room, row)
    if left_open and confirm_open_comments is not True:
        raise ServiceError(
            "open_comments",
            ngettext(
                "%(count)s review comment has not been answered by the rapporteur. "
                "Confirm to adopt "
                "version %(number)s all the same; the minutes will say so.",
                "%(count)s review comments have not been answered by the rapporteur. "
                "Confirm to adopt "
                "version %(number)s all the same; the minutes will say so.",
                left_open,
            )
            % {"count": left_open, "number": row.number},
            field="confirm_open_comments",
            count=left_open,
        )
    leak_check_document(acting.room, version_document(row))
    now = timezone.now()
    was_in_review = row.in_review
    row.adopted_at = now
    row.adopted_by = acting.seat
    row.open_comments = left_open
    if was_in_review:
        row.review_closed_at = now
    row.save(update_fields=["adopted_at", "adopted_by", "review_closed_at", "open_comments"])
    if was_in_review:
        _review_closed(acting, row, "adopted")
    data = {
        "version": row.number,
        "content_sha256": row.content_sha256,
        "adopted_at": now.isoformat(),
    }
    append_event(acting.room, "minutes.adopted", participants=data, moderators=data)
    notify_minutes_adopted(room=acting.room, version=row)
    entry = audit_append(
        room=acting.room,
        action=str(Action.ADOPT_MINUTES),
        actor=acting.seat,
        target=f"v{row.number}",
        data={"content_sha256": row.content_sha256, "open_comments": left_open},
    )
    # The chain's head, this adoption included, goes into every export of the version: the
    # committee then holds what `verify_audit --head` checks the log against.
    row.audit_seq, row.audit_head = entry.seq, entry.hash
    row.save(update_fields=["audit_seq", "audit_head"])
    return row
