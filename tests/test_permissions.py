"""Every role x every action of moderation.permissions.PERMISSIONS, allowed and refused.

Each action goes through its real entry point: the service function (all of them), the
websocket frame (every action that has one), the room page and the audit page. Allowed:
the action succeeds, changes the rows and appends its event (and its audit entry, from
`approve` down). Refused: `forbidden` (or the limit's own code where a role may post but
not past that limit), and the room's rows, log and audit chain are exactly as before.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.utils import timezone

from forum import selectors
from forum.errors import ServiceError
from forum.models import (
    Ballot,
    ConsensusCheck,
    Contribution,
    Flag,
    FloorRequest,
    HeldText,
    Intervention,
    MinutesVersion,
    Recommendation,
    RoomEvent,
    RoundTable,
    Seat,
    User,
    Voter,
)
from forum.services import (
    agenda,
    consensus,
    contributions,
    floor,
    holds,
    hybrid,
    minutes,
    recommendations,
    seats,
)
from forum.services import moderator_actions as moderation
from forum.services.interventions import intervention_post
from forum.services.seats import seat_consent, seat_issue_token, seat_revoke_token
from moderation.audit import audit_verify
from moderation.models import AuditEntry
from moderation.permissions import PERMISSIONS, Action, allowed, require
from realtime.events import MODERATORS, PARTICIPANTS, validate_payload
from tests.support.contributions import first_item, open_window
from tests.support.personas import Cast, build_cast, client_for, observers_consent, session_of
from tests.support.state import snapshot

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def cast(db) -> Cast:
    """The shared cast, and the room's venue screen as "vera" (a seat of role `screen`)."""
    cast = build_cast()
    user = User(username="screen.vera", display_name="Venue screen")
    user.set_unusable_password()
    user.save()
    seat = Seat.objects.create(room=cast.room, user=user, role=Seat.Role.SCREEN)
    cast.tokens["vera"] = seat_issue_token(seat=seat)
    cast.seats["vera"] = seat
    return cast


ROLES = list(Seat.Role.values)  # chair, moderator, rapporteur, delegate, observer
ROLE_PERSONA = {
    "chair": "chloe",
    "moderator": "mona",
    "rapporteur": "rita",
    "delegate": "cora",
    "observer": "oscar",
    "screen": "vera",  # the venue screen's seat (forum/services/screens.py)
}
CLEAN = "Early warning only works when the alerts reach the districts in time."
NAMING = "I agree with what CORA civil said about early warning."
REASON = "It strays far from the agenda item."
PROPOSITION = "Early warning alerts should reach every district within the hour."
RECOMMENDATION = "Fund district alert networks before the next rainy season."
# Actions the table lists from `approve` down are written to the audit log (docs/permissions.md),
# except a delegate's own acts (raise_hand, vote: a vote in the audit log would link a ballot to
# a voter). Every case of these actions is audited ...
AUDITED = {
    Action.APPROVE, Action.REJECT, Action.HIDE, Action.RESTORE, Action.REDACT, Action.MUTE,
    Action.REMOVE_SEAT, Action.REVEAL, Action.MARK_PRESENCE, Action.PREMODERATION, Action.SLOW_MODE,
    Action.LOCK,
    Action.CLOSE, Action.FLOOR_OVERRIDE, Action.RUN_CHECKS, Action.DRAFT_RECOMMENDATIONS,
    Action.EDIT_MINUTES, Action.REVIEW_MINUTES, Action.ADOPT_MINUTES, Action.MODERATE_NOTES,
    Action.RUN_AGENDA, Action.PROXY_FLOOR, Action.MODERATE_CONTRIBUTIONS,
}  # fmt: skip
# ... of these, some cases are: the floor mode and turn time are audited, giving the floor by the
# rule is the floor's ordinary course (its events are the record).
PARTLY_AUDITED = {Action.RUN_FLOOR}
NOT_AUDITED = {Action.RAISE_HAND, Action.VOTE, Action.COMMENT_MINUTES, Action.CONTRIBUTE}


# -- the state a refusal must leave untouched ----------------------------------------------


def fresh(seat: Seat) -> Seat:
    return Seat.objects.select_related("room", "user").get(pk=seat.pk)


def last_event(room: RoundTable) -> RoomEvent:
    return RoomEvent.objects.filter(room=room).order_by("-seq").first()


def consent_everyone(room: RoundTable) -> None:
    Seat.objects.filter(room=room).update(consented_at=timezone.now())


def post_as(seat: Seat, body: str = CLEAN):
    return intervention_post(seat_id=seat.pk, client_id=uuid.uuid4(), body=body)


def published(cast: Cast) -> str:
    result = post_as(cast.gus)
    assert not result.held_reason
    return result.intervention_id


def held(cast: Cast) -> str:
    result = post_as(cast.gus, NAMING)
    assert result.held_reason
    return result.intervention_id


def status_of(ctx: dict) -> str:
    return Intervention.objects.get(public_id=ctx["id"]).status


def gus(cast: Cast) -> Seat:
    return fresh(cast.gus)


def the_room(cast: Cast) -> RoundTable:
    return RoundTable.objects.get(pk=cast.room.pk)


# -- one case per action (and per direction where an action goes both ways) --------------


@dataclass(frozen=True)
class Case:
    name: str
    action: Action
    setup: Callable[[Cast, Seat], dict]  # prepares the state the action applies to
    run: Callable[[Cast, Seat, dict], object]  # the service call, as `actor`
    effect: Callable[[Cast, Seat, dict], bool]  # the change an allowed run made
    emits: str  # the kind of the event the action appends
    frame: Callable[[Cast, dict], dict] | None = None  # the websocket frame, if any
    answer: str | None = None  # the frame type answering an allowed frame
    audit_target: Callable[[Cast, dict], str] | None = None
    # Code for a role that may post but not past this limit (lock, slow mode).
    limit_code: str | None = None
    # The action a `forbidden` names when the entry point checks another one first (giving
    # the floor out of order is run_floor, then floor_override).
    refused_as: Action | None = None


def new_post(cast: Cast, actor: Seat) -> dict:
    consent_everyone(cast.room)
    return {"client_id": uuid.uuid4()}


