"""What every page shares: the refusal page (or JSON) and the decorator of a round table's
pages for its seat holders."""

from __future__ import annotations

import functools

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from forum import selectors
from forum.errors import Forbidden, NotFound
from forum.models import Seat
from forum.services.sessions import session_sign_out, staff_opened


def seat_holder_page(view=None, *, methods: tuple[str, ...] = ("GET",), screen: bool = False):
    """A room's page for its seat holders: `view(request, room, seat)`, or the refusal.
    `@seat_holder_page(methods=("GET", "POST"))` for a page with forms. The venue screen's link
    opens the pages marked `screen=True` only (the room page leads it to its own)."""
    if view is None:
        return functools.partial(seat_holder_page, methods=methods, screen=screen)

    @never_cache
    @require_http_methods(list(methods))
    @functools.wraps(view)
    def wrapper(request: HttpRequest, slug: str, **kwargs) -> HttpResponse:
        try:
            room, seat = selectors.access_room(request.session, slug, request.user)
        except NotFound as exc:
            return refusal(request, 404, "not_found", exc.message)
        except selectors.SessionEnded as exc:
            # Its link was replaced or revoked, or the seat removed: the session opens nothing
            # any more, so the browser is signed out rather than left looking signed in.
            session_sign_out(request=request)
            return refusal(request, 403, "forbidden", exc.message)
        except Forbidden as exc:
            return refusal(request, 403, "forbidden", exc.message)
        if selectors.is_staff_view(seat):
            if request.method != "GET":
                return refusal(
                    request,
                    403,
                    "forbidden",
                    _("The secretariat reads round tables without taking part."),
                )
            staff_opened(room=room, user=request.user, what=request.path)
        if seat.role == Seat.Role.SCREEN and not screen:
            if view.__name__ == "room":
                return redirect("room_screen", slug=room.slug)
            return refusal(
                request, 403, "forbidden", _("The venue screen's link opens the screen page only.")
            )
        return view(request, room, seat, **kwargs)

    return wrapper


# The HTTP status of a refused form or export, by error code (400 for the rest).
REFUSAL_STATUS = {
    "forbidden": 403,
    "not_found": 404,
    "export_leak": 409,
    "stale_version": 409,
    "unchanged": 409,
    "invalid_transition": 409,
    "open_comments": 409,
}


def service_refusal(request: HttpRequest, exc) -> HttpResponse:
    """The page (or JSON) for a ServiceError a view got from a service."""
    return refusal(request, REFUSAL_STATUS.get(exc.code, 400), exc.code, exc.message)


def refusal(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
    if request.path.endswith(".json"):
        return JsonResponse({"error": code, "message": message}, status=status)
    template = f"{status}.html" if status in (403, 404) else "refused.html"
    return render(request, template, {"message": message, "code": code}, status=status)
