"""Retention and erasure: who held a round table's seats is kept only as long as it needs.

A round table keeps its seat holders' names, e-mail addresses and organizations for
`retention_days` after its minutes are adopted (the latest adoption counts; 0 keeps them);
then `room_purge_identities` (run by `manage.py purge_identities` from cron) erases them. A
person may also ask for their identity to be erased at any time: `seat_erase_identity`, the
secretariat's action on the room's page. Both are audited and do the same to each seat:

- The seat keeps its role, sector, pseudonym and handle (the record and the parity figures
  hold), and loses its person: `user` becomes a placeholder of no one, the organization is
  dropped, the link is revoked, the seat is withdrawn and its sockets close. `reveal` answers
  that the identity was erased.
- The person's account is deleted once no other seat holds it (someone seated in another
  round table keeps it there), as is an organization no other seat names; staff accounts
  are never deleted.
- Every text of the round table that names them (interventions, held and rejected ones too,
  whose original the audit kept; flags; moderators' event payloads; review comments; draft
  minutes; recommendations; consensus checks; the agenda; submission notes, the cover
  letters of draft submissions and follow-up (its recommendation text too);
  comments and notes held because they name someone;
  the admin's history of these objects) has the mention replaced by ERASED. Audit entries
  whose reason or data name them lose that text to the keyed digest their MAC covers
  (moderation.audit.audit_erase), so the chain still verifies.
- Never touched: adopted minutes versions and submissions past their draft (the record a
  committee holds; under the Chatham House Rule they were leak-checked and name no one), and
  anything of other round tables.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import nh3
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import F, Max, ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _

from forum.errors import ServiceError
from forum.models import (
    AgendaItem,
    ConsensusCheck,
    Contribution,
    Flag,
    FloorRequest,
    FollowUp,
    FollowUpUpdate,
    HeldText,
    Intervention,
    MailAttempt,
    MinutesComment,
    MinutesVersion,
    NameStatement,
    Organization,
    OutboxMessage,
    Recommendation,
    RoomEvent,
    RoundTable,
    Seat,
    Submission,
    SubmissionStep,
    User,
)
from forum.services.floor import floor_release_seat
from moderation.audit import audit_append, audit_erase
from moderation.leakguard import Identity, IdentityMatcher
from moderation.permissions import StaffAction, require_secretariat
from moderation.sanitize import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, ALLOWED_URL_SCHEMES, LINK_REL
from realtime.log import notify_seat

ERASED = "[…]"  # what stands where a name was: the editor's mark for omitted text
MAX_RETENTION_DAYS = 3650

TEXT, HTML, JSON = "text", "html", "json"
# What is scrubbed of the erased identities: model, its path to the round table, extra
# filters, and its text fields. Adopted minutes versions and submissions are not here.
SCRUBBED: list[tuple[type, str, dict, dict[str, str]]] = [
    (
        Intervention,
        "room",
        {},
        {
            "body_md": TEXT,
            "body_html": HTML,
            "redacted_html": HTML,
            "redaction_reason": TEXT,
            "status_reason": TEXT,
            "attribution": JSON,
        },
    ),
    (Flag, "intervention__room", {}, {"reason": TEXT}),
    (RoomEvent, "room", {}, {"participants": JSON, "moderators": JSON}),
    (FloorRequest, "room", {}, {"attribution": JSON}),
    (ConsensusCheck, "room", {}, {"proposition": TEXT, "options": JSON, "result": JSON}),
    (Recommendation, "room", {}, {"text_md": TEXT, "text_html": HTML}),
    (AgendaItem, "room", {}, {"title": TEXT, "description": TEXT}),
    # E-mail: the outbox keeps what was sent to whom; the mail's HTML is a whole document,
    # scrubbed as text (the allow-list would strip its head and body).
    (
        OutboxMessage,
        "room",
        {},
        {"recipient": TEXT, "subject": TEXT, "text": TEXT, "html": TEXT, "attachments": JSON},
    ),
    (MailAttempt, "message__room", {}, {"error": TEXT}),
    (
        MinutesVersion,
        "room",
        {"adopted_at__isnull": True},
        {
            "summaries": JSON,
            "document": JSON,
            "note": TEXT,
        },
    ),
    (
        MinutesComment,
        "version__room",
        {},
        {"body_md": TEXT, "body_html": HTML, "attribution": JSON},
    ),
    (SubmissionStep, "submission__room", {}, {"note": TEXT}),
    # A draft's cover letter is the secretariat's free text (a submitted one went into the
    # package, the record); a follow-up's text is a recommendation as adopted, shown apart.
    (Submission, "room", {"status": Submission.Status.DRAFT}, {"cover_letter": TEXT}),
    (FollowUp, "submission__room", {}, {"reference": TEXT, "owner": TEXT, "text_md": TEXT}),
    (FollowUpUpdate, "follow_up__submission__room", {}, {"note": TEXT, "changes": JSON}),
    # Comments and notes held because they name someone: the originals, kept for the audit.
    (HeldText, "room", {}, {"text_md": TEXT, "attribution": JSON}),
    # Written contributions: their texts, the moderators' notes, the attachment's text as
    # extracted and the places the leak check marked. The attached file itself is kept as
    # sent (a PDF cannot be scrubbed here); a published one is part of the record.
    (
        Contribution,
        "room",
        {},
        {
            "body_md": TEXT,
            "body_html": HTML,
            "summary_md": TEXT,
            "summary_html": HTML,
            "note": TEXT,
            "attribution": JSON,
            "attachment_parts": JSON,
            "mentions": JSON,
        },
    ),
    # Words stated not to be a participant match a name by definition.
    (NameStatement, "room", {}, {"words": TEXT, "shown": TEXT, "reason": TEXT}),
]


@dataclass
class Erasure:
    """What an erasure did (or, in a dry run, would do)."""

    seats: int = 0
    people_deleted: int = 0
    people_kept: int = 0  # accounts that hold seats elsewhere (or staff)
    organizations_deleted: int = 0
    texts: int = 0  # rows whose text named someone
    audit_fields: int = 0  # reasons and data of audit entries erased

    def as_data(self) -> dict:
        return {
            "seats": self.seats,
            "people_deleted": self.people_deleted,
            "people_kept": self.people_kept,
            "organizations_deleted": self.organizations_deleted,
            "texts": self.texts,
            "audit_fields": self.audit_fields,
        }


# -- when -----------------------------------------------------------------------------------


def adopted_at(room: RoundTable) -> dt.datetime | None:
    """When the room's minutes were last adopted (the retention period runs from then)."""
    return room.minutes_versions.filter(adopted_at__isnull=False).aggregate(at=Max("adopted_at"))[
        "at"
    ]