def locked_room(cast: Cast, actor: Seat) -> dict:
    ctx = new_post(cast, actor)
    moderation.room_set_locked(actor_seat_id=cast.chloe.pk, locked=True)
    return ctx


def slow_room_after_a_first_post(cast: Cast, actor: Seat) -> dict:
    ctx = new_post(cast, actor)
    moderation.room_set_slow_mode(actor_seat_id=cast.chloe.pk, seconds=600)
    if allowed(actor.role, Action.POST):
        post_as(actor)
    return ctx


def run_post(cast: Cast, actor: Seat, ctx: dict):
    return intervention_post(seat_id=actor.pk, client_id=ctx["client_id"], body=CLEAN)


def posted(cast: Cast, actor: Seat, ctx: dict) -> bool:
    return Intervention.objects.get(seat=actor, client_id=ctx["client_id"]).status == "published"


def post_frame(cast: Cast, ctx: dict) -> dict:
    return {"type": "post", "client_id": str(ctx["client_id"]), "body": CLEAN}


def with_published(cast: Cast, actor: Seat) -> dict:
    consent_everyone(cast.room)
    return {"id": published(cast)}


def with_held(cast: Cast, actor: Seat) -> dict:
    consent_everyone(cast.room)
    return {"id": held(cast)}


def with_premoderated(cast: Cast, actor: Seat) -> dict:
    """A held intervention that names nobody: approving it as written is the moderator's call
    (one naming someone is refused until redacted: tests/test_moderated_text.py)."""
    consent_everyone(cast.room)
    moderation.room_set_premoderation(actor_seat_id=cast.chloe.pk, on=True)
    result = post_as(cast.gus)
    assert result.held_reason
    return {"id": result.intervention_id}


def with_hidden(cast: Cast, actor: Seat) -> dict:
    ctx = with_published(cast, actor)
    moderation.intervention_hide(
        actor_seat_id=cast.chloe.pk, intervention_id=ctx["id"], reason=REASON
    )
    return ctx


def with_target(cast: Cast, actor: Seat) -> dict:
    return {"seat": cast.gus.public_id}


def with_muted_target(cast: Cast, actor: Seat) -> dict:
    moderation.seat_mute(actor_seat_id=cast.chloe.pk, seat=cast.gus.public_id, minutes=30)
    return with_target(cast, actor)


def with_nothing(cast: Cast, actor: Seat) -> dict:
    return {}


def with_lock(cast: Cast, actor: Seat) -> dict:
    moderation.room_set_locked(actor_seat_id=cast.chloe.pk, locked=True)
    return {}


def with_closed_room(cast: Cast, actor: Seat) -> dict:
    moderation.room_close(actor_seat_id=cast.chloe.pk)
    return {}


def moderate(action: str, **fields) -> Callable[[Cast, dict], dict]:
    return lambda cast, ctx: {
        "type": "moderate",
        "action": action,
        "id": ctx["id"],
        "ref": "r1",
        **fields,
    }


def seat_frame(action: str, **fields) -> Callable[[Cast, dict], dict]:
    return lambda cast, ctx: {
        "type": "seat",
        "action": action,
        "seat": ctx["seat"],
        "ref": "r1",
        **fields,
    }


def room_frame(action: str, **fields) -> Callable[[Cast, dict], dict]:
    return lambda cast, ctx: {"type": "room", "action": action, "ref": "r1", **fields}


def intervention_target(cast: Cast, ctx: dict) -> str:
    return ctx["id"]


def seat_target(cast: Cast, ctx: dict) -> str:
    return ctx["seat"]


def room_target(cast: Cast, ctx: dict) -> str:
    return cast.room.slug


def with_hands(*personas: str) -> Callable[[Cast, Seat], dict]:
    """Hands raised by `personas`, in that order (nobody has spoken: first come, first served)."""

    def setup(cast: Cast, actor: Seat) -> dict:
        return {persona: floor.hand_raise(seat_id=cast.seats[persona].pk) for persona in personas}

    return setup


def with_second_item(cast: Cast, actor: Seat) -> dict:
    from forum.models import AgendaItem

    return {
        "item": AgendaItem.objects.create(
            room=cast.room, position=2, title="The role of the media"
        ).public_id
    }


def with_open_check(cast: Cast, actor: Seat) -> dict:
    return {"check": consensus.check_open(actor_seat_id=cast.chloe.pk, proposition=PROPOSITION)}


def with_recommendation(cast: Cast, actor: Seat) -> dict:
    saved = recommendations.recommendation_save(
        actor_seat_id=cast.rita.pk, text=RECOMMENDATION, audience="un"
    )
    return {"id": saved.public_id}


def with_version(cast: Cast, actor: Seat) -> dict:
    item = cast.room.agenda_items.get().public_id
    minutes.minutes_save(actor_seat_id=cast.rita.pk, summaries={item: "The room agreed."})
    return {"version": 1}


def with_review(cast: Cast, actor: Seat) -> dict:
    ctx = with_version(cast, actor)
    minutes.minutes_review_open(actor_seat_id=cast.rita.pk, version=1)
    return ctx


def with_held_comment(cast: Cast, actor: Seat) -> dict:
    ctx = with_review(cast, actor)
    assert minutes.minutes_comment(seat_id=cast.cora.pk, version=1, body=NAMING) is None
    return {**ctx, "held": HeldText.objects.get(room=cast.room).public_id}


def held_target(cast: Cast, ctx: dict) -> str:
    return ctx["held"]


def with_window(cast: Cast, actor: Seat) -> dict:
    consent_everyone(cast.room)
    open_window(cast)
    return {"item": first_item(cast)}


def with_contribution(cast: Cast, actor: Seat) -> dict:
    ctx = with_window(cast, actor)
    sent = contributions.contribution_submit(
        seat_id=cast.gus.pk, agenda_item=ctx["item"], body=CLEAN
    )
    return {**ctx, "id": sent.public_id}


def contribution_status(ctx: dict) -> str:
    return Contribution.objects.get(public_id=ctx["id"]).status


def contribution_target(cast: Cast, ctx: dict) -> str:
    return ctx["id"]


