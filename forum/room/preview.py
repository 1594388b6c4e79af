"""The post box's Markdown preview: the same sanitiser as a posted intervention."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _

from forum.pages import refusal, seat_holder_page
from moderation.sanitize import render_markdown

PREVIEW_LIMIT = 10_000


@seat_holder_page(methods=("POST",))
def markdown_preview(request: HttpRequest, room, seat) -> JsonResponse:
    """POST body=MARKDOWN -> {"html": SANITISED_HTML}: what the post would show."""
    body = request.POST.get("body", "")
    if len(body) > PREVIEW_LIMIT:
        return refusal(
            request,
            400,
            "too_large",
            _("A post is at most %(limit)s characters.") % {"limit": f"{PREVIEW_LIMIT:,}"},
        )
    return JsonResponse({"html": render_markdown(body)})
