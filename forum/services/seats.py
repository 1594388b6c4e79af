from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from forum.errors import ServiceError
from forum.models import Organization, RoundTable, Seat, Sector, User
from forum.services.acting import load_acting
from forum.services.seat_rules import (
    check_seat,
    draw_pseudonym_number,
    staff_account_refusal,
)
from moderation.attribution import attribute
from moderation.audit import audit_append
from moderation.permissions import Action, StaffAction, require, require_secretariat
from realtime.log import SEAT_CHANGED_CLOSE, append_event, notify_seat


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def base_url() -> str:
    return getattr(settings, "BASE_URL", "http://127.0.0.1:8000").rstrip("/")


def join_url(token: str, base: str | None = None) -> str:
    return f"{(base or base_url()).rstrip('/')}/join/{token}/"


def user_upsert(*, email: str, name: str) -> User:
    """The seat holder's account for `email` (created without a password). A staff or
    superuser account is refused (staff_account): a seat never attaches to one."""
    email = email.strip().lower()
    try:
        validate_email(email)
        if len(email) > User._meta.get_field("username").max_length:  # the address is the username
            raise ValidationError("too long")
    except ValidationError:
        raise ServiceError(
            "invalid_email", _("%(email)s is not a valid e-mail address.") % {"email": repr(email)}
        ) from None
    staff = User.objects.filter(Q(is_staff=True) | Q(is_superuser=True))
    if staff.filter(Q(username__iexact=email) | Q(email__iexact=email)).exists():
        raise staff_account_refusal(email)
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


def organization_get_or_create(
    *, name: str, sector: Sector, accreditation: str | None = None
) -> Organization:
    """The organization called `name` (case-insensitive), created in `sector` if new.

    `accreditation` is the status a NEW organization starts with (default: the model's);
    an existing organization keeps its own: only the secretariat changes it, in the admin.
    """
    name = " ".join(name.split())
    org = Organization.objects.filter(name__iexact=name).first()
    if org is None:
        extra = {"accreditation": accreditation} if accreditation else {}
        return Organization.objects.create(name=name, sector=sector, **extra)
    if org.sector_id != sector.pk:
        raise ServiceError(
            "organization_sector",
            _("Organization %(organization)s belongs to sector %(sector)s, not %(other)s.")
            % {
                "organization": repr(org.name),
                "sector": repr(org.sector.slug),
                "other": repr(sector.slug),
            },
        )
    return org


_draw_pseudonym_number = draw_pseudonym_number  # the earlier private name


@transaction.atomic
def seat_upsert(
    *,
    room: RoundTable,
    user: User,
    role: str,
    sector: Sector | None,
    organization: Organization | None,
) -> tuple[Seat, bool]:
    """Create or update `user`'s seat in `room`, keeping the sector quotas (the sector's own
    number of seats, else the room's seats_per_sector) and, when the room requires it, the
    accreditation of delegates' organizations.

    Refusals (ServiceError codes): invalid_role, sector_required, invalid_sector,
    organization_sector, not_accredited, sector_full. A refusal changes nothing.
    """
    # Lock the room so that two imports cannot both take a sector's last seat; read the
    # room's settings fresh under the lock.
    locked = (
        RoundTable.objects.select_for_update()
        .only("id", "seats_per_sector", "require_accreditation", "dialogue_id")
        .get(pk=room.pk)
    )
    room.seats_per_sector = locked.seats_per_sector
    room.require_accreditation = locked.require_accreditation
    if organization is not None and organization.pk is not None:
        organization.refresh_from_db(fields=["accreditation", "sector"])
    check_seat(room=room, user=user, role=role, sector=sector, organization=organization)
    seat = Seat.objects.filter(room=room, user=user).first()
    created = seat is None
    if created:
        seat = Seat(room=room, user=user)
    sector_changed = seat.sector_id != (sector.pk if sector else None)
    role_changed = not created and seat.role != role
    seat.role = role
    seat.sector = sector
    seat.organization = organization
    if sector is None:
        seat.pseudonym_number = None
    elif sector_changed or seat.pseudonym_number is None:
        seat.pseudonym_number = draw_pseudonym_number(room, sector, seat)
    seat.save()
    if not created and (role_changed or sector_changed):
        seat_access_changed(seat)
    return seat, created


def seat_access_changed(seat: Seat) -> None:
    """After commit, close the seat's sockets opened under another role or sector, in every
    process (`seat_changed`, 4409): what a socket may read and do was fixed when it opened.
    The page reloads and opens a socket under the new role; the session carries on."""
    notify_seat(
        seat.room_id,
        seat.pk,
        {"type": "error", "code": "seat_changed"},
        message=lambda: _(
            "Your role or sector in this round table has changed; the page reloads with it."
        ),
        close_code=SEAT_CHANGED_CLOSE,
        unless_access=(str(seat.role), seat.sector.slug if seat.sector_id else None),
    )


# -- links: every new link, revocation and removal ends the sessions of the earlier ones --


