"""The floor: the parity order (pure, property-based), and the services that run it.

The rule's oracle here is written independently of forum.floor_order: it picks the next
speaker the way the rule is worded (points of order first; then the sector that has spoken
least: time, then turns, then the longest wait; first come first served inside it).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forum.errors import ServiceError
from forum.floor_order import POINT_OF_ORDER, Tally, Waiting, floor_order, repin, rule_order
from forum.models import FloorRequest, RoomEvent, RoundTable, Seat
from forum.services import floor as floor_service
from forum.services import floor_core
from forum.services.floor import (
    floor_expire,
    floor_give,
    floor_give_next,
    floor_may_post,
    floor_move,
    floor_remove,
    floor_set_mode,
    floor_state,
    hand_lower,
    hand_raise,
    turn_end,
)
from forum.services.rooms import room_set_status
from moderation.audit import audit_verify
from moderation.models import AuditEntry
from realtime import log
from realtime.events import MODERATORS, PARTICIPANTS, validate_payload

T0 = datetime(2031, 3, 14, 9, 0, tzinfo=UTC)
KINDS = ("statement", "reply", POINT_OF_ORDER)
REASON = "The rapporteur asked to respond first."


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def arrival(request: Waiting) -> tuple:
    return (request.requested_at, request.id)


def named_next(waiting: list[Waiting], spoken: dict) -> Waiting | None:
    """The request the rule names, pins aside (the oracle)."""
    points = [r for r in waiting if r.kind == POINT_OF_ORDER]
    if points:
        return min(points, key=arrival)
    sectors = {r.sector for r in waiting if r.sector is not None}
    if sectors:

        def standing(sector):
            mine = [r for r in waiting if r.sector == sector]
            seconds, turns = spoken.get(sector, (0, 0))
            return (seconds, turns, min(arrival(r) for r in mine))

        sector = min(sectors, key=standing)
        return min((r for r in waiting if r.sector == sector), key=arrival)
    return min(waiting, key=arrival) if waiting else None


def parity_holds(head: Waiting, waiting: list[Waiting], spoken: dict) -> bool:
    """No other sector with a waiting request (points of order aside) has had less time."""
    if head.kind == POINT_OF_ORDER or head.sector is None:
        return True
    mine = spoken.get(head.sector, (0, 0))[0]
    return all(
        spoken.get(r.sector, (0, 0))[0] >= mine
        for r in waiting
        if r.sector is not None and r.kind != POINT_OF_ORDER
    )


# -- the pure order -------------------------------------------------------------------------

SECTORS = ("gov", "cso", "aca", "pri")
waiting_lists = st.lists(
    st.builds(
        lambda kind, sector, second: (kind, sector, second),
        st.sampled_from(KINDS),
        st.one_of(st.sampled_from(SECTORS), st.none()) | st.sampled_from(SECTORS),
        st.integers(0, 20),  # few distinct times: ties of requested_at happen
    ),
    max_size=14,
).map(lambda rows: [Waiting(i, k, s, at(t)) for i, (k, s, t) in enumerate(rows)])
tallies = st.dictionaries(
    st.sampled_from(SECTORS), st.builds(Tally, st.integers(0, 600), st.integers(0, 5)), max_size=4
)


def test_points_of_order_come_first_in_the_order_they_were_raised():
    queue = floor_order(
        [Waiting(1, "statement", "gov", at(0)), Waiting(2, POINT_OF_ORDER, "cso", at(5)),
         Waiting(3, POINT_OF_ORDER, "gov", at(3))],
        {"cso": Tally(900, 4)},
    )  # fmt: skip
    assert [r.id for r in queue] == [3, 2, 1]


def test_the_sector_heard_least_goes_first_then_fewest_turns_then_longest_wait():
    waiting = [
        Waiting(1, "statement", "gov", at(0)),
        Waiting(2, "statement", "cso", at(1)),
        Waiting(3, "reply", "aca", at(2)),
        Waiting(4, "statement", "pri", at(3)),
    ]
    spoken = {"gov": Tally(120, 1), "cso": Tally(60, 2), "aca": Tally(60, 1)}
    # pri has not spoken; aca and cso spoke 60 s, aca in fewer turns; gov spoke longest.
    assert [r.id for r in floor_order(waiting, spoken)] == [4, 3, 2, 1]
    # With equal time and turns, the sector waiting longest goes first.
    assert [r.id for r in floor_order(waiting, {})] == [1, 2, 3, 4]
    assert [r.id for r in floor_order(waiting, {"gov": Tally(60, 1), "cso": Tally(60, 1)})] == [
        3,
        4,
        1,
        2,
    ]


def test_among_sectors_heard_equally_the_queue_is_first_come_first_served():
    # gov's second request arrived before cso's first: once gov's first is named, the
    # figures being equal, gov waits longer (since 0:01) than cso (since 0:02).
    waiting = [Waiting(1, "statement", "gov", at(0)), Waiting(2, "statement", "gov", at(1)),
               Waiting(3, "statement", "cso", at(2))]  # fmt: skip
    assert [r.id for r in floor_order(waiting, {})] == [1, 2, 3]
    assert [r.id for r in floor_order(waiting, {"gov": Tally(1, 1)})] == [3, 1, 2]


def test_a_sectors_second_request_stands_behind_its_first_not_behind_the_others():
    # Current figures, nothing simulated: both cso requests come before gov's, because cso
    # has spoken less now. Once the first has spoken, the queue re-sorts.
    waiting = [Waiting(1, "statement", "gov", at(0)), Waiting(2, "statement", "cso", at(1)),
               Waiting(3, "statement", "cso", at(2))]  # fmt: skip
    assert [r.id for r in floor_order(waiting, {"gov": Tally(30, 1)})] == [2, 3, 1]
    assert [
        r.id for r in floor_order(waiting[::2], {"gov": Tally(30, 1), "cso": Tally(90, 1)})
    ] == [1, 3]


def test_requests_without_a_sector_come_last():
    waiting = [Waiting(1, "statement", None, at(0)), Waiting(2, "statement", "gov", at(9))]
    assert [r.id for r in floor_order(waiting, {"gov": Tally(3000, 9)})] == [2, 1]


@given(waiting=waiting_lists, spoken=tallies)
def test_the_queue_is_the_rule_applied_again_and_again_on_the_current_figures(waiting, spoken):
    queue = floor_order(waiting, spoken)
    left, expected = list(waiting), []
    while left:
        head = named_next(left, spoken)
        expected.append(head)
        left.remove(head)
    assert queue == expected
    # Inside a sector, first come first served.
    for sector in SECTORS:
        mine = [r for r in queue if r.sector == sector and r.kind != POINT_OF_ORDER]
        assert mine == sorted(mine, key=arrival)


@given(waiting=waiting_lists, spoken=tallies, data=st.data())
def test_pinned_requests_stand_where_the_chair_put_them(waiting, spoken, data):
    if not waiting:
        return
    chosen = data.draw(st.lists(st.sampled_from([r.id for r in waiting]), unique=True, max_size=4))
    positions = data.draw(
        st.lists(
            st.integers(1, len(waiting)), min_size=len(chosen), max_size=len(chosen), unique=True
        )
    )
    pins = dict(zip(chosen, positions, strict=True))
    requests = [Waiting(r.id, r.kind, r.sector, r.requested_at, pins.get(r.id)) for r in waiting]
    queue = floor_order(requests, spoken)
    assert sorted(r.id for r in queue) == sorted(r.id for r in requests)
    for index, request in enumerate(queue, start=1):
        if request.id in pins:
            assert pins[request.id] == index
    unpinned = [r for r in requests if r.pinned_position is None]
    assert [r for r in queue if r.pinned_position is None] == rule_order(unpinned, spoken)

    # When one request leaves, the pinned ones keep their place among the others.
    leaving = data.draw(st.sampled_from(queue))
    moves = repin(queue, leaving.id)
    remaining = [
        Waiting(r.id, r.kind, r.sector, r.requested_at, moves.get(r.id, r.pinned_position))
        for r in queue if r.id != leaving.id
    ]  # fmt: skip
    after = floor_order(remaining, spoken)
    before = [r.id for r in queue if r.id != leaving.id]
    for request in remaining:
        if request.pinned_position is not None:
            assert after.index(request) == before.index(request.id)


def test_pins_sharing_a_position_or_past_the_end_follow_each_other():
    waiting = [
        Waiting(1, "statement", "gov", at(0), 1),
        Waiting(2, "statement", "cso", at(1), 1),
        Waiting(3, "statement", "aca", at(2)),
        Waiting(4, "statement", "pri", at(3), 9),
    ]
    assert [r.id for r in floor_order(waiting, {})] == [1, 2, 3, 4]


SEATS = ("gov", "gov", "gov", "cso", "cso", "aca", "pri", None)  # seat index -> sector
floor_ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("raise"),
            st.integers(0, len(SEATS) - 1),
            st.sampled_from(KINDS),
            st.integers(0, 30),
        ),
        st.tuples(st.just("lower"), st.integers(0, len(SEATS) - 1)),
        st.tuples(st.just("turn"), st.integers(1, 400)),
        st.tuples(st.just("override"), st.integers(0, len(SEATS) - 1), st.integers(1, 400)),
    ),
    max_size=60,
)


@given(ops=floor_ops)
def test_any_sequence_of_raises_lowers_and_turns_gives_the_floor_by_the_rule(ops):
    """The floor as a state machine over the pure order: whatever happens, the next speaker
    is the one the rule names, and no sector speaks again while another waiting sector has
    had less time, unless the chair overrode the rule."""
    clock, next_id = 0, 0
    hands: dict[int, Waiting] = {}  # seat -> its waiting request
    spoken: dict[str, Tally] = {}

    def speak(request: Waiting, seconds: int) -> None:
        if request.sector is not None:
            was = spoken.get(request.sector, Tally())
            spoken[request.sector] = Tally(was.seconds + seconds, was.turns + 1)

    for op in ops:
        waiting = list(hands.values())
        if op[0] == "raise" and op[1] not in hands:
            clock += op[3]
            hands[op[1]] = Waiting(next_id, op[2], SEATS[op[1]], at(clock))
            next_id += 1
        elif op[0] == "lower":
            hands.pop(op[1], None)
        elif op[0] == "turn" and waiting:
            head = floor_order(waiting, spoken)[0]
            assert head == named_next(waiting, spoken)
            assert parity_holds(head, waiting, spoken)
            del hands[next(seat for seat, r in hands.items() if r is head)]
            clock += op[1]
            speak(head, op[1])
        elif op[0] == "override" and op[1] in hands:
            # The chair's choice: the rule is not asked, but the turn counts.
            clock += op[2]
            speak(hands.pop(op[1]), op[2])


# -- the services: helpers -------------------------------------------------------------------


def rows(room: RoundTable) -> dict:
    """Every row a floor action could touch, as plain values."""
    return {
        "room": RoundTable.objects.filter(pk=room.pk).values().get(),
        "requests": list(FloorRequest.objects.filter(room=room).order_by("pk").values()),
        "events": list(
            RoomEvent.objects.filter(room=room).order_by("seq").values_list("seq", "kind")
        ),
        "audit": list(
            AuditEntry.objects.filter(room_id=room.pk).order_by("seq").values_list("seq", "hash")
        ),
    }


def refused(room: RoundTable, code: str, action, /, **kwargs) -> ServiceError:
    """`action(**kwargs)` fails with `code` and changes nothing."""
    before = rows(room)
    with pytest.raises(ServiceError) as caught:
        action(**kwargs)
    assert caught.value.code == code, caught.value.message
    assert caught.value.message
    assert rows(room) == before
    return caught.value


def events(room: RoundTable, after: int = 0) -> list[RoomEvent]:
    found = list(RoomEvent.objects.filter(room=room, seq__gt=after).order_by("seq"))
    for event in found:
        validate_payload(event.kind, PARTICIPANTS, event.participants)
        validate_payload(event.kind, MODERATORS, event.moderators)
    return found


def last_seq(room: RoundTable) -> int:
    return RoundTable.objects.get(pk=room.pk).last_seq


def raise_hand(seat: Seat, seconds: float = 0, kind: str = "statement") -> str:
    return hand_raise(seat_id=seat.pk, kind=kind, now=at(seconds))


def speaker(room: RoundTable) -> FloorRequest | None:
    return FloorRequest.objects.filter(room=room, status="speaking").first()


def queue_ids(room: RoundTable, now: datetime) -> list[str]:
    return [entry["request"] for entry in floor_state(room=room, moderators=True, now=now)["queue"]]


# -- the services: the queue and its events --------------------------------------------------


def test_a_raised_hand_shows_in_the_queue_with_the_sector_for_moderators_only(cast):
    request = raise_hand(cast.ada, kind="reply")
    (event,) = events(cast.room)
    assert event.kind == "floor.hand_raised"
    # Academia has one delegate (below k = 3): participants see "A participant".
    entry = {
        "request": request,
        "kind": "reply",
        "attribution": {"label": "A participant", "sector": None, "kind": "anonymous"},
        "requested_at": T0.isoformat(),
        "by_chair": False,
    }
    assert event.participants == {
        "request": request,
        "kind": "reply",
        "queue": [entry],
        "speaker": None,
    }
    assert event.moderators == {
        "request": request, "kind": "reply", "speaker": None, "sector": "academia",
        "author": cast.ada.public_id,
        "queue": [{**entry, "sector": "academia", "author": cast.ada.public_id}],
    }  # fmt: skip
    assert FloorRequest.objects.get(public_id=request).agenda_item == cast.room.current_item


def test_points_of_order_first_then_the_sector_heard_least(cast):
    room = cast.room
    raise_hand(cast.gus, 0)
    floor_give_next(actor_seat_id=cast.chloe.pk, now=at(1))
    turn_end(seat_id=cast.gus.pk, now=at(61))  # government has spoken 60 s
    greta = raise_hand(cast.greta, 62)
    cora = raise_hand(cast.cora, 63)
    cyrus = raise_hand(cast.cyrus, 64)
    ada = raise_hand(cast.ada, 65, kind=POINT_OF_ORDER)
    assert queue_ids(room, at(66)) == [ada, cora, cyrus, greta]
    assert floor_give_next(actor_seat_id=cast.mona.pk, now=at(66)) == ada
    assert floor_give_next(actor_seat_id=cast.mona.pk, now=at(70)) == cora
    # Civil society has now spoken 30 s, government 60 s: civil society again.
    assert floor_give_next(actor_seat_id=cast.mona.pk, now=at(100)) == cyrus
    # Civil society 130 s, government 60 s: government.
    assert floor_give_next(actor_seat_id=cast.mona.pk, now=at(200)) == greta
    kinds = [e.kind for e in events(room)]
    assert kinds.count("floor.given") == 5 and kinds.count("floor.turn_ended") == 4


def test_the_turn_in_progress_counts_at_its_limit_in_the_queue_shown(cast):
    raise_hand(cast.gus, 0)
    floor_give_next(actor_seat_id=cast.chloe.pk, now=at(1))
    greta, cora = raise_hand(cast.greta, 2), raise_hand(cast.cora, 3)
    state = floor_state(room=cast.room, moderators=False, now=at(4))
    assert [e["request"] for e in state["queue"]] == [cora, greta]
    assert state["speaker"]["limit_seconds"] == 180
    assert state["speaker"]["started_at"] == at(1).isoformat()
    assert state["speaker"]["ends_at"] == at(181).isoformat()
    assert "sector" not in state["speaker"] and "author" not in state["speaker"]


def test_lowering_a_hand_withdraws_it(cast):
    request = raise_hand(cast.cora)
    hand_lower(seat_id=cast.cora.pk, now=at(1))
    assert FloorRequest.objects.get(public_id=request).status == "withdrawn"
    event = events(cast.room)[-1]
    assert (event.kind, event.participants["request"], event.participants["queue"]) == (
        "floor.hand_lowered",
        request,
        [],
    )
    assert event.moderators["sector"] == "civil-society"
    refused(cast.room, "not_found", hand_lower, seat_id=cast.cora.pk)
    raise_hand(cast.cora, 2)  # and the hand may go up again


# -- bad input: a clear error, nothing changed -----------------------------------------------


def test_a_hand_raised_twice_is_refused(cast):
    raise_hand(cast.cora)
    refused(cast.room, "already_raised", hand_raise, seat_id=cast.cora.pk, kind=POINT_OF_ORDER)


@pytest.mark.parametrize("persona", ["oscar", "chloe", "mona", "rita"])
def test_only_delegates_ask_for_the_floor(cast, persona):
    error = refused(cast.room, "forbidden", hand_raise, seat_id=cast.seats[persona].pk)
    assert "delegates" in error.message


def test_an_unknown_kind_of_request_is_refused(cast):
    refused(cast.room, "invalid_frame", hand_raise, seat_id=cast.cora.pk, kind="filibuster")


def test_a_hand_cannot_go_up_in_a_room_that_is_not_live(cast):
    room_set_status(room=cast.room, status=RoundTable.Status.CLOSED)
    refused(cast.room, "room_closed", hand_raise, seat_id=cast.cora.pk)


def test_a_muted_delegate_cannot_raise_a_hand(cast):
    Seat.objects.filter(pk=cast.cora.pk).update(muted_until=timezone.now() + timedelta(days=3650))
    refused(cast.room, "muted", hand_raise, seat_id=cast.cora.pk, now=timezone.now())


def test_lowering_someone_elses_hand_is_refused(cast):
    request = raise_hand(cast.cora)
    refused(cast.room, "forbidden", hand_lower, seat_id=cast.gus.pk, request_id=request)
    refused(cast.room, "forbidden", hand_lower, seat_id=cast.oscar.pk, request_id=request)


def test_giving_the_floor_to_an_unknown_request_is_refused(cast):
    raise_hand(cast.cora)
    for request_id in ("nope", "", 42, None):
        refused(
            cast.room,
            "not_found",
            floor_give,
            actor_seat_id=cast.chloe.pk,
            request_id=request_id,
            reason=REASON,
            now=at(1),
        )


def test_a_delegate_cannot_run_the_floor(cast):
    request = raise_hand(cast.cora)
    refused(cast.room, "forbidden", floor_give_next, actor_seat_id=cast.gus.pk, now=at(1))
    refused(
        cast.room, "forbidden", floor_give, actor_seat_id=cast.gus.pk, request_id=request, now=at(1)
    )
    refused(
        cast.room,
        "forbidden",
        floor_move,
        actor_seat_id=cast.gus.pk,
        request_id=request,
        position=1,
        reason=REASON,
    )
    refused(
        cast.room,
        "forbidden",
        floor_remove,
        actor_seat_id=cast.oscar.pk,
        request_id=request,
        reason=REASON,
    )
    refused(cast.room, "forbidden", floor_set_mode, actor_seat_id=cast.rita.pk, floor_mode="queued")


def test_the_next_speaker_from_an_empty_queue_is_refused_and_the_speaker_goes_on(cast):
    refused(cast.room, "queue_empty", floor_give_next, actor_seat_id=cast.chloe.pk, now=at(1))
    raise_hand(cast.cora)
    floor_give_next(actor_seat_id=cast.chloe.pk, now=at(1))
    refused(cast.room, "queue_empty", floor_give_next, actor_seat_id=cast.chloe.pk, now=at(2))
    assert speaker(cast.room).seat_id == cast.cora.pk


def test_a_request_no_longer_waiting_cannot_be_given_moved_or_removed(cast):
    request = raise_hand(cast.cora)
    hand_lower(seat_id=cast.cora.pk, now=at(1))
    for action, kwargs in (
        (floor_give, {"reason": REASON}),
        (floor_move, {"position": 1, "reason": REASON}),
        (floor_remove, {"reason": REASON}),
    ):
        refused(
            cast.room,
            "invalid_state",
            action,
            actor_seat_id=cast.chloe.pk,
            request_id=request,
            **kwargs,
        )
    refused(cast.room, "invalid_state", hand_lower, seat_id=cast.cora.pk, request_id=request)


def test_bad_moves_and_modes_are_refused(cast):
    request = raise_hand(cast.cora)
    for position in (0, -1, "1", True, 1.5, None):
        refused(
            cast.room,
            "invalid_frame",
            floor_move,
            actor_seat_id=cast.chloe.pk,
            request_id=request,
            position=position,
            reason=REASON,
        )
    refused(
        cast.room,
        "reason_required",
        floor_move,
        actor_seat_id=cast.chloe.pk,
        request_id=request,
        position=1,
        reason=" ",
    )
    refused(
        cast.room,
        "reason_required",
        floor_remove,
        actor_seat_id=cast.chloe.pk,
        request_id=request,
        reason="",
    )
    refused(
        cast.room, "invalid_frame", floor_set_mode, actor_seat_id=cast.chloe.pk, floor_mode="silent"
    )
    for seconds in (29, 3601, "60", True, 60.0):
        refused(
            cast.room,
            "invalid_frame",
            floor_set_mode,
            actor_seat_id=cast.chloe.pk,
            floor_mode="open",
            turn_seconds=seconds,
        )


# -- turns and time ---------------------------------------------------------------------------


def test_a_turn_ends_by_itself_when_its_time_is_up(cast):
    room = cast.room
    raise_hand(cast.cora)
    request = floor_give_next(actor_seat_id=cast.chloe.pk, now=at(10))
    given = events(room)[-1]
    assert given.participants["speaker"]["ends_at"] == at(190).isoformat()
    assert (
        given.participants["out_of_order"] is False
        and given.moderators["sector"] == "civil-society"
    )
    seq = last_seq(room)
    assert floor_expire(room_id=room.pk, now=at(189.999)) is False
    assert last_seq(room) == seq and speaker(room).public_id == request
    assert floor_expire(room_id=room.pk, now=at(190)) is True
    (ended,) = events(room, seq)
    assert ended.kind == "floor.turn_ended"
    assert (ended.participants["reason"], ended.participants["seconds"]) == ("time", 180)
    assert ended.participants["speaker"] is None and ended.moderators["sector"] == "civil-society"
    # Idempotent: a second timer, or one that fires late, finds nothing to do.
    assert floor_expire(room_id=room.pk, now=at(500)) is False
    assert last_seq(room) == seq + 1
    turn = FloorRequest.objects.get(public_id=request)
    assert (turn.status, turn.ended_at) == ("done", at(190))


def test_a_late_timer_does_not_lengthen_the_turn(cast):
    room = cast.room
    raise_hand(cast.cora)
    raise_hand(cast.gus, 1)
    floor_give_next(actor_seat_id=cast.chloe.pk, now=at(10))
    seq = last_seq(room)
    # Nobody called floor_expire; the chair's next action finds the turn over by time.
    floor_give_next(actor_seat_id=cast.chloe.pk, now=at(1000))
    ended, given = events(room, seq)
    assert (ended.kind, ended.moderators["reason"], ended.moderators["seconds"]) == (
        "floor.turn_ended",
        "time",
        180,
    )
    assert given.kind == "floor.given" and given.moderators["author"] == cast.gus.public_id


def test_the_speaker_yields_and_the_chair_ends_turns(cast):
    room = cast.room
    raise_hand(cast.cora)
    raise_hand(cast.gus, 1)
    floor_give_next(actor_seat_id=cast.chloe.pk, now=at(10))
    refused(room, "not_your_turn", turn_end, seat_id=cast.gus.pk, now=at(20))
    refused(room, "forbidden", turn_end, seat_id=cast.oscar.pk, now=at(20))
    turn_end(seat_id=cast.cora.pk, now=at(52.4))
    ended = events(room)[-1]
    assert (ended.participants["reason"], ended.participants["seconds"]) == ("yielded", 42)
    refused(room, "no_turn", turn_end, seat_id=cast.mona.pk, now=at(60))
    floor_give_next(actor_seat_id=cast.chloe.pk, now=at(60))
    turn_end(seat_id=cast.mona.pk, now=at(75))
    ended = events(room)[-1]
    assert (ended.participants["reason"], ended.participants["seconds"]) == ("chair", 15)
    assert speaker(room) is None


def test_a_speaker_yielding_after_the_time_is_up_is_not_an_error(cast):
    raise_hand(cast.cora)
    floor_give_next(actor_seat_id=cast.chloe.pk, now=at(0))
    turn_end(seat_id=cast.cora.pk, now=at(200))
    ended = events(cast.room)[-1]
    assert (ended.participants["reason"], ended.participants["seconds"]) == ("time", 180)


def test_the_floor_mode_and_turn_time(cast):
    room = cast.room
    floor_set_mode(actor_seat_id=cast.chloe.pk, floor_mode="queued", turn_seconds=60, now=at(0))
    changed = events(room)[-1]
    assert changed.kind == "floor.mode_changed"
    assert changed.participants == {
        "request": "",
        "queue": [],
        "speaker": None,
        "floor_mode": "queued",
        "turn_seconds": 60,
    }
    raise_hand(cast.cora, 1)
    floor_give_next(actor_seat_id=cast.chloe.pk, now=at(2))
    assert events(room)[-1].participants["speaker"]["limit_seconds"] == 60
    assert speaker(room).ends_at == at(62)
    assert audit_verify(room).ok


def test_in_a_queued_room_only_the_speaker_posts_statements(cast):
    room = cast.room
    floor_may_post(cast.cora, room, "statement", now=at(0))  # open: anyone
    floor_set_mode(actor_seat_id=cast.chloe.pk, floor_mode="queued", now=at(0))
    room.refresh_from_db()
    with pytest.raises(ServiceError) as caught:
        floor_may_post(cast.cora, room, "statement", now=at(0))
    assert caught.value.code == "not_your_turn"
    floor_may_post(cast.cora, room, POINT_OF_ORDER, now=at(0))
    floor_may_post(cast.cora, room, "reply", now=at(0))
    floor_may_post(cast.chloe, room, "statement", now=at(0))
    raise_hand(cast.cora, 1)
    floor_give_next(actor_seat_id=cast.chloe.pk, now=at(2))
    floor_may_post(cast.cora, room, "statement", now=at(100))
    with pytest.raises(ServiceError, match="raise your hand"):
        floor_may_post(cast.gus, room, "statement", now=at(100))
    with pytest.raises(ServiceError):  # the turn's time is up
        floor_may_post(cast.cora, room, "statement", now=at(182))


# -- overrides -----------------------------------------------------------------------------------


def test_giving_the_floor_out_of_order_needs_a_reason_and_is_audited(cast):
    room = cast.room
    cora = raise_hand(cast.cora, 0)
    gus = raise_hand(cast.gus, 1)
    refused(
        room,
        "reason_required",
        floor_give,
        actor_seat_id=cast.chloe.pk,
        request_id=gus,
        reason="",
        now=at(2),
    )
    floor_give(actor_seat_id=cast.chloe.pk, request_id=gus, reason=REASON, now=at(2))
    given = events(room)[-1]
    assert given.participants["out_of_order"] is True and given.moderators["reason"] == REASON
    assert "reason" not in given.participants
    (entry,) = AuditEntry.objects.filter(room_id=room.pk)
    assert (entry.action, entry.target, entry.reason) == ("floor_override", gus, REASON)
    assert (
        entry.data == {"op": "give", "sector": "government"}
        and entry.actor_seat_id == cast.chloe.pk
    )
    # Giving the head of the queue is no override: no reason needed, nothing audited.
    floor_give(actor_seat_id=cast.mona.pk, request_id=cora, now=at(3))
    assert events(room)[-1].participants["out_of_order"] is False
    assert AuditEntry.objects.filter(room_id=room.pk).count() == 1
    assert audit_verify(room).ok


def test_a_moved_request_keeps_its_place_and_moves_up_as_others_speak(cast):
    room = cast.room
    a, b, c = raise_hand(cast.gus, 0), raise_hand(cast.cora, 1), raise_hand(cast.ada, 2)
    pia = raise_hand(cast.pia, 3)
    assert queue_ids(room, at(4)) == [a, b, c, pia]
    assert (
        floor_move(actor_seat_id=cast.mona.pk, request_id=pia, position=2, reason=REASON, now=at(4))
        == 2
    )
    moved = events(room)[-1]
    assert moved.kind == "floor.request_moved" and moved.participants["position"] == 2
    assert [e["request"] for e in moved.participants["queue"]] == [a, pia, b, c]
    assert moved.moderators["sector"] == "private-sector"
    assert floor_give_next(actor_seat_id=cast.chloe.pk, now=at(5)) == a
    # The pinned request is now at the head, even though government has spoken.
    assert queue_ids(room, at(6))[0] == pia
    assert floor_give_next(actor_seat_id=cast.chloe.pk, now=at(6)) == pia
    assert events(room)[-1].participants["out_of_order"] is False  # the move was the override
    assert (
        floor_move(actor_seat_id=cast.mona.pk, request_id=c, position=99, reason=REASON, now=at(7))
        == 2
    )
    audit = list(AuditEntry.objects.filter(room_id=room.pk).values_list("data", flat=True))
    assert audit == [{"op": "move", "position": 2, "sector": "private-sector"},
                     {"op": "move", "position": 2, "sector": "academia"}]  # fmt: skip
    assert audit_verify(room).ok


def test_the_chair_removes_a_request_with_a_reason(cast):
    room = cast.room
    request = raise_hand(cast.cora)
    floor_remove(actor_seat_id=cast.mona.pk, request_id=request, reason=REASON, now=at(1))
    removed = events(room)[-1]
    assert removed.kind == "floor.request_removed"
    assert (
        removed.participants["request"],
        removed.participants["reason"],
        removed.participants["queue"],
    ) == (
        request,
        REASON,
        [],
    )
    assert FloorRequest.objects.get(public_id=request).status == "removed"
    (entry,) = AuditEntry.objects.filter(room_id=room.pk)
    assert (entry.target, entry.reason, entry.data["op"]) == (request, REASON, "remove")
    assert audit_verify(room).ok
    raise_hand(cast.cora, 2)


def test_a_withdrawn_seats_hand_leaves_the_queue(cast):
    raise_hand(cast.cora)
    request = raise_hand(cast.gus, 1)
    Seat.objects.filter(pk=cast.gus.pk).update(
        removed_at=timezone.now(), token_revoked_at=timezone.now()
    )
    assert len(queue_ids(cast.room, at(2))) == 1
    refused(cast.room, "invalid_state", floor_give, actor_seat_id=cast.chloe.pk, request_id=request,
            reason=REASON, now=at(2))  # fmt: skip


# -- races ----------------------------------------------------------------------------------------


def race(*calls) -> list:
    """Run the calls in threads released at the same moment; each result or ServiceError."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=30)
            results[index] = call()
        except ServiceError as error:
            results[index] = error
        except Exception as error:  # noqa: BLE001 - an IntegrityError here fails the test
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=args) for args in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results


