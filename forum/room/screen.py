"""The venue screen: `/rooms/<slug>/screen/`, read-only, in large type, for a projector.

Opened with the screen link the secretariat issues (a seat of role `screen`). It shows
what participants read and nothing that identifies anyone: the current item, who has the
floor (the label participants see) with the countdown, the queue's labels, the open
consensus check and its count of votes, the rule's notice. It follows the room through
the same websocket as every page (as the participants' audience).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from forum import selectors
from forum.minutes.phrases import sector_name
from forum.models import Seat
from forum.pages import refusal, seat_holder_page
from forum.services.acting import current_agenda_item
from moderation.disclosure import POOLED, pooled_name
from moderation.permissions import Action, allowed


def screen_strings() -> dict[str, str]:
    """Every word the screen's script writes, translated."""
    return {
        "connecting": _("Connecting…"),
        "reconnecting": _("Reconnecting…"),
        "connected": _("Connected"),
        "offline_reconnecting": _("Offline — reconnecting in %(seconds)s s"),
        "refused_connection": _("Disconnected: access refused."),
        "offline_try_again": _("You are offline; try again once the page has reconnected."),
        "refused": _("The server refused this action."),
        "floor_mode_open": _("Open floor; turns of %(time)s."),
        "floor_mode_queued": _(
            "Queued floor: only the speaker posts statements; turns of %(time)s."
        ),
        "nobody_has_floor": _("Nobody has the floor."),
        "has_floor": _("%(label)s has the floor."),
        "you_have_floor": _("You have the floor."),
        "request_with_kind": _("%(label)s (%(kind)s)"),
        "request_yours": _("%(request)s: you"),
        "nobody_waiting": _("Nobody is waiting."),
        "waiting_count": _("Waiting for the floor: %(count)s"),
        "floor_given": _("%(label)s has the floor for %(time)s."),
        "turn_ended": _("The turn ended after %(time)s."),
        "thirty_seconds_left": _("30 seconds left for %(label)s."),
        "time_is_up": _("Time is up for %(label)s."),
        "time_up_short": _("Time is up."),
        "ending_soon": _("Less than 30 seconds left."),
        "kind_reply": _("Reply"),
        "kind_point_of_order": _("Point of order"),
        "request_by_chair": _("%(request)s, raised by the chair"),
        **{
            f"role_{role}": str(label)
            for role, label in Seat.Role.choices
            if role != Seat.Role.DELEGATE
        },
        "pseudonym": _("%(sector)s · Delegate %(number)s"),
        "anonymous": _("A participant"),
        "check_open": _("Open"),
        "check_voters": _("Open · votes cast: %(count)s"),
        "screen_votes": _("Votes cast: %(count)s"),
        "no_open_check": _("No consensus check is open."),
        "agenda_now": _("The round table moves to the agenda item: %(title)s"),
        "status_scheduled": _("Scheduled"),
        "status_live": _("Live"),
        "status_closed": _("Closed"),
    }


@seat_holder_page(screen=True)
def room_screen(request: HttpRequest, room, seat) -> HttpResponse:
    if not allowed(seat.role, Action.READ_SCREEN):
        return refusal(
            request,
            403,
            "forbidden",
            _("The venue screen opens with the screen link the secretariat issues."),
        )
    item = current_agenda_item(room)
    return render(
        request,
        "room/screen.html",
        {
            "room": room,
            "access": selectors.access_summary(room, seat),
            "current_item": item,
            "sectors": {
                **{s.slug: sector_name(s.name) for s in room.dialogue.sectors.all()},
                POOLED: pooled_name(),
            },
            "strings": screen_strings(),
        },
    )
