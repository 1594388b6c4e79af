"""Parity figures: a projection of a room's event log, per agenda item and for the room.

Read from the MODERATORS' payloads, which always carry the seat's `sector` (the
participants' attribution may hide it). Nothing here writes; the same log always gives
the same figures, so the minutes, the room page and an export agree.

What is counted, per sector:

- turns: a turn counts when it is given (`floor.given`), in the agenda item current then.
- speaking_seconds: the sum of `floor.turn_ended` `seconds`, plus the running turn's elapsed
  time up to `now` (never past its `ends_at`: the turn ends by itself there). A turn's time
  belongs to the item it was given in, even if the chair moves on before it ends.
- interventions and words: what readers can read now. Every intervention id counts once, the
  first time an `intervention.posted` (or `intervention.restored`) carries it: a held
  intervention counts when it is approved and published, a repeated `intervention.posted` for
  the same id is not counted again, held ones never published and rejected ones never count.
  A hidden intervention (`intervention.hidden`) stops counting, and counts again if it is
  restored; a redacted one keeps counting. Words are those of the published `body_html` with
  its tags removed (tokens with at least one letter or digit), in the item the intervention
  names (`agenda_item`).
- overrides: the chair's departures from the floor rule: `floor.given` with `out_of_order`
  true, `floor.request_moved`, `floor.request_removed`; counted for the sector of the
  request concerned and, per kind, for the item current at the time.

The balance index is 1 minus the Gini coefficient of speaking time across the groups the
reader sees (every sector of the dialogue, spoken or not, plus any other sector the log names,
as `disclosure` groups them): 1.0 is equal time, 1/S when one of S groups spoke all the time,
and 1.0 when nobody spoke.

What a reader sees (moderation/disclosure.py): `disclosure` decides which sectors are named;
the figures of the others are summed into one group, `POOLED` ("Other participants"), or left
out altogether when that group would be a single delegate. Shares and the balance index are
computed over the groups shown only, so nothing left out can be worked back from them. The
default, the full view, is the moderators'.

The agenda item of a floor event is the item current at the time: the room's first item at
the start of the log (as it was then: an `agenda.changed` that reordered the agenda says which),
then whatever `agenda.current_changed` (or the `current` of `agenda.changed`) says (a floor
payload that carries its own `agenda_item` wins).

Shape of `parity_figures(room, now)` (JSON-ready; seconds are floats rounded to 0.001):

    {
      "seq": 42,                      # the last log entry folded in
      "as_of": "2026-...+00:00",      # `now`
      "sectors": [{"slug": "government", "name": "Government"}, ...],   # display order; the
                                      # pooled group last, as {"slug": "~pooled", "name": ...}
      "running": null | {"sector": slug|"~pooled"|null, "agenda_item": id|null, "started_at": iso,
                         "elapsed_seconds": 12.5},
      "items": [
        {"agenda_item": "<public id>", "position": 1, "title": "...", "current": true,
         "sectors": {"government": FIGURES, ...},     # every sector, zeros included
         "overrides": OVERRIDES, "balance": 0.8},
        ...                                            # every agenda item, in order
      ],
      "room": {"sectors": {slug: FIGURES}, "overrides": OVERRIDES, "balance": 0.9},
    }
    FIGURES   = {"turns": int, "speaking_seconds": float, "speaking_share": float,
                 "interventions": int, "words": int, "overrides": int}
    OVERRIDES = {"total": int, "out_of_order": int, "moved": int, "removed": int}

`speaking_share` is the group's part of the speaking time in that item (or room), 0.0 when
nobody spoke. Figures of a sector the payload did not name (null) are not counted per sector.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from forum.models import AgendaItem, RoomEvent, RoundTable
from moderation.disclosure import FULL, POOLED, Disclosure, pooled_name

ROOM = None  # the key of the whole room's tally

KINDS = (
    "agenda.current_changed",
    "agenda.changed",
    "floor.given",
    "floor.turn_ended",
    "floor.request_moved",
    "floor.request_removed",
    "intervention.posted",
    "intervention.hidden",
    "intervention.restored",
)

_TAG = re.compile(r"<[^>]*>")
_WORDLIKE = re.compile(r"\w")


def count_words(body_html: str) -> int:
    """Words of sanitised HTML: tags become spaces, entities are decoded, and a word is a
    whitespace-separated token with at least one letter or digit."""
    text = html.unescape(_TAG.sub(" ", body_html or ""))
    return sum(1 for token in text.split() if _WORDLIKE.search(token))


def gini(values: list[float]) -> float:
    """The Gini coefficient of non-negative values: 0 equal, (n-1)/n all in one; 0 for an
    empty list or when all are zero."""
    n = len(values)
    total = sum(values)
    if n == 0 or total <= 0:
        return 0.0
    ordered = sorted(values)
    # sum_i sum_j |x_i - x_j| / (2 n^2 mean), computed on the sorted values in O(n).
    weighted = sum((2 * (i + 1) - n - 1) * x for i, x in enumerate(ordered))
    return weighted / (n * total)


def balance_index(values: list[float]) -> float:
    """1 minus the Gini coefficient; 1.0 when nobody spoke."""
    return 1.0 - gini(values)


@dataclass
class _Figures:
    turns: int = 0
    seconds: float = 0.0
    interventions: int = 0
    words: int = 0
    overrides: int = 0


@dataclass
class _Tally:
    sectors: dict[str, _Figures] = field(default_factory=dict)
    overrides: dict[str, int] = field(
        default_factory=lambda: {"out_of_order": 0, "moved": 0, "removed": 0}
    )

    def of(self, sector: str | None) -> _Figures | None:
        if not sector:
            return None
        return self.sectors.setdefault(sector, _Figures())


@dataclass
class _Said:
    """An intervention as counted: where, whose, how many words; and whether it is hidden."""

    targets: list[_Figures]
    words: int
    hidden: bool = False


@dataclass
class _Turn:
    sector: str | None
    item: str | None
    started_at: datetime | None
    ends_at: datetime | None


class _Fold:
    """Folds the log, event by event, into per-item and whole-room tallies."""

    def __init__(self, first_item: str | None):
        self.current_item = first_item
        self.tallies: dict[str | None, _Tally] = {ROOM: _Tally()}
        self.turns: dict[str, _Turn] = {}  # request id -> the turn given for it
        self.running: str | None = None  # request id of the turn being spoken
        self.said: dict[str, _Said] = {}  # intervention id -> what it counted
        self.items_seen: list[str] = []
        self.seq = 0

    def _targets(self, item: str | None) -> list[_Tally]:
        targets = [self.tallies[ROOM]]
        if item is not None:
            if item not in self.tallies:
                self.tallies[item] = _Tally()
                self.items_seen.append(item)
            targets.append(self.tallies[item])
        return targets

    def _item_of(self, data: dict) -> str | None:
        item = data.get("agenda_item")
        return item if isinstance(item, str) and item else self.current_item

    def apply(self, seq: int, kind: str, data: dict | None) -> None:
        self.seq = seq
        if not isinstance(data, dict):
            return
        handler = getattr(self, "_" + kind.replace(".", "_"), None)
        if handler is not None:
            handler(data)
        # Every floor event carries the whole floor after the change: no speaker, no turn.
        if kind.startswith("floor.") and "speaker" in data and data["speaker"] is None:
            self.running = None

    def _add_seconds(self, sector: str | None, item: str | None, seconds: float) -> None:
        for tally in self._targets(item):
            figures = tally.of(sector)
            if figures is not None:
                figures.seconds += seconds

    def _agenda_current_changed(self, data: dict) -> None:
        self.current_item = data.get("agenda_item") or self.current_item

    def _agenda_changed(self, data: dict) -> None:
        # Removing the current item (before the session) makes another one current.
        self.current_item = data.get("current") or self.current_item

    def _floor_given(self, data: dict) -> None:
        speaker = data.get("speaker") or {}
        sector, item = _sector_of(data, speaker), self._item_of(data)
        request = data.get("request") or speaker.get("request") or f"#{self.seq}"
        started_at = _parse(speaker.get("started_at"))
        if self.running is not None and self.running != request and started_at is not None:
            # A turn given while another runs, without a turn_ended between them: the earlier
            # one ended when this one started.
            ended = self.turns[self.running]
            self._add_seconds(ended.sector, ended.item, _elapsed(ended, started_at))
        self.turns[request] = _Turn(sector, item, started_at, _parse(speaker.get("ends_at")))
        self.running = request
        for tally in self._targets(item):
            figures = tally.of(sector)
            if figures is not None:
                figures.turns += 1
        if data.get("out_of_order") is True:
            self._override(data, "out_of_order", item)

    def _floor_turn_ended(self, data: dict) -> None:
        request = data.get("request")
        turn = self.turns.get(request)
        sector = data.get("sector") or (turn.sector if turn else None)
        item = turn.item if turn is not None else self._item_of(data)
        seconds = data.get("seconds")
        if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds > 0:
            self._add_seconds(sector, item, float(seconds))
        if request == self.running:
            self.running = None

    def _floor_request_moved(self, data: dict) -> None:
        self._override(data, "moved", self._item_of(data))

    def _floor_request_removed(self, data: dict) -> None:
        self._override(data, "removed", self._item_of(data))

    def _override(self, data: dict, kind: str, item: str | None) -> None:
        for tally in self._targets(item):
            tally.overrides[kind] += 1
            figures = tally.of(data.get("sector"))
            if figures is not None:
                figures.overrides += 1

    def _intervention_posted(self, data: dict) -> None:
        public_id = data.get("id")
        if not isinstance(public_id, str):
            return
        said = self.said.get(public_id)
        if said is not None:
            # Published before: a repeat counts nothing, a restoration counts it again.
            if said.hidden:
                said.hidden = False
                self._count(said, +1)
            return
        sector = _sector_of(data, data)
        targets = [
            tally.of(sector) for tally in self._targets(self._item_of(data)) if sector is not None
        ]
        said = self.said[public_id] = _Said(targets, count_words(data.get("body_html", "")))
        self._count(said, +1)

    # A restored intervention was published before; if the log lacks that first publication
    # it counts from here.
    _intervention_restored = _intervention_posted

    def _intervention_hidden(self, data: dict) -> None:
        said = self.said.get(data.get("id"))
        if said is not None and not said.hidden:
            said.hidden = True
            self._count(said, -1)

    @staticmethod
    def _count(said: _Said, sign: int) -> None:
        for figures in said.targets:
            figures.interventions += sign
            figures.words += sign * said.words

    def running_turn(self, now: datetime) -> tuple[_Turn, float] | None:
        if self.running is None:
            return None
        turn = self.turns[self.running]
        return turn, _elapsed(turn, now)


def _elapsed(turn: _Turn, until: datetime) -> float:
    """Seconds of `turn` spoken by `until`, never past its end (it ends by itself there)."""
    if turn.started_at is None:
        return 0.0
    if turn.ends_at is not None:
        until = min(until, turn.ends_at)
    return max(0.0, (until - turn.started_at).total_seconds())


def _sector_of(data: dict, seat_data: dict) -> str | None:
    """The moderators' payload's `sector`; a log written before payloads carried it falls
    back to the attribution's sector (null where the policy hid it)."""
    if "sector" in data:
        sector = data["sector"]
    else:
        sector = (seat_data.get("attribution") or {}).get("sector")
    return sector if isinstance(sector, str) and sector else None


