"""The floor: raised hands, the queue in parity order, turns on a server-side clock.

Each entry point runs in one transaction under the room row lock (select_for_update), so
floor actions in a room happen one after the other whatever the number of processes; the
order of the queue is forum.floor_order. Every change appends one floor.* event carrying
the whole floor afterwards (queue and speaker), one rendering per audience; the
moderators' one adds each request's `sector` and `author` (the seat's handle), which the
parity figures count. Overrides (out of order, move, remove) are also audited.

Time: a turn starts at `now` and ends at `now + room.turn_seconds`. `floor_expire` ends it
when the clock says so (any process may call it, as often as it likes); every other floor
action first ends an overdue turn the same way, so a late timer never lengthens a turn:
a turn ended by time lasts exactly its limit.

Races between two moderators: actions are serialised on the room lock. `floor_give_next`
and `floor_give` end the current turn before giving the floor, so without more information
the second of two simultaneous calls would end the turn the first one just gave. A caller
that passes `expected_speaker` (the request it saw holding the floor, "" for nobody) gets
`floor_taken` instead when someone else holds the floor now, and nothing changes.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from forum.errors import ServiceError
from forum.models import FloorRequest, RoundTable, Seat
from moderation.attribution import attribute
from moderation.audit import audit_append
from moderation.permissions import Action, allowed, require
from realtime.log import append_event

from .acting import load_acting, require_live
from .floor_core import (
    _audit,
    _check_expected,
    _current_item_id,
    _emit,
    _end,
    _expect_waiting,
    _give,
    _leave,
    _load,
    _request,
    _settle,
    _speaking,
    floor_payloads,
)
from .reasons import clean_reason as _reason

Kind = FloorRequest.Kind
Status = FloorRequest.Status
TURN_SECONDS_MIN, TURN_SECONDS_MAX = 30, 3600


# -- delegates ----------------------------------------------------------------------------


@transaction.atomic
def hand_raise(*, seat_id: int, kind: str = Kind.STATEMENT, now: datetime | None = None) -> str:
    """Ask for the floor; returns the request's public id. One waiting hand per seat."""
    now = now or timezone.now()
    acting = load_acting(seat_id, Action.RAISE_HAND)
    seat, room = acting.seat, acting.room
    if kind not in Kind.values:
        raise ServiceError(
            "invalid_frame",
            _("kind must be one of %(kinds)s.") % {"kinds": ", ".join(Kind.values)},
            field="kind",
        )
    kind = str(kind)
    require_live(room)
    if seat.muted_until is not None and seat.muted_until > now:
        raise ServiceError(
            "muted",
            _("A moderator has muted you until %(time)s UTC.")
            % {"time": f"{seat.muted_until:%H:%M}"},
            until=seat.muted_until.isoformat(),
        )
    if FloorRequest.objects.filter(room=room, seat=seat, status=Status.WAITING).exists():
        raise ServiceError(
            "already_raised", _("Your hand is already raised; lower it first to change it.")
        )
    item = _current_item_id(room)
    if item is None:
        raise ServiceError("no_agenda", _("This round table has no agenda item to speak to."))
    _settle(room, now)
    try:
        with transaction.atomic():
            request = FloorRequest.objects.create(
                room=room,
                agenda_item_id=item,
                seat=seat,
                sector_id=seat.sector_id,
                kind=kind,
                requested_at=now,
                attribution=attribute(seat).as_payload(),
            )
    except IntegrityError:
        raise ServiceError(
            "already_raised", _("Your hand is already raised; lower it first to change it.")
        )
    request.seat = seat
    _emit(room, "floor.hand_raised", now, request, kind=kind)
    return request.public_id


@transaction.atomic
def hand_lower(*, seat_id: int, request_id: str | None = None, now: datetime | None = None) -> None:
    """Withdraw one's own waiting request (the seat's waiting one when `request_id` is None)."""
    now = now or timezone.now()
    acting = load_acting(seat_id, Action.RAISE_HAND)
    if request_id is None:
        own = FloorRequest.objects.filter(
            room=acting.room, seat=acting.seat, status=Status.WAITING
        ).first()
        if own is None:
            raise ServiceError("not_found", _("Your hand is not raised."), field="request")
        request_id = own.public_id
    request = _request(acting.room, request_id)
    if request.seat_id != acting.seat.pk:
        raise ServiceError(
            "forbidden",
            _("You can lower only your own hand; the chair removes requests."),
            field="request",
        )
    _expect_waiting(request)
    _settle(acting.room, now)
    _leave(_load(acting.room, now), request)
    request.status = Status.WITHDRAWN
    request.save(update_fields=["status", "pinned_position"])
    _emit(acting.room, "floor.hand_lowered", now, request)


