"""Consensus checks: the chair opens one on a proposition, delegates vote, the chair closes it.

Every sector weighs the same in the tally (forum/tally.py). Ballots are stored apart from the
list of who voted (Ballot / Voter): while a check is open a ballot carries only an HMAC of the
voter's seat handle under the check's own secret, so that a delegate can change it; when a check
of a Chatham House room closes, the ballots are rewritten without that key, in an order that
depends on their content only, and the secret is wiped. From then on nothing stored links a
ballot to a voter. Events say how many have voted, never who or how.

Checks, options and seats are named by their opaque per-room `public_id`s.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from forum.errors import ServiceError
from forum.models import Ballot, ConsensusCheck, RoundTable, Seat, Sector, Voter
from forum.tally import clean_check, disclose_result, tally
from moderation.audit import audit_append
from moderation.disclosure import Reader, disclosure
from moderation.permissions import Action
from moderation.sanitize import plain_input
from realtime.log import append_event

from .acting import (
    Acting,
    current_agenda_item,
    load_acting,
    refuse_names,
    require_live,
    seat_marks,
)

MAX_PROPOSITION_CHARS = 2_000


def _check(acting: Acting, check_id: object) -> ConsensusCheck:
    check = None
    if isinstance(check_id, str):
        check = (
            ConsensusCheck.objects.select_for_update(of=("self",))
            .select_related("agenda_item")
            .filter(room=acting.room, public_id=check_id)
            .first()
        )
    if check is None:
        raise ServiceError(
            "not_found", _("There is no such consensus check in this round table."), field="check"
        )
    return check


def _expect_open(check: ConsensusCheck) -> None:
    if check.status != ConsensusCheck.Status.OPEN:
        raise ServiceError(
            "check_closed", _("This consensus check is closed; its result is final."), field="check"
        )


def clean_text(
    room: RoundTable, text: object, *, field: str, limit: int, what: str, **vouch
) -> str:
    """Plain or Markdown text written by the chair or the rapporteur: not empty, not too
    long, and through the guard of published text (acting.refuse_names; `vouch`: its actor,
    target and not_a_participant)."""
    if not isinstance(text, str) or not text.strip():
        raise ServiceError(
            f"invalid_{field}", _("The %(what)s may not be empty.") % {"what": what}, field=field
        )
    text = plain_input(text).strip()
    if len(text) > limit:
        raise ServiceError(
            "too_large",
            _("The %(what)s is %(length)s characters; the limit is %(limit)s.")
            % {"what": what, "length": len(text), "limit": limit},
            field=field,
            limit=limit,
        )
    refuse_names(room, text, what=what, field=field, **vouch)
    return text


def voter_key(check: ConsensusCheck, seat: Seat) -> str:
    return hmac.new(
        check.voter_secret.encode(), seat.public_id.encode(), hashlib.sha256
    ).hexdigest()


def _participating_sectors(check: ConsensusCheck) -> list[str]:
    """The sectors of the room's live delegate seats, and of any ballot, in display order."""
    seated = Seat.objects.filter(
        room_id=check.room_id,
        role=Seat.Role.DELEGATE,
        sector__isnull=False,
        removed_at__isnull=True,
        token_revoked_at__isnull=True,
    ).values("sector_id")
    voted = Ballot.objects.filter(consensus_check=check).values("sector_id")
    return list(
        Sector.objects.filter(Q(pk__in=seated) | Q(pk__in=voted))
        .order_by("position", "slug")
        .values_list("slug", flat=True)
    )


# -- entry points ------------------------------------------------------------------------------


@transaction.atomic
def check_open(
    *,
    actor_seat_id: int,
    proposition: str,
    options: list[dict] | None = None,
    rule: dict | None = None,
) -> str:
    """Open a check on the room's current agenda item; return its public id.

    `options` None is the consensus scale (support / live / object) with the default rule;
    custom options ([{"key", "label"}], 2 to 8) default to the majority rule. See forum/tally.py.
    """
    acting = load_acting(actor_seat_id, Action.RUN_CHECKS)
    room = acting.room
    require_live(room)
    proposition = clean_text(
        room, proposition, field="proposition", limit=MAX_PROPOSITION_CHARS, what=_("proposition")
    )
    options, rule = clean_check(options, rule)
    item = current_agenda_item(room)
    if item is None:
        raise ServiceError(
            "no_agenda", _("This round table has no agenda item to hold a check on.")
        )
    check = ConsensusCheck.objects.create(
        room=room, agenda_item=item, proposition=proposition, options=options, rule=rule
    )
    data = {
        "check": check.public_id,
        "proposition": proposition,
        "options": options,
        "rule": rule,
        "agenda_item": item.public_id,
        "opened_at": check.opened_at.isoformat(),
    }
    append_event(
        room, "consensus.opened", participants=data, moderators={**data, **seat_marks(acting.seat)}
    )
    audit_append(
        room=room,
        action=str(Action.RUN_CHECKS),
        actor=acting.seat,
        target=check.public_id,
        data={"step": "open"},
    )
    return check.public_id


