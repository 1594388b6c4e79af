"""The reason a moderator or the chair gives for an action: required, bounded, audited."""

from __future__ import annotations

from forum.errors import ServiceError

MIN_REASON_CHARS = 5
MAX_REASON_CHARS = 1000


def clean_reason(reason: str | None, *, required: bool = True) -> str:
    reason = (reason or "").strip()
    if required and len(reason) < MIN_REASON_CHARS:
        raise ServiceError(
            "reason_required", f"Give a reason of at least {MIN_REASON_CHARS} characters.", field="reason"
        )
    if len(reason) > MAX_REASON_CHARS:
        raise ServiceError(
            "too_large", f"The reason is longer than {MAX_REASON_CHARS:,} characters.",
            field="reason", limit=MAX_REASON_CHARS,
        )
    return reason
