"""The order of the floor queue: a pure function, no database.

The rule (parity is enforced):

1. Points of order first, first come first served.
2. Then every other waiting request, by its sector's figures in the current agenda item:
   least speaking time, then fewest turns, then the longest wait (the sector whose earliest
   waiting request is oldest); inside a sector, first come first served.
3. Requests without a sector (only delegates raise hands, so there should be none) last,
   first come first served.
4. A request the chair has moved (`pinned_position`, 1-based) stands at that position;
   the others fill the remaining places in the order above.

The queue is what you get by naming the next speaker again and again on the CURRENT
figures, simulating nothing: a sector's second request is not placed where it would land
once the first has spoken. So the head of the queue is always exactly the request the
rule names next, and the places behind it are a forecast that re-sorts as turns end
(every floor event carries the fresh queue). Naming again and again on fixed figures comes
down to one sort key: (sector's seconds, sector's turns, own arrival). Among sectors with
equal figures the one waiting longest is the one whose waiting request is oldest, so inside
such a tier the queue is simply first come first served (when nobody has spoken yet the
queue is in order of arrival); a sector that has had more goes behind every request of the
sectors that have had less.

Every turn counts in its sector's figures, points of order included: speaking is speaking.
Time is whole seconds, the same figure the `floor.turn_ended` events carry, so the order
can be recomputed from the event log alone.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

POINT_OF_ORDER = "point_of_order"


@dataclass(frozen=True)
class Waiting:
    """A raised hand as the rule sees it. `id` breaks ties of `requested_at` (lower first)."""

    id: int
    kind: str
    sector: Hashable | None
    requested_at: datetime
    pinned_position: int | None = None


class Tally(NamedTuple):
    """What a sector has had of the floor in the current agenda item."""

    seconds: int = 0
    turns: int = 0


NOTHING = Tally()


def _arrival(request: Waiting) -> tuple:
    return (request.requested_at, request.id)


def rule_order(waiting: Iterable[Waiting], spoken: Mapping[Hashable, Tally]) -> list[Waiting]:
    """`waiting` in the order of the rule alone (pins ignored)."""

    def key(request: Waiting) -> tuple:
        if request.kind == POINT_OF_ORDER:
            return (0, 0, 0, _arrival(request))
        if request.sector is None:
            return (2, 0, 0, _arrival(request))
        seconds, turns = spoken.get(request.sector, NOTHING)
        return (1, seconds, turns, _arrival(request))

    return sorted(waiting, key=key)


def floor_order(waiting: Iterable[Waiting], spoken: Mapping[Hashable, Tally]) -> list[Waiting]:
    """The queue, head first: the rule's order with the chair's pinned requests placed.

    Pinned requests take their position in order of (position, arrival); when two share a
    position, or a position lies beyond the end of the queue, they follow each other.
    """
    requests = list(waiting)
    pinned = sorted(
        (r for r in requests if r.pinned_position is not None),
        key=lambda r: (r.pinned_position, *_arrival(r)),
    )
    by_rule = rule_order((r for r in requests if r.pinned_position is None), spoken)
    queue: list[Waiting] = []
    p = u = 0
    while p < len(pinned) or u < len(by_rule):
        position = len(queue) + 1
        if p < len(pinned) and (pinned[p].pinned_position <= position or u == len(by_rule)):
            queue.append(pinned[p])
            p += 1
        else:
            queue.append(by_rule[u])
            u += 1
    return queue


def repin(queue: Sequence[Waiting], leaving_id: int) -> dict[int, int]:
    """New pinned positions once request `leaving_id` leaves `queue` (it got the floor, was
    lowered or removed): every pinned request keeps its place among the others, so a
    request the chair moved to position 3 moves up to 2 when someone ahead of it leaves.

    Returns {id: new position} for the pinned requests whose position changes.
    """
    remaining = [r for r in queue if r.id != leaving_id]
    return {
        r.id: index
        for index, r in enumerate(remaining, start=1)
        if r.pinned_position is not None and r.pinned_position != index
    }