def version_of(cast: Cast) -> MinutesVersion:
    return MinutesVersion.objects.get(room=cast.room, number=1)


def version_target(cast: Cast, ctx: dict) -> str:
    return "v1"


def request_of(ctx: dict, persona: str) -> FloorRequest:
    return FloorRequest.objects.get(public_id=ctx[persona])


def speaking(cast: Cast) -> FloorRequest | None:
    return FloorRequest.objects.filter(room=cast.room, status="speaking").first()


def check_target(cast: Cast, ctx: dict) -> str:
    return ctx.get("check") or ConsensusCheck.objects.get(room=cast.room).public_id


def recommendation_target(cast: Cast, ctx: dict) -> str:
    return ctx.get("id") or Recommendation.objects.get(room=cast.room).public_id


def floor_frame(action: str, persona: str | None = None, **fields) -> Callable[[Cast, dict], dict]:
    def frame(cast: Cast, ctx: dict) -> dict:
        target = {"request": ctx[persona]} if persona else {}
        return {"type": "floor", "action": action, **target, "ref": "r1", **fields}

    return frame


def request_target(persona: str) -> Callable[[Cast, dict], str]:
    return lambda cast, ctx: ctx[persona]


CASES = [
    Case(
        "consent",
        Action.CONSENT,
        with_nothing,
        lambda cast, actor, ctx: seat_consent(seat_id=actor.pk, rule="chatham-house"),
        lambda cast, actor, ctx: fresh(actor).consented_at is not None,
        "seat.consented",
        frame=lambda cast, ctx: {"type": "consent", "rule": "chatham-house"},
        answer="consented",
    ),
    Case("post", Action.POST, new_post, run_post, posted, "intervention.posted", post_frame, "ack"),
    Case(
        "post_when_locked",
        Action.POST_WHEN_LOCKED,
        locked_room,
        run_post,
        posted,
        "intervention.posted",
        post_frame,
        "ack",
        limit_code="room_locked",
    ),
    Case(
        "skip_limits",
        Action.SKIP_LIMITS,
        slow_room_after_a_first_post,
        run_post,
        posted,
        "intervention.posted",
        post_frame,
        "ack",
        limit_code="rate_limited",
    ),
    Case(
        "flag",
        Action.FLAG,
        with_published,
        lambda cast, actor, ctx: moderation.intervention_flag(
            seat_id=actor.pk, intervention_id=ctx["id"], reason=REASON
        ),
        lambda cast, actor, ctx: Flag.objects.filter(
            seat=actor, intervention__public_id=ctx["id"]
        ).exists(),
        "intervention.flagged",
        frame=lambda cast, ctx: {"type": "flag", "id": ctx["id"], "reason": REASON, "ref": "r1"},
        answer="flagged",
    ),
    Case(
        "approve",
        Action.APPROVE,
        with_premoderated,
        lambda cast, actor, ctx: moderation.intervention_approve(
            actor_seat_id=actor.pk, intervention_id=ctx["id"]
        ),
        lambda cast, actor, ctx: status_of(ctx) == "published",
        "intervention.posted",
        moderate("approve"),
        "done",
        intervention_target,
    ),
    Case(
        "reject",
        Action.REJECT,
        with_held,
        lambda cast, actor, ctx: moderation.intervention_reject(
            actor_seat_id=actor.pk, intervention_id=ctx["id"], reason=REASON
        ),
        lambda cast, actor, ctx: status_of(ctx) == "rejected",
        "intervention.rejected",
        moderate("reject", reason=REASON),
        "done",
        intervention_target,
    ),
    Case(
        "hide",
        Action.HIDE,
        with_published,
        lambda cast, actor, ctx: moderation.intervention_hide(
            actor_seat_id=actor.pk, intervention_id=ctx["id"], reason=REASON
        ),
        lambda cast, actor, ctx: status_of(ctx) == "hidden",
        "intervention.hidden",
        moderate("hide", reason=REASON),
        "done",
        intervention_target,
    ),
    Case(
        "restore",
        Action.RESTORE,
        with_hidden,
        lambda cast, actor, ctx: moderation.intervention_restore(
            actor_seat_id=actor.pk, intervention_id=ctx["id"]
        ),
        lambda cast, actor, ctx: status_of(ctx) == "published",
        "intervention.restored",
        moderate("restore"),
        "done",
        intervention_target,
    ),
    Case(
        "redact",
        Action.REDACT,
        with_published,
        lambda cast, actor, ctx: moderation.intervention_redact(
            actor_seat_id=actor.pk,
            intervention_id=ctx["id"],
            reason=REASON,
            body="A shorter version.",
        ),
        lambda cast, actor, ctx: (
            "A shorter version." in Intervention.objects.get(public_id=ctx["id"]).redacted_html
        ),
        "intervention.redacted",
        moderate("redact", reason=REASON, body="A shorter version."),
        "done",
        intervention_target,
    ),
    Case(
        "mute",
        Action.MUTE,
        with_target,
        lambda cast, actor, ctx: moderation.seat_mute(
            actor_seat_id=actor.pk, seat=ctx["seat"], minutes=5
        ),
        lambda cast, actor, ctx: (
            gus(cast).muted_until is not None and gus(cast).muted_until > timezone.now()
        ),
        "seat.muted",
        seat_frame("mute", minutes=5),
        "done",
        seat_target,
    ),
    Case(
        "unmute",
        Action.MUTE,
        with_muted_target,
        lambda cast, actor, ctx: moderation.seat_unmute(actor_seat_id=actor.pk, seat=ctx["seat"]),
        lambda cast, actor, ctx: gus(cast).muted_until is None,
        "seat.unmuted",
        seat_frame("unmute"),
        "done",
        seat_target,
    ),
    Case(
        "remove_seat",
        Action.REMOVE_SEAT,
        with_target,
        lambda cast, actor, ctx: moderation.seat_remove(
            actor_seat_id=actor.pk, seat=ctx["seat"], reason=REASON
        ),
        lambda cast, actor, ctx: (
            gus(cast).removed_at is not None and gus(cast).token_revoked_at is not None
        ),
        "seat.removed",
        seat_frame("remove", reason=REASON),
        "done",
        seat_target,
    ),
    Case(
        "mark_presence",
        Action.MARK_PRESENCE,
        with_target,
        lambda cast, actor, ctx: seats.seat_set_presence(
            actor_seat_id=actor.pk, seat=ctx["seat"], presence="in_room"
        ),
        lambda cast, actor, ctx: gus(cast).presence == "in_room",
        "seat.presence_changed",
        seat_frame("presence", presence="in_room"),
        "done",
        seat_target,
    ),
    Case(
        "reveal",
        Action.REVEAL,
        with_target,
        lambda cast, actor, ctx: moderation.seat_reveal(
            actor_seat_id=actor.pk, seat=ctx["seat"], reason=REASON
        ),
        lambda cast, actor, ctx: AuditEntry.objects.filter(
            action="reveal", target=ctx["seat"], reason=REASON
        ).exists(),
        "seat.revealed",
        seat_frame("reveal", reason=REASON),
        "revealed",
        seat_target,
    ),
    Case(
        "premoderation",
        Action.PREMODERATION,
        with_nothing,
        lambda cast, actor, ctx: moderation.room_set_premoderation(actor_seat_id=actor.pk, on=True),
        lambda cast, actor, ctx: the_room(cast).premoderation,
        "room.settings_changed",
        room_frame("premoderation", on=True),
        "done",
        room_target,
    ),
    Case(
        "slow_mode",
        Action.SLOW_MODE,
        with_nothing,
        lambda cast, actor, ctx: moderation.room_set_slow_mode(actor_seat_id=actor.pk, seconds=45),
        lambda cast, actor, ctx: the_room(cast).slow_mode_seconds == 45,
        "room.settings_changed",
        room_frame("slow_mode", seconds=45),
        "done",
        room_target,
    ),
    Case(
        "lock",
        Action.LOCK,
        with_nothing,
        lambda cast, actor, ctx: moderation.room_set_locked(actor_seat_id=actor.pk, locked=True),
        lambda cast, actor, ctx: the_room(cast).locked,
        "room.settings_changed",
        room_frame("lock"),
        "done",
        room_target,
    ),
    Case(
        "unlock",
        Action.LOCK,
        with_lock,
        lambda cast, actor, ctx: moderation.room_set_locked(actor_seat_id=actor.pk, locked=False),
        lambda cast, actor, ctx: not the_room(cast).locked,
        "room.settings_changed",
        room_frame("unlock"),
        "done",
        room_target,
    ),
    Case(
        "close",
        Action.CLOSE,
        with_nothing,
        lambda cast, actor, ctx: moderation.room_close(actor_seat_id=actor.pk),
        lambda cast, actor, ctx: the_room(cast).status == "closed",
        "room.status_changed",
        room_frame("close"),
        "done",
        room_target,
    ),
    Case(
        "reopen",
        Action.CLOSE,
        with_closed_room,
        lambda cast, actor, ctx: moderation.room_close(actor_seat_id=actor.pk, reopen=True),
        lambda cast, actor, ctx: the_room(cast).status == "live",
        "room.status_changed",
        room_frame("reopen"),
        "done",
        room_target,
    ),
    # -- the agenda and hybrid rooms -----------------------------------------------------------
    Case(
        "run_agenda",
        Action.RUN_AGENDA,
        with_second_item,
        lambda cast, actor, ctx: agenda.agenda_set_current(
            actor_seat_id=actor.pk, item_id=ctx["item"]
        ),
        lambda cast, actor, ctx: the_room(cast).current_item.public_id == ctx["item"],
        "agenda.current_changed",
        frame=lambda cast, ctx: {
            "type": "agenda",
            "action": "set",
            "item": ctx["item"],
            "ref": "r1",
        },
        answer="done",
        audit_target=lambda cast, ctx: ctx["item"],
    ),
    Case(
        "proxy_hand",
        Action.PROXY_FLOOR,
        with_nothing,
        lambda cast, actor, ctx: hybrid.hand_raise_for(
            actor_seat_id=actor.pk, seat=cast.cyrus.public_id
        ),
        lambda cast, actor, ctx: FloorRequest.objects.filter(
            seat=cast.cyrus, status="waiting", by_chair=True
        ).exists(),
        "floor.hand_raised",
        frame=lambda cast, ctx: {
            "type": "hand",
            "action": "raise",
            "seat": cast.cyrus.public_id,
            "ref": "r1",
        },
        answer="done",
        audit_target=lambda cast, ctx: cast.cyrus.public_id,
    ),
    Case(
        "in_room_turn",
        Action.PROXY_FLOOR,
        with_nothing,
        lambda cast, actor, ctx: hybrid.turn_record(
            actor_seat_id=actor.pk, seat=cast.cyrus.public_id, note=CLEAN
        ),
        lambda cast, actor, ctx: Intervention.objects.filter(
            seat=cast.cyrus, kind="in_room"
        ).exists(),
        "intervention.posted",
        frame=lambda cast, ctx: {
            "type": "floor",
            "action": "spoke",
            "seat": cast.cyrus.public_id,
            "note": CLEAN,
            "ref": "r1",
        },
        answer="done",
        audit_target=lambda cast, ctx: cast.cyrus.public_id,
    ),
    # -- the floor ---------------------------------------------------------------------------
    Case(
        "raise_hand",
        Action.RAISE_HAND,
        with_nothing,
        lambda cast, actor, ctx: floor.hand_raise(seat_id=actor.pk, kind="reply"),
        lambda cast, actor, ctx: FloorRequest.objects.filter(
            seat=actor, status="waiting", kind="reply"
        ).exists(),
        "floor.hand_raised",
        frame=lambda cast, ctx: {"type": "hand", "action": "raise", "kind": "reply", "ref": "r1"},
        answer="done",
    ),
    Case(
        "lower_hand",
        Action.RAISE_HAND,
        with_hands("cora"),
        lambda cast, actor, ctx: floor.hand_lower(seat_id=actor.pk),
        lambda cast, actor, ctx: request_of(ctx, "cora").status == "withdrawn",
        "floor.hand_lowered",
        frame=lambda cast, ctx: {"type": "hand", "action": "lower", "ref": "r1"},
        answer="done",
    ),
    Case(
        "floor_next",
        Action.RUN_FLOOR,
        with_hands("cora", "gus"),
        lambda cast, actor, ctx: floor.floor_give_next(actor_seat_id=actor.pk),
        lambda cast, actor, ctx: (
            speaking(cast).public_id == ctx["cora"] and not speaking(cast).out_of_order
        ),
        "floor.given",
        floor_frame("next"),
        "done",
    ),
    Case(
        "floor_mode",
        Action.RUN_FLOOR,
        with_nothing,
        lambda cast, actor, ctx: floor.floor_set_mode(
            actor_seat_id=actor.pk, floor_mode="queued", turn_seconds=120
        ),
        lambda cast, actor, ctx: (
            (the_room(cast).floor_mode, the_room(cast).turn_seconds) == ("queued", 120)
        ),
        "floor.mode_changed",
        floor_frame("mode", floor_mode="queued", turn_seconds=120),
        "done",
        room_target,
    ),
    Case(
        "floor_give_out_of_order",
        Action.FLOOR_OVERRIDE,
        with_hands("cora", "gus"),
        lambda cast, actor, ctx: floor.floor_give(
            actor_seat_id=actor.pk, request_id=ctx["gus"], reason=REASON
        ),
        lambda cast, actor, ctx: (
            speaking(cast).public_id == ctx["gus"] and speaking(cast).out_of_order
        ),
        "floor.given",
        floor_frame("give", "gus", reason=REASON),
        "done",
        request_target("gus"),
        refused_as=Action.RUN_FLOOR,
    ),
    Case(
        "floor_move",
        Action.FLOOR_OVERRIDE,
        with_hands("cora", "gus", "ada"),
        lambda cast, actor, ctx: floor.floor_move(
            actor_seat_id=actor.pk, request_id=ctx["ada"], position=1, reason=REASON
        ),
        lambda cast, actor, ctx: request_of(ctx, "ada").pinned_position == 1,
        "floor.request_moved",
        floor_frame("move", "ada", position=1, reason=REASON),
        "done",
        request_target("ada"),
    ),
    Case(
        "floor_remove",
        Action.FLOOR_OVERRIDE,
        with_hands("cora"),
        lambda cast, actor, ctx: floor.floor_remove(
            actor_seat_id=actor.pk, request_id=ctx["cora"], reason=REASON
        ),
        lambda cast, actor, ctx: request_of(ctx, "cora").status == "removed",
        "floor.request_removed",
        floor_frame("remove", "cora", reason=REASON),
        "done",
        request_target("cora"),
    ),
    # -- consensus checks and recommendations ------------------------------------------------
    Case(
        "check_open",
        Action.RUN_CHECKS,
        with_nothing,
        lambda cast, actor, ctx: consensus.check_open(
            actor_seat_id=actor.pk, proposition=PROPOSITION
        ),
        lambda cast, actor, ctx: ConsensusCheck.objects.get(room=cast.room).status == "open",
        "consensus.opened",
        frame=lambda cast, ctx: {
            "type": "check",
            "action": "open",
            "proposition": PROPOSITION,
            "ref": "r1",
        },
        answer="done",
        audit_target=check_target,
    ),
    Case(
        "check_close",
        Action.RUN_CHECKS,
        with_open_check,
        lambda cast, actor, ctx: consensus.check_close(
            actor_seat_id=actor.pk, check_id=ctx["check"]
        ),
        lambda cast, actor, ctx: (
            ConsensusCheck.objects.get(public_id=ctx["check"]).status == "closed"
        ),
        "consensus.closed",
        frame=lambda cast, ctx: {
            "type": "check",
            "action": "close",
            "check": ctx["check"],
            "ref": "r1",
        },
        answer="done",
        audit_target=check_target,
    ),
    Case(
        "vote",
        Action.VOTE,
        with_open_check,
        lambda cast, actor, ctx: consensus.ballot_cast(
            seat_id=actor.pk, check_id=ctx["check"], option="live"
        ),
        lambda cast, actor, ctx: (
            Voter.objects.filter(consensus_check__public_id=ctx["check"], seat=actor).exists()
            and list(
                Ballot.objects.filter(consensus_check__public_id=ctx["check"]).values_list(
                    "option", flat=True
                )
            )
            == ["live"]
        ),
        "consensus.voted",
        frame=lambda cast, ctx: {
            "type": "vote",
            "check": ctx["check"],
            "option": "live",
            "ref": "r1",
        },
        answer="done",
    ),
    Case(
        "recommendation_save",
        Action.DRAFT_RECOMMENDATIONS,
        with_nothing,
        lambda cast, actor, ctx: recommendations.recommendation_save(
            actor_seat_id=actor.pk, text=RECOMMENDATION, audience="states"
        ),
        lambda cast, actor, ctx: Recommendation.objects.get(room=cast.room).audience == "states",
        "recommendation.saved",
        frame=lambda cast, ctx: {
            "type": "recommendation",
            "action": "save",
            "text": RECOMMENDATION,
            "audience": "states",
            "ref": "r1",
        },
        answer="done",
        audit_target=recommendation_target,
    ),
    Case(
        "recommendation_delete",
        Action.DRAFT_RECOMMENDATIONS,
        with_recommendation,
        lambda cast, actor, ctx: recommendations.recommendation_delete(
            actor_seat_id=actor.pk, recommendation_id=ctx["id"]
        ),
        lambda cast, actor, ctx: not Recommendation.objects.filter(room=cast.room).exists(),
        "recommendation.deleted",
        frame=lambda cast, ctx: {
            "type": "recommendation",
            "action": "delete",
            "id": ctx["id"],
            "ref": "r1",
        },
        answer="done",
        audit_target=recommendation_target,
    ),
    Case(
        "minutes_save",
        Action.EDIT_MINUTES,
        with_nothing,
        lambda cast, actor, ctx: minutes.minutes_save(
            actor_seat_id=actor.pk, summaries={cast.room.agenda_items.get().public_id: "A summary."}
        ),
        lambda cast, actor, ctx: version_of(cast).summaries != {},
        "minutes.saved",
        audit_target=version_target,
    ),
    Case(
        "minutes_review_open",
        Action.REVIEW_MINUTES,
        with_version,
        lambda cast, actor, ctx: minutes.minutes_review_open(actor_seat_id=actor.pk, version=1),
        lambda cast, actor, ctx: version_of(cast).in_review,
        "minutes.review_opened",
        audit_target=version_target,
    ),
    Case(
        "minutes_review_close",
        Action.REVIEW_MINUTES,
        with_review,
        lambda cast, actor, ctx: minutes.minutes_review_close(actor_seat_id=actor.pk, version=1),
        lambda cast, actor, ctx: version_of(cast).review_closed_at is not None,
        "minutes.review_closed",
        audit_target=version_target,
    ),
    Case(
        "minutes_comment",
        Action.COMMENT_MINUTES,
        with_review,
        lambda cast, actor, ctx: minutes.minutes_comment(seat_id=actor.pk, version=1, body=CLEAN),
        lambda cast, actor, ctx: version_of(cast).comments.get().seat_id == actor.pk,
        "minutes.commented",
    ),
    Case(
        "held_publish",
        Action.MODERATE_NOTES,
        with_held_comment,
        lambda cast, actor, ctx: holds.held_text_publish(
            actor_seat_id=actor.pk,
            held_id=ctx["held"],
            body="I agree with what was said about early warning.",
        ),
        lambda cast, actor, ctx: (
            version_of(cast).comments.get().body_md.startswith("I agree with what was said")
        ),
        "text.published",
        audit_target=held_target,
    ),
    Case(
        "held_decline",
        Action.MODERATE_NOTES,
        with_held_comment,
        lambda cast, actor, ctx: holds.held_text_decline(
            actor_seat_id=actor.pk, held_id=ctx["held"], reason=REASON
        ),
        lambda cast, actor, ctx: HeldText.objects.get(public_id=ctx["held"]).status == "declined",
        "text.declined",
        audit_target=held_target,
    ),
    Case(
        "minutes_adopt",
        Action.ADOPT_MINUTES,
        with_version,
        lambda cast, actor, ctx: minutes.minutes_adopt(actor_seat_id=actor.pk, version=1),
        lambda cast, actor, ctx: version_of(cast).adopted_at is not None,
        "minutes.adopted",
        audit_target=version_target,
    ),
    Case(
        "contribution_submit",
        Action.CONTRIBUTE,
        with_window,
        lambda cast, actor, ctx: contributions.contribution_submit(
            seat_id=actor.pk, agenda_item=ctx["item"], body=CLEAN
        ),
        lambda cast, actor, ctx: Contribution.objects.filter(seat=actor).exists(),
        "contribution.submitted",
    ),
    Case(
        "contribution_publish",
        Action.MODERATE_CONTRIBUTIONS,
        with_contribution,
        lambda cast, actor, ctx: contributions.contribution_publish(
            actor_seat_id=actor.pk, contribution_id=ctx["id"]
        ),
        lambda cast, actor, ctx: contribution_status(ctx) == "published",
        "contribution.published",
        audit_target=contribution_target,
    ),
    Case(
        "contribution_return",
        Action.MODERATE_CONTRIBUTIONS,
        with_contribution,
        lambda cast, actor, ctx: contributions.contribution_request_changes(
            actor_seat_id=actor.pk, contribution_id=ctx["id"], note=REASON
        ),
        lambda cast, actor, ctx: contribution_status(ctx) == "changes_requested",
        "contribution.returned",
        audit_target=contribution_target,
    ),
    Case(
        "contribution_decline",
        Action.MODERATE_CONTRIBUTIONS,
        with_contribution,
        lambda cast, actor, ctx: contributions.contribution_decline(
            actor_seat_id=actor.pk, contribution_id=ctx["id"], reason=REASON
        ),
        lambda cast, actor, ctx: contribution_status(ctx) == "declined",
        "contribution.declined",
        audit_target=contribution_target,
    ),
]
# Walked by their own tests below: what a page or a socket lets each role read.
READS = {
    Action.JOIN,
    Action.READ_MODERATION,
    Action.READ_AUDIT,
    Action.READ_DRAFT_MINUTES,
    Action.READ_SCREEN,
}
FRAME_CASES = [case for case in CASES if case.frame is not None]