@pytest.fixture
def unpublished(monkeypatch):
    monkeypatch.setattr(log, "publish", lambda room_id, event: None)


@pytest.mark.django_db(transaction=True)
def test_two_moderators_giving_the_floor_at_once_leave_one_speaker(cast, unpublished):
    """With `expected_speaker` (what each moderator saw: nobody), the second loses with
    floor_taken and changes nothing."""
    room = cast.room
    for round_ in range(4):
        base = round_ * 1000
        cora = raise_hand(cast.cora, base)
        gus = raise_hand(cast.gus, base + 1)
        seq = last_seq(room)
        now = at(base + 2)
        if round_ % 2:
            calls = (
                lambda: floor_give_next(actor_seat_id=cast.chloe.pk, now=now, expected_speaker=""),  # noqa: B023
                lambda: floor_give(actor_seat_id=cast.mona.pk, request_id=gus, reason=REASON,  # noqa: B023
                                   now=now, expected_speaker=""),  # noqa: B023
            )  # fmt: skip
        else:
            calls = tuple(
                lambda seat=seat, now=now: floor_give_next(
                    actor_seat_id=seat.pk, now=now, expected_speaker=""
                )
                for seat in (cast.chloe, cast.mona)
            )
        results = race(*calls)
        won = [r for r in results if isinstance(r, str)]
        lost = [r for r in results if not isinstance(r, str)]
        assert len(won) == 1 and won[0] in (cora, gus), results
        assert (
            len(lost) == 1 and isinstance(lost[0], ServiceError) and lost[0].code == "floor_taken"
        ), results
        assert FloorRequest.objects.filter(room=room, status="speaking").count() == 1
        assert speaker(room).public_id == won[0]
        assert [e.kind for e in events(room, seq)] == ["floor.given"]
        turn_end(seat_id=cast.chloe.pk, now=at(base + 10))
        FloorRequest.objects.filter(room=room, status="waiting").update(status="withdrawn")
    assert audit_verify(room).ok


