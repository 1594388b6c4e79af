"""The floor as one action sees it: loaded under the room lock, its payloads, and the steps
every floor action shares (forum/services/floor.py holds the actions themselves)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from forum.errors import ServiceError
from forum.floor_order import Tally, Waiting, floor_order, repin
from forum.models import AgendaItem, FloorRequest, RoundTable, Seat
from moderation.attribution import attribute
from moderation.audit import audit_append
from moderation.disclosure import Disclosure, Reader, disclosure
from moderation.permissions import Action
from realtime.log import append_event

from .acting import Acting

Status = FloorRequest.Status


@dataclass
class Floor:
    """A room's floor as read under its lock: the queue in order, the speaker, the figures."""

    room: RoundTable
    now: datetime
    queue: list[FloorRequest]
    speaker: FloorRequest | None
    spoken: dict[int, Tally]
    _labels: dict[int, dict] = field(default_factory=dict)
    _disclosure: Disclosure | None = None

    def position(self, request: FloorRequest) -> int:
        return next(i for i, r in enumerate(self.queue, start=1) if r.pk == request.pk)

    def waiting(self) -> list[Waiting]:
        return [_waiting(r) for r in self.queue]

    def attribution(self, seat: Seat) -> dict:
        if seat.pk not in self._labels:
            self._labels[seat.pk] = attribute(seat).as_payload()
        return self._labels[seat.pk]

    def for_participants(self, attribution: dict) -> dict:
        """A label as participants may read it now: a hand raised under a pseudonym whose
        sector has since fallen below k reads "A participant" (moderation/disclosure.py)."""
        if self._disclosure is None:
            self._disclosure = disclosure(self.room, Reader.PARTICIPANTS)
        return self._disclosure.attribution(attribution)


def _waiting(request: FloorRequest) -> Waiting:
    return Waiting(
        request.pk, request.kind, request.sector_id, request.requested_at, request.pinned_position
    )


def spoken_seconds(request: FloorRequest) -> int:
    """Whole seconds a turn lasted (or will last, for one in progress: its limit)."""
    end = request.ended_at or request.ends_at
    return max(0, round((end - request.started_at).total_seconds()))


def _current_item_id(room: RoundTable) -> int | None:
    if room.current_item_id:
        return room.current_item_id
    return (
        AgendaItem.objects.filter(room=room)
        .order_by("position")
        .values_list("pk", flat=True)
        .first()
    )


def _spoken(room: RoundTable, speaker: FloorRequest | None) -> dict[int, Tally]:
    """Seconds and turns per sector in the current agenda item. The turn in progress
    counts as one turn of its full limit (what the sector is taking now)."""
    item = _current_item_id(room)
    turns = list(
        FloorRequest.objects.filter(
            room=room, agenda_item_id=item, status=Status.DONE, sector__isnull=False
        )
    )
    if speaker is not None and speaker.agenda_item_id == item and speaker.sector_id is not None:
        turns.append(speaker)
    spoken: dict[int, Tally] = {}
    for turn in turns:
        seconds, count = spoken.get(turn.sector_id, Tally())
        spoken[turn.sector_id] = Tally(seconds + spoken_seconds(turn), count + 1)
    return spoken


def _seated(seat: Seat) -> bool:
    return seat.removed_at is None and seat.token_revoked_at is None


def _load(room: RoundTable, now: datetime) -> Floor:
    rows = list(
        FloorRequest.objects.filter(room=room, status__in=(Status.WAITING, Status.SPEAKING))
        .select_related("seat__user", "seat__organization", "seat__sector", "sector")
        .order_by("requested_at", "pk")
    )
    for row in rows:
        row.seat.room = room
    speaker = next((r for r in rows if r.status == Status.SPEAKING), None)
    # A withdrawn seat's hand does not stand in the queue (and cannot be given the floor).
    waiting = {r.pk: r for r in rows if r.status == Status.WAITING and _seated(r.seat)}
    spoken = _spoken(room, speaker)
    queue = [waiting[w.id] for w in floor_order((_waiting(r) for r in waiting.values()), spoken)]
    return Floor(room, now, queue, speaker, spoken)


def _sector(request: FloorRequest) -> str | None:
    return request.sector.slug if request.sector_id else None


def _entry(floor: Floor, request: FloorRequest) -> tuple[dict, dict]:
    attribution = request.attribution or floor.attribution(request.seat)
    data = {
        "request": request.public_id,
        "kind": request.kind,
        "attribution": attribution,
        "requested_at": request.requested_at.isoformat(),
        # Raised by the chair or a moderator for a delegate in the meeting room.
        "by_chair": request.by_chair,
    }
    participants = {**data, "attribution": floor.for_participants(attribution)}
    return participants, {**data, "sector": _sector(request), "author": request.seat.public_id}


def _speaker(floor: Floor) -> tuple[dict | None, dict | None]:
    turn = floor.speaker
    if turn is None:
        return None, None
    attribution = turn.attribution or floor.attribution(turn.seat)
    data = {
        "request": turn.public_id,
        "kind": turn.kind,
        "attribution": attribution,
        "started_at": turn.started_at.isoformat(),
        "ends_at": turn.ends_at.isoformat(),
        "limit_seconds": spoken_seconds(turn),
        "by_chair": turn.by_chair,
    }
    participants = {**data, "attribution": floor.for_participants(attribution)}
    return participants, {**data, "sector": _sector(turn), "author": turn.seat.public_id}