def refusal(case: Case, role: str) -> tuple[str, Action]:
    """The error code a role gets for `case`, and the action its `forbidden` names."""
    if case.limit_code and allowed(role, Action.POST):
        return case.limit_code, case.action
    if case.limit_code:
        return "forbidden", Action.POST  # an observer is stopped before any limit
    return "forbidden", case.refused_as or case.action


def assert_allowed_effect(cast: Cast, case: Case, actor: Seat, ctx: dict, before: dict) -> None:
    assert snapshot(cast.room) != before
    assert case.effect(cast, actor, ctx)
    event = last_event(cast.room)
    assert event.kind == case.emits
    # The log already validates on append; this checks what is stored, both audiences.
    validate_payload(event.kind, PARTICIPANTS, event.participants)
    validate_payload(event.kind, MODERATORS, event.moderators)
    assert audit_verify(cast.room).ok
    if case.audit_target is not None:
        entry = AuditEntry.objects.filter(room_id=cast.room.pk).order_by("-seq").first()
        assert entry is not None and entry.seq > len(before["audit"])
        assert (entry.action, entry.actor_role, entry.actor_public_id, entry.target) == (
            str(case.action),
            actor.role,
            actor.public_id,
            case.audit_target(cast, ctx),
        )
    else:
        assert len(snapshot(cast.room)["audit"]) == len(before["audit"])


