"""Hybrid rooms: delegates in the meeting room without a device.

The chair or a moderator (PROXY_FLOOR) raises a hand on a delegate's behalf: a floor
request like any other, ordered by the same parity rule, marked `by_chair` in every floor
payload and audited. And records that an in-room delegate spoke: an intervention of kind
`in_room` whose text is the chair's short note, attributed to the delegate's seat by the
room's policy (so the minutes say it under the item current then, as they say any
intervention). If that delegate holds the floor, the note ends the turn.

Both run under the room row lock (load_acting) like every floor action.
"""

from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from forum.errors import ServiceError
from forum.models import FloorRequest, Intervention, RoundTable, Seat
from moderation.attribution import attribute
from moderation.audit import audit_append
from moderation.permissions import Action
from moderation.sanitize import plain_input, render_markdown
from realtime.log import append_event

from .acting import current_agenda_item, load_acting, refuse_names, require_live
from .floor import Kind, Status, _current_item_id, _emit, _end, _settle, _speaking
from .interventions import intervention_payloads

NOTE_MAX = 1000


def _delegate(room: RoundTable, handle) -> Seat:
    """A seated delegate of `room` by its opaque handle."""
    seat = None
    if isinstance(handle, str) and handle:
        seat = (
            Seat.objects.select_related("user", "sector", "organization")
            .filter(room=room, public_id=handle, role=Seat.Role.DELEGATE)
            .first()
        )
    if seat is None:
        raise ServiceError(
            "not_found", _("There is no such delegate in this round table."), field="seat"
        )
    if seat.removed_at is not None or seat.token_revoked_at is not None:
        raise ServiceError(
            "invalid_state", _("That delegate's seat has been withdrawn."), field="seat"
        )
    seat.room = room
    return seat


def _audit(acting, target: Seat, op: str, **data) -> None:
    audit_append(
        room=acting.room,
        action=str(Action.PROXY_FLOOR),
        actor=acting.seat,
        target=target.public_id,
        data={"op": op, "sector": target.sector.slug if target.sector_id else None, **data},
    )


@transaction.atomic
def hand_raise_for(*, actor_seat_id: int, seat: str, kind: str = Kind.STATEMENT, now=None) -> str:
    """Raise a hand for the delegate `seat` (a handle); returns the request's public id."""
    now = now or timezone.now()
    acting = load_acting(actor_seat_id, Action.PROXY_FLOOR)
    room = acting.room
    if kind not in Kind.values:
        raise ServiceError(
            "invalid_frame",
            _("kind must be one of %(kinds)s.") % {"kinds": ", ".join(Kind.values)},
            field="kind",
        )
    require_live(room)
    target = _delegate(room, seat)
    if FloorRequest.objects.filter(room=room, seat=target, status=Status.WAITING).exists():
        raise ServiceError(
            "already_raised", _("That delegate's hand is already raised."), field="seat"
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
                seat=target,
                sector_id=target.sector_id,
                kind=str(kind),
                requested_at=now,
                attribution=attribute(target).as_payload(),
                by_chair=True,
            )
    except IntegrityError:
        raise ServiceError(
            "already_raised", _("That delegate's hand is already raised."), field="seat"
        )
    request.seat = target
    _emit(room, "floor.hand_raised", now, request, kind=str(kind))
    _audit(acting, target, "raise", request=request.public_id, kind=str(kind))
    return request.public_id


@transaction.atomic
def turn_record(
    *,
    actor_seat_id: int,
    seat: str,
    note: str,
    not_a_participant: str | None = None,
    now=None,
) -> str:
    """Record that the delegate `seat` spoke in the room, with the chair's short note;
    returns the intervention's public id. A turn that delegate holds ends with it."""
    now = now or timezone.now()
    acting = load_acting(actor_seat_id, Action.PROXY_FLOOR)
    room = acting.room
    require_live(room)
    target = _delegate(room, seat)
    note = plain_input(note) if isinstance(note, str) else ""
    note = note.strip()
    if not note or len(note) > NOTE_MAX:
        raise ServiceError(
            "invalid_note",
            _("The note on what was said has 1 to %(max)s characters.") % {"max": NOTE_MAX},
            field="note",
            limit=NOTE_MAX,
        )
    # The note is published under the delegate's label: it may not name anyone either.
    refuse_names(
        room,
        note,
        what=_("note"),
        field="note",
        actor=acting.seat,
        target=target.public_id,
        not_a_participant=not_a_participant,
    )
    item = current_agenda_item(room)
    if item is None:
        raise ServiceError("no_agenda", _("This round table has no agenda item to speak to."))
    _settle(room, now)
    turn = _speaking(room)
    if turn is not None and turn.seat_id == target.pk:
        _end(room, turn, "chair", now, now)
    intervention = Intervention(
        room=room,
        seat=target,
        agenda_item=item,
        kind=Intervention.Kind.IN_ROOM,
        body_md=note,
        body_html=render_markdown(note),
        client_id=uuid.uuid4(),
        created_at=now,
        attribution=attribute(target).as_payload(),
        status=Intervention.Status.PUBLISHED,
    )
    participants, moderators = intervention_payloads(intervention)
    event = append_event(
        room, "intervention.posted", participants=participants, moderators=moderators
    )
    intervention.seq = event.seq
    intervention.save()
    _audit(acting, target, "spoke", intervention=intervention.public_id)
    return intervention.public_id
