from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from forum.errors import ServiceError
from forum.models import Organization, RoundTable, Seat, Sector, User
from moderation.attribution import attribute
from realtime.log import append_event, notify_seat

# Roles that hold a sector's seat and count against its quota; the others sit outside.
QUOTA_ROLES = {Seat.Role.DELEGATE}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def base_url() -> str:
    return getattr(settings, "BASE_URL", "http://127.0.0.1:8000").rstrip("/")


def join_url(token: str, base: str | None = None) -> str:
    return f"{(base or base_url()).rstrip('/')}/join/{token}/"


def user_upsert(*, email: str, name: str) -> User:
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ServiceError("invalid_email", f"{email!r} is not a valid e-mail address.") from None
    user, created = User.objects.get_or_create(
        username=email, defaults={"email": email, "display_name": name.strip()}
    )
    if not created and name.strip() and user.display_name != name.strip():
        user.display_name = name.strip()
        user.save(update_fields=["display_name"])
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def organization_get_or_create(*, name: str, sector: Sector) -> Organization:
    name = " ".join(name.split())
    org = Organization.objects.filter(name__iexact=name).first()
    if org is None:
        return Organization.objects.create(name=name, sector=sector)
    if org.sector_id != sector.pk:
        raise ServiceError(
            "organization_sector",
            f"Organization {org.name!r} belongs to sector {org.sector.slug!r}, not {sector.slug!r}.",
        )
    return org


def delegates_in_sector(room: RoundTable, sector: Sector, exclude_user: User | None = None) -> int:
    qs = Seat.objects.filter(room=room, sector=sector, role__in=QUOTA_ROLES)
    if exclude_user is not None:
        qs = qs.exclude(user=exclude_user)
    return qs.count()


def _draw_pseudonym_number(room: RoundTable, sector: Sector, seat: Seat) -> int:
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
    pool_size = max(room.seats_per_sector, len(taken) + 1)
    free = [n for n in range(1, pool_size + 1) if n not in taken]
    key = room.secret.encode()
    return min(
        free,
        key=lambda n: hmac.new(key, f"{seat.public_id}:{n}".encode(), hashlib.sha256).digest(),
    )


@transaction.atomic
def seat_upsert(
    *,
    room: RoundTable,
    user: User,
    role: str,
    sector: Sector | None,
    organization: Organization | None,
) -> tuple[Seat, bool]:
    """Create or update `user`'s seat in `room`, keeping the sector quotas."""
    if role not in Seat.Role.values:
        raise ServiceError("invalid_role", f"Role must be one of {', '.join(Seat.Role.values)}.")
    if role == Seat.Role.DELEGATE and sector is None:
        raise ServiceError("sector_required", "A delegate needs a sector.")
    if sector is not None and not room.dialogue.sectors.filter(pk=sector.pk).exists():
        raise ServiceError("invalid_sector", f"Sector {sector.slug!r} does not take part in this dialogue.")
    if organization is not None and sector is not None and organization.sector_id != sector.pk:
        raise ServiceError(
            "organization_sector",
            f"Organization {organization.name!r} belongs to another sector.",
        )
    # Lock the room so that two imports cannot both take a sector's last seat.
    RoundTable.objects.select_for_update().values_list("pk", flat=True).get(pk=room.pk)
    if role in QUOTA_ROLES and delegates_in_sector(room, sector, exclude_user=user) >= room.seats_per_sector:
        raise ServiceError(
            "sector_full",
            f"Sector {sector.slug!r} already has its {room.seats_per_sector} seats.",
        )
    seat = Seat.objects.filter(room=room, user=user).first()
    created = seat is None
    if created:
        seat = Seat(room=room, user=user)
    sector_changed = seat.sector_id != (sector.pk if sector else None)
    seat.role = role
    seat.sector = sector
    seat.organization = organization
    if sector is None:
        seat.pseudonym_number = None
    elif sector_changed or seat.pseudonym_number is None:
        seat.pseudonym_number = _draw_pseudonym_number(room, sector, seat)
    seat.save()
    return seat, created


@transaction.atomic
def seat_issue_token(*, seat: Seat, token: str | None = None) -> str:
    """Give the seat a new join token (revoking any previous one) and return it once."""
    token = token or secrets.token_urlsafe(32)
    seat.token_hash = hash_token(token)
    seat.token_revoked_at = None
    seat.save(update_fields=["token_hash", "token_revoked_at"])
    return token


@transaction.atomic
def seat_revoke_token(*, seat: Seat) -> None:
    seat.token_revoked_at = timezone.now()
    seat.save(update_fields=["token_revoked_at"])
    # The sessions the link opened end too: close the seat's sockets in every process.
    notify_seat(
        seat.room_id, seat.pk,
        {"type": "error", "code": "forbidden", "message": "Your join link has been revoked."},
        close_code=4403,
    )


def seat_by_token(token: str) -> Seat | None:
    """The seat a join token opens, or None for an unknown or revoked token."""
    if not token or len(token) > 200:
        return None
    # Looking up the hash, not the token, means timing the index reveals nothing useful.
    return (
        Seat.objects.select_related("room", "user")
        .filter(token_hash=hash_token(token), token_revoked_at__isnull=True, removed_at__isnull=True)
        .first()
    )


def demo_token(room_slug: str, email: str) -> str:
    """A join token derived from SECRET_KEY, so seed_demo prints the same links every run."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"demo-join:{room_slug}:{email}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@transaction.atomic
def seat_consent(*, seat_id: int, rule: str) -> Seat:
    """Record that the seat accepts its room's rule. Repeating it changes nothing."""
    from moderation.permissions import Action, require

    seat = (
        # of=("self",): PostgreSQL refuses FOR UPDATE on the nullable side of an outer join.
        Seat.objects.select_for_update(of=("self",))
        .select_related("room", "sector", "user", "organization")
        .get(pk=seat_id)
    )
    require(seat, Action.CONSENT)
    if rule != seat.room.rule:
        raise ServiceError("invalid_rule", f"This room runs under the rule {seat.room.rule!r}, not {rule!r}.", field="rule")
    if seat.consented_at is None:
        seat.consented_at = timezone.now()
        seat.save(update_fields=["consented_at"])
        append_event(
            seat.room,
            "seat.consented",
            participants=None,
            moderators={"attribution": attribute(seat).as_payload(), "at": seat.consented_at.isoformat()},
        )
    return seat