def test_the_walk_covers_every_action_of_the_table():
    assert {case.action for case in CASES} | READS == set(Action)
    assert set(PERMISSIONS) == set(Action)
    assert all(set(roles) <= set(ROLES) for roles in PERMISSIONS.values())


def test_every_audited_action_has_an_audit_target():
    assert not (AUDITED | PARTLY_AUDITED) & NOT_AUDITED
    for case in CASES:
        if case.action in AUDITED:
            assert case.audit_target is not None, case.name
        elif case.action not in PARTLY_AUDITED:
            assert case.audit_target is None, case.name
    for action in PARTLY_AUDITED:
        audited = {case.audit_target is not None for case in CASES if case.action == action}
        assert audited == {True, False}, action


# -- the services ------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_each_role_may_call_exactly_the_services_the_table_allows(cast, case, role):
    actor = cast.seats[ROLE_PERSONA[role]]
    ctx = case.setup(cast, actor)
    actor = fresh(actor)
    before = snapshot(cast.room)
    if allowed(role, case.action):
        case.run(cast, actor, ctx)
        assert_allowed_effect(cast, case, actor, ctx, before)
        return
    with pytest.raises(ServiceError) as refused:
        case.run(cast, actor, ctx)
    code, action = refusal(case, role)
    assert refused.value.code == code
    if code == "forbidden":
        assert refused.value.extra.get("action") == str(action)
    assert refused.value.message
    assert snapshot(cast.room) == before