@pytest.mark.django_db(transaction=True)
def test_without_expected_speaker_the_second_call_ends_the_first_turn(cast, unpublished):
    """The documented fallback: actions are serialised, and `next` means "end this turn and
    give the next one", so two blind calls give two turns, one after the other."""
    room = cast.room
    cora, gus = raise_hand(cast.cora, 0), raise_hand(cast.gus, 1)
    seq = last_seq(room)
    results = race(
        *(
            lambda seat=seat: floor_give_next(actor_seat_id=seat.pk, now=at(2))
            for seat in (cast.chloe, cast.mona)
        )
    )
    assert sorted(results) == sorted([cora, gus]), results
    assert FloorRequest.objects.filter(room=room, status="speaking").count() == 1
    given_1, ended, given_2 = events(room, seq)
    assert [given_1.kind, ended.kind, given_2.kind] == [
        "floor.given",
        "floor.turn_ended",
        "floor.given",
    ]
    assert (ended.moderators["reason"], ended.moderators["seconds"]) == ("chair", 0)
    assert speaker(room).public_id == given_2.participants["request"]


@pytest.mark.django_db(transaction=True)
def test_two_gives_of_the_same_request_at_once_leave_one_speaker(cast, unpublished):
    room = cast.room
    cora = raise_hand(cast.cora, 0)
    results = race(*(
        lambda seat=seat: floor_give(actor_seat_id=seat.pk, request_id=cora, now=at(2))
        for seat in (cast.chloe, cast.mona)
    ))  # fmt: skip
    assert results.count(cora) == 1, results
    (lost,) = [r for r in results if r != cora]
    assert isinstance(lost, ServiceError) and lost.code == "floor_taken"
    assert FloorRequest.objects.filter(room=room, status="speaking").count() == 1


