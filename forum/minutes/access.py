"""Which minutes a seat may read, as a document ready to render, and diffs between versions.

The one access rule for minutes (the public contract): chair, moderators and the rapporteur read
every version and the live draft; every other seat holder reads adopted versions, and
delegates also the version under review while it is circulated.
"""

from __future__ import annotations

import difflib

from django.utils.translation import gettext as _

from forum.errors import Forbidden, NotFound, ServiceError
from forum.minutes.document import minutes_document
from forum.minutes.formats.markdown import render_markdown_minutes
from forum.models import MinutesVersion, RoundTable, Seat
from moderation.permissions import Action, allowed

LIVE = "live"


def version_document(version: MinutesVersion) -> dict:
    """The frozen document of `version` with its status and version block."""
    adopted = version.adopted_at is not None
    return {
        "schema": version.document["schema"],
        "status": version.status,
        "version": {
            "number": version.number,
            "status": version.status,
            "saved_at": version.saved_at.isoformat(),
            "adopted_at": version.adopted_at.isoformat() if adopted else None,
            "content_sha256": version.content_sha256 if adopted else None,
            "audit_head": (
                {"entry": version.audit_seq, "mac": version.audit_head}
                if adopted and version.audit_head
                else None
            ),
            "open_comments": version.open_comments if adopted else None,
        },
        **{key: value for key, value in version.document.items() if key != "schema"},
    }


def live_document(room: RoundTable) -> dict:
    """The draft as it would be saved now: the room with the last saved summaries."""
    latest = room.minutes_versions.order_by("-number").first()
    return minutes_document(room, latest.summaries if latest else {})


def can_read_drafts(seat: Seat) -> bool:
    # The secretariat (forum.selectors.staff_reader) reads every version and export too.
    return getattr(seat, "staff_view", False) or allowed(seat.role, Action.READ_DRAFT_MINUTES)


def reviews(seat: Seat) -> bool:
    """A circulated version is for those who comment on it (not observers)."""
    return allowed(seat.role, Action.COMMENT_MINUTES)


def parse_version(value: str | None) -> str | int | None:
    if value in (None, ""):
        return None
    if value == LIVE:
        return LIVE
    if value.isascii() and value.isdigit() and len(value) < 9:
        return int(value)
    raise ServiceError(
        "invalid_version",
        _('%(value)r is not a version: give its number, or "live".') % {"value": value},
    )


def readable_version(
    room: RoundTable, seat: Seat, wanted: str | int | None, *, review: bool = False
) -> MinutesVersion | None:
    """The version `seat` asked for (None: the live draft), or refuse.

    Default: the latest version for those who read drafts (the live draft before the first
    save), the latest adopted one for everyone else. `review` admits the version under review.
    """
    drafts = can_read_drafts(seat)
    versions = room.minutes_versions
    if wanted == LIVE:
        if not drafts:
            raise Forbidden(
                _("The live draft is for the chair, the moderators and the rapporteur.")
            )
        return None
    if wanted is None:
        row = (
            versions.order_by("-number").first()
            if drafts
            else (versions.filter(adopted_at__isnull=False).order_by("-number").first())
        )
        if row is None and not drafts:
            raise Forbidden(_("The minutes are shared once adopted."))
        return row
    row = versions.filter(number=wanted).first()
    if row is None:
        raise NotFound(_("There is no version %(number)s of these minutes.") % {"number": wanted})
    if drafts or row.adopted_at or (review and row.in_review and reviews(seat)):
        return row
    raise Forbidden(_("The minutes are shared once adopted."))


def version_diff(older: MinutesVersion, newer: MinutesVersion) -> str:
    """A unified diff of the two versions' Markdown renderings."""
    before = render_markdown_minutes(version_document(older)).splitlines(keepends=True)
    after = render_markdown_minutes(version_document(newer)).splitlines(keepends=True)
    return "".join(
        difflib.unified_diff(
            before, after, f"version {older.number}", f"version {newer.number}", n=2
        )
    )