# -- the websocket frames ----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", FRAME_CASES, ids=lambda case: case.name)
async def test_each_role_may_send_exactly_the_frames_the_table_allows(cast, sockets, case, role):
    actor = cast.seats[ROLE_PERSONA[role]]
    ctx = await database_sync_to_async(case.setup)(cast, actor)
    sock, connected, _ = await sockets(actor.user)
    assert connected
    await sock.recv_type("welcome")
    before = await database_sync_to_async(snapshot)(cast.room)
    frame = case.frame(cast, ctx)
    await sock.send(frame)
    if allowed(role, case.action):
        answer = await sock.recv_type(case.answer)
        if "ref" in frame:
            assert answer["ref"] == "r1"
        actor = await database_sync_to_async(fresh)(actor)
        await database_sync_to_async(assert_allowed_effect)(cast, case, actor, ctx, before)
        return
    error = await sock.recv_type("error")
    code, action = refusal(case, role)
    assert error["code"] == code
    if code == "forbidden":
        assert error["action"] == str(action)
    if "ref" in frame:
        assert error["ref"] == "r1"
    if frame["type"] == "post":
        assert error["client_id"] == frame["client_id"]
    assert await database_sync_to_async(snapshot)(cast.room) == before
    # A refusal is an answer, not a disconnect.
    await sock.send({"type": "ping"})
    await sock.recv_type("pong")


