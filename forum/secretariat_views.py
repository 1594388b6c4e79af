"""The secretariat's pages (staff accounts, no seat): dialogues and round tables, seats and
join links, participant import, the committee registry and a room's audit log.

Every view passes `require_secretariat` first. Views parse a form, call one service and
answer: a redirect with a message, or the page again with the refusal (its code and a
sentence) and nothing changed. Two answers are not redirects: a new join link and the
links of an import exist only in the response that creates them (the database keeps their
hashes), so they are rendered there, never stored in a session or a message.
"""

from __future__ import annotations

import csv
import hashlib
import io
from functools import wraps
from urllib.parse import quote

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from forum.errors import ServiceError
from forum.minutes import room_zone
from forum.models import Committee, Dialogue, RoundTable, Seat, SectorSeats
from forum.secretariat_agenda import (
    AGENDA_ACTIONS,
    SCREEN_ACTIONS,
    agenda_post,
    screen_card,
    screen_post,
    without_screen,
)
from forum.secretariat_forms import (
    LABELS,
    CommitteeForm,
    DialogueForm,
    ImportForm,
    RoomForm,
    ScheduleFields,
    ScheduleForm,
    SectorSeatsForm,
)
from forum.secretariat_retention import ACTIONS as RETENTION_ACTIONS
from forum.secretariat_retention import retention_card, retention_post
from forum.services.participants import COLUMNS, ImportRefused, participants_import
from forum.services.rooms import (
    dialogue_get_or_create,
    room_create,
    room_set_sector_seats,
    room_set_status,
)
from forum.services.schedule import room_set_schedule
from forum.services.seats import (
    QUOTA_ROLES,
    join_url,
    seat_link_issue,
    seat_link_revoke,
    seat_set_presence,
)
from forum.services.submissions import require_secretariat
from forum.views import refusal
from moderation.audit import audit_entries, audit_verify

ROLE_ORDER = {role: i for i, role in enumerate(Seat.Role.values)}

# A form field and the service's code for a bad value in it, both ways.
FIELD_CODES = {
    "slug": "invalid_slug",
    "title": "invalid_title",
    "rule": "invalid_rule",
    "attribution": "invalid_attribution",
    "seats_per_sector": "invalid_seats",
    "k": "invalid_k",
    "status": "invalid_status",
    "agenda": "invalid_agenda_item",
    "dialogue": "not_found",
    "convener": "invalid_convener",
    "time_zone": "invalid_time_zone",
    "place": "invalid_place",
    "starts_at": "invalid_date",
}
ROOM_ERROR_FIELDS = {code: field for field, code in FIELD_CODES.items()} | {"slug_taken": "slug"}


def room_labels(room: RoundTable) -> dict:
    """The room's status, rule and attribution in the reader's language, and the language of
    its minutes by its own name."""
    labels = {
        kind: LABELS[kind].get(getattr(room, kind), getattr(room, kind))
        for kind in ("status", "rule", "attribution")
    }
    labels["language"] = dict(settings.LANGUAGES).get(room.language, room.language)
    return labels


def secretariat_page(view=None, *, methods: tuple[str, ...] = ("GET", "POST")):
    """A staff-only page: `view(request, **kwargs)`, or the 403 page for everyone else
    (anonymous included: a refusal, not a redirect to a sign-in page)."""
    if view is None:
        return lambda v: secretariat_page(v, methods=methods)

    @never_cache
    @require_http_methods(list(methods))
    @wraps(view)
    def wrapper(request: HttpRequest, **kwargs) -> HttpResponse:
        try:
            require_secretariat(request.user)
        except ServiceError as exc:
            return refusal(
                request, 403, exc.code, _("Only the secretariat (staff accounts) uses these pages.")
            )
        return view(request, **kwargs)

    return wrapper


def refused(form: forms.Form, name: str, exc: ServiceError, field: str | None = None) -> dict:
    """Attach a service's refusal to `form` (to `field`, tied to it by aria-describedby)
    and return the summary the page shows above the form called `name`."""
    form.add_error(field, f"{exc.message} ({exc.code})")
    return {"form": name, "code": exc.code, "message": exc.message}


