"""When a round table takes written contributions: its window (for the whole round table, or
for one agenda item, which then overrides it), set by the secretariat: an opening (optional),
a deadline and a word limit (2,000 unless set)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from forum.errors import ServiceError
from forum.minutes.when import room_zone
from forum.models import (
    DEFAULT_WORD_LIMIT,
    AgendaItem,
    ContributionWindow,
    RoundTable,
    User,
    is_public_id,
)
from moderation.audit import audit_append
from moderation.permissions import StaffAction, require_secretariat

from .schedule import local_moment

MAX_WORD_LIMIT = 50_000


def window_for(room: RoundTable, item: AgendaItem) -> ContributionWindow | None:
    """The window of `item`: its own, else the round table's, else None (none taken)."""
    own = ContributionWindow.objects.filter(room=room, agenda_item=item).first()
    if own is not None:
        return own
    return ContributionWindow.objects.filter(room=room, agenda_item__isnull=True).first()


def local_text(room: RoundTable, moment: dt.datetime) -> str:
    """A moment as the round table's own clock reads it: "2027-03-01 17:00 (Pacific/Fiji)"."""
    local = moment.astimezone(room_zone(room))
    return f"{local:%Y-%m-%d %H:%M} ({room.time_zone or 'UTC'})"


def window_state(window: ContributionWindow | None, now: dt.datetime) -> str:
    """ "none", "not_open", "open" or "closed"."""
    if window is None:
        return "none"
    if window.opens_at is not None and now < window.opens_at:
        return "not_open"
    return "open" if now <= window.closes_at else "closed"


def require_open(room: RoundTable, window: ContributionWindow | None, now: dt.datetime) -> None:
    """Refuse unless `window` takes contributions at `now`: each refusal names the date."""
    state = window_state(window, now)
    if state == "none":
        raise ServiceError(
            "contributions_closed",
            _("This agenda item takes no written contributions."),
            field="agenda_item",
        )
    if state == "not_open":
        raise ServiceError(
            "contributions_not_open",
            _("Written contributions to this agenda item open on %(opens)s.")
            % {"opens": local_text(room, window.opens_at)},
            field="agenda_item",
        )
    if state == "closed":
        raise ServiceError(
            "deadline_passed",
            _(
                "The deadline for written contributions to this agenda item was %(deadline)s; "
                "no contribution can be sent any more."
            )
            % {"deadline": local_text(room, window.closes_at)},
            field="agenda_item",
        )


def _word_limit(value: object) -> int:
    if value in (None, ""):
        return DEFAULT_WORD_LIMIT
    try:
        limit = int(value)
    except (TypeError, ValueError):
        limit = 0
    if not 1 <= limit <= MAX_WORD_LIMIT:
        raise ServiceError(
            "invalid_word_limit",
            _("The word limit is a whole number from 1 to %(max)s.") % {"max": MAX_WORD_LIMIT},
            field="word_limit",
        )
    return limit


@transaction.atomic
def contribution_window_set(
    *,
    room: RoundTable,
    actor: User,
    agenda_item: str | None,
    closes_at: object,
    opens_at: object = None,
    word_limit: object = None,
) -> ContributionWindow:
    """Set the window of the round table (`agenda_item` None) or of one item: dates without
    an offset are read in the round table's time zone. Audited as `set_contribution_window`.
    Refusals: forbidden, not_found (the item), invalid_date, invalid_word_limit."""
    require_secretariat(actor, StaffAction.ROOMS)
    locked = RoundTable.objects.select_for_update().get(pk=room.pk)
    item = None
    if agenda_item:
        if is_public_id(agenda_item):
            item = AgendaItem.objects.filter(room=locked, public_id=agenda_item).first()
        if item is None:
            raise ServiceError(
                "not_found", _("There is no such agenda item here."), field="agenda_item"
            )
    zone = locked.time_zone or "UTC"
    closes = local_moment(closes_at, zone, "closes_at")
    if closes is None:
        raise ServiceError("invalid_date", _("Give the deadline."), field="closes_at")
    opens = local_moment(opens_at, zone, "opens_at")
    for moment, field in ((opens, "opens_at"), (closes, "closes_at")):
        # Shown in the round table's time zone on every page: a date at the calendar's edge
        # would not be.
        if moment is not None and not 1900 <= moment.year <= 9998:
            raise ServiceError(
                "invalid_date", _("Give a date between the years 1900 and 9998."), field=field
            )
    if opens is not None and opens >= closes:
        raise ServiceError(
            "invalid_date", _("The deadline must come after the opening."), field="closes_at"
        )
    limit = _word_limit(word_limit)
    window, _created = ContributionWindow.objects.update_or_create(
        room=locked,
        agenda_item=item,
        defaults={"opens_at": opens, "closes_at": closes, "word_limit": limit},
    )
    audit_append(
        room=locked,
        action="set_contribution_window",
        actor=None,
        target=item.public_id if item else "",
        data={
            "opens_at": opens.isoformat() if opens else None,
            "closes_at": closes.isoformat(),
            "word_limit": limit,
        },
    )
    return window


@transaction.atomic
def contribution_window_remove(*, room: RoundTable, actor: User, agenda_item: str | None) -> bool:
    """Remove a window (an item's falls back to the round table's); audited. False when there
    was none."""
    require_secretariat(actor, StaffAction.ROOMS)
    locked = RoundTable.objects.select_for_update().get(pk=room.pk)
    rows = ContributionWindow.objects.filter(room=locked)
    rows = (
        rows.filter(agenda_item__public_id=agenda_item)
        if agenda_item
        else rows.filter(agenda_item__isnull=True)
    )
    deleted, _rows = rows.delete()
    if deleted:
        audit_append(
            room=locked,
            action="remove_contribution_window",
            actor=None,
            target=agenda_item or "",
            data={"at": timezone.now().isoformat()},
        )
    return bool(deleted)