# -- join: the room page and the socket ----------------------------------------------------


def page(user, path="/rooms/test-room/"):
    return client_for(user).get(path)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_role_may_open_the_room_page(cast, role):
    assert allowed(role, Action.JOIN)
    response = page(cast.seats[ROLE_PERSONA[role]].user)
    if role == "screen":  # the venue screen is led to its own page
        assert response.status_code == 302 and response["Location"] == "/rooms/test-room/screen/"
        response = page(cast.seats[ROLE_PERSONA[role]].user, response["Location"])
    assert response.status_code == 200
    assert "Test round table" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_only_the_screen_link_opens_the_screen_page(cast, role):
    response = page(cast.seats[ROLE_PERSONA[role]].user, "/rooms/test-room/screen/")
    assert response.status_code == (200 if allowed(role, Action.READ_SCREEN) else 403)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ROLES)
async def test_every_role_may_connect_to_the_room(cast, sockets, role):
    sock, connected, _ = await sockets(cast.seats[ROLE_PERSONA[role]].user)
    assert connected
    welcome = await sock.recv_type("welcome")
    assert welcome["you"]["role"] == role


@pytest.mark.django_db
def test_someone_without_a_seat_may_not_join(cast, outsider):
    assert page(outsider).status_code == 403
    assert page(None).status_code == 403


# -- read_moderation: which rendering of the log a socket gets ----------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_the_audience_of_a_role_follows_read_moderation(cast, role):
    access = selectors.access_room_summary(session_of(cast.seats[ROLE_PERSONA[role]]), "test-room")
    expected = MODERATORS if allowed(role, Action.READ_MODERATION) else PARTICIPANTS
    assert access.audience == expected


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ROLES)
async def test_only_roles_with_read_moderation_receive_moderator_events(cast, sockets, role):
    await database_sync_to_async(observers_consent)(cast.room)
    sock, _, _ = await sockets(cast.seats[ROLE_PERSONA[role]].user)
    await sock.recv_type("welcome")
    await database_sync_to_async(seat_consent)(seat_id=cast.gus.pk, rule="chatham-house")
    intervention_id = await database_sync_to_async(held)(cast)
    consented, held_event = await sock.events(2)
    if allowed(role, Action.READ_MODERATION):
        assert consented["kind"] == "seat.consented"
        assert held_event["kind"] == "intervention.held"
        assert held_event["data"]["id"] == intervention_id
        assert held_event["data"]["author"] == cast.gus.public_id
    else:
        assert consented == {"type": "event", "seq": 1, "kind": "redacted", "data": {}}
        assert held_event == {"type": "event", "seq": 2, "kind": "redacted", "data": {}}


# -- read_audit: the chair's audit page ----------------------------------------------------


def audit_page(user):
    return page(user, "/rooms/test-room/audit/")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_only_roles_with_read_audit_may_read_the_audit_log(cast, role):
    moderation.room_set_slow_mode(actor_seat_id=cast.chloe.pk, seconds=45)
    seat = cast.seats[ROLE_PERSONA[role]]
    response = audit_page(seat.user)
    body = response.content.decode()
    if allowed(role, Action.READ_AUDIT):
        require(fresh(seat), Action.READ_AUDIT)
        assert response.status_code == 200
        assert "slow_mode" in body
        assert cast.chloe.public_id in body
        assert "Chain intact" in body
    else:
        with pytest.raises(ServiceError) as refused:
            require(fresh(seat), Action.READ_AUDIT)
        assert refused.value.code == "forbidden"
        assert response.status_code == 403
        assert "slow_mode" not in body
        assert cast.chloe.public_id not in body


