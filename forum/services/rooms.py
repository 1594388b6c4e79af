from __future__ import annotations

from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from forum.errors import ServiceError
from forum.models import AgendaItem, Dialogue, RoundTable, Sector
from realtime.log import append_event

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


@transaction.atomic
def dialogue_get_or_create(*, slug: str, title: str, convener: str = "") -> Dialogue:
    dialogue, created = Dialogue.objects.get_or_create(
        slug=slug, defaults={"title": title, "convener": convener}
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
    place: str = "online",
) -> RoundTable:
    if slugify(slug) != slug or not slug or len(slug) > 80:
        raise ServiceError(
            "invalid_slug",
            _("%(slug)s is not a valid slug (up to 80 lowercase letters, digits, hyphens).") % {"slug": repr(slug[:90])},
        )
    if RoundTable.objects.filter(slug=slug).exists():
        raise ServiceError("slug_taken", _("A round table with slug %(slug)s already exists.") % {"slug": repr(slug)})
    if not title.strip() or len(title.strip()) > 300:
        raise ServiceError("invalid_title", _("The title may not be empty, nor longer than 300 characters."))
    if any(not item.strip() or len(item.strip()) > 300 for item in agenda or []):
        raise ServiceError("invalid_agenda_item", _("Each agenda item has a title of 1 to 300 characters."))
    if len(place) > 200:
        raise ServiceError("invalid_place", _("The place is at most 200 characters."))
    if rule not in RoundTable.Rule.values:
        raise ServiceError(
            "invalid_rule", _("Rule must be one of %(rules)s.") % {"rules": ", ".join(RoundTable.Rule.values)}
        )
    attribution = attribution or default_attribution(rule)
    if attribution not in RoundTable.Attribution.values:
        raise ServiceError(
            "invalid_attribution",
            _("Attribution must be one of %(values)s.") % {"values": ", ".join(RoundTable.Attribution.values)},
        )
    if rule == RoundTable.Rule.CHATHAM_HOUSE and attribution == RoundTable.Attribution.NAMED:
        raise ServiceError(
            "invalid_attribution", _("Named attribution would break the Chatham House Rule.")
        )
    if seats_per_sector < 1:
        raise ServiceError("invalid_seats", _("Seats per sector must be at least 1."))
    if k < 1:
        raise ServiceError("invalid_k", _("k must be at least 1."))
    if status not in RoundTable.Status.values:
        raise ServiceError(
            "invalid_status", _("Status must be one of %(values)s.") % {"values": ", ".join(RoundTable.Status.values)}
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
        place=place,
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
            "invalid_status", _("Status must be one of %(values)s.") % {"values": ", ".join(RoundTable.Status.values)}
        )
    if room.status == status:
        return room
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
