"""Written contributions on the room page: what each reader sees of them (the published ones
per agenda item; a delegate's own, with their state; what waits for the moderators), the
form that sends or edits one, the moderators' decisions, and an attachment's download.

Views parse, call one service, and answer: a success goes back to the room page, a refusal
shows the form again with the error and what was typed."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from forum.attachments import MAX_BYTES, place_label
from forum.errors import ServiceError
from forum.minutes.phrases import sector_name
from forum.models import Contribution, RoundTable, Seat
from forum.pages import refusal, seat_holder_page, service_refusal
from forum.services import contributions as service
from forum.services.contribution_windows import local_text, window_for, window_state
from moderation.attribution import in_reader_language
from moderation.disclosure import attribution_for, reader_of
from moderation.permissions import Action, allowed


def _label(room: RoundTable, seat: Seat, contribution: Contribution, names: dict) -> str:
    shown = attribution_for(room, reader_of(seat.role), contribution.attribution)
    return in_reader_language(shown or {}, names)


def _reads(room: RoundTable, seat: Seat) -> bool:
    # An observer of a Chatham House room reads nothing of the room before accepting the rule.
    return not (
        room.is_chatham_house and seat.role == Seat.Role.OBSERVER and seat.consented_at is None
    )


def contributions_context(room: RoundTable, seat: Seat) -> dict:
    """The room page's part on written contributions, for `seat`."""
    names = {s.slug: sector_name(s.name) for s in room.dialogue.sectors.all()}
    rows = list(
        Contribution.objects.filter(room=room)
        .defer("attachment")
        .select_related("agenda_item")
        .order_by("published_at", "submitted_at", "pk")
    )
    now = timezone.now()
    items = []
    for item in room.agenda_items.order_by("position"):
        window = window_for(room, item)
        mine = [
            c
            for c in rows
            if c.agenda_item_id == item.pk and c.status == Contribution.Status.PUBLISHED
        ]
        # Numbered as the minutes' annex numbers them (forum/minutes/annex.py).
        published = [
            {"row": c, "label": _label(room, seat, c, names), "number": f"{item.position}.{n}"}
            for n, c in enumerate(mine, start=1)
        ]
        items.append(
            {
                "item": item,
                "state": window_state(window, now),
                "window": window,
                "opens": local_text(room, window.opens_at) if window and window.opens_at else "",
                "deadline": local_text(room, window.closes_at) if window else "",
                "published": published if _reads(room, seat) else [],
            }
        )
    moderating = allowed(seat.role, Action.MODERATE_CONTRIBUTIONS)
    pending = [
        {
            "row": c,
            "label": _label(room, seat, c, names),
            "mentions": [
                {**m, "where_label": place_label(m["where"], m["place"], m["number"])}
                for m in c.mentions
            ],
        }
        for c in rows
        if moderating and c.status == Contribution.Status.HELD
    ]
    return {
        "items": items,
        "may_contribute": allowed(seat.role, Action.CONTRIBUTE),
        "open_items": [i["item"] for i in items if i["state"] == "open"],
        "mine": [c for c in rows if c.seat_id == seat.pk] if seat.pk else [],
        "pending": pending,
        "max_mib": MAX_BYTES // (1024 * 1024),
    }


def _upload(request: HttpRequest) -> bytes | None:
    upload = request.FILES.get("attachment")
    if upload is None:
        return None
    service.check_attachment_size(upload.size)  # before it is read into memory
    return upload.read()


def _form_page(request, room, seat, exc: ServiceError, contribution=None) -> HttpResponse:
    return render(
        request,
        "room/contribution_form.html",
        {
            "room": room,
            "contribution": contribution,
            "error": exc,
            "code": exc.code,
            "message": exc.message,
            "values": request.POST,
            "open_items": contributions_context(room, seat)["open_items"],
            "max_mib": MAX_BYTES // (1024 * 1024),
        },
        status=403 if exc.code == "forbidden" else 400,
    )


