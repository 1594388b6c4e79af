from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from forum.errors import ServiceError
from forum.models import Intervention, RoundTable, Seat
from moderation.attribution import attribute
from moderation.sanitize import render_markdown
from realtime.log import append_event

# Roles that may take the floor with an intervention.
SPEAKING_ROLES = {Seat.Role.CHAIR, Seat.Role.MODERATOR, Seat.Role.RAPPORTEUR, Seat.Role.DELEGATE}


@dataclass(frozen=True)
class PostResult:
    seq: int
    intervention_id: str
    created: bool  # False when the client_id had been posted before


def check_can_post(seat: Seat, room: RoundTable) -> None:
    if seat.token_revoked_at is not None:
        raise ServiceError("forbidden", "Your seat in this room has been withdrawn.")
    if seat.role not in SPEAKING_ROLES:
        raise ServiceError("forbidden", "Observers follow the room but do not post.")
    if room.status == RoundTable.Status.CLOSED:
        raise ServiceError("room_closed", "This round table is closed.")
    if room.status != RoundTable.Status.LIVE:
        raise ServiceError("room_not_open", "This round table has not been opened yet.")
    if room.is_chatham_house and seat.consented_at is None:
        raise ServiceError(
            "consent_required",
            "Accept the Chatham House Rule before your first intervention.",
        )


def check_body(body: str) -> str:
    limit = settings.ROUNDTABLES["MAX_BODY_CHARS"]
    if len(body) > limit:
        raise ServiceError(
            "too_large", f"The intervention is {len(body)} characters; the limit is {limit}.",
            field="body", limit=limit,
        )
    if not body.strip():
        raise ServiceError("invalid_frame", "The intervention is empty.", field="body")
    return body


@transaction.atomic
def intervention_post(
    *, seat_id: int, client_id: uuid.UUID, body: str, kind: str = Intervention.Kind.STATEMENT
) -> PostResult:
    """Publish an intervention; a client_id seen before from this seat is not posted twice."""
    if kind not in Intervention.Kind.values:
        raise ServiceError("invalid_frame", f"Unknown intervention kind {kind!r}.", field="kind")
    seat = Seat.objects.select_related("user", "sector", "organization").get(pk=seat_id)
    # The room row lock serialises posts in the room; append_event takes it again below.
    room = RoundTable.objects.select_for_update().get(pk=seat.room_id)
    seat.room = room
    earlier = Intervention.objects.filter(seat=seat, client_id=client_id).first()
    if earlier is not None:
        return PostResult(earlier.seq, earlier.public_id, created=False)
    check_can_post(seat, room)
    body = check_body(body)
    item = room.current_item or room.agenda_items.order_by("position").first()
    if item is None:
        raise ServiceError("no_agenda", "This round table has no agenda item to speak to.")
    html = render_markdown(body)
    now = timezone.now()
    intervention = Intervention(
        room=room, seat=seat, agenda_item=item, kind=kind, body_md=body, body_html=html,
        client_id=client_id,
    )
    data = {
        "id": intervention.public_id,
        "kind": kind,
        "attribution": attribute(seat).as_payload(),
        "body_html": html,
        "agenda_item": item.public_id,
        "created_at": now.isoformat(),
    }
    event = append_event(room, "intervention.posted", participants=data, moderators=data)
    intervention.seq = event.seq
    intervention.created_at = now
    intervention.save()
    return PostResult(event.seq, intervention.public_id, created=True)
