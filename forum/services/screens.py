"""The venue screen's link: a seat of its own (role `screen`) that reads, never acts.

A round table has at most one screen seat. Its holder is a placeholder account of no one
(no name, no e-mail, no password): the leak guard, presence and attendance leave it out,
and it can never sign in anywhere but through its link. The link is issued, replaced and
revoked by the same audited services as every seat's (seats.py: seat_link_issue,
seat_link_revoke), so a new link or a revocation ends the screen's sessions at once.
"""

from __future__ import annotations

import secrets

from django.db import transaction

from forum.models import RoundTable, Seat, User

from .seats import _require_actor, _seat_audit, seat_link_issue, seat_link_revoke

SCREEN_NAME = "Venue screen"


def room_screen(room: RoundTable) -> Seat | None:
    """The room's screen seat, if one was ever issued."""
    return (
        Seat.objects.filter(room=room, role=Seat.Role.SCREEN)
        .select_related("room", "sector")
        .first()
    )


@transaction.atomic
def screen_link_issue(
    *, room: RoundTable, actor: User | None, via: str = "secretariat"
) -> tuple[Seat, str]:
    """A new screen link for `room` (the screen seat is created the first time); the
    earlier link and its sessions end. Returns the seat and the token, shown once.
    Refusal: forbidden (not the secretariat)."""
    _require_actor(actor, via)
    RoundTable.objects.select_for_update().values_list("pk", flat=True).get(pk=room.pk)
    seat = room_screen(room)
    if seat is None:
        # A username that is no address: the screen never receives mail, and nothing
        # matches it as a person's name or e-mail.
        user = User(username=f"screen.{secrets.token_hex(8)}", display_name=SCREEN_NAME)
        user.set_unusable_password()
        user.save()
        seat = Seat.objects.create(room=room, user=user, role=Seat.Role.SCREEN)
        _seat_audit(seat, "seat_add", via)
    # A removed screen seat (revoked, then issued again) opens again with the new link.
    token = seat_link_issue(seat=seat, actor=actor, via=via)
    return seat, token


@transaction.atomic
def screen_link_revoke(*, room: RoundTable, actor: User | None, via: str = "secretariat") -> None:
    """Revoke the room's screen link: every screen showing the room goes dark at once."""
    _require_actor(actor, via)
    seat = room_screen(room)
    if seat is not None and seat.token_revoked_at is None:
        seat_link_revoke(seat=seat, actor=actor, via=via)
