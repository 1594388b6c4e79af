"""Holding text that names a participant: what a delegate writes is held rather than refused
(a refusal would confirm that a name holds a seat).

The services that take text (minutes, submissions, interventions) import this module; the
moderation of what it holds (forum/services/holds.py) imports them."""

from __future__ import annotations

from datetime import datetime, timedelta

from forum.models import HeldText, Intervention, RoundTable, Seat
from moderation.attribution import attribute
from moderation.guard import names_in
from realtime.log import append_event

# A seat with this many texts held for names within this window raises an alert in the
# moderators' console: someone may be testing guesses against the roster.
NAME_HOLDS_ALERT = 3
NAME_HOLDS_WINDOW = timedelta(minutes=10)


def name_hold_alert(seat: Seat, now: datetime, *, named: bool, pending: int = 0) -> dict | None:
    """After `seat` had a text held: the alert for the moderators when it was held for naming
    someone and is the NAME_HOLDS_ALERT-th (or later) within NAME_HOLDS_WINDOW, else None.
    `pending`: holds of this transaction not saved yet.

    The alert rides on the moderators' payload of the hold's own event (`alert`), never as an
    event of its own: a delegate's socket gets one `redacted` stub per hold, and a second
    stub after the third name would tell them that what they typed names a seat holder. The
    count runs for every hold (`named` or not) so that both take the same work."""
    since = now - NAME_HOLDS_WINDOW
    holds = pending + (
        Intervention.objects.filter(seat=seat, held_for="names", created_at__gte=since).count()
        + HeldText.objects.filter(seat=seat, created_at__gte=since).count()
    )
    if not named or holds < NAME_HOLDS_ALERT:
        return None
    return {
        "seat": seat.public_id,
        "attribution": attribute(seat).as_payload(),
        "alert": "name_holds",
        "count": holds,
        "minutes": int(NAME_HOLDS_WINDOW.total_seconds() // 60),
    }


def hold_if_named(
    room: RoundTable, text: str, *, kind: str, seat: Seat | None = None, **where
) -> bool:
    """Hold `text` (a comment or a note about to be shown) if it names someone; True if held.

    `where` says where it goes once published (version, agenda_item, step, update) and, for
    the secretariat's notes, `recorded_by`. The caller stores an empty text meanwhile.
    """
    if not names_in(room, text):
        return False
    held = HeldText.objects.create(
        room=room,
        kind=kind,
        text_md=text,
        seat=seat,
        attribution=attribute(seat).as_payload() if seat is not None else {},
        **where,
    )
    data = {"id": held.public_id, "kind": kind}
    if seat is not None:
        data["author"] = seat.public_id
        alert = name_hold_alert(seat, held.created_at, named=True)
        if alert is not None:
            data["alert"] = alert
    append_event(room, "text.held", participants=None, moderators=data)
    return True