@transaction.atomic
def turn_end(*, seat_id: int, now: datetime | None = None) -> None:
    """End the turn in progress: the speaker yields (reason `yielded`), or the chair or a
    moderator ends it (reason `chair`). A turn whose time ran out meanwhile ends by time."""
    now = now or timezone.now()
    acting = load_acting(seat_id, None)
    runs_floor = allowed(acting.seat.role, Action.RUN_FLOOR)
    if not runs_floor and not allowed(acting.seat.role, Action.RAISE_HAND):
        # Neither the speaker's role nor the chair's: say who may end a turn.
        require(acting.seat, Action.RUN_FLOOR)
    require(acting.seat, Action.RUN_FLOOR if runs_floor else Action.RAISE_HAND)
    expired = _settle(acting.room, now)
    turn = _speaking(acting.room)
    if runs_floor:
        if turn is not None:
            _end(acting.room, turn, "chair", now, now)
        elif expired is None:
            raise ServiceError("no_turn", _("Nobody holds the floor."))
        return
    if turn is not None and turn.seat_id == acting.seat.pk:
        _end(acting.room, turn, "yielded", now, now)
    elif expired is None or expired.seat_id != acting.seat.pk:
        raise ServiceError("not_your_turn", _("You do not hold the floor."))


# -- the chair and moderators ----------------------------------------------------------------


@transaction.atomic
def floor_give_next(
    *, actor_seat_id: int, now: datetime | None = None, expected_speaker: str | None = None
) -> str:
    """End the turn in progress (reason `chair`) and give the floor to the head of the
    queue; returns the request's public id. `queue_empty` (and nothing ends) if no one waits."""
    now = now or timezone.now()
    acting = load_acting(actor_seat_id, Action.RUN_FLOOR)
    require_live(acting.room)
    _settle(acting.room, now)
    speaker = _check_expected(acting.room, expected_speaker)
    if not _load(acting.room, now).queue:
        raise ServiceError("queue_empty", _("Nobody is waiting for the floor."))
    if speaker is not None:
        _end(acting.room, speaker, "chair", now, now)
    head = _load(acting.room, now).queue[0]
    return _give(acting, head, now, out_of_order=False)


@transaction.atomic
def floor_give(
    *,
    actor_seat_id: int,
    request_id: str,
    reason: str = "",
    now: datetime | None = None,
    expected_speaker: str | None = None,
) -> str:
    """Give the floor to one request. At the head of the queue it is `floor_give_next`;
    anywhere else it is an override (FLOOR_OVERRIDE, a reason, `out_of_order`, audited)."""
    now = now or timezone.now()
    acting = load_acting(actor_seat_id, Action.RUN_FLOOR)
    require_live(acting.room)
    request = _request(acting.room, request_id)
    _expect_waiting(request)
    _settle(acting.room, now)
    speaker = _check_expected(acting.room, expected_speaker)
    floor = _load(acting.room, now)
    if all(r.pk != request.pk for r in floor.queue):
        raise ServiceError("invalid_state", _("That request is not in the queue."), field="request")
    if speaker is not None:
        _end(acting.room, speaker, "chair", now, now)
        floor = _load(acting.room, now)
    if floor.queue[0].pk == request.pk:
        return _give(acting, request, now, out_of_order=False)
    require(acting.seat, Action.FLOOR_OVERRIDE)
    reason = _reason(reason)
    return _give(acting, request, now, out_of_order=True, reason=reason)


@transaction.atomic
def floor_move(
    *, actor_seat_id: int, request_id: str, position: int, reason: str, now: datetime | None = None
) -> int:
    """Place a waiting request at `position` (1-based; beyond the end means last). It stays
    there, moving up as the requests ahead of it leave. Returns the position it took."""
    now = now or timezone.now()
    acting = load_acting(actor_seat_id, Action.FLOOR_OVERRIDE)
    if isinstance(position, bool) or not isinstance(position, int) or position < 1:
        raise ServiceError(
            "invalid_frame", _("position must be a whole number from 1."), field="position"
        )
    reason = _reason(reason)
    request = _request(acting.room, request_id)
    _expect_waiting(request)
    _settle(acting.room, now)
    request.pinned_position = min(position, len(_load(acting.room, now).queue))
    request.save(update_fields=["pinned_position"])
    floor = _load(acting.room, now)
    taken = floor.position(request)
    participants, moderators = floor_payloads(floor, request, position=taken)
    append_event(
        acting.room, "floor.request_moved", participants=participants, moderators=moderators
    )
    _audit(acting, request, reason, op="move", position=taken)
    return taken


@transaction.atomic
def floor_remove(
    *, actor_seat_id: int, request_id: str, reason: str, now: datetime | None = None
) -> None:
    """Take a waiting request out of the queue (an override, with a reason, audited)."""
    now = now or timezone.now()
    acting = load_acting(actor_seat_id, Action.FLOOR_OVERRIDE)
    reason = _reason(reason)
    request = _request(acting.room, request_id)
    _expect_waiting(request)
    _settle(acting.room, now)
    _leave(_load(acting.room, now), request)
    request.status = Status.REMOVED
    request.save(update_fields=["status", "pinned_position"])
    _emit(acting.room, "floor.request_removed", now, request, reason=reason)
    _audit(acting, request, reason, op="remove")


