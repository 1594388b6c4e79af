"""Invitations by e-mail, from the secretariat's room page, and the messages that follow them
when the date or place changes or the round table is cancelled.

An invitation issues the seat a new join link (forum.services.seats.seat_link_issue: the old
link stops working, and the message says so when one was sent before) and queues the message
in the same transaction, with the rule's notice, the agenda, the date, time zone and place and
a calendar file (forum/services/calendar.py). The link exists in clear only in that message:
the database keeps its hash, so later messages (a new date, a cancellation) point to it
without repeating it.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from forum.errors import ServiceError
from forum.minutes.document import RULE_EXPLANATIONS
from forum.minutes.when import place_text, session_when
from forum.models import OutboxMessage, RoundTable, Seat, User
from forum.services.calendar import calendar_file
from forum.services.mail import Attachment
from forum.services.mail_compose import mailable, queue_to_seat
from forum.services.seats import join_url, seat_link_issue
from moderation.permissions import StaffAction, require_secretariat

Kind = OutboxMessage.Kind
# A change of these fields moves the event in the invitees' calendars.
CALENDAR_FIELDS = frozenset({"starts_at", "ends_at", "place", "online", "time_zone"})


def details(room: RoundTable) -> list[dict]:
    when = session_when(room)
    return [
        {"label": _("Round table"), "value": room.title},
        {"label": _("Dialogue"), "value": room.dialogue.title},
        {"label": _("When"), "value": when or _("the date is not set yet")},
        {"label": _("Time zone"), "value": room.time_zone},
        {"label": _("Where"), "value": place_text(room)},
    ]


def calendar(room: RoundTable, seat: Seat, *, url: str = "", cancel: bool = False):
    def attach() -> list[Attachment]:
        ics = calendar_file(
            room,
            seat,
            summary=room.title,
            description=str(RULE_EXPLANATIONS[room.rule]),
            url=url,
            cancel=cancel,
        )
        if ics is None:
            return []
        method = "CANCEL" if cancel else "REQUEST"
        return [Attachment("invitation.ics", f"text/calendar; method={method}", ics)]

    return attach


def invited_seat_ids(room: RoundTable) -> set[int]:
    """Seats sent an invitation (queued or sent, not held): those whose calendars hold the
    event."""
    return set(
        OutboxMessage.objects.filter(room=room, kind=Kind.INVITATION, seat__isnull=False)
        .exclude(status=OutboxMessage.Status.HELD)
        .values_list("seat_id", flat=True)
    )


@transaction.atomic
def seats_invite(*, room: RoundTable, seats: list[Seat], actor: User) -> list[OutboxMessage]:
    """Invite each seat: a new join link and its message, queued. A seat with a link already
    is re-invited (its old link stops working and the message says so). Refusals: forbidden
    (not the secretariat), no_seats (none chosen), not_invitable (a seat without an e-mail
    address, withdrawn or erased: nothing is queued for any), not_found (a seat of another
    room), room_cancelled, names_participant (in a Chatham House room, the invitation would
    name another participant: the leak guard; nothing changes)."""
    require_secretariat(actor, StaffAction.SEATS)
    if not seats:
        raise ServiceError("no_seats", _("Choose at least one seat to invite."))
    if room.cancelled_at:
        raise ServiceError("room_cancelled", _("This round table is cancelled: no invitations."))
    blocked = [s for s in seats if not mailable(s)]
    if blocked:
        raise ServiceError(
            "not_invitable",
            _(
                "Nothing was sent: %(names)s cannot be invited (no e-mail address, or the seat "
                "was withdrawn)."
            )
            % {"names": ", ".join(str(s.user) for s in blocked)},
        )
    if any(s.room_id != room.pk for s in seats):
        raise ServiceError("not_found", _("One of the chosen seats is not in this round table."))
    invited = invited_seat_ids(room)
    messages = []
    for seat in seats:
        again = bool(seat.token_hash) or seat.pk in invited
        url = join_url(seat_link_issue(seat=seat, actor=actor, resend=again))
        message = _queue_invitation(room, seat, url, again)
        if message.status == OutboxMessage.Status.HELD:
            # Held, the invitation would have cut the holder off: their old link is replaced.
            # Refused instead, the whole call rolls back and every link stays as it was.
            raise ServiceError(
                "names_participant",
                _(
                    "Nothing was sent and no link changed: the invitation names another "
                    "participant (in the round table's title or agenda), which the Chatham "
                    "House Rule forbids. Correct it and invite again."
                ),
            )
        messages.append(message)
    return messages


def _queue_invitation(room: RoundTable, seat: Seat, url: str, again: bool) -> OutboxMessage:
    def write() -> dict:
        paragraphs = [
            _("You are invited to the round table “%(title)s”.") % {"title": room.title},
            _(
                "Your personal link below signs you in to your seat: please do not share it. "
                "Open it before the session to check that it works."
            ),
        ]
        if again:
            paragraphs.append(
                _("This is a new link: any link you received before no longer works.")
            )
        return {
            "subject": _("Invitation: %(title)s") % {"title": room.title},
            "paragraphs": paragraphs,
            "link": {"label": _("Your personal link"), "url": url},
            "details": details(room),
            "agenda": [item.title for item in room.agenda_items.order_by("position")],
            "rule": _rule_notice(room),
        }

    return queue_to_seat(
        room=room,
        seat=seat,
        kind=Kind.INVITATION,
        write=write,
        attach=calendar(room, seat, url=url),
        machine=(url,),
    )


def _rule_notice(room: RoundTable) -> str:
    if room.is_chatham_house:
        return (
            _("This round table is held under the Chatham House Rule.")
            + " "
            + str(RULE_EXPLANATIONS[room.rule])
        )
    return str(RULE_EXPLANATIONS[room.rule])


def schedule_changed(*, room: RoundTable, changed: list[str]) -> int:
    """After the date or place changed (in the caller's transaction): raise the calendar
    SEQUENCE and queue the new date to every invited seat. Returns the messages queued."""
    if not CALENDAR_FIELDS.intersection(changed) or room.cancelled_at:
        return 0
    raise_sequence(room)
    count = 0
    for seat in invitees(room):

        def write() -> dict:
            return {
                "subject": _("New date or place: %(title)s") % {"title": room.title},
                "paragraphs": [
                    _("The date or place of the round table “%(title)s” has changed.")
                    % {"title": room.title},
                    _("Your personal link stays the same: use the one you received before."),
                ],
                "details": details(room),
            }

        queue_to_seat(
            room=room, seat=seat, kind=Kind.UPDATE, write=write, attach=calendar(room, seat)
        )
        count += 1
    return count


def raise_sequence(room: RoundTable) -> None:
    room.calendar_sequence += 1
    RoundTable.objects.filter(pk=room.pk).update(calendar_sequence=room.calendar_sequence)


def invitees(room: RoundTable):
    ids = invited_seat_ids(room)
    seats = Seat.objects.filter(pk__in=ids).select_related("user", "organization", "room")
    return [s for s in seats.order_by("pk") if mailable(s)]