def test_a_second_speaker_is_refused_even_by_a_writer_that_skipped_the_lock(cast, monkeypatch):
    """The database keeps one speaker; the service turns its refusal into floor_taken."""
    raise_hand(cast.cora)
    raise_hand(cast.gus, 1)
    floor_give_next(actor_seat_id=cast.chloe.pk, now=at(2))
    # blind to the speaker, wherever the floor looks for it
    monkeypatch.setattr(floor_service, "_speaking", lambda room: None)
    monkeypatch.setattr(floor_core, "_speaking", lambda room: None)
    refused(cast.room, "floor_taken", floor_give_next, actor_seat_id=cast.mona.pk, now=at(3))


# -- the services, property-based: the log shows the rule was kept -----------------------------

DELEGATES = ("gus", "greta", "gil", "cora", "cyrus", "celia", "ada", "pia")
# Weighted so that hands go up and the floor moves often enough for the rule to matter.
OP_WEIGHTS = {"raise": 6, "next": 2, "tick": 3, "lower": 1, "yield": 1, "chair_end": 1, "expire": 1,
              "give": 1, "move": 1, "remove": 1}  # fmt: skip
service_op = st.tuples(
    st.sampled_from([name for name, weight in OP_WEIGHTS.items() for _ in range(weight)]),
    st.sampled_from(DELEGATES),
    st.sampled_from(("statement", "statement", "statement", "reply", POINT_OF_ORDER)),
    st.integers(0, 240),  # seconds for a tick, a position for a move
)
service_ops = st.lists(service_op, min_size=30, max_size=50)


