"""The secretariat's page of one round table: its status, seats per sector, join links, the
participant import, and its audit log.

A new join link and the links of an import exist only in the response that creates them
(the database keeps their hashes), so they are rendered there, never stored in a session
or a message."""

from __future__ import annotations

import csv
import hashlib
import io

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from forum.errors import ServiceError
from forum.minutes.when import room_zone
from forum.models import RoundTable, Seat, SectorSeats
from forum.pages import refusal
from forum.secretariat.agenda import (
    AGENDA_ACTIONS,
    SCREEN_ACTIONS,
    agenda_post,
    screen_card,
    screen_post,
    without_screen,
)
from forum.secretariat.forms import (
    LABELS,
    ImportForm,
    ScheduleFields,
    ScheduleForm,
    SectorSeatsForm,
)
from forum.secretariat.invitations import ACTIONS as INVITE_ACTIONS
from forum.secretariat.invitations import invitation_states, invite_post, invited
from forum.secretariat.pages import (
    ROLE_ORDER,
    error_field,
    invalid,
    refused,
    room_labels,
    secretariat_page,
)
from forum.secretariat.retention import ACTIONS as RETENTION_ACTIONS
from forum.secretariat.retention import retention_card, retention_post
from forum.services.invitations import seats_invite
from forum.services.participants import COLUMNS, ImportRefused, participants_import
from forum.services.rooms import (
    room_set_sector_seats,
    room_set_status,
)
from forum.services.schedule import room_set_schedule
from forum.services.seat_rules import QUOTA_ROLES
from forum.services.seats import join_url, seat_link_issue, seat_link_revoke, seat_set_presence
from moderation.audit import audit_entries, audit_verify


def _room_or_404(request: HttpRequest, slug: str):
    room = RoundTable.objects.select_related("dialogue", "current_item").filter(slug=slug).first()
    if room is None:
        return None, refusal(
            request, 404, "not_found", _("There is no round table at this address.")
        )
    return room, None


@secretariat_page
def room_detail(request: HttpRequest, slug: str) -> HttpResponse:
    room, missing = _room_or_404(request, slug)
    if missing:
        return missing
    if request.method == "GET":
        return _render_room(request, room)
    action = request.POST.get("action", "")
    if action in ("open", "close"):
        status = RoundTable.Status.LIVE if action == "open" else RoundTable.Status.CLOSED
        try:
            room_set_status(room=room, status=status)
        except ServiceError as exc:
            return refusal(request, 409, exc.code, exc.message)
        messages.success(
            request,
            _("The round table is open: it is live.")
            if action == "open"
            else _("The round table is closed."),
        )
        return redirect("secretariat_room", slug=room.slug)
    if action in ("issue", "resend", "revoke"):
        return _seat_link_action(request, room, action)
    if action == "import":
        return _import(request, room)
    if action == "sector_seats":
        return _sector_seats(request, room)
    if action == "schedule":
        return _schedule(request, room)
    if action == "presence":
        return _presence(request, room)
    if action in INVITE_ACTIONS:
        return invite_post(request, room, action, render_page=_render_room)
    if action in RETENTION_ACTIONS:
        return retention_post(request, room, action, render=_render_room)
    if action in AGENDA_ACTIONS:
        return agenda_post(request, room, action, render_page=_render_room)
    if action in SCREEN_ACTIONS:
        return screen_post(request, room, action)
    return refusal(request, 400, "invalid_action", _("This form is not one of this page's."))


def _schedule(request: HttpRequest, room: RoundTable) -> HttpResponse:
    form = ScheduleForm(request.POST, auto_id="schedule-%s")
    if not form.is_valid():
        return _render_room(
            request, room, status=400, problem=invalid(form, "schedule"), schedule_form=form
        )
    try:
        changed = room_set_schedule(
            room=room, actor=request.user, **ScheduleFields.schedule_of(form.cleaned_data)
        )
    except ServiceError as exc:
        problem = refused(form, "schedule", exc, error_field(form, exc))
        return _render_room(request, room, status=400, problem=problem, schedule_form=form)
    messages.success(
        request, _("The date and place are saved.") if changed else _("Nothing changed.")
    )
    return redirect(reverse("secretariat_room", args=[room.slug]) + "#schedule")


def _schedule_form(room: RoundTable) -> ScheduleForm:
    zone = room_zone(room)
    local = {
        name: getattr(room, name) and getattr(room, name).astimezone(zone).replace(tzinfo=None)
        for name in ("starts_at", "ends_at")
    }
    return ScheduleForm(
        initial={**local, "time_zone": room.time_zone, "place": room.place, "online": room.online},
        auto_id="schedule-%s",
    )


