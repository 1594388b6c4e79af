"""The leak guard for a room: does a text name one of its seat holders?

The matcher (moderation/leakguard.py) is pure; this module feeds it the room's identities
and keeps one compiled matcher per room until the seats change.
"""

from __future__ import annotations

from functools import lru_cache

from forum.models import RoundTable, Seat

from .leakguard import Identity, IdentityMatcher, Mention


def room_identities(room: RoundTable) -> tuple[Identity, ...]:
    rows = (
        # An erased seat's holder is a placeholder of no one: nothing to guard.
        Seat.objects.filter(room=room, identity_erased_at__isnull=True)
        .select_related("user", "organization")
        .order_by("pk")
    )
    return tuple(
        Identity(
            name=str(seat.user),
            email=seat.user.email or seat.user.username,
            organization=seat.organization.name if seat.organization_id else None,
        )
        for seat in rows
    )


@lru_cache(maxsize=64)
def _matcher(identities: tuple[Identity, ...]) -> IdentityMatcher:
    # Keyed by the identities themselves: a new seat or a renamed person gives a new matcher.
    return IdentityMatcher(identities)


def mentions_in(room: RoundTable, text: str) -> list[Mention]:
    """Every mention of a seat holder of `room` (name, e-mail, organization) in `text`."""
    return _matcher(room_identities(room)).find(text)
