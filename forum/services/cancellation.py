"""Cancelling a round table that has not opened: it closes, and every invitee is sent the
cancellation, with METHOD:CANCEL in its calendar file so calendars drop the event."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from forum.errors import ServiceError
from forum.models import OutboxMessage, RoundTable, User
from forum.services.invitations import calendar, details, invitees, raise_sequence
from forum.services.mail_compose import queue_to_seat
from forum.services.rooms import room_set_status
from moderation.audit import audit_append
from moderation.permissions import StaffAction, require_secretariat

Kind = OutboxMessage.Kind


@transaction.atomic
def room_cancel(*, room: RoundTable, actor: User) -> int:
    """Cancel a scheduled round table: it is closed, marked cancelled, and every invited seat
    is sent the cancellation with its calendar's METHOD:CANCEL. Returns the messages queued.
    Refusals: forbidden, room_not_scheduled (live or closed already)."""
    require_secretariat(actor, StaffAction.ROOMS)
    locked = RoundTable.objects.select_for_update().get(pk=room.pk)
    if locked.status != RoundTable.Status.SCHEDULED or locked.cancelled_at:
        raise ServiceError(
            "room_not_scheduled",
            _("Only a round table that has not opened yet can be cancelled."),
        )
    locked.cancelled_at = timezone.now()
    locked.save(update_fields=["cancelled_at"])
    raise_sequence(locked)
    room_set_status(room=locked, status=RoundTable.Status.CLOSED)
    audit_append(room=locked, action="cancel", actor=None, data={})
    count = 0
    for seat in invitees(locked):

        def write() -> dict:
            return {
                "subject": _("Cancelled: %(title)s") % {"title": locked.title},
                "paragraphs": [
                    _("The round table “%(title)s” is cancelled.") % {"title": locked.title},
                    _("Your personal link no longer opens a session."),
                ],
                "details": details(locked),
            }

        queue_to_seat(
            room=locked,
            seat=seat,
            kind=Kind.CANCELLATION,
            write=write,
            attach=calendar(locked, seat, cancel=True),
        )
        count += 1
    room.status, room.cancelled_at = locked.status, locked.cancelled_at
    room.calendar_sequence = locked.calendar_sequence
    return count
