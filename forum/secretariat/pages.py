"""What the secretariat's pages share: the staff check on every view, the refusal shown
beside a form, the labels of a round table's settings."""

from __future__ import annotations

from functools import wraps

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from forum.errors import ServiceError
from forum.models import RoundTable, Seat
from forum.pages import refusal
from forum.secretariat.forms import (
    LABELS,
)
from moderation.permissions import StaffAction, require_secretariat

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
    "akn_author": "invalid_akn_author",
    "akn_country": "invalid_akn_country",
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
            require_secretariat(request.user, StaffAction.PAGES)
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


def error_field(form: forms.Form, exc: ServiceError) -> str | None:
    """The form field a service's refusal is about (None: the form as a whole)."""
    field = exc.extra.get("field")
    if field in form.fields:
        return field
    return (
        ROOM_ERROR_FIELDS.get(exc.code) if ROOM_ERROR_FIELDS.get(exc.code) in form.fields else None
    )
