"""When and where a round table sits, in its own time zone: for the minutes' header and for
the pages that show the session."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.translation import gettext as _

from forum.models import (
    RoomEvent,
    RoundTable,
)


def place_text(room: RoundTable) -> str:
    """Where the session sits, in the active language: a city, "online", or "City and online"."""
    city = room.place.strip()
    if city and room.online:
        return _("%(place)s and online") % {"place": city}
    return city or _("online")


def room_zone(room: RoundTable) -> ZoneInfo:
    """The round table's time zone (validated when set; UTC should a stored name ever fail)."""
    try:
        return ZoneInfo(room.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _local(room: RoundTable, moment) -> str | None:
    return moment.astimezone(room_zone(room)).isoformat(timespec="minutes") if moment else None


def time_text(header: dict) -> str:
    """The session's hours in its own time zone ("09:00–17:30 (Pacific/Auckland)"), or ""."""
    start, end, zone = header.get("starts_at"), header.get("ends_at"), header.get("time_zone")
    if not start:
        return ""
    hours = start[11:16] + (f"–{end[11:16]}" if end else "")
    if end and end[:10] != start[:10]:
        hours = f"{start[11:16]}–{end[:10]} {end[11:16]}"
    return f"{hours} ({zone})" if zone else hours


def session_when(room: RoundTable) -> str:
    """When and where the session sits, for pages, in the active language:
    "2027-03-04 09:00–17:30 (Pacific/Auckland) · Auckland and online" ("" without a start)."""
    if room.starts_at is None:
        return ""
    header = {
        "starts_at": _local(room, room.starts_at),
        "ends_at": _local(room, room.ends_at),
        "time_zone": room.time_zone,
    }
    day = room.starts_at.astimezone(room_zone(room)).date().isoformat()
    return f"{day} {time_text(header)} · {place_text(room)}"


def _date(room: RoundTable) -> str:
    """The session's own date in its time zone: its scheduled start, else the moment it went
    live, else its first event (a delegate's consent may come days before)."""
    moment = room.starts_at
    if moment is None:
        events = RoomEvent.objects.filter(room=room).order_by("seq")
        opened = events.filter(
            kind="room.status_changed", participants__status=RoundTable.Status.LIVE
        )
        moment = (
            opened.values_list("created_at", flat=True).first()
            or events.values_list("created_at", flat=True).first()
            or room.created_at
        )
    return moment.astimezone(room_zone(room)).date().isoformat()