def invalid(form: forms.Form, name: str, default: str = "invalid_form") -> dict:
    """The summary of a form that did not parse: the code of its first field in error."""
    code = default
    for field, errors in form.errors.as_data().items():
        ours = [e.code for e in errors if e.code in ("slug_taken", "import_refused")]
        code = ours[0] if ours else FIELD_CODES.get(field, default)
        break
    return {
        "form": name,
        "code": code,
        "message": _("Nothing was changed: correct the fields marked below."),
    }




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
            if dialogue_form.is_valid():
                dialogue = dialogue_get_or_create(**dialogue_form.cleaned_data)
                messages.success(
                    request, _("Dialogue “%(title)s” created.") % {"title": dialogue.title}
                )
                return redirect(reverse("secretariat") + f"#dialogue-{dialogue.slug}")
            problem = invalid(dialogue_form, "dialogue", "invalid_title")
        elif action == "room":
            room_form = RoomForm(request.POST, auto_id="room-%s")
            if not room_form.is_valid():
                problem = invalid(room_form, "room")
            else:
                try:
                    room = _room_create(room_form.cleaned_data)
                except ServiceError as exc:
                    problem = refused(room_form, "room", exc, _error_field(room_form, exc))
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


def _error_field(form: forms.Form, exc: ServiceError) -> str | None:
    """The form field a service's refusal is about (None: the form as a whole)."""
    field = exc.extra.get("field")
    if field in form.fields:
        return field
    return ROOM_ERROR_FIELDS.get(exc.code) if ROOM_ERROR_FIELDS.get(exc.code) in form.fields else None


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


# -- One round table: status, seats, links, import ------------------------------------------


def _room_or_404(request: HttpRequest, slug: str):
    room = RoundTable.objects.select_related("dialogue", "current_item").filter(slug=slug).first()
    if room is None:
        return None, refusal(
            request, 404, "not_found", _("There is no round table at this address.")
        )
    return room, None


@secretariat_page
def room_page(request: HttpRequest, slug: str) -> HttpResponse:
    room, missing = _room_or_404(request, slug)
    if missing:
        return missing
    if request.method == "GET":
        return _render_room(request, room)
    action = request.POST.get("action", "")
    if action in ("open", "close"):
        status = RoundTable.Status.LIVE if action == "open" else RoundTable.Status.CLOSED
        room_set_status(room=room, status=status)
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
        return _render_room(request, room, status=400, problem=invalid(form, "schedule"), schedule_form=form)
    try:
        changed = room_set_schedule(room=room, actor=request.user, **ScheduleFields.schedule_of(form.cleaned_data))
    except ServiceError as exc:
        problem = refused(form, "schedule", exc, _error_field(form, exc))
        return _render_room(request, room, status=400, problem=problem, schedule_form=form)
    messages.success(request, _("The date and place are saved.") if changed else _("Nothing changed."))
    return redirect(reverse("secretariat_room", args=[room.slug]) + "#schedule")


def _schedule_form(room: RoundTable) -> ScheduleForm:
    zone = room_zone(room)
    local = {name: getattr(room, name) and getattr(room, name).astimezone(zone).replace(tzinfo=None)
             for name in ("starts_at", "ends_at")}
    return ScheduleForm(
        initial={**local, "time_zone": room.time_zone, "place": room.place, "online": room.online},
        auto_id="schedule-%s",
    )


def _presence(request: HttpRequest, room: RoundTable) -> HttpResponse:
    seat = Seat.objects.select_related("user").filter(room=room, public_id=request.POST.get("seat", "")).first()
    if seat is None:
        return refusal(request, 404, "not_found", _("There is no such seat in this round table."))
    try:
        seat_set_presence(seat=seat, presence=request.POST.get("presence", ""), actor=request.user)
    except ServiceError as exc:
        return refusal(request, 400, exc.code, exc.message)
    messages.success(request, _("%(name)s is marked as attending in the room.") % {"name": seat.user}
                     if seat.presence == Seat.Presence.IN_ROOM
                     else _("%(name)s is marked as attending online.") % {"name": seat.user})
    return redirect(reverse("secretariat_room", args=[room.slug]) + "#seats")