# -- read_draft_minutes: the minutes before adoption ---------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_only_roles_with_read_draft_minutes_may_read_a_draft(cast, role):
    with_version(cast, cast.rita)
    seat = cast.seats[ROLE_PERSONA[role]]
    for path in (
        "/rooms/test-room/minutes.md",
        "/rooms/test-room/minutes.md?version=1",
        "/rooms/test-room/minutes.md?version=live",
        "/rooms/test-room/minutes/",
    ):
        response = page(seat.user, path)
        body = response.content.decode()
        if allowed(role, Action.READ_DRAFT_MINUTES):
            assert response.status_code == 200, path
            assert "The room agreed." in body or "live" in path, path
        else:
            assert response.status_code == 403, path
            assert "The room agreed." not in body
    minutes.minutes_adopt(actor_seat_id=cast.chloe.pk, version=1)
    response = page(seat.user, "/rooms/test-room/minutes.md")
    if role == "screen":  # the venue screen's link opens the screen page only
        assert response.status_code == 403
        return
    assert response.status_code == 200 and "The room agreed." in response.content.decode()


# -- withdrawn seats: removed, or their link revoked ---------------------------------------

WITHDRAWALS = ["removed", "link revoked", "removed then given a new link"]


def withdraw(cast: Cast, seat: Seat, how: str) -> str:
    """Withdraw `seat` the way the product does (the chair's seat, which no moderator may
    remove, gets the same two fields set directly); returns the seat's latest join token."""
    token = next(t for persona, t in cast.tokens.items() if cast.seats[persona].pk == seat.pk)
    if how == "link revoked":
        seat_revoke_token(seat=fresh(seat))
        return token
    if seat.role == Seat.Role.CHAIR:
        now = timezone.now()
        Seat.objects.filter(pk=seat.pk).update(removed_at=now, token_revoked_at=now)
    else:
        moderation.seat_remove(actor_seat_id=cast.chloe.pk, seat=seat.public_id, reason=REASON)
    if how == "removed then given a new link":
        # Removal is for good: no path gives a removed seat a new link...
        with pytest.raises(ServiceError) as refused:
            seat_issue_token(seat=fresh(seat))
        assert refused.value.code == "seat_removed"
        # ...but a row written before that rule may hold one; the seat still calls nothing.
        removed_at = fresh(seat).removed_at
        Seat.objects.filter(pk=seat.pk).update(removed_at=None)
        token = seat_issue_token(seat=fresh(seat))
        Seat.objects.filter(pk=seat.pk).update(removed_at=removed_at)
    return token


def allowed_persona(action: Action) -> str:
    """A persona whose role the table allows `action`, so only the withdrawal refuses it."""
    for role in ("moderator", "delegate", "chair"):
        if allowed(role, action):
            return ROLE_PERSONA[role]
    raise AssertionError(action)


@pytest.mark.django_db
@pytest.mark.parametrize("how", WITHDRAWALS)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_a_withdrawn_seat_may_call_no_service(cast, case, how):
    actor = cast.seats[allowed_persona(case.action)]
    ctx = case.setup(cast, actor)
    withdraw(cast, actor, how)
    actor = fresh(actor)
    before = snapshot(cast.room)
    with pytest.raises(ServiceError) as refused:
        case.run(cast, actor, ctx)
    assert refused.value.code == "forbidden"
    assert snapshot(cast.room) == before


@pytest.mark.django_db
@pytest.mark.parametrize("how", WITHDRAWALS)
@pytest.mark.parametrize("persona", ["chloe", "mona", "cora"])
def test_a_withdrawn_seat_may_not_open_the_room_or_the_audit_page(cast, persona, how):
    seat = cast.seats[persona]
    token = withdraw(cast, seat, how)
    assert Client().get(f"/join/{token}/").status_code == 404
    assert page(seat.user).status_code == 403
    assert audit_page(seat.user).status_code == 403
    with pytest.raises(ServiceError) as refused:
        selectors.access_room_summary(session_of(seat), "test-room")
    assert refused.value.code == "forbidden"
    for action in Action:
        with pytest.raises(ServiceError):
            require(fresh(seat), action)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("how", WITHDRAWALS)
async def test_a_withdrawn_seat_may_not_connect(cast, sockets, how):
    await database_sync_to_async(withdraw)(cast, cast.cora, how)
    sock, _, _ = await sockets(cast.cora.user)
    error = await sock.recv_type("error")
    assert error["code"] == "forbidden"
    assert await sock.comm.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}


@pytest.mark.django_db(transaction=True)
async def test_an_open_socket_stops_reading_the_room_when_its_link_is_revoked(cast, sockets):
    """Revoking a link (say it leaked) must also end the sessions it opened: a socket left
    open would go on reading the live room, which a withdrawn seat may not."""
    await database_sync_to_async(consent_everyone)(cast.room)
    sock, _, _ = await sockets(cast.cora.user)
    await sock.recv_type("welcome")
    await database_sync_to_async(seat_revoke_token)(seat=cast.cora)
    await sock.send({"type": "post", "client_id": str(uuid.uuid4()), "body": CLEAN})
    assert (await sock.recv_type("error"))["code"] == "forbidden"
    await database_sync_to_async(post_as)(cast.gus)
    while True:  # told why (or not), then closed; never another event
        message = await sock.comm.receive_output(timeout=3)
        if message["type"] == "websocket.close":
            assert message["code"] == 4403
            break
        assert json.loads(message["text"])["type"] in ("presence", "error"), message


# -- the table in the docs is the table in the code ----------------------------------------


def doc_table() -> tuple[list[str], dict[str, set[str]]]:
    text = (REPO / "docs" / "permissions.md").read_text(encoding="utf-8")
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header[:2] == ["action", "what it is"]
    assert re.fullmatch(r"[|:\- ]+", lines[1])
    roles = header[2:]
    table: dict[str, set[str]] = {}
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert len(cells) == len(header), line
        name = cells[0].strip("`")
        assert name not in table, f"{name} is listed twice"
        marks = cells[2:]
        assert set(marks) <= {"✓", "–"}, line
        table[name] = {role for role, mark in zip(roles, marks, strict=True) if mark == "✓"}
    return roles, table


def test_the_table_in_docs_permissions_matches_the_code_exactly():
    roles, table = doc_table()
    assert roles == ROLES
    assert set(table) == {str(action) for action in Action}
    for action, who in PERMISSIONS.items():
        assert table[str(action)] == set(who), action
