"""The secretariat's room page, its "Retention and erasure" card: how long the round table
keeps who held its seats, and erasing one person's identity at their request.

forum/secretariat/room_views.py dispatches the two actions here (`retention`, `erase_identity`) and
renders the card with `retention_card`. Each action parses its form, calls one service
(forum/services/retention.py) and answers: a redirect with a message, or the page again with
the refusal and nothing changed.
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from forum.errors import ServiceError
from forum.models import RoundTable, Seat
from forum.secretariat.forms import LABELS, Form
from forum.services.retention import (
    MAX_RETENTION_DAYS,
    adopted_at,
    purge_due_at,
    room_set_retention,
    seat_erase_identity,
)

ACTIONS = ("retention", "erase_identity")


class RetentionForm(Form):
    retention_days = forms.IntegerField(
        label=gettext_lazy("Days kept after the minutes are adopted"),
        widget=forms.NumberInput(attrs={"min": 0, "max": MAX_RETENTION_DAYS}),
        help_text=gettext_lazy(
            "Then the names, e-mail addresses and organizations of this round table's seats are "
            "erased. 0 keeps them."
        ),
    )


class EraseForm(Form):
    seat = forms.ChoiceField(label=gettext_lazy("Whose identity"))
    reason = forms.CharField(
        label=gettext_lazy("Note for the audit log (optional)"),
        required=False,
        max_length=1000,
        help_text=gettext_lazy(
            "For example the date of the request. Do not write the person's name."
        ),
    )
    confirm = forms.BooleanField(
        label=gettext_lazy("I understand that this cannot be undone."),
    )

    def __init__(self, *args, room: RoundTable, **kwargs):
        super().__init__(*args, **kwargs)
        seats = room.seats.filter(identity_erased_at__isnull=True).select_related("user", "sector")
        self.fields["seat"].choices = [("", "—")] + sorted(
            ((seat.public_id, _seat_choice(seat)) for seat in seats),
            key=lambda choice: choice[1].lower(),
        )


def _seat_choice(seat: Seat) -> str:
    role = LABELS["role"].get(seat.role, seat.role)
    where = f"{role}, {seat.sector.name}" if seat.sector_id else str(role)
    return f"{seat.user} <{seat.user.email}> ({where})"


def retention_card(room: RoundTable, *, days_form=None, erase_form=None) -> dict:
    """What the card shows: the period, where the round table stands, and the two forms."""
    return {
        "days_form": days_form
        or RetentionForm(initial={"retention_days": room.retention_days}, auto_id="retention-%s"),
        "erase_form": erase_form or EraseForm(room=room, auto_id="erase-%s"),
        "adopted_at": adopted_at(room),
        "due_at": purge_due_at(room),
        "purged_at": room.identities_purged_at,
        "erased": room.seats.filter(identity_erased_at__isnull=False).count(),
    }


def retention_post(
    request: HttpRequest, room: RoundTable, action: str, *, render: Callable[..., HttpResponse]
) -> HttpResponse:
    """`render(request, room, status=, problem=, retention=)`: the room page again."""
    if action == "retention":
        return _retention(request, room, render)
    return _erase(request, room, render)


def _back(room: RoundTable) -> HttpResponse:
    return redirect(reverse("secretariat_room", args=[room.slug]) + "#retention")


def _retention(request, room, render) -> HttpResponse:
    form = RetentionForm(request.POST, auto_id="retention-%s")
    if form.is_valid():
        try:
            changed = room_set_retention(
                room=room, days=form.cleaned_data["retention_days"], actor=request.user
            )
        except ServiceError as exc:
            form.add_error("retention_days", f"{exc.message} ({exc.code})")
            problem = {"form": "retention", "code": exc.code, "message": exc.message}
        else:
            messages.success(
                request,
                _("The retention period is saved.")
                if changed
                else _("The retention period was already this: nothing changed."),
            )
            return _back(room)
    else:
        problem = {
            "form": "retention",
            "code": "invalid_retention",
            "message": _("Nothing was changed: give a whole number of days from 0 to %(max)s.")
            % {"max": MAX_RETENTION_DAYS},
        }
    return render(
        request, room, status=400, problem=problem, retention=retention_card(room, days_form=form)
    )


def _erase(request, room, render) -> HttpResponse:
    form = EraseForm(request.POST, room=room, auto_id="erase-%s")
    status, problem = 400, None
    if not form.is_valid():
        problem = {
            "form": "erase",
            "code": "invalid_form",
            "message": _("Nothing was erased: correct the fields marked below."),
        }
    else:
        seat = room.seats.get(public_id=form.cleaned_data["seat"])
        try:
            seat_erase_identity(seat=seat, actor=request.user, reason=form.cleaned_data["reason"])
        except ServiceError as exc:
            form.add_error(
                "reason" if exc.extra.get("field") == "reason" else None,
                f"{exc.message} ({exc.code})",
            )
            problem = {"form": "erase", "code": exc.code, "message": exc.message}
            status = 409 if exc.code == "already_erased" else 400
        else:
            messages.success(
                request,
                _(
                    "The identity is erased: the seat keeps its pseudonym and sector, "
                    "and the person's "
                    "name, e-mail address and organization are gone from this round table."
                ),
            )
            return _back(room)
    return render(
        request,
        room,
        status=status,
        problem=problem,
        retention=retention_card(room, erase_form=form),
    )
