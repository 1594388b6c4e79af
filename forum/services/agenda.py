"""The agenda: the chair runs it live, the secretariat prepares it before the session.

Two kinds of actor, one set of rules:

- the chair or a moderator (a seat, `actor_seat_id`) makes an item current and adds,
  renames and moves items while the round table is scheduled or live (RUN_AGENDA);
- the secretariat (a staff account, `actor`) adds, renames, moves and removes items while
  it is scheduled: once the session runs, the chair holds the agenda.

Every change runs under the room row lock, appends its event (`agenda.current_changed` or
`agenda.changed`, with the whole agenda afterwards) and writes an audit entry, in one
transaction. A refusal changes nothing.

Making an item current ends the turn in progress (its time counts in the item it was
given in); open consensus checks, posts and recommendations keep the item they were made in.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from forum.errors import ServiceError
from forum.models import (
    AgendaItem,
    ConsensusCheck,
    Contribution,
    FloorRequest,
    Intervention,
    Recommendation,
    RoundTable,
    Seat,
    User,
)
from moderation.audit import audit_append
from moderation.permissions import Action, StaffAction, require_secretariat
from realtime.log import append_event

from .acting import load_acting, refuse_names
from .floor import floor_stop
from .rooms import room_set_current_item

TITLE_MAX = 300
# A sane bound for one session's agenda (positions are small integers).
MAX_ITEMS = 100
# Positions are moved through this offset so the (room, position) unique constraint holds
# at every step of a reorder.
_SHIFT = 10_000


def _locked_room(
    *, actor_seat_id: int | None, actor: User | None, room: RoundTable | None
) -> tuple[RoundTable, Seat | None]:
    """The room, locked, and the acting seat (None for the secretariat), or the refusal."""
    if actor_seat_id is not None:
        acting = load_acting(actor_seat_id, Action.RUN_AGENDA)
        if acting.room.status == RoundTable.Status.CLOSED:
            raise ServiceError("room_closed", _("This round table is closed."))
        return acting.room, acting.seat
    require_secretariat(actor, StaffAction.ROOMS)
    if room is None:
        raise ServiceError("not_found", _("There is no round table at this address."))
    locked = RoundTable.objects.select_for_update().get(pk=room.pk)
    if locked.status != RoundTable.Status.SCHEDULED:
        raise ServiceError(
            "agenda_running",
            _("The session has started: the chair runs the agenda from the room's console now."),
        )
    return locked, None


def _items(room: RoundTable) -> list[AgendaItem]:
    return list(AgendaItem.objects.filter(room=room).order_by("position", "pk"))


def _item(room: RoundTable, public_id) -> AgendaItem:
    item = None
    if isinstance(public_id, str) and public_id:
        item = AgendaItem.objects.filter(room=room, public_id=public_id).first()
    if item is None:
        raise ServiceError(
            "not_found", _("There is no such agenda item in this round table."), field="item"
        )
    return item


def _title(room: RoundTable, title, seat: Seat | None, not_a_participant: str | None = None) -> str:
    if not isinstance(title, str):
        raise ServiceError(
            "invalid_title", _("The title of an agenda item is text."), field="title"
        )
    title = " ".join(title.split())
    if not title or len(title) > TITLE_MAX:
        raise ServiceError(
            "invalid_title",
            _("The title of an agenda item has 1 to %(max)s characters.") % {"max": TITLE_MAX},
            field="title",
            limit=TITLE_MAX,
        )
    # Everyone reads the agenda: a title that names a participant is refused as any text
    # someone who runs the room publishes.
    refuse_names(
        room,
        title,
        what=_("agenda item's title"),
        field="title",
        actor=seat,
        not_a_participant=not_a_participant,
    )
    return title


def _position(position, count: int) -> int:
    """A 1-based position among `count` places."""
    if isinstance(position, bool) or not isinstance(position, int) or not 1 <= position <= count:
        raise ServiceError(
            "invalid_position",
            _("The position is a whole number from 1 to %(max)s.") % {"max": count},
            field="position",
            max=count,
        )
    return position


def _renumber(items: list[AgendaItem | None]) -> None:
    """Store `items` at positions 1..n in this order (None: a place left free), never two
    at one position."""
    changed = [
        (n, item)
        for n, item in enumerate(items, start=1)
        if item is not None and item.position != n
    ]
    for _n, item in changed:
        AgendaItem.objects.filter(pk=item.pk).update(position=item.position + _SHIFT)
    for n, item in changed:
        AgendaItem.objects.filter(pk=item.pk).update(position=n)
        item.position = n


def _changed(room: RoundTable, seat: Seat | None, action: str, item: AgendaItem, **audit) -> None:
    items = _items(room)
    current = room.current_item_id or (items[0].pk if items else None)
    data = {
        "action": action,
        "item": item.public_id,
        "items": [{"id": i.public_id, "position": i.position, "title": i.title} for i in items],
        "current": next((i.public_id for i in items if i.pk == current), ""),
    }
    append_event(room, "agenda.changed", participants=data, moderators=data)
    audit_append(
        room=room,
        action=str(Action.RUN_AGENDA),
        actor=seat,
        target=item.public_id,
        data={"op": action, "via": "room" if seat is not None else "secretariat", **audit},
    )


@transaction.atomic
def agenda_set_current(*, actor_seat_id: int, item_id: str) -> AgendaItem:
    """Make an item current (`agenda.current_changed`). The turn in progress ends first;
    making the current item current again changes nothing."""
    room, seat = _locked_room(actor_seat_id=actor_seat_id, actor=None, room=None)
    item = _item(room, item_id)
    if room.current_item_id == item.pk:
        return item
    before = room.current_item.public_id if room.current_item_id else ""
    floor_stop(room, timezone.now())
    room_set_current_item(room=room, item=item)
    audit_append(
        room=room,
        action=str(Action.RUN_AGENDA),
        actor=seat,
        target=item.public_id,
        data={"op": "set", "via": "room", "before": before},
    )
    return item


@transaction.atomic
def agenda_add(
    *,
    title: str,
    position: int | None = None,
    actor_seat_id: int | None = None,
    actor: User | None = None,
    room: RoundTable | None = None,
    not_a_participant: str | None = None,
) -> AgendaItem:
    """Add an item at `position` (1-based; None: last); the items from there move down."""
    room, seat = _locked_room(actor_seat_id=actor_seat_id, actor=actor, room=room)
    title = _title(room, title, seat, not_a_participant)
    items = _items(room)
    if len(items) >= MAX_ITEMS:
        raise ServiceError(
            "agenda_full",
            _("An agenda has at most %(max)s items.") % {"max": MAX_ITEMS},
            max=MAX_ITEMS,
        )
    at = len(items) + 1 if position is None else _position(position, len(items) + 1)
    _renumber(items[: at - 1] + [None] + items[at - 1 :])
    item = AgendaItem.objects.create(room=room, position=at, title=title)
    if room.current_item_id is None:
        room.current_item = item
        room.save(update_fields=["current_item"])
    _changed(room, seat, "add", item, position=at)
    return item


@transaction.atomic
def agenda_rename(
    *,
    item_id: str,
    title: str,
    actor_seat_id: int | None = None,
    actor: User | None = None,
    room: RoundTable | None = None,
    not_a_participant: str | None = None,
) -> AgendaItem:
    room, seat = _locked_room(actor_seat_id=actor_seat_id, actor=actor, room=room)
    item = _item(room, item_id)
    title = _title(room, title, seat, not_a_participant)
    if title == item.title:
        return item
    item.title = title
    item.save(update_fields=["title"])
    _changed(room, seat, "rename", item)
    return item


@transaction.atomic
def agenda_move(
    *,
    item_id: str,
    position: int,
    actor_seat_id: int | None = None,
    actor: User | None = None,
    room: RoundTable | None = None,
) -> AgendaItem:
    """Move an item to `position` (1-based); the others keep their order around it."""
    room, seat = _locked_room(actor_seat_id=actor_seat_id, actor=actor, room=room)
    item = _item(room, item_id)
    items = _items(room)
    at = _position(position, len(items))
    before = next(n for n, i in enumerate(items, start=1) if i.pk == item.pk)
    if at == before:
        return item
    others = [i for i in items if i.pk != item.pk]
    _renumber(others[: at - 1] + [item] + others[at - 1 :])
    _changed(room, seat, "move", item, before=before, position=at)
    return item


@transaction.atomic
def agenda_remove(*, item_id: str, actor: User, room: RoundTable) -> None:
    """Remove an item before the session (the secretariat): refused for the last item and
    for an item anything was already said or decided in."""
    room, seat = _locked_room(actor_seat_id=None, actor=actor, room=room)
    item = _item(room, item_id)
    items = _items(room)
    if len(items) == 1:
        raise ServiceError(
            "agenda_empty", _("A round table keeps at least one agenda item."), field="item"
        )
    used = any(
        model.objects.filter(agenda_item=item).exists()
        # A written contribution sent before the session counts: it was sent to this item.
        for model in (Intervention, FloorRequest, ConsensusCheck, Recommendation, Contribution)
    )
    if used:
        raise ServiceError(
            "agenda_item_used",
            _("Something was already said or decided under this item; it stays."),
            field="item",
        )
    rest = [i for i in items if i.pk != item.pk]
    if room.current_item_id == item.pk:
        room.current_item = rest[0]
        room.save(update_fields=["current_item"])
    item.delete()
    _renumber(rest)
    _changed(room, seat, "remove", item, title=item.title)
