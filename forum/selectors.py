"""Reads, and the one access helper per entity."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.contrib.auth import HASH_SESSION_KEY
from django.contrib.auth import SESSION_KEY as AUTH_USER_KEY
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from forum.errors import Forbidden, NotFound
from forum.minutes.phrases import sector_name
from forum.models import RoundTable, Seat, User
from moderation.attribution import attribute, in_reader_language
from realtime.events import audience_for_role

# The Django session key of a seat holder's sign-in: {"seat": seat id, "link": the seat's
# link_generation when the join link was used}. Set by forum.services.sessions only.
SEAT_SESSION_KEY = "roundtables_seat"


@dataclass(frozen=True)
class SignedInSeat:
    """The seat a session was signed in for with a join link, and that link's generation."""

    seat_id: int
    link: int


class SessionEnded(Forbidden):
    """The session was opened with a link that has since been replaced or revoked, or for
    a seat that has been removed: it opens nothing any more."""


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
    link: int  # the seat's link generation this access was granted under
    last_seq: int  # the room's log position when the access was checked
    joined: bool = True  # a socket of this seat was let in before (Seat.joined_at)
    staff: bool = False  # the secretariat reading the room: no seat, no frame but reading ones


def signed_in_seat(session) -> SignedInSeat | None:
    """The seat `session` (a Django session, or None) was signed in for, if any.

    Only a session that also carries the seat holder's sign-in counts; a staff account's
    session never names a seat."""
    if session is None:
        return None
    bound = session.get(SEAT_SESSION_KEY)
    if not isinstance(bound, dict):
        return None
    seat_id, link, user_id = bound.get("seat"), bound.get("link"), session.get(AUTH_USER_KEY)
    if not isinstance(seat_id, int) or not isinstance(link, int) or user_id is None:
        return None
    return SignedInSeat(seat_id=seat_id, link=link)


def session_tag(session_key: str | None) -> str:
    """Names one browser session among a seat's sockets (a sign-out closes that session's
    sockets only) without carrying the session key itself between processes."""
    return hashlib.sha256((session_key or "").encode()).hexdigest()[:24] if session_key else ""


def session_seat(session) -> Seat | None:
    """The live seat `session` was signed in for: None when it names none, or when its link
    was replaced or revoked, or the seat removed, since."""
    bound = signed_in_seat(session)
    if bound is None:
        return None
    seat = (
        Seat.objects.select_related("room", "sector", "organization", "user")
        .filter(pk=bound.seat_id)
        .first()
    )
    if seat is None or _ended(session, bound, seat):
        return None
    return seat


def _ended(session, bound: SignedInSeat, seat: Seat) -> bool:
    """True when `seat` no longer answers to the session that signed in for it."""
    return (
        str(seat.user_id) != str(session.get(AUTH_USER_KEY))
        or seat.link_generation != bound.link
        or seat.removed_at is not None
        or seat.token_revoked_at is not None
        # A seat never carries staff rights, and a staff account never sits (the services
        # refuse it); should the two ever meet, the seat stays shut.
        or seat.user.is_staff
        or seat.user.is_superuser
    )


def staff_reader(room: RoundTable, user) -> Seat:
    """The stand-in seat of a staff account that opens a room without a seat: an observer
    that is never saved (no pk), has accepted the rule (the secretariat runs under it), holds
    no sector and so counts in neither presence nor attendance, and may do nothing but read
    (`staff_view`: every page and socket refuses its writes)."""
    seat = Seat(
        room=room, user=user, role=Seat.Role.OBSERVER, consented_at=room.created_at, joined_at=None
    )
    seat.staff_view = True
    return seat


def is_staff_view(seat: Seat) -> bool:
    return getattr(seat, "staff_view", False)