@dataclass(frozen=True)
class VoteResult:
    check: str
    option: str
    voters: int  # how many delegates have voted in the check
    changed: bool  # False when the ballot already held this option (nothing was written)


@transaction.atomic
def ballot_cast(*, seat_id: int, check_id: str, option: str) -> VoteResult:
    """Cast or change the delegate's one ballot in an open check."""
    acting = load_acting(seat_id, Action.VOTE)
    seat = acting.seat
    require_live(acting.room)
    check = _check(acting, check_id)
    _expect_open(check)
    keys = [choice["key"] for choice in check.options]
    if not isinstance(option, str) or option not in keys:
        raise ServiceError(
            "invalid_option",
            _("Choose one of the options of this check: %(options)s.")
            % {"options": ", ".join(keys)},
            field="option",
        )
    if not seat.sector_id:
        raise ServiceError(
            "no_sector", _("Your seat has no sector, so your ballot could not be weighed.")
        )
    key = voter_key(check, seat)
    ballot = Ballot.objects.filter(consensus_check=check, voter_key=key).first()
    if ballot is not None and (ballot.option, ballot.sector_id) == (option, seat.sector_id):
        return VoteResult(
            check.public_id,
            option,
            Voter.objects.filter(consensus_check=check).count(),
            changed=False,
        )
    if ballot is None:
        Ballot.objects.create(
            consensus_check=check, sector_id=seat.sector_id, option=option, voter_key=key
        )
        Voter.objects.create(consensus_check=check, seat=seat)
    else:
        ballot.option, ballot.sector_id = option, seat.sector_id
        ballot.save(update_fields=["option", "sector"])
    voters = Voter.objects.filter(consensus_check=check).count()
    data = {"check": check.public_id, "voters": voters}
    append_event(acting.room, "consensus.voted", participants=data, moderators=data)
    return VoteResult(check.public_id, option, voters, changed=True)


@transaction.atomic
def check_close(*, actor_seat_id: int, check_id: str) -> dict:
    """Close an open check, store and announce its tally; return the result.

    In a Chatham House room the ballots are then made unlinkable (see the module docstring).
    """
    acting = load_acting(actor_seat_id, Action.RUN_CHECKS)
    room = acting.room
    check = _check(acting, check_id)
    _expect_open(check)
    rows = list(Ballot.objects.filter(consensus_check=check).select_related("sector"))
    result = tally(
        ((ballot.sector.slug, ballot.option) for ballot in rows),
        _participating_sectors(check),
        [choice["key"] for choice in check.options],
        check.rule,
    )
    check.status, check.closed_at, check.result = (
        ConsensusCheck.Status.CLOSED,
        timezone.now(),
        result,
    )
    fields = ["status", "closed_at", "result"]
    if room.is_chatham_house:
        _unlink(check, rows)
        check.voter_secret = None
        fields.append("voter_secret")
    check.save(update_fields=fields)
    data = {"check": check.public_id, "result": result, "closed_at": check.closed_at.isoformat()}
    # Participants read the result split only by the sectors they may see; the stored result
    # is whole, and each record projects it again (forum/minutes/document.py).
    shown = {**data, "result": disclose_result(result, disclosure(room, Reader.PARTICIPANTS))}
    append_event(
        room, "consensus.closed", participants=shown, moderators={**data, **seat_marks(acting.seat)}
    )
    audit_append(
        room=room,
        action=str(Action.RUN_CHECKS),
        actor=acting.seat,
        target=check.public_id,
        data={"step": "close", "outcome": result["outcome"]},
    )
    return result


def _unlink(check: ConsensusCheck, rows: list[Ballot]) -> None:
    """Rewrite the check's ballots as bare (sector, option) rows.

    Deleted and inserted again, without the voter key, sorted by their content: the new ids
    are fresh and their order is a function of the ballots alone, so neither a key nor the
    ids nor the order of rows can be matched with the Voter rows (which are in voting order).
    A sort carries less than a shuffle would: nothing at all.
    """
    bare = sorted((ballot.sector_id, ballot.option) for ballot in rows)
    Ballot.objects.filter(consensus_check=check).delete()
    Ballot.objects.bulk_create(
        [
            Ballot(consensus_check=check, sector_id=sector_id, option=option, voter_key=None)
            for sector_id, option in bare
        ]
    )
