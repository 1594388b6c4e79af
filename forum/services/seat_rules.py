"""Who may hold which seat: the sectors' quotas, accreditation, staff accounts kept out of
seats, and the pseudonym numbers; read by the seat services (forum/services/seats.py) under
the room lock they take."""

from __future__ import annotations

import hashlib
import hmac

from django.db.models import Q
from django.utils.translation import gettext as _

from forum.errors import ServiceError
from forum.models import Organization, RoundTable, Seat, Sector, SectorSeats, User

# Roles that hold a sector's seat and count against its quota; the others sit outside.
QUOTA_ROLES = {Seat.Role.DELEGATE}


# The roles a person holds; the venue screen's seat is issued on its own (screens.py).
PERSON_ROLES = [role for role in Seat.Role.values if role != Seat.Role.SCREEN]


def staff_addresses() -> set[str]:
    """Every e-mail address (and address-like username) of a staff or superuser account,
    in lower case: none of them may hold a seat."""
    pairs = User.objects.filter(Q(is_staff=True) | Q(is_superuser=True)).values_list(
        "username", "email"
    )
    return {value.strip().lower() for pair in pairs for value in pair if value and "@" in value}


def staff_account_refusal(email: str) -> ServiceError:
    return ServiceError(
        "staff_account",
        _(
            "%(email)s belongs to a staff account, and a seat never carries staff "
            "rights. Give this "
            "person's seat another e-mail address: a seat identity of its own, opened only by its "
            "join link."
        )
        % {"email": email},
        field="email",
    )


def quota_seats(room: RoundTable):
    """The seats that count against sector quotas: delegates not removed by a moderator
    (a sector may replace a delegate who was removed)."""
    return Seat.objects.filter(room=room, role__in=QUOTA_ROLES, removed_at__isnull=True)


def delegates_in_sector(room: RoundTable, sector: Sector, exclude_user: User | None = None) -> int:
    qs = quota_seats(room).filter(sector=sector)
    if exclude_user is not None:
        qs = qs.exclude(user=exclude_user)
    return qs.count()


def delegates_per_sector(room: RoundTable) -> dict[str, int]:
    """Seated delegates (the seats that count against quotas) per sector slug."""
    counts: dict[str, int] = {}
    for slug in (
        quota_seats(room).filter(sector__isnull=False).values_list("sector__slug", flat=True)
    ):
        counts[slug] = counts.get(slug, 0) + 1
    return counts


def sector_seat_limit(room: RoundTable, sector: Sector) -> int:
    """How many delegates `sector` may seat in `room`: the secretariat's own number for
    that sector (a SectorSeats row) if there is one, else the room's equal seats_per_sector."""
    if room.pk is None:
        return room.seats_per_sector
    own = (
        SectorSeats.objects.filter(room=room, sector=sector).values_list("seats", flat=True).first()
    )
    return room.seats_per_sector if own is None else own


def sector_seat_limits(room: RoundTable) -> dict[str, int]:
    """sector slug -> seats, for every sector of the room's dialogue (and any sector with
    its own number)."""
    limits = {
        slug: room.seats_per_sector for slug in room.dialogue.sectors.values_list("slug", flat=True)
    }
    limits.update(SectorSeats.objects.filter(room=room).values_list("sector__slug", "seats"))
    return limits


def describe_limit(room: RoundTable, sector_slug: str, limit: int) -> str:
    """ "3 seats per sector" for the equal number, "2 seats for sector 'x'" for a sector's own."""
    own = SectorSeats.objects.filter(room=room, sector__slug=sector_slug).exists()
    if own:
        return _("%(limit)s seats for sector %(sector)s") % {
            "limit": limit,
            "sector": repr(sector_slug),
        }
    return _("%(limit)s seats per sector") % {"limit": limit}


def is_accredited(organization: Organization | None) -> bool:
    return (
        organization is not None
        and organization.accreditation == Organization.Accreditation.ACCREDITED
    )