def _render_room(
    request, room, *, status=200, problem=None, import_form=None, seats_form=None, retention=None,
    schedule_form=None,
) -> HttpResponse:
    seats = sorted(
        without_screen(Seat.objects.filter(room=room).select_related("user", "sector", "organization")),
        key=lambda s: (
            ROLE_ORDER.get(s.role, 99),
            s.sector.position if s.sector else -1,
            str(s.user).lower(),
        ),
    )
    sectors = _sectors(room, seats)
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
    url = join_url(seat_link_issue(seat=seat, actor=request.user, resend=action == "resend"))
    return render(
        request,
        "secretariat/link.html",
        {
            "room": room,
            "seat": seat,
            "url": url,
            "resend": action == "resend",
            "mailto": _mailto(seat, room, url) if action == "resend" else "",
            "strings": copy_strings(),
        },
    )


def _mailto(seat: Seat, room: RoundTable, url: str) -> str:
    names = {"name": seat.user, "title": room.title, "url": url}
    subject = _("Your personal link to the round table “%(title)s”") % names
    body = (
        _(
            "Dear %(name)s,\n\n"
            "Here is your personal link to the round table “%(title)s”:\n\n%(url)s\n\n"
            "It signs you in: please do not share it. "
            "Any link you received before no longer works.\n\n"
            "The secretariat"
        )
        % names
    )
    # RFC 6068: percent-encoding, with spaces as %20 (not +) and line breaks as %0D%0A.
    body = body.replace("\n", "\r\n")
    address = quote(seat.user.email, safe="@")
    return f"mailto:{address}?subject={quote(subject, safe='')}&body={quote(body, safe='')}"


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
    ("Ana Pereira", "ana.pereira@example.org", "Coastal Peace Network", "civil-society", "delegate"),
    ("Tomás Ruiz", "tomas.ruiz@example.org", "Ministry of Foreign Affairs", "government", "delegate"),
)


@secretariat_page(methods=("GET",))
def participants_template(request: HttpRequest, slug: str) -> HttpResponse:
    """The import's template: the header and two example rows, in the room's own sectors
    (UTF-8 with a byte order mark, so that spreadsheets open the accents right)."""
    room, missing = _room_or_404(request, slug)
    if missing:
        return missing
    sectors = list(room.dialogue.sectors.order_by("position", "slug").values_list("slug", flat=True))
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


# -- The committee registry -----------------------------------------------------------------


@secretariat_page
def committees(request: HttpRequest) -> HttpResponse:
    form = CommitteeForm(request.POST or None, auto_id="committee-%s")
    problem, status = None, 200
    if request.method == "POST":
        committee = _committee_save(form, Committee())
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
    initial = {
        f: getattr(committee, f)
        for f in ("name", "rigo", "working_languages", "address", "accepts", "webhook_url")
    }
    form = CommitteeForm(
        request.POST or None, initial=initial, committee=committee, auto_id="committee-%s"
    )
    problem, status = None, 200
    if request.method == "POST":
        if _committee_save(form, committee) is not None:
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


def _committee_save(form: CommitteeForm, committee: Committee) -> Committee | None:
    """Apply the form to `committee` and save it if the model's own validation
    (`full_clean`: URL schemes, a secret with every webhook, unique names) passes."""
    if not form.is_valid():
        return None
    data = form.cleaned_data
    for name in ("name", "rigo", "working_languages", "address", "accepts", "webhook_url"):
        setattr(committee, name, data[name])
    if data["webhook_secret"]:
        committee.webhook_secret = data["webhook_secret"]
    elif data.get("clear_webhook_secret"):
        committee.webhook_secret = ""
    try:
        committee.full_clean()
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(
                None if field == NON_FIELD_ERRORS or field not in form.fields else field, errors
            )
        return None
    committee.save()
    return committee