def seat_next_link(seat: Seat, **fields) -> None:
    """Move the seat to its next link generation, with `fields` (token_hash, ...), in the
    caller's transaction. Sessions and sockets of earlier generations are refused from now on
    (forum/selectors.py: access_room; realtime/hub.py)."""
    Seat.objects.filter(pk=seat.pk).update(link_generation=F("link_generation") + 1, **fields)
    for name, value in fields.items():
        setattr(seat, name, value)
    seat.link_generation = Seat.objects.values_list("link_generation", flat=True).get(pk=seat.pk)


def seat_end_sessions(seat: Seat, message) -> None:
    """After commit, close the sockets opened with an earlier link of `seat`, in every
    process, with `forbidden` and `message` (a callable: it is worded once per language)."""
    notify_seat(
        seat.room_id,
        seat.pk,
        {"type": "error", "code": "forbidden"},
        message=message,
        close_code=4403,
        before_link=seat.link_generation,
    )


@transaction.atomic
def seat_issue_token(*, seat: Seat, token: str | None = None) -> str:
    """Give the seat a new join link and return its token once. The previous link stops
    working, and every session and socket it opened ends.

    Not audited: product paths call seat_link_issue, which is; setup (seed_demo, tests)
    calls this."""
    if Seat.objects.filter(pk=seat.pk, removed_at__isnull=False).exists():
        # Removal is for good: a new link would reopen a seat a moderator closed.
        raise ServiceError(
            "seat_removed",
            _("This seat was withdrawn from the round table; it gets no new join link."),
        )
    token = token or secrets.token_urlsafe(32)
    # A new link has not been opened yet (the secretariat's page shows when it is).
    seat_next_link(seat, token_hash=hash_token(token), token_revoked_at=None, link_opened_at=None)
    seat_end_sessions(
        seat,
        lambda: _(
            "Your join link has been replaced; open the newest link the secretariat sent you."
        ),
    )
    return token


@transaction.atomic
def seat_revoke_token(*, seat: Seat) -> None:
    """Revoke the seat's join link: it stops working, and every session and socket it opened
    ends. Not audited: product paths call seat_link_revoke, which is."""
    seat_next_link(seat, token_revoked_at=timezone.now())
    seat_end_sessions(seat, lambda: _("Your join link has been revoked."))


# -- the audited service: every seat and link change of the secretariat, on every path --

# Where a change came from, in its audit entry: the secretariat's round table page, a CSV
# uploaded there, `manage.py import_participants`, the admin.
VIA = ("secretariat", "csv_import", "import_participants", "admin", "room")


def _require_actor(actor: User | None, via: str) -> None:
    """The secretariat (a staff account) acts on its pages and in the admin; None is a
    management command run on the server (whoever runs it holds the database)."""
    if via not in VIA:
        raise ValueError(f"unknown path {via!r} for a seat change")
    if actor is not None or via != "import_participants":
        require_secretariat(actor, StaffAction.SEATS)


def _seat_audit(
    seat: Seat, action: str, via: str, *, actor_seat: Seat | None = None, **data
) -> None:
    """The room's audit entry for a seat or link change: the seat's handle, role and sector
    and the path it came through, never the person, the organization, the token or its hash."""
    audit_append(
        room=seat.room,
        action=action,
        actor=actor_seat,
        target=seat.public_id,
        data={
            "role": str(seat.role),
            "sector": seat.sector.slug if seat.sector_id else None,
            "via": via,
            **data,
        },
    )


@transaction.atomic
def seat_save(
    *,
    room: RoundTable,
    user: User,
    role: str,
    sector: Sector | None,
    organization: Organization | None,
    actor: User | None,
    via: str,
) -> tuple[Seat, bool]:
    """Create or change `user`'s seat in `room` (seat_upsert's rules), with one audit entry:
    `seat_add`, or `seat_change` naming what changed (role and sector before and after; an
    organization only as changed). Saving a seat as it is writes nothing.

    Refusals: forbidden (not the secretariat), staff_account, and seat_upsert's."""
    _require_actor(actor, via)
    # The room lock (seat_upsert takes it too) first, so that `before` is what this change changes.
    RoundTable.objects.select_for_update().values_list("pk", flat=True).get(pk=room.pk)
    before = (
        Seat.objects.filter(room=room, user=user)
        .values("role", "sector_id", "organization_id")
        .first()
    )
    seat, created = seat_upsert(
        room=room, user=user, role=role, sector=sector, organization=organization
    )
    if created:
        _seat_audit(seat, "seat_add", via)
        return seat, created
    after = {
        "role": seat.role,
        "sector_id": seat.sector_id,
        "organization_id": seat.organization_id,
    }
    changed = sorted(name.removesuffix("_id") for name in after if after[name] != before[name])
    if changed:
        before_sector = (
            Sector.objects.filter(pk=before["sector_id"]).values_list("slug", flat=True).first()
        )
        _seat_audit(
            seat,
            "seat_change",
            via,
            changed=changed,
            before={"role": before["role"], "sector": before_sector},
        )
    return seat, created


