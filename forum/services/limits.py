"""Limits on posting: mute, lock, slow mode and the per-seat rate bucket.

The bucket lives on the seat's row and is read and written inside the posting
transaction (under the room lock), so a seat with sockets on several Daphne processes
still has one bucket. A refusal writes nothing.
"""

from __future__ import annotations

import math
from datetime import datetime

from django.conf import settings
from django.utils.translation import gettext as _

from forum.errors import ServiceError
from forum.models import RoundTable, Seat
from moderation.permissions import Action, allowed


def _retry(seconds: float) -> int:
    return max(1, math.ceil(seconds))


def bucket_tokens(seat: Seat, now: datetime) -> float:
    limits = settings.ROUNDTABLES
    burst = float(limits["POST_BURST"])
    if seat.rate_tokens is None or seat.rate_updated_at is None:
        return burst
    elapsed = max(0.0, (now - seat.rate_updated_at).total_seconds())
    return min(burst, seat.rate_tokens + elapsed / limits["POST_REFILL_SECONDS"])


def check_post_limits(seat: Seat, room: RoundTable, now: datetime) -> None:
    """Refuse a post that a mute, the lock, slow mode or the rate bucket forbids."""
    if room.locked and not allowed(seat.role, Action.POST_WHEN_LOCKED):
        raise ServiceError(
            "room_locked",
            _("The chair has locked the floor; only the chair and moderators post now."),
        )
    if seat.muted_until is not None and seat.muted_until > now:
        raise ServiceError(
            "muted",
            _("A moderator has muted you until %(time)s UTC.")
            % {"time": f"{seat.muted_until:%H:%M}"},
            until=seat.muted_until.isoformat(),
            retry_after=_retry((seat.muted_until - now).total_seconds()),
        )
    if allowed(seat.role, Action.SKIP_LIMITS):
        return
    if room.slow_mode_seconds and seat.last_post_at is not None:
        wait = room.slow_mode_seconds - (now - seat.last_post_at).total_seconds()
        if wait > 0:
            raise ServiceError(
                "rate_limited",
                _("Slow mode: one intervention every %(every)s s. Try again in %(wait)s s.")
                % {"every": room.slow_mode_seconds, "wait": _retry(wait)},
                retry_after=_retry(wait),
            )
    tokens = bucket_tokens(seat, now)
    if tokens < 1:
        wait = (1 - tokens) * settings.ROUNDTABLES["POST_REFILL_SECONDS"]
        raise ServiceError(
            "rate_limited",
            _("You are posting faster than the room allows. Try again in %(wait)s s.")
            % {"wait": _retry(wait)},
            retry_after=_retry(wait),
        )


def consume_post(seat: Seat, now: datetime) -> list[str]:
    """Take one token and note the time; returns the fields to save."""
    seat.rate_tokens = bucket_tokens(seat, now) - 1
    seat.rate_updated_at = now
    seat.last_post_at = now
    return ["rate_tokens", "rate_updated_at", "last_post_at"]
