"""A round table's pages for its seat holders: the join page, the live room, its audit log
and parity figures; and signing out. Views parse, call one selector or service, and answer."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from forum import selectors
from forum.minutes.phrases import sector_name
from forum.minutes.when import session_when
from forum.models import Seat
from forum.pages import refusal, seat_holder_page
from forum.parity import parity_figures
from forum.room.contributions import contributions_context
from forum.room.notices import notices_choices
from forum.room.strings import room_strings
from forum.services.acting import current_agenda_item
from forum.services.notices import seat_set_language
from forum.services.seats import seat_by_token, seat_mark_link_opened
from forum.services.sessions import seat_sign_in, session_sign_out
from moderation.audit import audit_entries, audit_verify
from moderation.disclosure import POOLED, disclosure, pooled_name, reader_of
from moderation.permissions import Action, allowed
from realtime.events import MODERATORS


@never_cache
@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows where the link leads, with a button; only its POST (CSRF-checked) signs in.
    A mail scanner that fetches the link, or another site that sends a browser to it, signs
    no one in and replaces no one's session."""
    seat = seat_by_token(token)
    if seat is None:
        # No session is created for a bad or revoked link.
        return render(
            request,
            "404.html",
            {
                "message": _(
                    "This join link is not valid. It may have been revoked or "
                    "replaced; ask the secretariat for a new one."
                )
            },
            status=404,
        )
    if request.method == "POST":
        seat_sign_in(request=request, seat=seat)
        seat_set_language(seat_id=seat.pk, language=request.LANGUAGE_CODE)
        if seat.role == Seat.Role.SCREEN:
            return redirect("room_screen", slug=seat.room.slug)
        return redirect("room", slug=seat.room.slug)
    seat_mark_link_opened(seat_id=seat.pk)
    return render(
        request,
        "room/join.html",
        {
            "room": seat.room,
            "when": session_when(seat.room),
            "label": selectors.seat_label(seat),
            "signed_in": _signed_in_now(request, seat),
        },
    )


def _signed_in_now(request: HttpRequest, seat: Seat) -> dict | None:
    """Who this browser is signed in as, for the join page to say before replacing it:
    the same seat, another seat (its round table and label, never more), or a staff account."""
    if not request.user.is_authenticated:
        return None
    current = selectors.session_seat(request.session)
    if current is not None:
        if current.pk == seat.pk:
            return {"same": True}
        return {"room": current.room.title, "label": selectors.seat_label(current)}
    if request.user.is_staff or request.user.is_superuser:
        return {"staff": True}
    return None


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    """End this browser's session (a seat holder's or a staff account's)."""
    session_sign_out(request=request)
    messages.success(request, _("You are signed out."))
    return redirect("home")


@seat_holder_page
def room(request: HttpRequest, room, seat) -> HttpResponse:
    """The live room. Its script (static/room/) shows no word of its own:
    `strings` (rendered with json_script) holds every text it writes, translated, with
    %(name)s placeholders."""
    access = selectors.access_summary(room, seat)
    return render(
        request,
        "room/room.html",
        {
            "room": room,
            "seat": seat,
            "access": access,
            "agenda": room.agenda_items.order_by("position"),
            "current_item": current_agenda_item(room),
            # The console raises hands for, and notes turns of, delegates in the meeting room:
            # their handles and labels, as the moderators' payloads carry them.
            "delegate_seats": selectors.delegate_seats(room)
            if access.audience == MODERATORS
            else [],
            # The pooled group of the sectors a reader may not see named has a name of its own.
            "sectors": {
                **{s.slug: sector_name(s.name) for s in room.dialogue.sectors.all()},
                POOLED: pooled_name(),
            },
            "strings": room_strings(),
            "when": session_when(room),
            "notices": notices_choices(request, seat),
            "contributions": contributions_context(room, seat),
            # What the composer offers to say an intervention is written in.
            "post_languages": settings.INTERVENTION_LANGUAGES,
        },
    )


@seat_holder_page
def room_audit(request: HttpRequest, room, seat) -> HttpResponse:
    """The room's audit log, for the chair (the secretariat reads it in the admin)."""
    if not allowed(seat.role, Action.READ_AUDIT):
        return refusal(
            request, 403, "forbidden", _("Only the chair and the secretariat read the audit log.")
        )
    return render(
        request,
        "room/audit.html",
        {"room": room, "entries": audit_entries(room), "report": audit_verify(room)},
    )


@seat_holder_page
def room_parity(request: HttpRequest, room, seat) -> JsonResponse:
    """The room's parity figures (a projection of its event log), for the room page: split by
    the sectors this reader may see (moderation/disclosure.py), the others pooled."""
    return JsonResponse(parity_figures(room, disclosure=disclosure(room, reader_of(seat.role))))
