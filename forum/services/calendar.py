"""The calendar file of an invitation (RFC 5545, written with `icalendar`).

One event per seat and round table: its UID is derived from the room's secret and the seat,
so every message about the same seat carries the same UID and a calendar updates the event it
holds instead of adding a second one. SEQUENCE is the room's `calendar_sequence`, raised when
the date or place changes and on cancellation; a cancellation is METHOD:CANCEL with
STATUS:CANCELLED. Times are written in the round table's own time zone (with its VTIMEZONE).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import icalendar
from django.conf import settings
from django.utils import timezone

from forum.minutes.when import place_text, room_zone
from forum.models import RoundTable, Seat

# A round table with a start and no end is shown as this long.
DEFAULT_LENGTH = timedelta(hours=2)
PRODID = "-//Round tables//invitations//EN"


def event_uid(room: RoundTable, seat: Seat) -> str:
    """Stable for the seat and room, and linkable to neither from outside (keyed by the room's
    secret, which never leaves the server)."""
    key = hmac.new(room.secret.encode(), f"calendar:{seat.public_id}".encode(), hashlib.sha256)
    return f"{key.hexdigest()[:32]}@roundtables"


def calendar_file(
    room: RoundTable,
    seat: Seat,
    *,
    summary: str,
    description: str,
    url: str = "",
    cancel: bool = False,
) -> str | None:
    """The .ics text for the seat, or None while the round table has no start date."""
    if room.starts_at is None:
        return None
    zone = room_zone(room)
    start = room.starts_at.astimezone(zone)
    end = (room.ends_at or room.starts_at + DEFAULT_LENGTH).astimezone(zone)
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if cancel else "REQUEST")
    event = icalendar.Event()
    event.add("uid", event_uid(room, seat))
    event.add("sequence", room.calendar_sequence)
    event.add("dtstamp", timezone.now())
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", summary)
    event.add("description", description)
    event.add("location", place_text(room))
    if url:
        event.add("url", url)
    event.add("status", "CANCELLED" if cancel else "CONFIRMED")
    organizer = icalendar.vCalAddress(f"mailto:{_address(settings.DEFAULT_FROM_EMAIL)}")
    event.add("organizer", organizer)
    if seat.user.email:
        attendee = icalendar.vCalAddress(f"mailto:{seat.user.email}")
        attendee.params["ROLE"] = icalendar.vText("REQ-PARTICIPANT")
        attendee.params["RSVP"] = icalendar.vText("FALSE")
        event.add("attendee", attendee, encode=0)
    cal.add_component(event)
    if str(zone) != "UTC":
        cal.add_missing_timezones()
    return cal.to_ical().decode()


def _address(from_email: str) -> str:
    return from_email.rsplit("<", 1)[-1].rstrip(">").strip()