def purge_due_at(room: RoundTable) -> dt.datetime | None:
    """When the room's identities are due for erasure; None while they are kept (retention
    0, or minutes not adopted yet)."""
    adopted = adopted_at(room)
    if not room.retention_days or adopted is None:
        return None
    return adopted + dt.timedelta(days=room.retention_days)


def rooms_due(now: dt.datetime | None = None) -> list[RoundTable]:
    """Round tables whose retention period has passed and whose seats are not purged yet."""
    now = now or timezone.now()
    candidates = (
        RoundTable.objects.filter(
            identities_purged_at__isnull=True,
            retention_days__gt=0,
            minutes_versions__adopted_at__isnull=False,
        )
        .distinct()
        .order_by("slug")
    )
    return [room for room in candidates if (due := purge_due_at(room)) is not None and due <= now]


# -- the secretariat's settings and actions ---------------------------------------------------


@transaction.atomic
def room_set_retention(*, room: RoundTable, days: object, actor: User) -> bool:
    """Set the days identities are kept after adoption (0: kept). Audited as
    `set_retention` (before, after). Returns False when nothing changed.
    Refusals: forbidden (not the secretariat), invalid_retention."""
    require_secretariat(actor, StaffAction.IDENTITIES)
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_RETENTION_DAYS:
        raise ServiceError(
            "invalid_retention",
            _("The retention period is a whole number of days from 0 (keep) to %(max)s.")
            % {"max": MAX_RETENTION_DAYS},
            field="retention_days",
        )
    locked = RoundTable.objects.select_for_update().get(pk=room.pk)
    if locked.retention_days == days:
        return False
    audit_append(
        room=locked,
        action="set_retention",
        actor=None,
        data={"before": locked.retention_days, "after": days},
    )
    locked.retention_days = room.retention_days = days
    locked.save(update_fields=["retention_days"])
    return True


