"""Pages. Views parse, call one selector or service, and answer."""

from __future__ import annotations

import asyncio
import functools
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import login
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from forum import selectors
from forum.errors import Forbidden, NotFound
from forum.models import Seat
from forum.parity import parity_figures
from forum.services.seats import seat_by_token
from moderation.audit import audit_entries, audit_verify
from moderation.permissions import Action, allowed

logger = logging.getLogger(__name__)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", {"message": "This page does not exist."}, status=404)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    seats = []
    if request.user.is_authenticated:
        seats = (
            Seat.objects.filter(user=request.user, token_revoked_at__isnull=True)
            .select_related("room")
            .order_by("-room__created_at")
        )
    return render(request, "home.html", {"seats": seats})


@never_cache
@require_GET
def join(request: HttpRequest, token: str) -> HttpResponse:
    seat = seat_by_token(token)
    if seat is None:
        # No session is created for a bad or revoked link.
        return render(
            request,
            "404.html",
            {"message": "This join link is not valid. It may have been revoked or replaced; ask the secretariat for a new one."},
            status=404,
        )
    login(request, seat.user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect("room", slug=seat.room.slug)


def room_page(view=None, *, methods: tuple[str, ...] = ("GET",)):
    """A room's page for its seat holders: `view(request, room, seat)`, or the refusal.
    `@room_page(methods=("GET", "POST"))` for a page with forms."""
    if view is None:
        return functools.partial(room_page, methods=methods)

    @never_cache
    @require_http_methods(list(methods))
    @functools.wraps(view)
    def wrapper(request: HttpRequest, slug: str, **kwargs) -> HttpResponse:
        try:
            room, seat = selectors.access_room(request.user, slug)
        except NotFound as exc:
            return refusal(request, 404, "not_found", exc.message)
        except Forbidden as exc:
            return refusal(request, 403, "forbidden", exc.message)
        return view(request, room, seat, **kwargs)

    return wrapper


def refusal(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
    if request.path.endswith(".json"):
        return JsonResponse({"error": code, "message": message}, status=status)
    template = f"{status}.html" if status in (403, 404) else "refused.html"
    return render(request, template, {"message": message, "code": code}, status=status)


@room_page
def room(request: HttpRequest, room, seat) -> HttpResponse:
    access = selectors.describe_access(room, seat)
    return render(
        request,
        "room.html",
        {
            "room": room,
            "seat": seat,
            "access": access,
            "agenda": room.agenda_items.order_by("position"),
            "sectors": {s.slug: s.name for s in room.dialogue.sectors.all()},
        },
    )


@room_page
def room_audit(request: HttpRequest, room, seat) -> HttpResponse:
    """The room's audit log, for the chair (the secretariat reads it in the admin)."""
    if not allowed(seat.role, Action.READ_AUDIT):
        return refusal(request, 403, "forbidden", "Only the chair and the secretariat read the audit log.")
    return render(
        request,
        "audit.html",
        {"room": room, "entries": audit_entries(room), "report": audit_verify(room)},
    )


@room_page
def room_parity(request: HttpRequest, room, seat) -> JsonResponse:
    """The room's parity figures (a projection of its event log), for the room page."""
    if room.attribution == room.Attribution.ANONYMOUS and not allowed(seat.role, Action.READ_MODERATION):
        # Live per-sector figures would tell an anonymous room which sector is speaking.
        return JsonResponse(
            {"hidden": True, "message": "In this anonymous round table the parity figures appear in the minutes."}
        )
    return JsonResponse(parity_figures(room))


async def _layer_roundtrip() -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel(prefix="healthz")
    await layer.send(channel, {"type": "healthz.ping"})
    await asyncio.wait_for(layer.receive(channel), timeout=2)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001
        logger.warning("healthz: database check failed: %s", exc)
        checks["database"] = "error"
    try:
        async_to_sync(_layer_roundtrip)()
        checks["channel_layer"] = "ok"
    except Exception as exc:  # noqa: BLE001
        logger.warning("healthz: channel layer check failed: %s", exc)
        checks["channel_layer"] = "error"
    healthy = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)
