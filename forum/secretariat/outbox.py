"""The secretariat's outbox: every message queued, its status and attempts, one message as
it goes out, and its .eml file."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from forum.models import OutboxMessage, RoundTable
from forum.pages import refusal
from forum.secretariat.pages import secretariat_page
from forum.services.mail import email_of

PAGE_SIZE = 100


@secretariat_page(methods=("GET",))
def outbox(request: HttpRequest) -> HttpResponse:
    rows = OutboxMessage.objects.select_related("room")
    room = RoundTable.objects.filter(slug=request.GET.get("room", "")).first()
    if room is not None:
        rows = rows.filter(room=room)
    status = request.GET.get("status", "")
    if status in OutboxMessage.Status.values:
        rows = rows.filter(status=status)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "secretariat/outbox.html",
        {
            "here": "outbox",
            "page": page,
            "room": room,
            "status": status,
            "statuses": OutboxMessage.Status.choices,
        },
    )


def _message(request: HttpRequest, pk: int):
    message = OutboxMessage.objects.select_related("room", "seat").filter(pk=pk).first()
    if message is None:
        return None, refusal(request, 404, "not_found", _("There is no such message."))
    return message, None


@secretariat_page(methods=("GET",))
def outbox_message(request: HttpRequest, pk: int) -> HttpResponse:
    message, missing = _message(request, pk)
    if missing:
        return missing
    return render(
        request,
        "secretariat/outbox_message.html",
        {"here": "outbox", "message": message, "attempts": message.attempt_log.all()},
    )


@secretariat_page(methods=("GET",))
def outbox_eml(request: HttpRequest, pk: int) -> HttpResponse:
    message, missing = _message(request, pk)
    if missing:
        return missing
    data = email_of(message).message().as_bytes(linesep="\r\n")
    response = HttpResponse(data, content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="message-{message.pk}.eml"'
    return response
