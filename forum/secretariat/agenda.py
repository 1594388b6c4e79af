"""The secretariat's room page, its "Agenda" and "Venue screen" cards.

forum/secretariat/room_views.py dispatches their actions here. The agenda is edited while the
round table is scheduled (forum/services/agenda.py; once live the chair runs it from the
room's console); the screen link is issued and revoked like any seat's link
(forum/services/screens.py). Each action calls one service and answers: a redirect with a
message, or the page again with the refusal (the `agenda` or `screen` problem) and nothing
changed.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from forum.errors import Forbidden, ServiceError
from forum.models import RoundTable, Seat
from forum.services import agenda
from forum.services.screens import room_screen, screen_link_issue, screen_link_revoke
from forum.services.seats import join_url

AGENDA_ACTIONS = ("agenda_add", "agenda_rename", "agenda_move", "agenda_remove")
SCREEN_ACTIONS = ("screen_issue", "screen_revoke")


def _position(raw: str | None) -> int | None | str:
    """A position typed in a form: None when empty, the number, or the text as typed (the
    service refuses what is not a whole number, naming the range)."""
    raw = (raw or "").strip()
    if not raw:
        return None
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 6 else raw


def agenda_post(
    request: HttpRequest, room: RoundTable, action: str, *, render_page: Callable
) -> HttpResponse:
    post = request.POST
    item = post.get("item", "")
    try:
        if action == "agenda_add":
            agenda.agenda_add(
                actor=request.user,
                room=room,
                title=post.get("title", ""),
                position=_position(post.get("position")),
            )
            done = _("The item is added to the agenda.")
        elif action == "agenda_rename":
            agenda.agenda_rename(
                actor=request.user, room=room, item_id=item, title=post.get("title", "")
            )
            done = _("The item is renamed.")
        elif action == "agenda_move":
            agenda.agenda_move(
                actor=request.user,
                room=room,
                item_id=item,
                position=_position(post.get("position")),
            )
            done = _("The item is moved.")
        else:
            agenda.agenda_remove(actor=request.user, room=room, item_id=item)
            done = _("The item is removed from the agenda.")
    except (ServiceError, Forbidden) as exc:
        code = getattr(exc, "code", "forbidden")
        problem = {"form": "agenda", "code": code, "message": exc.message}
        return render_page(
            request, room, status=403 if code == "forbidden" else 400, problem=problem
        )
    messages.success(request, done)
    return redirect(reverse("secretariat_room", args=[room.slug]) + "#agenda")


def screen_card(room: RoundTable) -> dict:
    seat = room_screen(room)
    active = seat is not None and bool(seat.token_hash) and seat.token_revoked_at is None
    return {"seat": seat, "active": active}


def screen_post(request: HttpRequest, room: RoundTable, action: str) -> HttpResponse:
    if action == "screen_revoke":
        screen_link_revoke(room=room, actor=request.user)
        messages.success(request, _("The screen link is revoked: the venue screen goes dark."))
        return redirect(reverse("secretariat_room", args=[room.slug]) + "#screen")
    _seat, token = screen_link_issue(room=room, actor=request.user)
    return render(request, "secretariat/screen_link.html", {"room": room, "url": join_url(token)})


def without_screen(seats: list[Seat]) -> list[Seat]:
    """The people's seats: the screen has its own card."""
    return [seat for seat in seats if seat.role != Seat.Role.SCREEN]
