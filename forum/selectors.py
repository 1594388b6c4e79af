"""Reads, and the one access helper per entity."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from forum.errors import Forbidden, NotFound
from forum.minutes import sector_name
from forum.models import RoundTable, Seat, User
from moderation.attribution import attribute, in_reader_language
from realtime.events import audience_for_role


@dataclass(frozen=True)
class RoomAccess:
    """What a signed-in seat holder may know about themselves in a room."""

    room_id: int
    slug: str
    title: str
    rule: str
    seat_id: int
    role: str
    audience: str
    sector: str | None
    attribution: str
    consented: bool


def access_room(user: User | None, slug: str) -> tuple[RoundTable, Seat]:
    """Fetch the room and the user's seat in it, or refuse.

    Every view and consumer that acts in a room goes through here, so no path can forget
    the seat check. Raises NotFound for an unknown room, Forbidden without a live seat.
    """
    room = RoundTable.objects.select_related("dialogue", "current_item").filter(slug=slug).first()
    if room is None:
        raise NotFound(_("There is no round table at this address."))
    if user is None or not user.is_authenticated:
        raise Forbidden(_("Sign in with your personal join link to enter this round table."))
    seat = (
        Seat.objects.select_related("sector", "organization", "user")
        .filter(room=room, user=user, token_revoked_at__isnull=True, removed_at__isnull=True)
        .first()
    )
    if seat is None:
        raise Forbidden(_("You do not hold a seat in this round table."))
    seat.room = room
    return room, seat


def room_access(user: User | None, slug: str) -> RoomAccess:
    return describe_access(*access_room(user, slug))


def describe_access(room: RoundTable, seat: Seat) -> RoomAccess:
    return RoomAccess(
        room_id=room.pk,
        slug=room.slug,
        title=room.title,
        rule=room.rule,
        seat_id=seat.pk,
        role=seat.role,
        audience=audience_for_role(seat.role),
        sector=seat.sector.slug if seat.sector_id else None,
        attribution=in_reader_language(
            attribute(seat).as_payload(), {seat.sector.slug: sector_name(seat.sector.name)} if seat.sector_id else {},
        ),
        consented=seat.consented_at is not None,
    )