class _Rollback(Exception):
    pass


def _run(cast, op, now: datetime) -> None:
    """One action; its target is drawn among those it makes sense for (`number` picks)."""
    name, persona, kind, number = op
    chloe, mona = cast.chloe.pk, cast.mona.pk
    hands = dict(
        FloorRequest.objects.filter(room=cast.room, status="waiting").values_list(
            "seat_id", "public_id"
        )
    )
    free = [cast.seats[p].pk for p in DELEGATES if cast.seats[p].pk not in hands]
    holders = sorted(hands)
    if name == "raise" and free:
        # Hypothesis favours small numbers; the count of hands so far spreads the raisers.
        raised = FloorRequest.objects.filter(room=cast.room).count()
        hand_raise(seat_id=free[(3 * raised + number) % len(free)], kind=kind, now=now)
    elif name == "raise":  # everyone's hand is up: a second one is refused
        hand_raise(seat_id=cast.seats[persona].pk, kind=kind, now=now)
    elif name == "next":
        floor_give_next(actor_seat_id=chloe if number % 2 else mona, now=now)
    elif name == "yield":
        current = speaker(cast.room)
        turn_end(
            seat_id=current.seat_id if current and number % 3 else cast.seats[persona].pk, now=now
        )
    elif name == "chair_end":
        turn_end(seat_id=mona, now=now)
    elif name == "expire":
        floor_expire(room_id=cast.room.pk, now=now)
    elif not holders:
        hand_lower(seat_id=cast.seats[persona].pk, now=now)  # no hand to lower: not_found
    else:
        request = hands[holders[number % len(holders)]]
        if name == "lower":
            hand_lower(seat_id=holders[number % len(holders)], now=now)
        elif name == "give":
            floor_give(actor_seat_id=chloe, request_id=request, reason=REASON, now=now)
        elif name == "move":
            floor_move(
                actor_seat_id=chloe,
                request_id=request,
                position=1 + number % 5,
                reason=REASON,
                now=now,
            )
        else:
            floor_remove(actor_seat_id=chloe, request_id=request, reason=REASON, now=now)