def _staff(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and bool(user.is_staff)


def session_staff(session):
    """The active staff account a session (a socket's: no AuthMiddleware) is signed in as,
    checked as Django's own authentication checks it (the password hash), or None."""
    user_id = session.get(AUTH_USER_KEY) if session is not None else None
    if user_id is None:
        return None
    user = User.objects.filter(pk=user_id, is_staff=True, is_active=True).first()
    if user is None or not constant_time_compare(
        session.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash()
    ):
        return None
    return user


def access_room(session, slug: str, user=None) -> tuple[RoundTable, Seat]:
    """Fetch the room and the seat the session was signed in for, or refuse.

    Every view and consumer that acts in a room goes through here, so no path can forget
    the seat check. A session opens the one seat its join link was for, and only while that
    link lasts. Raises NotFound for an unknown room, Forbidden (SessionEnded when the link
    was replaced or revoked, or the seat removed, since) otherwise.
    """
    room = RoundTable.objects.select_related("dialogue", "current_item").filter(slug=slug).first()
    if room is None:
        raise NotFound(_("There is no round table at this address."))
    bound = signed_in_seat(session)
    if bound is None and user is None:
        user = session_staff(session)
    if bound is None and _staff(user):
        # The secretariat opens any room, read-only (the caller audits the opening).
        return room, staff_reader(room, user)
    if bound is None:
        raise Forbidden(_("Sign in with your personal join link to enter this round table."))
    seat = (
        Seat.objects.select_related("sector", "organization", "user")
        .filter(pk=bound.seat_id)
        .first()
    )
    if seat is None:
        raise SessionEnded(_("You do not hold a seat in this round table."))
    if seat.room_id != room.pk:
        # The session is alive for its own room; it just does not open this one.
        raise Forbidden(
            _(
                "You signed in with the join link of another round table. "
                "Open this round table with its own link."
            )
        )
    if seat.removed_at is not None or seat.token_revoked_at is not None:
        raise SessionEnded(_("Your seat in this round table has been withdrawn."))
    if _ended(session, bound, seat):
        raise SessionEnded(
            _(
                "The join link you signed in with has been replaced or revoked. "
                "Open the newest link the secretariat sent you."
            )
        )
    seat.room = room
    return room, seat


def access_room_summary(session, slug: str, user=None) -> RoomAccess:
    """`access_room`, then what the socket keeps of it (`access_summary`)."""
    return access_summary(*access_room(session, slug, user))


def seat_label(seat: Seat) -> str:
    """The seat's attribution label in the active language ("Civil society · Delegate 3")."""
    sectors = {seat.sector.slug: sector_name(seat.sector.name)} if seat.sector_id else {}
    return in_reader_language(attribute(seat).as_payload(), sectors)


def access_summary(room: RoundTable, seat: Seat) -> RoomAccess:
    """What a page or a socket keeps of a room and the seat `access_room` let in."""
    if is_staff_view(seat):
        return RoomAccess(
            room_id=room.pk,
            slug=room.slug,
            title=room.title,
            rule=room.rule,
            # A handle no seat has: the hub counts and closes sockets by seat.
            seat_id=-seat.user.pk,
            role=seat.role,
            audience=audience_for_role(seat.role),
            sector=None,
            attribution=_("The secretariat (reading only)"),
            consented=True,
            link=0,
            last_seq=room.last_seq,
            joined=True,
            staff=True,
        )
    return RoomAccess(
        room_id=room.pk,
        slug=room.slug,
        title=room.title,
        rule=room.rule,
        seat_id=seat.pk,
        role=seat.role,
        audience=audience_for_role(seat.role),
        sector=seat.sector.slug if seat.sector_id else None,
        attribution=seat_label(seat),
        consented=seat.consented_at is not None,
        link=seat.link_generation,
        last_seq=room.last_seq,
        joined=seat.joined_at is not None,
    )


def delegate_seats(room: RoundTable) -> list[dict]:
    """The room's seated delegates as those who run it address them: each seat's opaque
    handle and its label in the active language (a pseudonym under the rule, never a name
    there), in label order. For the console's hands and notes for the meeting room."""
    seats = Seat.objects.filter(
        room=room, role=Seat.Role.DELEGATE, removed_at__isnull=True, token_revoked_at__isnull=True
    ).select_related("sector", "organization", "user")
    out = []
    for seat in seats:
        seat.room = room
        label = seat_label(seat)
        sector = sector_name(seat.sector.name) if seat.sector_id else ""
        # Moderators see every sector; below k many labels read "A participant", so the
        # sector and the start of the handle tell the seats apart.
        parts = (
            [label]
            + ([sector] if sector and not label.startswith(sector) else [])
            + [seat.public_id[:4]]
        )
        out.append({"seat": seat.public_id, "label": " · ".join(parts)})
    return sorted(out, key=lambda d: d["label"])