def check_accreditation(room: RoundTable, role: str, organization: Organization | None) -> None:
    """Refuse a delegate's seat in a room that requires accreditation unless the delegate's
    organization is accredited. Observers, the chair, moderators and the rapporteur sit
    outside the quotas and are not checked."""
    if not room.require_accreditation or role not in QUOTA_ROLES:
        return
    if organization is None:
        raise ServiceError(
            "not_accredited",
            _(
                "This round table seats only delegates of accredited organizations; "
                "give the delegate's "
                "organization."
            ),
            field="organization",
        )
    if not is_accredited(organization):
        raise ServiceError(
            "not_accredited",
            _(
                "Organization %(organization)s is %(status)s, not accredited; this "
                "round table seats only "
                "delegates of accredited organizations."
            )
            % {
                "organization": repr(organization.name),
                "status": organization.get_accreditation_display().lower(),
            },
            field="organization",
        )


def check_seat(
    *,
    room: RoundTable,
    user: User | None,
    role: str,
    sector: Sector | None,
    organization: Organization | None,
) -> None:
    """Every rule a seat must keep, without changing anything: raise ServiceError or return.

    seat_upsert calls it under the room lock; the admin's forms call it to show the same
    refusal as a form error.
    """
    if role not in PERSON_ROLES:
        # A screen seat comes from its own link (forum/services/screens.py), never a person's.
        raise ServiceError(
            "invalid_role",
            _("Role must be one of %(roles)s.") % {"roles": ", ".join(PERSON_ROLES)},
            field="role",
        )
    if user is not None and (user.is_staff or user.is_superuser):
        raise ServiceError(
            "staff_account",
            _(
                "%(user)s is a staff account, and a seat never carries staff rights. "
                "Seat this person "
                "under another e-mail address: a seat identity of its own, opened only "
                "by its join link."
            )
            % {"user": user.get_username()},
            field="user",
        )
    if role == Seat.Role.DELEGATE and sector is None:
        raise ServiceError("sector_required", _("A delegate needs a sector."), field="sector")
    if sector is not None and not room.dialogue.sectors.filter(pk=sector.pk).exists():
        raise ServiceError(
            "invalid_sector",
            _("Sector %(sector)s does not take part in this dialogue.")
            % {"sector": repr(sector.slug)},
            field="sector",
        )
    if organization is not None and sector is not None and organization.sector_id != sector.pk:
        raise ServiceError(
            "organization_sector",
            _("Organization %(organization)s belongs to another sector.")
            % {"organization": repr(organization.name)},
            field="organization",
        )
    check_accreditation(room, role, organization)
    if role in QUOTA_ROLES:
        limit = sector_seat_limit(room, sector)
        if delegates_in_sector(room, sector, exclude_user=user) >= limit:
            raise ServiceError(
                "sector_full",
                _("Sector %(sector)s already has its %(limit)s seats.")
                % {"sector": repr(sector.slug), "limit": limit},
                field="sector",
                limit=limit,
            )


def draw_pseudonym_number(room: RoundTable, sector: Sector, seat: Seat) -> int:
    """The seat's number in "Civil society · Delegate N".

    Derived from the room's secret and the seat's random per-room handle, never from
    database ids: the free numbers are ordered by HMAC(room secret, handle:number) and the
    first is taken. Stable once stored, and nothing links the numbers of one person in two
    rooms (different secrets, different handles).
    """
    taken = set(
        Seat.objects.filter(room=room, sector=sector, pseudonym_number__isnull=False)
        .exclude(pk=seat.pk)
        .values_list("pseudonym_number", flat=True)
    )
    pool_size = max(sector_seat_limit(room, sector), len(taken) + 1)
    free = [n for n in range(1, pool_size + 1) if n not in taken]
    key = room.secret.encode()
    return min(
        free,
        key=lambda n: hmac.new(key, f"{seat.public_id}:{n}".encode(), hashlib.sha256).digest(),
    )