@transaction.atomic
def seat_erase_identity(*, seat: Seat, actor: User, reason: str = "") -> Erasure:
    """Erase the identity of one seat's holder at their request (see the module docstring).
    Audited as `erase_identity` with the seat's handle, role and sector, and `reason` (which
    may not name anyone of the room). Refusals: forbidden, already_erased, names_participant,
    too_large."""
    require_secretariat(actor, StaffAction.IDENTITIES)
    room = RoundTable.objects.select_for_update().get(pk=seat.room_id)
    seat = Seat.objects.select_related("user", "organization", "sector").get(pk=seat.pk)
    if seat.identity_erased_at is not None:
        raise ServiceError("already_erased", _("This seat's identity has already been erased."))
    reason = " ".join((reason or "").split())
    if len(reason) > 1000:
        raise ServiceError(
            "too_large", _("The reason is at most 1,000 characters."), field="reason"
        )
    if reason and _matcher(
        _seats_identities(room.seats.select_related("user", "organization"))
    ).find(reason):
        raise ServiceError(
            "names_participant",
            _(
                "The reason names a participant or an organization of this round table; the audit "
                "log must not. Reword it without the name."
            ),
            field="reason",
        )
    done = _erase(room, [seat], timezone.now())
    audit_append(
        room=room,
        action="erase_identity",
        actor=None,
        target=seat.public_id,
        reason=reason,
        data={
            "role": str(seat.role),
            "sector": seat.sector.slug if seat.sector_id else None,
            **done.as_data(),
        },
    )
    return done


class DryRun(Exception):
    """Rolls a dry run's transaction back, carrying what it would have done."""

    def __init__(self, erasure: Erasure):
        self.erasure = erasure


def room_purge_identities(
    *, room: RoundTable, now: dt.datetime | None = None, dry_run: bool = False
) -> Erasure:
    """Erase the identities of every seat of `room` once its retention period has passed;
    audited as `purge_identities`. `dry_run` does all of it and rolls it back, so the counts
    are exactly those a real run would give. Refusals: not_due, already_purged."""
    try:
        return _purge(room, now or timezone.now(), dry_run)
    except DryRun as run:
        return run.erasure


@transaction.atomic
def _purge(room: RoundTable, now: dt.datetime, dry_run: bool) -> Erasure:
    room = RoundTable.objects.select_for_update().get(pk=room.pk)
    if room.identities_purged_at is not None:
        raise ServiceError(
            "already_purged",
            _("The identities of this round table were erased on %(date)s.")
            % {"date": room.identities_purged_at.date().isoformat()},
        )
    due = purge_due_at(room)
    if due is None or due > now:
        raise ServiceError("not_due", _not_due(room, due))
    seats = list(
        room.seats.filter(identity_erased_at__isnull=True).select_related("user", "organization")
    )
    done = _erase(room, seats, now)
    room.identities_purged_at = now
    room.save(update_fields=["identities_purged_at"])
    audit_append(
        room=room,
        action="purge_identities",
        actor=None,
        data={
            "retention_days": room.retention_days,
            "adopted_at": adopted_at(room).isoformat(),
            **done.as_data(),
        },
    )
    if dry_run:
        raise DryRun(done)
    return done


def _not_due(room: RoundTable, due: dt.datetime | None) -> str:
    if not room.retention_days:
        return _("This round table keeps its identities (retention period 0).")
    if due is None:
        return _(
            "The minutes of this round table are not adopted yet; the retention period "
            "runs from their adoption."
        )
    return _("The retention period of this round table ends on %(date)s.") % {
        "date": due.date().isoformat()
    }


# -- erasing ----------------------------------------------------------------------------------


def _seats_identities(seats) -> list[Identity]:
    identities = []
    for seat in seats:
        if seat.identity_erased_at is not None:
            continue
        user = seat.user
        org = seat.organization.name if seat.organization_id else None
        email = user.email or user.username
        names = {str(user), user.get_full_name()} - {""}
        identities.extend(
            Identity(name=name, email=email, organization=org) for name in sorted(names)
        )
    return identities


def _matcher(identities: list[Identity]) -> IdentityMatcher:
    return IdentityMatcher(tuple(identities))


def _erase(room: RoundTable, seats: list[Seat], now: dt.datetime) -> Erasure:
    """Scrub the room's texts of these seats' holders, then detach them from the seats."""
    done = Erasure(seats=len(seats))
    if not seats:
        return done
    for seat in seats:
        if seat.removed_at is None:
            # A seat withdrawn in a live room leaves the floor first, so that the events this
            # appends are scrubbed with the rest.
            seat.room = room
            floor_release_seat(room, seat, now)
    # Mail not sent yet to these holders never will be: they are no one's any more.
    OutboxMessage.objects.filter(seat__in=seats, status=OutboxMessage.Status.QUEUED).update(
        status=OutboxMessage.Status.FAILED, status_reason="not sent: the identity was erased"
    )
    matcher = _matcher(_seats_identities(seats))
    scrub = Scrubber(matcher)
    for model, path, extra, fields in SCRUBBED:
        done.texts += _scrub_rows(model.objects.filter(**{path: room}, **extra), fields, scrub)
    done.audit_fields = audit_erase(
        room=room, mentions=lambda text: bool(matcher.find(text))
    ).fields
    _scrub_admin_history(room, seats, scrub)
    people, organizations = set(), set()
    for seat in seats:
        people.add(seat.user_id)
        if seat.organization_id:
            organizations.add(seat.organization_id)
        _detach(seat, now)
    for user in User.objects.filter(pk__in=people):
        if user.is_staff or user.is_superuser or user.seats.exists():
            done.people_kept += 1
        else:
            _delete_user(user)
            done.people_deleted += 1
    for org in Organization.objects.filter(pk__in=organizations):
        if not org.seats.exists():
            org.delete()
            done.organizations_deleted += 1
    return done