def check_log(room: RoundTable) -> int:
    """Replay the floor events from the moderators' payloads alone (as the parity figures
    do): every floor given in order went where the rule says, and every queue shown is the
    rule's order on the figures of the moment. Returns the number of overrides."""
    spoken: dict[str | None, Tally] = {}
    raised: dict[str, int] = {}  # request -> order of raising (the id tie-break)
    pinned: set[str] = set()
    queue: list[dict] = []
    overrides = 0
    for event in events(room):
        data = event.moderators
        if event.kind == "floor.hand_raised":
            raised[data["request"]] = len(raised)
        if event.kind == "floor.given":
            waiting = [
                Waiting(
                    raised[e["request"]],
                    e["kind"],
                    e["sector"],
                    datetime.fromisoformat(e["requested_at"]),
                )
                for e in queue
            ]
            me = raised[data["request"]]
            assert me in [w.id for w in waiting], "the floor went to a request that was not waiting"
            if data["out_of_order"]:
                overrides += 1
            elif data["request"] not in pinned:
                unpinned = [w for w in waiting if w.id not in {raised[p] for p in pinned}]
                head = named_next(unpinned, spoken)
                assert head.id == me, (
                    f"seq {event.seq}: the floor went to {me}, the rule names {head.id}"
                )
                assert parity_holds(head, unpinned, spoken)
        if event.kind == "floor.turn_ended":
            was = spoken.get(data["sector"], Tally())
            spoken[data["sector"]] = Tally(was.seconds + data["seconds"], was.turns + 1)
        if event.kind in ("floor.request_moved", "floor.request_removed"):
            overrides += 1
        if event.kind == "floor.request_moved":
            pinned.add(data["request"])
        if event.kind in ("floor.given", "floor.hand_lowered", "floor.request_removed"):
            pinned.discard(data["request"])
        queue = data["queue"]
        if not pinned:
            figures = dict(spoken)
            if data["speaker"] is not None:  # the turn in progress counts at its limit
                was = figures.get(data["speaker"]["sector"], Tally())
                figures[data["speaker"]["sector"]] = Tally(
                    was.seconds + data["speaker"]["limit_seconds"], was.turns + 1
                )
            figures.pop(None, None)
            shown = [
                Waiting(
                    raised[e["request"]],
                    e["kind"],
                    e["sector"],
                    datetime.fromisoformat(e["requested_at"]),
                )
                for e in queue
            ]
            assert shown == floor_order(shown, figures), (
                f"seq {event.seq}: the queue shown is not the rule's"
            )
    return overrides


@pytest.mark.django_db
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=service_ops)
def test_any_sequence_of_floor_actions_keeps_the_rule_in_the_log(cast, ops):
    room = cast.room
    try:
        with transaction.atomic():
            clock = 0
            for op in ops:
                if op[0] == "tick":
                    clock += op[3]
                    continue
                seq = last_seq(room)
                try:
                    _run(cast, op, at(clock))
                except ServiceError as error:
                    assert error.code in {
                        "already_raised",
                        "not_found",
                        "queue_empty",
                        "not_your_turn",
                        "no_turn",
                    }, (op, error.code, error.message)
                    assert last_seq(room) == seq  # a refusal writes nothing
                clock += 1
            assert FloorRequest.objects.filter(room=room, status="speaking").count() <= 1
            overrides = check_log(room)
            assert AuditEntry.objects.filter(room_id=room.pk).count() == overrides
            assert audit_verify(room).ok
            raise _Rollback
    except _Rollback:
        pass
