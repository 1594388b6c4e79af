"""When and where a round table sits: scheduled start and end, place and time zone.

The secretariat sets them (its room pages, `create_room`); the minutes' header and the pages
read them (forum/minutes/document.py: the session's date in its own time zone, not the server's).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.db import transaction
from django.utils.translation import gettext as _

from forum.errors import ServiceError
from forum.models import RoundTable, User
from forum.services.invitations import schedule_changed
from moderation.audit import audit_append
from moderation.permissions import StaffAction, require_secretariat

PLACE_LIMIT = 200


@dataclass(frozen=True)
class Schedule:
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    place: str
    online: bool
    time_zone: str


@functools.cache
def zone_names() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def check_time_zone(name: object) -> str:
    """An IANA time zone name zoneinfo knows ("Pacific/Auckland"), or refuse."""
    if not isinstance(name, str) or not name.strip() or len(name) > 64:
        raise ServiceError(
            "invalid_time_zone",
            _("Give the time zone by its IANA name, such as Pacific/Auckland."),
            field="time_zone",
        )
    name = name.strip()
    # zoneinfo also opens file paths under its search path; the list of names keeps it to zones.
    if name not in zone_names():
        raise ServiceError(
            "invalid_time_zone",
            _("%(zone)s is not a time zone; give its IANA name, such as Pacific/Auckland.")
            % {"zone": repr(name[:64])},
            field="time_zone",
        )
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ServiceError(
            "invalid_time_zone",
            _("%(zone)s is not a time zone; give its IANA name, such as Pacific/Auckland.")
            % {"zone": repr(name)},
            field="time_zone",
        ) from None
    return name


def local_moment(value: object, zone: str, field: str) -> dt.datetime | None:
    """A date and time: an aware datetime as is, a naive one (or ISO 8601 text without an
    offset) read in `zone`, the round table's own time zone."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ServiceError(
                "invalid_date",
                _("%(value)s is not a date and time (ISO 8601).") % {"value": repr(value[:40])},
                field=field,
            ) from None
    if not isinstance(value, dt.datetime):
        raise ServiceError("invalid_date", _("Give a date and a time."), field=field)
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(zone))
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:  # 9999-12-31T23:59-12:00 is past the last moment Python counts
        raise ServiceError(
            "invalid_date", _("Give a date and a time between the years 1 and 9999."), field=field
        ) from None


def check_schedule(
    *,
    starts_at: object = None,
    ends_at: object = None,
    place: object = "",
    online: object = None,
    time_zone: object = "UTC",
) -> Schedule:
    """The schedule, validated: a known time zone; an end after the start; a place of up to
    200 characters; online unless a city is given (`online=None`), and at least one of them.
    The word "online" as a place means online only."""
    zone = check_time_zone(time_zone)
    if not isinstance(place, str):
        raise ServiceError("invalid_place", _('The place is a city or "online".'), field="place")
    place = " ".join(place.split())
    if len(place) > PLACE_LIMIT:
        raise ServiceError(
            "invalid_place", _("The place is at most 200 characters."), field="place"
        )
    if place.casefold() == "online":
        place, online = "", True
    if online is None:
        online = not place
    if not isinstance(online, bool):
        raise ServiceError(
            "invalid_place", _("Say whether the round table is also online."), field="online"
        )
    if not place and not online:
        raise ServiceError(
            "invalid_place", _("A round table sits in a city, online, or both."), field="place"
        )
    start = local_moment(starts_at, zone, "starts_at")
    end = local_moment(ends_at, zone, "ends_at")
    if end is not None and start is None:
        raise ServiceError("invalid_date", _("Give the start before the end."), field="starts_at")
    if start is not None and end is not None and end <= start:
        raise ServiceError("invalid_date", _("The end must come after the start."), field="ends_at")
    return Schedule(starts_at=start, ends_at=end, place=place, online=online, time_zone=zone)


FIELDS = ("starts_at", "ends_at", "place", "online", "time_zone")


@transaction.atomic
def room_set_schedule(*, room: RoundTable, actor: User, **fields) -> list[str]:
    """Set the round table's schedule, place and time zone (check_schedule's rules); returns
    the names of the fields that changed, audited as `set_schedule`. Refusals: forbidden
    (not the secretariat), invalid_time_zone, invalid_date, invalid_place."""
    require_secretariat(actor, StaffAction.ROOMS)
    locked = RoundTable.objects.select_for_update().get(pk=room.pk)
    wanted = check_schedule(**{name: fields.get(name, getattr(locked, name)) for name in FIELDS})
    changed = [name for name in FIELDS if getattr(locked, name) != getattr(wanted, name)]
    if not changed:
        return []
    for name in changed:
        setattr(locked, name, getattr(wanted, name))
    locked.save(update_fields=changed)
    audit_append(
        room=locked,
        action="set_schedule",
        actor=None,
        data={
            "changed": changed,
            "starts_at": wanted.starts_at.isoformat() if wanted.starts_at else None,
            "ends_at": wanted.ends_at.isoformat() if wanted.ends_at else None,
            "place": wanted.place,
            "online": wanted.online,
            "time_zone": wanted.time_zone,
        },
    )
    for name in changed:
        setattr(room, name, getattr(wanted, name))
    # Invitees' calendars move with it: a raised SEQUENCE and a message each.
    schedule_changed(room=locked, changed=changed)
    room.calendar_sequence = locked.calendar_sequence
    return changed
