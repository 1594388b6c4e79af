"""The minutes export: GET /rooms/<slug>/minutes.<fmt> (docs: CONTRACT.md)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from forum import selectors
from forum.errors import Forbidden, NotFound, ServiceError
from forum.minutes import minutes_document
from forum.minutes_render import (
    leak_check,
    render_html_minutes,
    render_json_minutes,
    render_markdown_minutes,
)
from forum.models import Seat

RENDERERS = {
    "md": (render_markdown_minutes, "text/markdown; charset=utf-8"),
    "html": (render_html_minutes, "text/html; charset=utf-8"),
    "json": (render_json_minutes, "application/json"),
}
LATER = {"pdf", "docx", "akn.xml"}
DRAFT_ROLES = {Seat.Role.CHAIR, Seat.Role.MODERATOR, Seat.Role.RAPPORTEUR}


def _page(request: HttpRequest, status: int, message: str) -> HttpResponse:
    return render(request, f"{status}.html" if status in (403, 404) else "403.html", {"message": message}, status=status)


@never_cache
@require_GET
def minutes_export(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    try:
        room, seat = selectors.access_room(request.user, slug)
    except NotFound as exc:
        return _page(request, 404, exc.message)
    except Forbidden as exc:
        return _page(request, 403, exc.message)
    if fmt not in RENDERERS:
        message = (
            f"The minutes in {fmt} arrive later; for now they export as md, html and json."
            if fmt in LATER else "There are no minutes in this format."
        )
        return _page(request, 404, message)
    if seat.role not in DRAFT_ROLES:
        return _page(request, 403, "The minutes are shared once adopted.")
    renderer, content_type = RENDERERS[fmt]
    rendered = renderer(minutes_document(room))
    try:
        leak_check(room, rendered)
    except ServiceError as exc:
        return HttpResponse(exc.message, status=409, content_type="text/plain; charset=utf-8")
    response = HttpResponse(rendered, content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="{room.slug}-minutes.{fmt}"'
    return response
