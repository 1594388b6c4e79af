"""The room page's invitations: invite every seat without a link, chosen seats, or one seat
again; cancel the round table; and what the seats table shows of each seat's invitation."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from forum.errors import ServiceError
from forum.models import OutboxMessage, RoundTable, Seat
from forum.services.cancellation import room_cancel
from forum.services.invitations import seats_invite
from forum.services.mail_compose import mailable

ACTIONS = ("invite_missing", "invite_chosen", "cancel")


def invite_post(request: HttpRequest, room: RoundTable, action: str, render_page) -> HttpResponse:
    try:
        if action == "cancel":
            count = room_cancel(room=room, actor=request.user)
            messages.success(
                request,
                ngettext(
                    "The round table is cancelled; %(count)s cancellation is queued.",
                    "The round table is cancelled; %(count)s cancellations are queued.",
                    count,
                )
                % {"count": count},
            )
            return redirect(reverse("secretariat_room", args=[room.slug]))
        seats = _chosen(room, request) if action == "invite_chosen" else _without_link(room)
        queued = seats_invite(room=room, seats=seats, actor=request.user)
    except ServiceError as exc:
        problem = {"form": "invite", "code": exc.code, "message": exc.message}
        return render_page(request, room, status=400, problem=problem)
    return invited(request, room, queued)


def invited(request: HttpRequest, room: RoundTable, queued: list[OutboxMessage]) -> HttpResponse:
    count = len(queued)
    messages.success(
        request,
        ngettext(
            "%(count)s invitation is queued, with a new link; the outbox shows when it is sent.",
            "%(count)s invitations are queued, each with a new link; the outbox shows when "
            "they are sent.",
            count,
        )
        % {"count": count},
    )
    return redirect(reverse("secretariat_room", args=[room.slug]) + "#seats")


def _seats(room: RoundTable):
    return Seat.objects.filter(room=room).select_related("user", "organization", "room")


def _chosen(room: RoundTable, request: HttpRequest) -> list[Seat]:
    wanted = request.POST.getlist("seats")
    seats = list(_seats(room).filter(public_id__in=wanted))
    if len(seats) != len(set(wanted)):
        raise ServiceError("not_found", _("One of the chosen seats is not in this round table."))
    return seats


def _without_link(room: RoundTable) -> list[Seat]:
    return [s for s in _seats(room).filter(token_hash__isnull=True) if mailable(s)]


def invitation_states(room: RoundTable) -> dict[int, dict]:
    """Per seat id: when the latest invitation was queued and whether it was sent or bounced
    (failed for good). An invitation is never held: one the leak guard stops is refused."""
    states: dict[int, dict] = {}
    rows = OutboxMessage.objects.filter(
        room=room, kind=OutboxMessage.Kind.INVITATION, seat__isnull=False
    ).order_by("created_at", "pk")
    for row in rows.values("seat_id", "created_at", "status"):
        states[row["seat_id"]] = {
            "at": row["created_at"],
            "bounced": row["status"] == OutboxMessage.Status.FAILED,
            "sent": row["status"] == OutboxMessage.Status.SENT,
        }
    return states