@transaction.atomic
def seat_set_presence(
    *,
    seat: Seat | str,
    presence: object,
    actor: User | None = None,
    actor_seat_id: int | None = None,
    via: str = "secretariat",
) -> Seat:
    """Mark a seat "in the room" or "online" (the attendance counts a delegate in the room as
    present). By the secretariat (`actor`, on its pages) or by the chair and moderators
    (`actor_seat_id`, `seat` then the seat's handle; via "room"). One audit entry,
    `mark_presence`, when it changes. Refusals: forbidden, not_found, invalid_presence."""
    if actor_seat_id is not None:
        acting = load_acting(actor_seat_id, Action.MARK_PRESENCE)
        room, actor_seat = acting.room, acting.seat
        public_id = seat if isinstance(seat, str) else seat.public_id
        target = (
            Seat.objects.select_related("sector").filter(room=room, public_id=public_id).first()
        )
        if target is None:
            raise ServiceError(
                "not_found", _("There is no such seat in this round table."), field="seat"
            )
        via = "room"
    else:
        _require_actor(actor, via)
        room, actor_seat = RoundTable.objects.select_for_update().get(pk=seat.room_id), None
        target = Seat.objects.select_related("sector").get(pk=seat.pk)
    if presence not in Seat.Presence.values:
        raise ServiceError(
            "invalid_presence",
            _("A seat is marked %(values)s.")
            % {"values": " or ".join(repr(v) for v in Seat.Presence.values)},
            field="presence",
        )
    target.room = room
    if target.presence != presence:
        before = target.presence
        target.presence = presence
        target.save(update_fields=["presence"])
        _seat_audit(
            target, "mark_presence", via, actor_seat=actor_seat, before=before, after=presence
        )
        append_event(
            room,
            "seat.presence_changed",
            participants=None,
            moderators={
                "seat": target.public_id,
                "attribution": attribute(target).as_payload(),
                "presence": presence,
            },
        )
    return target


def seat_mark_joined(*, seat_id: int) -> bool:
    """Record the first time a socket of the seat was let into its room (the attendance's
    "joined"); later connections write nothing. True when this call recorded it."""
    return bool(
        Seat.objects.filter(pk=seat_id, joined_at__isnull=True).update(joined_at=timezone.now())
    )


def seat_mark_link_opened(*, seat_id: int) -> None:
    """Record the first time the join page of the seat's current link was shown (for the
    secretariat's "link opened"); later views write nothing."""
    Seat.objects.filter(pk=seat_id, link_opened_at__isnull=True).update(
        link_opened_at=timezone.now()
    )


@transaction.atomic
def seat_link_issue(
    *, seat: Seat, actor: User | None, via: str = "secretariat", resend: bool = False
) -> str:
    """A new join link for the seat (seat_issue_token: the old one and its sessions end),
    audited as `issue_link`; returns the token once. Refusals: forbidden (not the
    secretariat), seat_removed (a withdrawn seat gets no link)."""
    _require_actor(actor, via)
    token = seat_issue_token(seat=seat)
    _seat_audit(seat, "issue_link", via, resend=resend)
    return token


@transaction.atomic
def seat_link_revoke(*, seat: Seat, actor: User | None, via: str = "secretariat") -> None:
    """Revoke the seat's join link (seat_revoke_token: its sessions end), audited as
    `revoke_link`. Refusal: forbidden (not the secretariat)."""
    _require_actor(actor, via)
    seat_revoke_token(seat=seat)
    _seat_audit(seat, "revoke_link", via)


def seat_by_token(token: str) -> Seat | None:
    """The seat a join token opens, or None for an unknown or revoked token (and for a seat
    that ended up on a staff account: a seat never carries staff rights)."""
    if not token or len(token) > 200:
        return None
    # Looking up the hash, not the token, means timing the index reveals nothing useful.
    return (
        Seat.objects.select_related("room", "user", "sector")
        .filter(
            token_hash=hash_token(token), token_revoked_at__isnull=True, removed_at__isnull=True
        )
        .exclude(Q(user__is_staff=True) | Q(user__is_superuser=True))
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
    seat = (
        # of=("self",): PostgreSQL refuses FOR UPDATE on the nullable side of an outer join.
        Seat.objects.select_for_update(of=("self",))
        .select_related("room", "sector", "user", "organization")
        .get(pk=seat_id)
    )
    require(seat, Action.CONSENT)
    if rule != seat.room.rule:
        raise ServiceError(
            "invalid_rule",
            _("This room runs under the rule %(rule)s, not %(other)s.")
            % {"rule": repr(seat.room.rule), "other": repr(rule)},
            field="rule",
        )
    if seat.consented_at is None:
        seat.consented_at = timezone.now()
        seat.save(update_fields=["consented_at"])
        append_event(
            seat.room,
            "seat.consented",
            participants=None,
            moderators={
                "attribution": attribute(seat).as_payload(),
                "at": seat.consented_at.isoformat(),
            },
        )
    return seat