# What the author is told, whatever the leak check found (as for a held intervention).
WAITS = gettext_noop(
    "Your contribution waits for the moderators, who may publish it, ask you for changes or "
    "decline it."
)
MODERATOR_STEPS = {
    "publish": lambda seat, cid, post: service.contribution_publish(
        actor_seat_id=seat.pk,
        contribution_id=cid,
        not_a_participant=post.get("not_a_participant") or None,
        without_attachment=post.get("without_attachment") == "on",
    ),
    "return": lambda seat, cid, post: service.contribution_request_changes(
        actor_seat_id=seat.pk, contribution_id=cid, note=post.get("note", "")
    ),
    "decline": lambda seat, cid, post: service.contribution_decline(
        actor_seat_id=seat.pk, contribution_id=cid, reason=post.get("reason", "")
    ),
}


@seat_holder_page(methods=("POST",))
def contribution_send(request: HttpRequest, room, seat) -> HttpResponse:
    """POST /rooms/<slug>/contributions/: a delegate sends a contribution (multipart)."""
    try:
        service.contribution_submit(
            seat_id=seat.pk,
            agenda_item=request.POST.get("agenda_item", ""),
            body=request.POST.get("body", ""),
            summary=request.POST.get("summary", ""),
            attachment=_upload(request),
        )
    except ServiceError as exc:
        return _form_page(request, room, seat, exc)
    messages.success(request, _(WAITS))
    return redirect(reverse("room", args=[room.slug]) + "#contributions")


@seat_holder_page(methods=("GET", "POST"))
def contribution_edit(request: HttpRequest, room, seat, public_id: str) -> HttpResponse:
    """GET shows one's own returned contribution with the moderators' note; POST sends it
    again. Moderators POST their decision here (`step`: publish, return, decline)."""
    step = request.POST.get("step", "")
    if request.method == "POST" and step in MODERATOR_STEPS:
        try:
            MODERATOR_STEPS[step](seat, public_id, request.POST)
        except ServiceError as exc:
            return service_refusal(request, exc)
        return redirect(reverse("room", args=[room.slug]) + "#contributions")
    mine = Contribution.objects.filter(room=room, seat_id=seat.pk, public_id=public_id).first()
    if mine is None:
        return refusal(request, 404, "not_found", _("You have sent no such contribution."))
    if request.method == "POST":
        try:
            service.contribution_resubmit(
                seat_id=seat.pk,
                contribution_id=public_id,
                body=request.POST.get("body", ""),
                summary=request.POST.get("summary", ""),
                attachment=_upload(request),
                remove_attachment=request.POST.get("remove_attachment") == "on",
            )
        except ServiceError as exc:
            return _form_page(request, room, seat, exc, mine)
        messages.success(request, _(WAITS))
        return redirect(reverse("room", args=[room.slug]) + "#contributions")
    values = {"body": mine.body_md, "summary": mine.summary_md}
    return render(
        request,
        "room/contribution_form.html",
        {"room": room, "contribution": mine, "values": values, "max_mib": MAX_BYTES >> 20},
    )


@seat_holder_page
def contribution_attachment(request: HttpRequest, room, seat, public_id: str) -> HttpResponse:
    """A contribution's attachment: published ones for every reader of the room, any for its
    author and the moderators."""
    row = Contribution.objects.filter(room=room, public_id=public_id).first()
    readable = (
        row is not None
        and row.attachment_kind
        and (
            (
                row.status == Contribution.Status.PUBLISHED
                and row.has_attachment
                and _reads(room, seat)
            )
            or (seat.pk and row.seat_id == seat.pk)
            or allowed(seat.role, Action.MODERATE_CONTRIBUTIONS)
        )
    )
    if not readable:
        return refusal(request, 404, "not_found", _("There is no such attachment here."))
    content_type = {
        "pdf": "application/pdf",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    }[row.attachment_kind]
    response = HttpResponse(bytes(row.attachment), content_type=content_type)
    # Its own name, never the one it was sent with (a file name may name its writer).
    name = f"contribution-{row.agenda_item.position}-{row.public_id}.{row.attachment_kind}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
