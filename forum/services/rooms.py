from __future__ import annotations

import re

from django.conf import settings
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from forum.errors import ServiceError
from forum.models import AgendaItem, Dialogue, RoundTable, Sector, SectorSeats, User
from forum.services.schedule import check_schedule
from forum.services.seat_rules import quota_seats
from moderation.audit import audit_append
from moderation.permissions import StaffAction, require_secretariat
from realtime.log import append_event

# A sector's own number of seats: a sane bound for one round table (the form says so too).
MAX_SECTOR_SEATS = 1000

DEFAULT_SECTORS = (
    ("government", "Government"),
    ("intergovernmental", "Intergovernmental"),
    ("civil-society", "Civil society"),
    ("private-sector", "Private sector"),
    ("academia", "Academia"),
)


def sectors_ensure_defaults() -> list[Sector]:
    sectors = []
    for position, (slug, name) in enumerate(DEFAULT_SECTORS):
        sector, _created = Sector.objects.get_or_create(
            slug=slug, defaults={"name": name, "position": position}
        )
        sectors.append(sector)
    return sectors


# An Akoma Ntoso author id is a short slug; a country, an ISO 3166-1 alpha-2 code with an
# optional locality ("aa", "un", "br-sp"), as the FRBR naming convention writes them.
AKN_AUTHOR = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
AKN_COUNTRY = re.compile(r"[a-z]{2}(?:-[a-z0-9]{1,7})?")
DEFAULT_AKN_COUNTRY = "aa"


def akn_identity_check(*, akn_author: str, akn_country: str) -> None:
    """Refuses an Akoma Ntoso author id or country that cannot stand in a FRBR URI."""
    if akn_author and (len(akn_author) > 40 or not AKN_AUTHOR.fullmatch(akn_author)):
        raise ServiceError(
            "invalid_akn_author",
            _(
                "%(value)s is not a valid Akoma Ntoso author id (up to 40 lowercase letters, "
                "digits and single hyphens, e.g. oas)."
            )
            % {"value": repr(akn_author[:50])},
        )
    if not AKN_COUNTRY.fullmatch(akn_country or ""):
        raise ServiceError(
            "invalid_akn_country",
            _(
                "%(value)s is not a valid Akoma Ntoso country (a two-letter ISO 3166-1 code in "
                "lowercase, e.g. aa or br)."
            )
            % {"value": repr((akn_country or "")[:20])},
        )


@transaction.atomic
def dialogue_get_or_create(
    *,
    slug: str,
    title: str,
    convener: str = "",
    akn_author: str = "",
    akn_country: str = DEFAULT_AKN_COUNTRY,
) -> Dialogue:
    akn_identity_check(akn_author=akn_author, akn_country=akn_country)
    dialogue, created = Dialogue.objects.get_or_create(
        slug=slug,
        defaults={
            "title": title,
            "convener": convener,
            "akn_author": akn_author,
            "akn_country": akn_country,
        },
    )
    if created:
        dialogue.sectors.set(sectors_ensure_defaults())
    return dialogue


def default_attribution(rule: str) -> str:
    if rule == RoundTable.Rule.OPEN:
        return RoundTable.Attribution.NAMED
    return RoundTable.Attribution.SECTOR


@transaction.atomic
def room_create(
    *,
    dialogue: Dialogue,
    slug: str,
    title: str,
    rule: str = RoundTable.Rule.CHATHAM_HOUSE,
    attribution: str | None = None,
    seats_per_sector: int = 10,
    k: int = 3,
    status: str = RoundTable.Status.LIVE,
    agenda: list[str] | None = None,
    place: str = "",
    online: bool | None = None,
    time_zone: str = "UTC",
    starts_at: object = None,
    ends_at: object = None,
    language: str = "en",
) -> RoundTable:
    if slugify(slug) != slug or not slug or len(slug) > 80:
        raise ServiceError(
            "invalid_slug",
            _("%(slug)s is not a valid slug (up to 80 lowercase letters, digits, hyphens).")
            % {"slug": repr(slug[:90])},
        )
    if RoundTable.objects.filter(slug=slug).exists():
        raise ServiceError(
            "slug_taken",
            _("A round table with slug %(slug)s already exists.") % {"slug": repr(slug)},
        )
    if not title.strip() or len(title.strip()) > 300:
        raise ServiceError(
            "invalid_title", _("The title may not be empty, nor longer than 300 characters.")
        )
    if any(not item.strip() or len(item.strip()) > 300 for item in agenda or []):
        raise ServiceError(
            "invalid_agenda_item", _("Each agenda item has a title of 1 to 300 characters.")
        )
    schedule = check_schedule(
        starts_at=starts_at, ends_at=ends_at, place=place, online=online, time_zone=time_zone
    )
    if rule not in RoundTable.Rule.values:
        raise ServiceError(
            "invalid_rule",
            _("Rule must be one of %(rules)s.") % {"rules": ", ".join(RoundTable.Rule.values)},
        )
    attribution = attribution or default_attribution(rule)
    if attribution not in RoundTable.Attribution.values:
        raise ServiceError(
            "invalid_attribution",
            _("Attribution must be one of %(values)s.")
            % {"values": ", ".join(RoundTable.Attribution.values)},
        )
    if rule == RoundTable.Rule.CHATHAM_HOUSE and attribution == RoundTable.Attribution.NAMED:
        raise ServiceError(
            "invalid_attribution", _("Named attribution would break the Chatham House Rule.")
        )
    if seats_per_sector < 1:
        raise ServiceError("invalid_seats", _("Seats per sector must be at least 1."))
    if k < 1:
        raise ServiceError("invalid_k", _("k must be at least 1."))
    if language not in dict(settings.LANGUAGES):
        raise ServiceError(
            "invalid_language",
            _("The language of the minutes is one of %(values)s.")
            % {"values": ", ".join(dict(settings.LANGUAGES))},
        )
    if status not in RoundTable.Status.values:
        raise ServiceError(
            "invalid_status",
            _("Status must be one of %(values)s.")
            % {"values": ", ".join(RoundTable.Status.values)},
        )
    room = RoundTable.objects.create(
        dialogue=dialogue,
        slug=slug,
        title=title.strip(),
        rule=rule,
        attribution=attribution,
        seats_per_sector=seats_per_sector,
        k=k,
        status=status,
        place=schedule.place,
        online=schedule.online,
        time_zone=schedule.time_zone,
        starts_at=schedule.starts_at,
        ends_at=schedule.ends_at,
        language=language,
    )
    items = [
        AgendaItem.objects.create(room=room, position=position, title=item_title.strip())
        for position, item_title in enumerate(agenda or ["General discussion"], start=1)
    ]
    room.current_item = items[0]
    room.save(update_fields=["current_item"])
    return room