def _presence(request: HttpRequest, room: RoundTable) -> HttpResponse:
    seat = (
        Seat.objects.select_related("user")
        .filter(room=room, public_id=request.POST.get("seat", ""))
        .first()
    )
    if seat is None:
        return refusal(request, 404, "not_found", _("There is no such seat in this round table."))
    try:
        seat_set_presence(seat=seat, presence=request.POST.get("presence", ""), actor=request.user)
    except ServiceError as exc:
        return refusal(request, 400, exc.code, exc.message)
    messages.success(
        request,
        _("%(name)s is marked as attending in the room.") % {"name": seat.user}
        if seat.presence == Seat.Presence.IN_ROOM
        else _("%(name)s is marked as attending online.") % {"name": seat.user},
    )
    return redirect(reverse("secretariat_room", args=[room.slug]) + "#seats")


def _render_room(
    request,
    room,
    *,
    status=200,
    problem=None,
    import_form=None,
    seats_form=None,
    retention=None,
    schedule_form=None,
) -> HttpResponse:
    seats = sorted(
        without_screen(
            Seat.objects.filter(room=room).select_related("user", "sector", "organization")
        ),
        key=lambda s: (
            ROLE_ORDER.get(s.role, 99),
            s.sector.position if s.sector else -1,
            str(s.user).lower(),
        ),
    )
    sectors = _sectors(room, seats)
    invitations = invitation_states(room)
    return render(
        request,
        "secretariat/room.html",
        {
            "room": room,
            "labels": room_labels(room),
            "agenda": room.agenda_items.order_by("position"),
            "sectors": sectors,
            "seats_form": seats_form or _seats_form(room, sectors),
            "seats": [
                {
                    "seat": s,
                    "role": LABELS["role"].get(s.role, s.role),
                    "state": _link_state(s),
                    "fingerprint": link_fingerprint(s),
                    "invitation": invitations.get(s.pk),
                }
                for s in seats
            ],
            "import_form": import_form or ImportForm(auto_id="import-%s"),
            "retention": retention or retention_card(room),
            "schedule_form": schedule_form or _schedule_form(room),
            "screen": screen_card(room),
            "problem": problem,
        },
        status=status,
    )


def _sectors(room: RoundTable, seats) -> list[dict]:
    """Per sector of the dialogue: seated delegates, the sector's own number of seats (None:
    the room's seats_per_sector) and the limit that applies."""
    own = dict(SectorSeats.objects.filter(room=room).values_list("sector_id", "seats"))
    filled: dict[int, int] = {}
    for seat in seats:
        if seat.role in QUOTA_ROLES and seat.removed_at is None and seat.sector_id:
            filled[seat.sector_id] = filled.get(seat.sector_id, 0) + 1
    return [
        {
            "sector": s,
            "filled": filled.get(s.pk, 0),
            "own": own.get(s.pk),
            "limit": own.get(s.pk, room.seats_per_sector),
        }
        for s in room.dialogue.sectors.all()
    ]


def _seats_form(room: RoundTable, sectors: list[dict], data=None) -> SectorSeatsForm:
    return SectorSeatsForm(
        data, sectors=sectors, default=room.seats_per_sector, auto_id="sector-seats-%s"
    )


def _sector_seats(request: HttpRequest, room: RoundTable) -> HttpResponse:
    seats = Seat.objects.filter(room=room).only("role", "removed_at", "sector_id")
    sectors = _sectors(room, seats)
    form = _seats_form(room, sectors, request.POST)
    if not form.is_valid():
        problem = invalid(form, "sector_seats", "invalid_seats")
        return _render_room(request, room, status=400, problem=problem, seats_form=form)
    by_name = {form.field_name(s["sector"]): s["sector"] for s in sectors}
    try:
        changes = room_set_sector_seats(
            room=room,
            seats={sector.pk: form.cleaned_data[name] for name, sector in by_name.items()},
            actor=request.user,
        )
    except ServiceError as exc:
        field = f"seats-{exc.extra['sector']}" if "sector" in exc.extra else None
        problem = refused(form, "sector_seats", exc, field if field in form.fields else None)
        status = 409 if exc.code == "seats_below_held" else 400
        return _render_room(request, room, status=status, problem=problem, seats_form=form)
    messages.success(
        request,
        _("Seats per sector saved.")
        if changes
        else _("The seats per sector were already these: nothing changed."),
    )
    return redirect(reverse("secretariat_room", args=[room.slug]) + "#sectors")


def _link_state(seat: Seat) -> str:
    if seat.identity_erased_at:
        return "erased"
    if seat.removed_at:
        return "removed"
    if not seat.token_hash:
        return "none"
    return "revoked" if seat.token_revoked_at else "active"


def link_fingerprint(seat: Seat) -> str:
    """Names the seat's link as the page showed it: a form sent twice (a reload after
    "issue a new link") finds a different one and changes nothing, so the link just shown
    is not silently replaced."""
    state = f"{seat.token_hash}:{seat.token_revoked_at and seat.token_revoked_at.isoformat()}"
    return hashlib.sha256(state.encode()).hexdigest()[:16]


