"""Signing a seat holder in with a join link, and anyone out.

A seat holder's session is for one seat, opened with one join link: it stores the seat and
the seat's link generation (forum/selectors.py: SEAT_SESSION_KEY), and access_room refuses
it once either no longer matches. Staff sign in with a password instead (forum/site/views.py:
sign_in); their sessions never name a seat.
"""

from __future__ import annotations

from django.contrib.auth import login, logout
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from forum.models import Seat
from forum.selectors import SEAT_SESSION_KEY, session_tag, signed_in_seat
from moderation.audit import audit_append
from realtime.log import notify_seat

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def seat_sign_in(*, request: HttpRequest, seat: Seat) -> None:
    """Sign `seat`'s holder in, for that seat only, for as long as its current link lasts.

    `seat` is the one a join token opened (forum.services.seats.seat_by_token), read in
    this request: its link_generation is the link's. A session of someone else, or of
    another seat, is replaced (login() starts a new session for another user and changes
    the session key in any case).
    """
    login(request, seat.user, backend=MODEL_BACKEND)
    request.session[SEAT_SESSION_KEY] = {"seat": seat.pk, "link": seat.link_generation}


def session_sign_out(*, request: HttpRequest) -> None:
    """End this browser's session; a seat holder's sockets opened with it close too (in
    every process), the seat's other sessions (another device) carry on."""
    bound = signed_in_seat(request.session)
    tag = session_tag(request.session.session_key)
    if bound is not None and tag:
        room_id = Seat.objects.filter(pk=bound.seat_id).values_list("room_id", flat=True).first()
        if room_id is not None:
            notify_seat(
                room_id,
                bound.seat_id,
                {"type": "error", "code": "forbidden"},
                message=lambda: _("You signed out."),
                close_code=4403,
                session=tag,
            )
    logout(request)


@transaction.atomic
def staff_opened(*, room, user, what: str) -> None:
    """A staff account opened a room's page or export without a seat (read-only): one entry
    in the room's audit log, naming the account and what it opened."""
    audit_append(
        room=room,
        action="staff_open",
        actor=None,
        target=what[:100],
        data={"staff": user.get_username(), "what": what[:200]},
    )
