"""Writing a message to a seat holder: in their language, from one pair of templates
(templates/mail/message.txt and .html), queued through forum.services.mail.queue_mail."""

from __future__ import annotations

from collections.abc import Callable

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from forum.models import OutboxMessage, RoundTable, Seat
from forum.services.calendar import event_uid
from forum.services.mail import Attachment, queue_mail


def seat_language(seat: Seat) -> str:
    """The language the holder last used on the site, else the round table's."""
    return seat.language or seat.room.language or "en"


def mailable(seat: Seat) -> bool:
    """A person who can be written to: an address, a seat not withdrawn or erased, no screen."""
    return bool(
        seat.user.email
        and seat.removed_at is None
        and seat.identity_erased_at is None
        and seat.role != Seat.Role.SCREEN
    )


def queue_to_seat(
    *,
    room: RoundTable,
    seat: Seat,
    kind: str,
    write: Callable[[], dict],
    attach: Callable[[], list[Attachment]] | None = None,
    machine: tuple[str, ...] = (),
) -> OutboxMessage:
    """Queue one message to `seat`: `write` (called in the holder's language) returns the
    template's context: subject, paragraphs, and optionally link, details, agenda, rule,
    after, footer; `attach` (same language) returns the attachments; `machine` lists the
    values the product made (the join link) that the leak guard skips, the calendar UID too."""
    language = seat_language(seat)
    with translation.override(language):
        context = {
            "language": language,
            "greeting": _("Dear %(name)s,") % {"name": seat.user},
            "paragraphs": [],
            "details": [],
            "agenda": [],
            "agenda_label": _("Agenda"),
            "after": [],
            "footer": _(
                "The secretariat of “%(title)s”. This message was sent automatically; "
                "please do not forward it: its link is personal."
            )
            % {"title": room.title},
            **write(),
        }
        text = render_to_string("mail/message.txt", context)
        html = render_to_string("mail/message.html", context)
        attachments = tuple(attach()) if attach else ()
    return queue_mail(
        kind=kind,
        recipient=seat.user.email,
        language=language,
        subject=context["subject"],
        text=text,
        html=html,
        room=room,
        seat=seat,
        attachments=attachments,
        machine=(*machine, event_uid(room, seat)),
    )