def _seat_link_action(request: HttpRequest, room: RoundTable, action: str) -> HttpResponse:
    seat = (
        Seat.objects.select_related("user", "room")
        .filter(room=room, public_id=request.POST.get("seat", ""))
        .first()
    )
    if seat is None:
        return refusal(request, 404, "not_found", _("There is no such seat in this round table."))
    if request.POST.get("link") != link_fingerprint(seat):
        problem = {
            "form": "seats",
            "code": "stale_link",
            "message": _(
                "The link of %(name)s changed since this page was shown "
                "(was the form sent twice?). "
                "Nothing was changed; check the table below and try again."
            )
            % {"name": seat.user},
        }
        return _render_room(request, room, status=409, problem=problem)
    if seat.removed_at:
        problem = {
            "form": "seats",
            "code": "forbidden",
            "message": _(
                "A moderator removed %(name)s from this round table: a link would not open it."
            )
            % {"name": seat.user},
        }
        return _render_room(request, room, status=409, problem=problem)
    if action == "revoke":
        seat_link_revoke(seat=seat, actor=request.user)
        messages.success(
            request,
            _("The link of %(name)s is revoked; it no longer opens the round table.")
            % {"name": seat.user},
        )
        return redirect(reverse("secretariat_room", args=[room.slug]) + "#seats")
    if action == "resend":
        # The invitation again, by e-mail, with a new link (the old one stops working).
        try:
            queued = seats_invite(room=room, seats=[seat], actor=request.user)
        except ServiceError as exc:
            problem = {"form": "seats", "code": exc.code, "message": exc.message}
            return _render_room(request, room, status=409, problem=problem)
        return invited(request, room, queued)
    url = join_url(seat_link_issue(seat=seat, actor=request.user))
    return render(
        request,
        "secretariat/link.html",
        {
            "room": room,
            "seat": seat,
            "url": url,
            "strings": copy_strings(),
        },
    )


def copy_strings() -> dict[str, str]:
    return {
        "copied": _("Copied."),
        "copy_failed": _("Could not copy: the text is selected, press Ctrl+C (or ⌘+C) to copy it."),
    }


def _import(request: HttpRequest, room: RoundTable) -> HttpResponse:
    form = ImportForm(request.POST, request.FILES, auto_id="import-%s")
    if not form.is_valid():
        problem = {
            "form": "import",
            "code": "import_refused",
            "message": _("Nothing was imported: the file could not be read."),
        }
        return _render_room(request, room, status=400, problem=problem, import_form=form)
    try:
        results = participants_import(
            room=room,
            text=form.cleaned_data["file"],
            actor=request.user,
            via="csv_import",
            reissue_links=form.cleaned_data["reissue_links"],
        )
    except ImportRefused as exc:
        form.add_error("file", exc.problems)
        problem = {
            "form": "import",
            "code": exc.code,
            "message": _(
                "Nothing was imported. Fix the rows listed under the file field "
                "and upload the file again."
            ),
        }
        return _render_room(request, room, status=400, problem=problem, import_form=form)
    except ServiceError as exc:
        problem = refused(form, "import", exc, "file")
        return _render_room(request, room, status=400, problem=problem, import_form=form)
    return render(
        request,
        "secretariat/imported.html",
        {
            "room": room,
            "results": [
                {"row": r, "role": LABELS["role"].get(r.role, r.role), "copy_id": f"link-{i}"}
                for i, r in enumerate(results)
            ],
            "created": sum(r.created for r in results),
            "kept": sum(1 for r in results if not r.join_url),
            "csv": links_csv(results),
            "strings": copy_strings(),
        },
    )


# Made-up people (never real ones), in the two sectors every default dialogue has.
TEMPLATE_ROWS = (
    (
        "Ana Pereira",
        "ana.pereira@example.org",
        "Coastal Peace Network",
        "civil-society",
        "delegate",
    ),
    (
        "Tomás Ruiz",
        "tomas.ruiz@example.org",
        "Ministry of Foreign Affairs",
        "government",
        "delegate",
    ),
)


@secretariat_page(methods=("GET",))
def participants_template(request: HttpRequest, slug: str) -> HttpResponse:
    """The import's template: the header and two example rows, in the room's own sectors
    (UTF-8 with a byte order mark, so that spreadsheets open the accents right)."""
    room, missing = _room_or_404(request, slug)
    if missing:
        return missing
    sectors = list(
        room.dialogue.sectors.order_by("position", "slug").values_list("slug", flat=True)
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for number, row in enumerate(TEMPLATE_ROWS):
        sector = row[3] if row[3] in sectors or not sectors else sectors[number % len(sectors)]
        writer.writerow([*row[:3], sector, row[4]])
    response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="participants-{room.slug}.csv"'
    return response


def links_csv(results) -> str:
    """name,email,role,join_url: the same rows as `manage.py import_participants`."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "email", "role", "join_url"])
    for r in results:
        writer.writerow([r.name, r.email, r.role, r.join_url])
    return out.getvalue()


@secretariat_page(methods=("GET",))
def room_audit(request: HttpRequest, slug: str) -> HttpResponse:
    """The room's audit log, read-only, with the verification of its hash chain."""
    room, missing = _room_or_404(request, slug)
    if missing:
        return missing
    return render(
        request,
        "secretariat/audit.html",
        {
            "room": room,
            "entries": audit_entries(room),
            "report": audit_verify(room),
        },
    )
