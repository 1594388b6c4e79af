"""The secretariat's pages (staff accounts, no seat): dialogues and round tables, and the
committee registry. One round table's page is in room_views.py.

Every view passes `require_secretariat` first. Views parse a form, call one service and
answer: a redirect with a message, or the page again with the refusal (its code and a
sentence) and nothing changed.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from forum.errors import ServiceError
from forum.models import Committee, Dialogue, RoundTable, Seat
from forum.pages import refusal
from forum.secretariat.forms import (
    CommitteeForm,
    DialogueForm,
    RoomForm,
    ScheduleFields,
)
from forum.secretariat.pages import (
    error_field,
    invalid,
    refused,
    room_labels,
    secretariat_page,
)
from forum.services.committees import COMMITTEE_FIELDS, committee_save
from forum.services.rooms import (
    dialogue_get_or_create,
    room_create,
)
from forum.services.seat_rules import QUOTA_ROLES

# -- Dialogues and round tables -------------------------------------------------------------


@secretariat_page
def index(request: HttpRequest) -> HttpResponse:
    dialogue_form = DialogueForm(auto_id="dialogue-%s")
    room_form = RoomForm(auto_id="room-%s")
    problem, status = None, 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "dialogue":
            dialogue_form = DialogueForm(request.POST, auto_id="dialogue-%s")
            if not dialogue_form.is_valid():
                problem = invalid(dialogue_form, "dialogue", "invalid_title")
            else:
                try:
                    dialogue = dialogue_get_or_create(**dialogue_form.cleaned_data)
                except ServiceError as exc:
                    field = error_field(dialogue_form, exc)
                    problem = refused(dialogue_form, "dialogue", exc, field)
                else:
                    messages.success(
                        request, _("Dialogue “%(title)s” created.") % {"title": dialogue.title}
                    )
                    return redirect(reverse("secretariat") + f"#dialogue-{dialogue.slug}")
        elif action == "room":
            room_form = RoomForm(request.POST, auto_id="room-%s")
            if not room_form.is_valid():
                problem = invalid(room_form, "room")
            else:
                try:
                    room = _room_create(room_form.cleaned_data)
                except ServiceError as exc:
                    problem = refused(room_form, "room", exc, error_field(room_form, exc))
                else:
                    messages.success(
                        request, _("Round table “%(title)s” created.") % {"title": room.title}
                    )
                    return redirect("secretariat_room", slug=room.slug)
        else:
            return refusal(
                request, 400, "invalid_action", _("This form is not one of this page's.")
            )
        status = 400
    return render(
        request,
        "secretariat/index.html",
        {
            "dialogues": _dialogues_with_rooms(),
            "dialogue_form": dialogue_form,
            "room_form": room_form,
            "problem": problem,
        },
        status=status,
    )


@transaction.atomic
def _room_create(data: dict) -> RoundTable:
    dialogue = Dialogue.objects.get(slug=data["dialogue"])  # a ChoiceField of existing slugs
    room = room_create(
        dialogue=dialogue,
        slug=data["slug"],
        title=data["title"],
        rule=data["rule"],
        attribution=data["attribution"] or None,
        seats_per_sector=data["seats_per_sector"],
        k=data["k"],
        status=data["status"],
        agenda=data["agenda"] or None,
        language=data.get("language") or "en",
        **ScheduleFields.schedule_of(data),
    )
    return room


def _dialogues_with_rooms() -> list[dict]:
    """Every dialogue, its round tables, and each table's seated delegates per sector."""
    filled: dict[tuple[int, str], int] = {
        (row["room_id"], row["sector__slug"]): row["n"]
        for row in Seat.objects.filter(
            role__in=QUOTA_ROLES, removed_at__isnull=True, sector__isnull=False
        )
        .values("room_id", "sector__slug")
        .annotate(n=Count("id"))
    }
    dialogues = Dialogue.objects.order_by("title").prefetch_related(
        "sectors", "round_tables__sector_seats__sector"
    )
    out = []
    for dialogue in dialogues:
        rooms = []
        for room in dialogue.round_tables.all():
            own = {s.sector.slug: s.seats for s in room.sector_seats.all()}
            rooms.append(
                {
                    "room": room,
                    "labels": room_labels(room),
                    "sectors": [
                        {
                            "name": sector.name,
                            "filled": filled.get((room.pk, sector.slug), 0),
                            "limit": own.get(sector.slug, room.seats_per_sector),
                        }
                        for sector in dialogue.sectors.all()
                    ],
                }
            )
        out.append({"dialogue": dialogue, "rooms": rooms})
    return out


# -- The committee registry -----------------------------------------------------------------


@secretariat_page
def committees(request: HttpRequest) -> HttpResponse:
    form = CommitteeForm(request.POST or None, auto_id="committee-%s")
    problem, status = None, 200
    if request.method == "POST":
        committee = _committee_save(request, form, Committee())
        if committee is not None:
            messages.success(
                request, _("Committee “%(name)s” added to the registry.") % {"name": committee.name}
            )
            return redirect(reverse("secretariat_committees") + f"#committee-{committee.public_id}")
        problem, status = _invalid_committee(), 400
    return render(
        request,
        "secretariat/committees.html",
        {
            "committees": Committee.objects.all(),
            "form": form,
            "problem": problem,
        },
        status=status,
    )


@secretariat_page
def committee_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    committee = Committee.objects.filter(public_id=public_id).first()
    if committee is None:
        return refusal(request, 404, "not_found", _("There is no committee at this address."))
    initial = {f: getattr(committee, f) for f in COMMITTEE_FIELDS}
    form = CommitteeForm(
        request.POST or None, initial=initial, committee=committee, auto_id="committee-%s"
    )
    problem, status = None, 200
    if request.method == "POST":
        if _committee_save(request, form, committee) is not None:
            messages.success(request, _("Committee “%(name)s” saved.") % {"name": committee.name})
            return redirect(reverse("secretariat_committees") + f"#committee-{committee.public_id}")
        problem, status = _invalid_committee(), 400
        committee.refresh_from_db()  # show what is stored, not the refused values
    return render(
        request,
        "secretariat/committee.html",
        {
            "committee": committee,
            "form": form,
            "problem": problem,
        },
        status=status,
    )


def _invalid_committee() -> dict:
    return {
        "form": "committee",
        "code": "invalid_committee",
        "message": _("The committee was not saved: correct the fields marked below."),
    }


def _committee_save(
    request: HttpRequest, form: CommitteeForm, committee: Committee
) -> Committee | None:
    """The form, then the service; what the model's validation refuses goes back to the form's
    fields (None: not saved)."""
    if not form.is_valid():
        return None
    try:
        return committee_save(actor=request.user, committee=committee, data=form.cleaned_data)
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(
                None if field == NON_FIELD_ERRORS or field not in form.fields else field, errors
            )
        return None
