"""What every action in a room starts with: the actor's seat, fresh, and the room, locked.

Services call `load_acting` first in their transaction; the room row lock it takes is what
serialises actions in a room (and the event log's counter, which lives on the same row).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from forum.errors import ServiceError
from forum.models import AgendaItem, NameStatement, RoundTable, Seat
from moderation.audit import audit_append
from moderation.guard import folded, names_in, place, spans, whole_identity
from moderation.permissions import Action, require

from .reasons import clean_reason


@dataclass(frozen=True)
class Acting:
    seat: Seat
    room: RoundTable


def load_acting(seat_id: int, action: Action | None) -> Acting:
    """The actor's seat, read fresh, and its room, locked for the rest of the transaction;
    `require(seat, action)` unless `action` is None (the caller checks itself)."""
    seat = Seat.objects.select_related("user", "sector").get(pk=seat_id)
    room = RoundTable.objects.select_for_update().get(pk=seat.room_id)
    seat.room = room
    if action is not None:
        require(seat, action)
    return Acting(seat, room)


def require_live(room: RoundTable) -> None:
    if room.status == RoundTable.Status.CLOSED:
        raise ServiceError("room_closed", _("This round table is closed."))
    if room.status != RoundTable.Status.LIVE:
        raise ServiceError("room_not_open", _("This round table has not been opened yet."))


def refuse_names(
    room: RoundTable,
    text: str,
    *,
    what: str,
    field: str,
    actor: Seat | None = None,
    target: str = "",
    not_a_participant: str | None = None,
    rephrase_only: bool = False,
) -> None:
    """The one guard of a text someone who runs the room is about to publish (an approved or
    redacted intervention, a recommendation, a summary, a proposition, a held comment or
    note): in a room that does not name its speakers, a text that still names a seat holder
    or their organization is refused with `names_participant`, quoting the place, to the
    actor alone. Unless the actor states why the match is not a participant (a common word
    that is also a surname): then it goes out, and the statement is audited against `target`.
    `rephrase_only`: a text that takes no such statement (the reason of a redaction, a hide
    or a rejection): the refusal asks for it in other words.
    """
    found = names_in(room, text)
    if not found:
        return
    if rephrase_only:
        raise ServiceError(
            "names_participant",
            _(
                "The %(what)s names a participant or an organization of this round table, at "
                "%(place)s, and it is shown to others: say it without the name."
            )
            % {"what": what, "place": place(text, found[0])},
            field=field,
            mentions=spans(text, found),
        )
    if not_a_participant is not None and actor is not None:
        reason = clean_reason(not_a_participant, field="not_a_participant")
        audit_append(
            room=room,
            action="not_a_participant",
            actor=actor,
            target=target,
            reason=reason,
            data={"field": field, "mentions": len(found), "kinds": sorted({m.kind for m in found})},
        )
        # The exports' leak check reads the same words: the statement stands for them there too,
        # except for a seat holder's whole name, address or organization, which no statement
        # takes out of the exports' check (they refuse until the text is corrected).
        for mention in found:
            words = text[mention.start : mention.end]
            if not whole_identity(room, words):
                statement_record(
                    room, words, actor=actor, reason=reason, field=field, target=target
                )
        return
    raise ServiceError(
        "names_participant",
        _(
            "The %(what)s still names a participant or an organization of this round table, at "
            "%(place)s. Remove the name; or, if it is not a participant (a common word "
            "that is also "
            "a surname), say so with a reason."
        )
        % {"what": what, "place": place(text, found[0])},
        field=field,
        mentions=spans(text, found),
    )


def statement_record(
    room: RoundTable,
    words: str,
    *,
    actor: Seat,
    reason: str,
    field: str = "",
    target: str = "",
) -> NameStatement:
    """A standing statement that `words` are not a participant (one per words at a time)."""
    key = folded(words)
    standing = NameStatement.objects.filter(room=room, words=key, withdrawn_at__isnull=True).first()
    if standing is not None:
        return standing
    return NameStatement.objects.create(
        room=room,
        words=key,
        shown=" ".join(words.split())[:200],
        field=field,
        target=target[:64],
        reason=reason,
        stated_by=actor,
    )


def seat_marks(seat: Seat) -> dict:
    """What moderators' payloads add about a seat: its opaque handle and its sector (the
    parity figures read the sector whatever participants are shown)."""
    return {"author": seat.public_id, "sector": seat.sector.slug if seat.sector_id else None}


def current_agenda_item(room: RoundTable) -> AgendaItem | None:
    """The item the chair has moved to, else the first of the agenda."""
    return room.current_item or room.agenda_items.order_by("position").first()