def floor_payloads(
    floor: Floor, request: FloorRequest | None = None, /, **extra
) -> tuple[dict, dict]:
    """(participants, moderators) renderings of the floor after a change to `request`."""
    entries = [_entry(floor, r) for r in floor.queue]
    speaker_p, speaker_m = _speaker(floor)
    public_id = request.public_id if request is not None else ""
    participants = {
        "request": public_id,
        "queue": [p for p, _ in entries],
        "speaker": speaker_p,
        **extra,
    }
    moderators = {
        "request": public_id,
        "queue": [m for _, m in entries],
        "speaker": speaker_m,
        **extra,
    }
    if request is not None:
        moderators.update(sector=_sector(request), author=request.seat.public_id)
    return participants, moderators


def _emit(
    room: RoundTable,
    event_kind: str,
    now: datetime,
    request: FloorRequest | None = None,
    /,
    **extra,
) -> Floor:
    floor = _load(room, now)
    participants, moderators = floor_payloads(floor, request, **extra)
    append_event(room, event_kind, participants=participants, moderators=moderators)
    return floor


def _request(room: RoundTable, public_id: str) -> FloorRequest:
    request = None
    if isinstance(public_id, str):
        request = (
            FloorRequest.objects.select_for_update(of=("self",))
            .select_related("seat__user", "seat__organization", "seat__sector", "sector")
            .filter(room=room, public_id=public_id)
            .first()
        )
    if request is None:
        raise ServiceError(
            "not_found",
            _("There is no such request for the floor in this round table."),
            field="request",
        )
    request.seat.room = room
    return request


def _expect_waiting(request: FloorRequest) -> None:
    if request.status == Status.SPEAKING:
        raise ServiceError("floor_taken", _("That request already has the floor."), field="request")
    if request.status != Status.WAITING or not _seated(request.seat):
        raise ServiceError(
            "invalid_state",
            _("That request is no longer waiting (%(status)s).")
            % {"status": request.get_status_display().lower()},
            field="request",
        )


def _speaking(room: RoundTable) -> FloorRequest | None:
    return (
        FloorRequest.objects.select_for_update(of=("self",))
        .select_related("seat__user", "seat__organization", "seat__sector", "sector")
        .filter(room=room, status=Status.SPEAKING)
        .first()
    )


def _end(room: RoundTable, turn: FloorRequest, reason: str, at: datetime, now: datetime) -> None:
    turn.status, turn.ended_at = Status.DONE, at
    turn.save(update_fields=["status", "ended_at"])
    turn.seat.room = room
    _emit(room, "floor.turn_ended", now, turn, reason=reason, seconds=spoken_seconds(turn))


def _settle(room: RoundTable, now: datetime) -> FloorRequest | None:
    """End the turn in progress if its time is up; it ended at its limit, not now."""
    turn = _speaking(room)
    if turn is None or turn.ends_at > now:
        return None
    _end(room, turn, "time", turn.ends_at, now)
    return turn


def _check_expected(room: RoundTable, expected: str | None) -> FloorRequest | None:
    """The speaker now; `floor_taken` if it is not the one the caller saw (None: no check)."""
    speaker = _speaking(room)
    if expected is not None and speaker is not None and speaker.public_id != expected:
        raise ServiceError(
            "floor_taken",
            _("The floor changed hands a moment ago; look at the queue again and retry."),
        )
    return speaker


def _leave(floor: Floor, request: FloorRequest) -> None:
    """`request` leaves the queue: the chair's pinned requests behind it move up with it."""
    moves = repin(floor.waiting(), request.pk)
    for other in floor.queue:
        if other.pk in moves:
            other.pinned_position = moves[other.pk]
            other.save(update_fields=["pinned_position"])
    request.pinned_position = None


def _give(
    acting: Acting, request: FloorRequest, now: datetime, *, out_of_order: bool, reason: str = ""
) -> str:
    room = acting.room
    floor = _load(room, now)
    _leave(floor, request)
    request.status, request.out_of_order = Status.SPEAKING, out_of_order
    request.started_at, request.ended_at = now, None
    request.ends_at = now + timedelta(seconds=room.turn_seconds)
    # A turn counts in the agenda item it is spoken in, whenever the hand went up.
    request.agenda_item_id = _current_item_id(room) or request.agenda_item_id
    try:
        with transaction.atomic():
            request.save(
                update_fields=[
                    "status",
                    "out_of_order",
                    "started_at",
                    "ended_at",
                    "ends_at",
                    "agenda_item",
                    "pinned_position",
                ]
            )
    except IntegrityError:
        # Only reachable if a writer skipped the room lock; the database kept one speaker.
        raise ServiceError(
            "floor_taken", _("Someone else was given the floor a moment ago; look again.")
        )
    extra = {"reason": reason} if out_of_order else {}
    participants, moderators = floor_payloads(_load(room, now), request, out_of_order=out_of_order)
    append_event(room, "floor.given", participants=participants, moderators={**moderators, **extra})
    if out_of_order:
        _audit(acting, request, reason, op="give")
    return request.public_id


def _audit(acting: Acting, request: FloorRequest, reason: str, **data) -> None:
    audit_append(
        room=acting.room,
        action=str(Action.FLOOR_OVERRIDE),
        actor=acting.seat,
        target=request.public_id,
        reason=reason,
        data={**data, "sector": _sector(request)},
    )
