"""What every action in a room starts with: the actor's seat, fresh, and the room, locked.

Services call `load_acting` first in their transaction; the room row lock it takes is what
serialises actions in a room (and the event log's counter, which lives on the same row).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from forum.errors import ServiceError
from forum.models import AgendaItem, RoundTable, Seat
from moderation.guard import mentions_in
from moderation.permissions import Action, require


@dataclass(frozen=True)
class Acting:
    seat: Seat
    room: RoundTable


def load_acting(seat_id: int, action: Action | None) -> Acting:
    """The actor's seat, read fresh, and its room, locked for the rest of the transaction;
    `require(seat, action)` unless `action` is None (the caller checks itself)."""
    seat = Seat.objects.select_related("user", "sector").get(pk=seat_id)
    room = RoundTable.objects.select_for_update().get(pk=seat.room_id)
    seat.room = room
    if action is not None:
        require(seat, action)
    return Acting(seat, room)


def require_live(room: RoundTable) -> None:
    if room.status == RoundTable.Status.CLOSED:
        raise ServiceError("room_closed", _("This round table is closed."))
    if room.status != RoundTable.Status.LIVE:
        raise ServiceError("room_not_open", _("This round table has not been opened yet."))


def refuse_names(room: RoundTable, text: str, *, what: str, field: str) -> None:
    """Text written by the chair, the rapporteur or a reviewer is not held for moderators: in
    a room that does not name its speakers, naming a participant or an organization of the
    room is refused outright."""
    if room.attribution != RoundTable.Attribution.NAMED and mentions_in(room, text):
        raise ServiceError(
            "names_participant",
            _(
                "The %(what)s names a participant or an organization of this round table, which this "
                "room's rule does not allow. Reword it without the name."
            ) % {"what": what},
            field=field,
        )


def seat_marks(seat: Seat) -> dict:
    """What moderators' payloads add about a seat: its opaque handle and its sector (the
    parity figures read the sector whatever participants are shown)."""
    return {"author": seat.public_id, "sector": seat.sector.slug if seat.sector_id else None}


def current_agenda_item(room: RoundTable) -> AgendaItem | None:
    """The item the chair has moved to, else the first of the agenda."""
    return room.current_item or room.agenda_items.order_by("position").first()
