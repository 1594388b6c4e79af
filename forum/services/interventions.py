from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from forum.errors import ServiceError
from forum.models import Intervention, RoundTable, Seat
from moderation.attribution import attribute
from moderation.disclosure import Reader, attribution_for
from moderation.guard import names_in, spans
from moderation.permissions import Action, allowed, require
from moderation.sanitize import plain_input, render_markdown
from realtime.log import append_event

from .acting import current_agenda_item, require_live, seat_marks
from .floor import floor_may_post
from .hold_guard import name_hold_alert
from .limits import check_post_limits, consume_post

# What the author of any held intervention is told, whatever held it: a name, pre-moderation
# or anything else. Saying which would let a delegate test a guess against the roster ("Is
# Tuilagi here?" held for a name, "Is Fernandez here?" published).
HELD = gettext_noop(
    "Your intervention waits for the moderators, who may publish it, redact it or decline it."
)
# Why it is held, for the moderators (stored in English as status_reason; translated when shown).
HELD_FOR_MENTIONS = gettext_noop(
    "It names a participant or an organization of this round table (marked). Under the "
    "Chatham House Rule it waits for a moderator, who may publish it, redact it or decline it."
)
HELD_FOR_PREMODERATION = gettext_noop(
    "The chair has asked that every intervention be approved before it is published."
)


@dataclass(frozen=True)
class PostResult:
    seq: int
    intervention_id: str
    created: bool  # False when the client_id had been posted before
    held_reason: str = ""  # HELD when the intervention waits for the moderators


def check_can_post(seat: Seat, room: RoundTable) -> None:
    require(seat, Action.POST)
    require_live(room)
    if room.is_chatham_house and seat.consented_at is None:
        raise ServiceError(
            "consent_required",
            _("Accept the Chatham House Rule before your first intervention."),
        )


def check_body(body: str) -> str:
    body = plain_input(body)
    limit = settings.ROUNDTABLES["MAX_BODY_CHARS"]
    if len(body) > limit:
        raise ServiceError(
            "too_large",
            _("The intervention is %(length)s characters; the limit is %(limit)s.")
            % {"length": len(body), "limit": limit},
            field="body",
            limit=limit,
        )
    if not body.strip():
        raise ServiceError("invalid_frame", _("The intervention is empty."), field="body")
    return body


def _language(language: str, room: RoundTable) -> str:
    codes = {code for code, _name in settings.INTERVENTION_LANGUAGES}
    return language if language in codes else room.language


def intervention_payloads(intervention: Intervention) -> tuple[dict, dict]:
    """(participants, moderators) renderings of a published intervention."""
    redacted = intervention.redacted_html is not None
    data = {
        "id": intervention.public_id,
        "kind": intervention.kind,
        "attribution": intervention.attribution,
        "body_html": intervention.redacted_html if redacted else intervention.body_html,
        "lang": intervention.language or intervention.room.language,
        "agenda_item": intervention.agenda_item.public_id,
        "created_at": intervention.created_at.isoformat(),
        "redaction": {"reason": intervention.redaction_reason} if redacted else None,
    }
    # Published later than posted (approved, restored), the label follows the rule as it
    # stands then: a pseudonym whose sector has fallen below k reads "A participant".
    shown = attribution_for(intervention.room, Reader.PARTICIPANTS, intervention.attribution)
    # Moderators also get the seat's handle (to act on it) and its sector, which the parity
    # figures count whatever the attribution policy shows participants.
    return {**data, "attribution": shown}, {**data, **seat_marks(intervention.seat)}


@transaction.atomic
def intervention_post(
    *,
    seat_id: int,
    client_id: uuid.UUID,
    body: str,
    kind: str = Intervention.Kind.STATEMENT,
    language: str = "",
) -> PostResult:
    """Publish an intervention, or hold it for the moderators; a client_id seen before from
    this seat is not posted twice. `language` is what it is written in: a code of
    settings.INTERVENTION_LANGUAGES, else the room's language."""
    # `in_room` is the chair's note of what a delegate said in the meeting room (hybrid.py).
    if kind not in Intervention.Kind.values or kind == Intervention.Kind.IN_ROOM:
        raise ServiceError(
            "invalid_frame",
            _("Unknown intervention kind %(kind)s.") % {"kind": repr(kind)},
            field="kind",
        )
    seat = Seat.objects.select_related("user", "sector", "organization").get(pk=seat_id)
    # The room row lock serialises posts in the room; append_event takes it again below.
    room = RoundTable.objects.select_for_update().get(pk=seat.room_id)
    seat.room = room
    earlier = Intervention.objects.filter(seat=seat, client_id=client_id).first()
    if earlier is not None:
        held = HELD if earlier.status == Intervention.Status.HELD else ""
        return PostResult(earlier.seq, earlier.public_id, created=False, held_reason=held)
    check_can_post(seat, room)
    body = check_body(body)
    now = timezone.now()
    check_post_limits(seat, room, now)
    floor_may_post(seat, room, kind, now)
    item = current_agenda_item(room)
    if item is None:
        raise ServiceError("no_agenda", _("This round table has no agenda item to speak to."))

    mentions = names_in(room, body)
    held_for, held_reason = "", ""
    if mentions:
        held_for, held_reason = "names", HELD_FOR_MENTIONS
    elif room.premoderation and not allowed(seat.role, Action.APPROVE):
        held_for, held_reason = "premoderation", HELD_FOR_PREMODERATION

    intervention = Intervention(
        room=room,
        seat=seat,
        agenda_item=item,
        kind=kind,
        language=_language(language, room),
        body_md=body,
        body_html=render_markdown(body),
        client_id=client_id,
        created_at=now,
        attribution=attribute(seat).as_payload(),
        status=Intervention.Status.HELD if held_for else Intervention.Status.PUBLISHED,
        status_reason=held_reason,
        held_for=held_for,
    )
    participants, moderators = intervention_payloads(intervention)
    if held_for:
        # Moderators get the Markdown with the names marked, to redact from it, and the alert
        # when this seat keeps naming people (forum/services/holds.py: in this one event).
        alert = name_hold_alert(seat, now, named=held_for == "names", pending=1)
        event = append_event(
            room,
            "intervention.held",
            participants=None,
            moderators={
                **moderators,
                "reason": held_reason,
                "body_md": body,
                "mentions": spans(body, mentions),
                **({"alert": alert} if alert else {}),
            },
        )
    else:
        event = append_event(
            room, "intervention.posted", participants=participants, moderators=moderators
        )
    intervention.seq = event.seq
    intervention.save()
    seat.save(update_fields=consume_post(seat, now))
    return PostResult(
        event.seq, intervention.public_id, created=True, held_reason=HELD if held_for else ""
    )