def _parse(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return None
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    return parsed


Groups = list[tuple[str, list[str]]]  # (the key a reader sees, the sectors summed under it)


def _group_figures(tally: _Tally, members: list[str]) -> _Figures:
    summed = _Figures()
    for slug in members:
        f = tally.sectors.get(slug)
        if f is not None:
            summed.turns += f.turns
            summed.seconds += f.seconds
            summed.interventions += f.interventions
            summed.words += f.words
            summed.overrides += f.overrides
    return summed


def _figures_out(tally: _Tally, groups: Groups) -> dict:
    figures = {key: _group_figures(tally, members) for key, members in groups}
    total = sum(f.seconds for f in figures.values())
    return {
        key: {
            "turns": f.turns,
            "speaking_seconds": round(f.seconds, 3),
            "speaking_share": round(f.seconds / total, 4) if total > 0 else 0.0,
            "interventions": f.interventions,
            "words": f.words,
            "overrides": f.overrides,
        }
        for key, f in figures.items()
    }


def _overrides_out(tally: _Tally) -> dict:
    return {"total": sum(tally.overrides.values()), **tally.overrides}


def _balance(tally: _Tally, groups: Groups) -> float:
    return round(
        balance_index([_group_figures(tally, members).seconds for _, members in groups]), 4
    )


def _first_item(room: RoundTable, items: list[AgendaItem]) -> str | None:
    """The item current at the start of the log. The agenda may have been reordered since:
    an `agenda.changed` before any `agenda.current_changed` says which item was current then
    (its `current`); without one, nothing moved, and it is the first item."""
    first = (
        RoomEvent.objects.filter(room=room, kind__in=("agenda.changed", "agenda.current_changed"))
        .order_by("seq")
        .values_list("kind", "moderators")
        .first()
    )
    if first is not None and first[0] == "agenda.changed" and (first[1] or {}).get("current"):
        return first[1]["current"]
    return items[0].public_id if items else None


def parity_figures(
    room: RoundTable,
    now: datetime | None = None,
    *,
    upto: int | None = None,
    disclosure: Disclosure = FULL,
) -> dict:
    """The room's parity figures from its event log (see the module docstring for the shape).

    `now` (default: the current time) bounds the running turn's elapsed time; `upto` folds
    only the log up to that seq (the figures as they stood then); `disclosure` is what the
    reader may see (moderation/disclosure.py), the full view by default.
    """
    now = now or timezone.now()
    items = list(AgendaItem.objects.filter(room=room).order_by("position"))
    fold = _Fold(_first_item(room, items))
    events = RoomEvent.objects.filter(room=room, kind__in=KINDS).order_by("seq")
    if upto is not None:
        events = events.filter(seq__lte=upto)
    for seq, kind, data in events.values_list("seq", "kind", "moderators").iterator(
        chunk_size=1000
    ):
        fold.apply(seq, kind, data)
    last = RoomEvent.objects.filter(room=room)
    if upto is not None:
        last = last.filter(seq__lte=upto)
    seq = last.order_by("-seq").values_list("seq", flat=True).first() or 0

    running = fold.running_turn(now)
    running_out = None
    if running is not None:
        turn, elapsed = running
        fold._add_seconds(turn.sector, turn.item, elapsed)
        running_out = {
            "sector": disclosure.key(turn.sector),
            "agenda_item": turn.item,
            "started_at": turn.started_at.isoformat() if turn.started_at else None,
            "elapsed_seconds": round(elapsed, 3),
        }

    # The room's sectors: the dialogue's, in their order, then any other the log names.
    known = list(room.dialogue.sectors.order_by("position", "slug").values_list("slug", "name"))
    slugs = [slug for slug, _ in known]
    names = {**dict(known), POOLED: pooled_name()}
    others = sorted({s for t in fold.tallies.values() for s in t.sectors} - set(slugs))
    groups = disclosure.groups(slugs + others)

    item_rows = [(item.public_id, item.position, item.title) for item in items]
    listed = {public_id for public_id, _, _ in item_rows}
    item_rows += [(public_id, None, "") for public_id in fold.items_seen if public_id not in listed]
    current = fold.current_item
    out_items = []
    for public_id, position, title in item_rows:
        tally = fold.tallies.get(public_id, _Tally())
        out_items.append(
            {
                "agenda_item": public_id,
                "position": position,
                "title": title,
                "current": public_id == current,
                "sectors": _figures_out(tally, groups),
                "overrides": _overrides_out(tally),
                "balance": _balance(tally, groups),
            }
        )
    whole = fold.tallies[ROOM]
    return {
        "seq": seq,
        "as_of": now.isoformat(),
        "sectors": [{"slug": key, "name": names.get(key, key)} for key, _ in groups],
        "running": running_out,
        "items": out_items,
        "room": {
            "sectors": _figures_out(whole, groups),
            "overrides": _overrides_out(whole),
            "balance": _balance(whole, groups),
        },
    }