@transaction.atomic
def floor_set_mode(
    *,
    actor_seat_id: int,
    floor_mode: str,
    turn_seconds: int | None = None,
    now: datetime | None = None,
) -> RoundTable:
    """Set the floor mode (`open` or `queued`) and, optionally, the time limit of the
    turns to come (30 to 3600 s; a turn in progress keeps its own)."""
    acting = load_acting(actor_seat_id, Action.RUN_FLOOR)
    room = acting.room
    if floor_mode not in RoundTable.FloorMode.values:
        raise ServiceError(
            "invalid_frame",
            _("floor_mode must be one of %(modes)s.")
            % {"modes": ", ".join(RoundTable.FloorMode.values)},
            field="floor_mode",
        )
    if turn_seconds is not None and (
        isinstance(turn_seconds, bool)
        or not isinstance(turn_seconds, int)
        or not TURN_SECONDS_MIN <= turn_seconds <= TURN_SECONDS_MAX
    ):
        raise ServiceError(
            "invalid_frame",
            _("turn_seconds must be a whole number from %(min)s to %(max)s.")
            % {"min": TURN_SECONDS_MIN, "max": TURN_SECONDS_MAX},
            field="turn_seconds",
        )
    room.floor_mode = floor_mode
    if turn_seconds is not None:
        room.turn_seconds = turn_seconds
    room.save(update_fields=["floor_mode", "turn_seconds"])
    now = now or timezone.now()
    _settle(room, now)
    _emit(
        room, "floor.mode_changed", now, floor_mode=room.floor_mode, turn_seconds=room.turn_seconds
    )
    audit_append(
        room=room,
        action=str(Action.RUN_FLOOR),
        actor=acting.seat,
        target=room.slug,
        data={"floor_mode": room.floor_mode, "turn_seconds": room.turn_seconds},
    )
    return room


# -- the clock -------------------------------------------------------------------------------


def floor_release_seat(room: RoundTable, seat: Seat, now: datetime | None = None) -> None:
    """A removed seat leaves the floor: its turn ends, its raised hand is taken down.

    Runs inside the caller's transaction, with the room row already locked.
    """
    now = now or timezone.now()
    _settle(room, now)
    turn = _speaking(room)
    if turn is not None and turn.seat_id == seat.pk:
        _end(room, turn, "chair", now, now)
    waiting = FloorRequest.objects.filter(room=room, seat=seat, status=Status.WAITING).first()
    if waiting is not None:
        waiting.seat = seat
        _leave(_load(room, now), waiting)
        waiting.status = Status.REMOVED
        waiting.save(update_fields=["status", "pinned_position"])
        _emit(room, "floor.request_removed", now, waiting, reason="The seat was withdrawn.")


def floor_stop(room: RoundTable, now: datetime | None = None) -> None:
    """The room closes: a turn in progress ends (the queue stays for a reopening)."""
    now = now or timezone.now()
    _settle(room, now)
    turn = _speaking(room)
    if turn is not None:
        _end(room, turn, "chair", now, now)


@transaction.atomic
def floor_expire(*, room_id: int, now: datetime | None = None) -> bool:
    """End the turn in progress if its time is up (reason `time`). True if one ended.

    Idempotent and safe from any number of processes at once: they queue on the room
    lock, and the first one ends the turn; the others find nothing to do.
    """
    now = now or timezone.now()
    room = RoundTable.objects.select_for_update().filter(pk=room_id).first()
    if room is None:
        return False
    return _settle(room, now) is not None


# -- reads -----------------------------------------------------------------------------------


def floor_may_post(
    seat: Seat, room: RoundTable, kind: str = "statement", now: datetime | None = None
) -> None:
    """Refuse (`not_your_turn`) a delegate's statement in a queued room unless the delegate
    holds the floor and its time is not up. Other kinds, roles and open rooms pass."""
    if room.floor_mode != RoundTable.FloorMode.QUEUED or seat.role != Seat.Role.DELEGATE:
        return
    if kind != Kind.STATEMENT:
        return
    now = now or timezone.now()
    if FloorRequest.objects.filter(
        room=room, seat=seat, status=Status.SPEAKING, ends_at__gt=now
    ).exists():
        return
    raise ServiceError(
        "not_your_turn",
        _(
            "The chair gives the floor in turn here: raise your hand, and post your "
            "statement when you "
            "have the floor."
        ),
    )


def floor_state(*, room: RoundTable, moderators: bool, now: datetime | None = None) -> dict:
    """The floor as it stands, for a page or a welcome frame: the same `queue` and
    `speaker` as the events, plus the mode and the turn time."""
    floor = _load(room, now or timezone.now())
    participants, for_moderators = floor_payloads(floor)
    data = for_moderators if moderators else participants
    return {
        "queue": data["queue"],
        "speaker": data["speaker"],
        "floor_mode": room.floor_mode,
        "turn_seconds": room.turn_seconds,
    }