def _detach(seat: Seat, now: dt.datetime) -> None:
    nobody = User(username=f"erased-{secrets.token_hex(8)}", display_name=ERASED, is_active=False)
    nobody.set_unusable_password()
    nobody.save()
    Seat.objects.filter(pk=seat.pk).update(
        user=nobody,
        organization=None,
        token_hash=None,
        token_revoked_at=seat.token_revoked_at or now,
        removed_at=seat.removed_at or now,
        identity_erased_at=now,
        # A new link generation, as for any revocation: the sessions of the seat's link end.
        link_generation=F("link_generation") + 1,
    )
    # Sessions the seat's link opened end now, in every process.
    notify_seat(
        seat.room_id,
        seat.pk,
        {"type": "error", "code": "forbidden"},
        message=lambda: _(
            "Your identity in this round table has been erased; your seat is closed."
        ),
        close_code=4403,
    )


def _delete_user(user: User) -> None:
    try:
        user.delete()
    except ProtectedError:
        # Something of the product's own still points at the account: it stays, as no one.
        User.objects.filter(pk=user.pk).update(
            username=f"erased-{secrets.token_hex(8)}",
            email="",
            display_name=ERASED,
            first_name="",
            last_name="",
            is_active=False,
        )


def _scrub_admin_history(room: RoundTable, seats: list[Seat], scrub: Scrubber) -> None:
    """The admin's history names the objects it changed ("Cora Civil in room (delegate)")."""
    by_model = {
        Seat: [seat.pk for seat in seats],
        User: [seat.user_id for seat in seats],
        Organization: [seat.organization_id for seat in seats if seat.organization_id],
    }
    for model, pks in by_model.items():
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(model),
            object_id__in=[str(pk) for pk in pks],
        ).update(object_repr=ERASED, change_message="")
    _scrub_rows(
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(RoundTable), object_id=str(room.pk)
        ),
        {"object_repr": TEXT, "change_message": TEXT},
        scrub,
    )


def _scrub_rows(queryset, fields: dict[str, str], scrub: Scrubber) -> int:
    changed_rows = 0
    for row in queryset.only("pk", *fields).iterator(chunk_size=500):
        changes = {}
        for name, kind in fields.items():
            value = getattr(row, name)
            clean = scrub.value(value, kind)
            if clean != value:
                changes[name] = clean
        if changes:
            # update(), not save(): no model's save() rules (auto_now, immutability) apply to a
            # scrub, and nothing else of the row moves.
            type(row).objects.filter(pk=row.pk).update(**changes)
            changed_rows += 1
    return changed_rows


class Scrubber:
    """Replaces every mention the matcher finds by ERASED, in text, HTML or JSON values."""

    def __init__(self, matcher: IdentityMatcher):
        self.find: Callable[[str], list] = matcher.find

    def value(self, value, kind: str):
        if value is None:
            return None
        if kind == JSON:
            return self.json(value)
        if kind == HTML:
            return self.html(value)
        return self.text(value)

    def text(self, text: str, mark: str = ERASED) -> str:
        if not isinstance(text, str) or not text:
            return text
        mentions = self.find(text)
        for mention in reversed(mentions):
            text = text[: mention.start] + mark + text[mention.end :]
        return text

    def html(self, markup: str) -> str:
        scrubbed = self.text(markup, ERASED)
        if scrubbed == markup:
            return markup
        # A mention may have spanned markup ("<em>Cora</em> Civil"): sanitise again with the
        # product's allow-list so what remains is well-formed.
        return nh3.clean(
            scrubbed,
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            url_schemes=ALLOWED_URL_SCHEMES,
            link_rel=LINK_REL,
            strip_comments=True,
        )

    def json(self, value, key: str = ""):
        if isinstance(value, str):
            return self.html(value) if key.endswith("_html") else self.text(value)
        if isinstance(value, dict):
            return {k: self.json(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.json(item, key) for item in value]
        return value