@transaction.atomic
def room_set_status(*, room: RoundTable, status: str) -> RoundTable:
    if status not in RoundTable.Status.values:
        raise ServiceError(
            "invalid_status",
            _("Status must be one of %(values)s.")
            % {"values": ", ".join(RoundTable.Status.values)},
        )
    if room.status == status:
        return room
    if room.cancelled_at and status == RoundTable.Status.LIVE:
        raise ServiceError("room_cancelled", _("This round table is cancelled: it cannot open."))
    room.status = status
    room.save(update_fields=["status"])
    data = {"status": status}
    append_event(room, "room.status_changed", participants=data, moderators=data)
    return room


@transaction.atomic
def room_set_current_item(*, room: RoundTable, item: AgendaItem) -> RoundTable:
    if item.room_id != room.pk:
        raise ServiceError("invalid_agenda_item", _("That agenda item belongs to another room."))
    room.current_item = item
    room.save(update_fields=["current_item"])
    data = {"agenda_item": item.public_id, "title": item.title}
    append_event(room, "agenda.current_changed", participants=data, moderators=data)
    return room


@transaction.atomic
def room_set_sector_seats(
    *, room: RoundTable, seats: dict[int, int | None], actor: User
) -> dict[str, tuple[int | None, int | None]]:
    """Give sectors of `room` their own number of seats (sector id -> a number), or the
    room's seats_per_sector again (-> None). Sectors not in `seats` keep what they have.

    Takes the room row lock, as seat_upsert does, so no delegate is seated between the
    count of held seats and the write. Refusals (ServiceError codes): forbidden (not the
    secretariat), invalid_sector, invalid_seats, seats_below_held (a sector would have
    fewer seats than it has seated delegates). A refusal changes nothing.

    Returns the changes, sector slug -> (own number before, own number after), None
    meaning the room's seats_per_sector; the same goes to the room's audit log.
    """
    require_secretariat(actor, StaffAction.ROOMS)
    locked = (
        RoundTable.objects.select_for_update()
        .only("id", "seats_per_sector", "dialogue_id")
        .get(pk=room.pk)
    )
    sectors = {s.pk: s for s in Sector.objects.filter(dialogues=locked.dialogue_id)}
    for sector_id, value in seats.items():
        sector = sectors.get(sector_id)
        if sector is None:
            raise ServiceError(
                "invalid_sector",
                _("Sector %(sector)s does not take part in this dialogue.")
                % {"sector": repr(str(sector_id))},
            )
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 0 <= value <= MAX_SECTOR_SEATS
        ):
            raise ServiceError(
                "invalid_seats",
                _("The seats of sector %(sector)s are a whole number from 0 to %(max)s.")
                % {"sector": repr(sector.slug), "max": MAX_SECTOR_SEATS},
                sector=sector.slug,
            )
    own = dict(SectorSeats.objects.filter(room=room).values_list("sector_id", "seats"))
    held: dict[int, int] = {}
    for sector_id in quota_seats(room).values_list("sector_id", flat=True):
        if sector_id is not None:
            held[sector_id] = held.get(sector_id, 0) + 1

    changes: dict[str, tuple[int | None, int | None]] = {}
    changed: list[Sector] = []
    for sector in sorted((sectors[i] for i in seats), key=lambda s: (s.position, s.slug)):
        before, after = own.get(sector.pk), seats[sector.pk]
        if before == after:
            continue  # a sector already over its number (set before the rule) is not touched
        limit = locked.seats_per_sector if after is None else after
        seated = held.get(sector.pk, 0)
        if seated > limit:
            raise ServiceError(
                "seats_below_held",
                ngettext(
                    "Sector %(sector)s has %(held)s seated delegate: it cannot have fewer "
                    "than %(held)s seats (asked: %(limit)s). Remove delegates first.",
                    "Sector %(sector)s has %(held)s seated delegates: it cannot have fewer "
                    "than %(held)s seats (asked: %(limit)s). Remove delegates first.",
                    seated,
                )
                % {"sector": repr(sector.slug), "held": seated, "limit": limit},
                sector=sector.slug,
                held=seated,
            )
        changes[sector.slug] = (before, after)
        changed.append(sector)

    for sector in changed:
        after = seats[sector.pk]
        if after is None:
            SectorSeats.objects.filter(room=room, sector=sector).delete()
        else:
            SectorSeats.objects.update_or_create(
                room=room, sector=sector, defaults={"seats": after}
            )
    if changes:
        audit_append(
            room=room,
            action="set_sector_seats",
            actor=None,
            data={
                "seats": {
                    slug: {"before": before, "after": after}
                    for slug, (before, after) in changes.items()
                },
                "seats_per_sector": locked.seats_per_sector,
            },
        )
    return changes
