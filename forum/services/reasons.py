"""The reason a moderator or the chair gives for an action: required, bounded, audited."""

from __future__ import annotations

from django.utils.translation import gettext as _

from forum.errors import ServiceError

MIN_REASON_CHARS = 5
MAX_REASON_CHARS = 1000


def clean_reason(reason: str | None, *, required: bool = True, field: str = "reason") -> str:
    reason = (reason or "").strip()
    if required and len(reason) < MIN_REASON_CHARS:
        raise ServiceError(
            "reason_required",
            _("Give a reason of at least %(min)s characters.") % {"min": MIN_REASON_CHARS},
            field=field,
        )
    if len(reason) > MAX_REASON_CHARS:
        raise ServiceError(
            "too_large",
            _("The reason is longer than %(max)s characters.") % {"max": f"{MAX_REASON_CHARS:,}"},
            field=field,
            limit=MAX_REASON_CHARS,
        )
    return reason
