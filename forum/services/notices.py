"""Notices by e-mail to a round table's seat holders, queued in the transaction of the step
they announce: a review of the minutes opened (delegates, with its end date), minutes adopted
(every seat holder, with the link), a submission's status step and a follow-up update (those
who asked for what becomes of the outcomes).

A notice never carries a note or any text a person wrote: only the step, the date and a link,
so it names no participant; queue_mail's leak guard checks it all the same. Each holder
chooses what they receive (Seat.notices, from the room page: seat_set_notices).
"""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from forum.errors import ServiceError
from forum.minutes.when import room_zone
from forum.models import MinutesVersion, OutboxMessage, RoundTable, Seat, Submission
from forum.services.mail_compose import mailable, queue_to_seat
from forum.services.seats import base_url

Kind = OutboxMessage.Kind
Notices = Seat.Notices
PEOPLE = (
    Seat.Role.CHAIR,
    Seat.Role.MODERATOR,
    Seat.Role.RAPPORTEUR,
    Seat.Role.DELEGATE,
    Seat.Role.OBSERVER,
)


def _recipients(room: RoundTable, *, roles, wanted) -> list[Seat]:
    seats = (
        Seat.objects.filter(room=room, role__in=roles, notices__in=wanted)
        .select_related("user", "organization", "room")
        .order_by("pk")
    )
    return [s for s in seats if mailable(s)]


def _link(room: RoundTable, name: str) -> str:
    return base_url() + reverse(name, args=[room.slug])


def _footer(room: RoundTable) -> str:
    return _(
        "You receive this as a seat holder of “%(title)s”. To receive fewer notices, or none, "
        "open the round table's page with your personal link."
    ) % {"title": room.title}


def notify_review_opened(*, room: RoundTable, version: MinutesVersion) -> int:
    """To the delegates: the draft minutes are open for review, until when."""
    seats = _recipients(
        room, roles=(Seat.Role.DELEGATE,), wanted=(Notices.ROUND_TABLE, Notices.OUTCOMES)
    )
    for seat in seats:

        def write() -> dict:
            until = (
                version.review_until.astimezone(room_zone(room)).strftime("%Y-%m-%d %H:%M")
                + f" ({room.time_zone})"
                if version.review_until
                else _("no end date set")
            )
            return {
                "subject": _("Draft minutes for review: %(title)s") % {"title": room.title},
                "paragraphs": [
                    _(
                        "Version %(number)s of the minutes of “%(title)s” is open for your "
                        "review and comments."
                    )
                    % {"number": version.number, "title": room.title}
                ],
                "details": [{"label": _("Review open until"), "value": until}],
                "link": {"label": _("Read the minutes"), "url": _link(room, "room_minutes_page")},
                "footer": _footer(room),
            }

        queue_to_seat(room=room, seat=seat, kind=Kind.REVIEW_OPENED, write=write)
    return len(seats)


def notify_minutes_adopted(*, room: RoundTable, version: MinutesVersion) -> int:
    """To every seat holder: the minutes are adopted, with the link to read them."""
    seats = _recipients(room, roles=PEOPLE, wanted=(Notices.ROUND_TABLE, Notices.OUTCOMES))
    for seat in seats:

        def write() -> dict:
            return {
                "subject": _("Minutes adopted: %(title)s") % {"title": room.title},
                "paragraphs": [
                    _("Version %(number)s of the minutes of “%(title)s” is adopted.")
                    % {"number": version.number, "title": room.title}
                ],
                "link": {"label": _("Read the minutes"), "url": _link(room, "room_minutes_page")},
                "footer": _footer(room),
            }

        queue_to_seat(room=room, seat=seat, kind=Kind.MINUTES_ADOPTED, write=write)
    return len(seats)


def notify_outcome(*, submission: Submission, kind: str) -> int:
    """To the holders who asked for outcomes: a submission moved a step (`kind`
    SUBMISSION_STEP) or one of its recommendations' follow-up was updated (FOLLOW_UP)."""
    room = submission.room
    seats = _recipients(room, roles=PEOPLE, wanted=(Notices.OUTCOMES,))
    for seat in seats:

        def write() -> dict:
            names = {"title": room.title, "committee": submission.committee.name}
            if kind == Kind.SUBMISSION_STEP:
                subject = _("Submission to %(committee)s: %(status)s") % {
                    **names,
                    "status": Submission.Status(submission.status).label,
                }
                text = _(
                    "The outcomes of “%(title)s” submitted to %(committee)s are now: %(status)s."
                ) % {**names, "status": Submission.Status(submission.status).label.lower()}
            else:
                subject = _("Follow-up updated: %(title)s") % names
                text = (
                    _(
                        "The follow-up of a recommendation of “%(title)s” submitted to "
                        "%(committee)s has been updated."
                    )
                    % names
                )
            return {
                "subject": subject,
                "paragraphs": [text],
                "link": {"label": _("See the outcomes"), "url": _link(room, "room_outcomes")},
                "footer": _footer(room),
            }

        queue_to_seat(room=room, seat=seat, kind=kind, write=write)
    return len(seats)


@transaction.atomic
def seat_set_notices(*, seat_id: int, notices: str) -> Seat:
    """The holder's choice of notices. Refusal: invalid_notices (not one of the choices)."""
    if notices not in Notices.values:
        raise ServiceError(
            "invalid_notices",
            _("Choose which notices to receive: one of %(values)s.")
            % {"values": ", ".join(Notices.values)},
            field="notices",
        )
    seat = Seat.objects.select_for_update().get(pk=seat_id)
    if seat.notices != notices:
        seat.notices = notices
        seat.save(update_fields=["notices"])
    return seat


def seat_set_language(*, seat_id: int, language: str) -> None:
    """Remember the holder's interface language for their e-mail (unknown codes are ignored:
    the site falls back to its default for them too)."""
    from django.conf import settings

    if language in dict(settings.LANGUAGES):
        Seat.objects.filter(pk=seat_id).exclude(language=language).update(language=language)
