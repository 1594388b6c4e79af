"""A seat holder's choice of notices by e-mail (forum/services/notices.py), from the room page."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from forum import selectors
from forum.errors import ServiceError
from forum.models import Seat
from forum.pages import refusal, seat_holder_page
from forum.services.notices import seat_set_language, seat_set_notices


def notices_choices(request: HttpRequest, seat: Seat) -> dict | None:
    """What the room page's notices form shows, for a person's seat; and remembers the
    language the holder reads the site in, for their e-mail."""
    if selectors.is_staff_view(seat) or seat.role == Seat.Role.SCREEN:
        return None
    if seat.language != request.LANGUAGE_CODE:
        seat_set_language(seat_id=seat.pk, language=request.LANGUAGE_CODE)
    return {"current": seat.notices, "choices": Seat.Notices.choices}


@seat_holder_page(methods=("POST",))
def room_notices(request: HttpRequest, room, seat) -> HttpResponse:
    try:
        seat_set_notices(seat_id=seat.pk, notices=request.POST.get("notices", ""))
    except ServiceError as exc:
        return refusal(request, 400, exc.code, exc.message)
    messages.success(request, _("Your choice of e-mail notices is saved."))
    return redirect("room", slug=room.slug)
