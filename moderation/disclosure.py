"""Which sectors a reader, or a record, may see named: the one rule for every figure.

A sector is shown only where the room's policy shows sectors and the sector holds at least k
seated delegates (the same count the attribution fallback uses). Everything else is pooled
into one unnamed group, "Other participants" (key `POOLED`), never split by sector.

The pool shows only while it holds at least two seated sectors and at least k seated
delegates: a pool of one sector is that sector by elimination, and a pool below k fits too
few people. Otherwise nothing is shown for the pool (`pool_rule`). Folding a shown sector
into it instead would take the name off a sector that holds k delegates, and the pseudonyms
off its delegates, because other sectors are small: the figures of a few are left out
rather than the names of many. A figure that would still describe one person (a group of one
voter in a consensus result) is left out where the figure is made (forum/tally.py).

- `named` rooms (open forums, on the record) show every sector;
- `sector` rooms show the sectors that hold at least k seated delegates;
- `anonymous` rooms show none: nothing a participant or a record reads is split by sector.

Chair and moderators (the moderators' audience) keep the full view live: they moderate.
Participants (delegates, rapporteur, observers) and records (the minutes and every export)
follow the rule. Parity enforcement is not a projection: the floor order and the tally's
weighting use the real sectors whatever a reader may see.

The rule is read from the seats as they are now, so a sector that crosses k (a seat added or
removed) changes what is shown from then on; what was already written (an event in the log,
an adopted version of the minutes) keeps what it showed.

Every projection asks `disclosure(room, reader)` and routes each sector's figure through
`Disclosure.key`: to the sector itself, to `POOLED`, or nowhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from django.db.models import Count
from django.utils.translation import gettext as _

from forum.models import RoundTable, Seat
from moderation.permissions import Action, allowed

# The key of the pooled group wherever a sector slug would stand. Not a valid slug (sector
# slugs are letters, digits, '-' and '_'), so no sector can ever be mistaken for it.
POOLED = "~pooled"
# A pooled group of fewer seated delegates than this would single someone out.
MIN_POOL = 2
ANONYMOUS_LABEL = "A participant"


class Reader(StrEnum):
    PARTICIPANTS = "participants"  # delegates, rapporteur, observers: live
    MODERATORS = "moderators"  # chair and moderators: live, the full view
    RECORD = "record"  # the minutes and every export, for everyone


@dataclass(frozen=True)
class Disclosure:
    """What one reader may see of a room's sectors.

    `shown`: the sector slugs that may be named, or None when every sector may be (the
    moderators' view, named rooms). `pooled_seats`: the seated delegates of the sectors that
    are not shown, the size of the pooled group."""

    shown: frozenset[str] | None
    pooled_seats: int = 0
    # Seated sectors in the pool, and the delegates it needs (the room's k): a hand-made
    # Disclosure (tests, pure code) has a pool of two sectors needing MIN_POOL.
    pooled_sectors: int = 2
    min_pool: int = MIN_POOL

    @property
    def full(self) -> bool:
        return self.shown is None

    @property
    def pool_visible(self) -> bool:
        return (
            not self.full
            and self.pooled_sectors >= 2
            and self.pooled_seats >= max(MIN_POOL, self.min_pool)
        )

    def shows(self, slug: str | None) -> bool:
        return bool(slug) and (self.shown is None or slug in self.shown)

    def key(self, slug: str | None) -> str | None:
        """Where a figure of sector `slug` goes for this reader: the sector itself, the
        pooled group (`POOLED`), or nowhere (None: no sector, or a pool of one)."""
        if not slug:
            return None
        if self.shows(slug):
            return slug
        return POOLED if self.pool_visible else None

    def groups(self, slugs: Iterable[str]) -> list[tuple[str, list[str]]]:
        """`slugs` (in display order) as the groups this reader sees: each shown sector on its
        own, then the pooled group (when visible) with every other sector in it."""
        slugs = list(dict.fromkeys(slugs))
        groups = [(slug, [slug]) for slug in slugs if self.shows(slug)]
        if self.pool_visible:
            groups.append((POOLED, [slug for slug in slugs if not self.shows(slug)]))
        return groups

    def counts(self, per_sector: Mapping[str, int]) -> dict[str, int]:
        """Whole numbers per sector (connected seats, delegates, ballots) summed by group;
        a sector that goes nowhere is left out."""
        out: dict[str, int] = {}
        for slug, n in per_sector.items():
            key = self.key(slug)
            if key is not None:
                out[key] = out.get(key, 0) + n
        return out

    def attribution(self, payload: dict | None) -> dict | None:
        """An attribution payload (moderation.attribution.Attribution.as_payload) as this
        reader may see it: a pseudonym of a sector that is no longer shown reads "A
        participant"; names (named rooms) and functions are kept."""
        if not payload or self.full or not payload.get("sector") or payload.get("kind") == "named":
            return payload
        if self.shows(payload["sector"]):
            return payload
        return {"label": ANONYMOUS_LABEL, "sector": None, "kind": "anonymous"}


FULL = Disclosure(None)


def pooled_name() -> str:
    """The pooled group's name in the active language."""
    return _("Other participants")


def seated_per_sector(room: RoundTable) -> dict[str, int]:
    """Delegates holding a seat (link not revoked) per sector slug: the count that decides
    both attribution and disclosure."""
    rows = (
        Seat.objects.filter(
            room=room, role=Seat.Role.DELEGATE, token_revoked_at__isnull=True, sector__isnull=False
        )
        .values_list("sector__slug")
        .annotate(n=Count("id"))
    )
    return {slug: n for slug, n in rows}


def pool_rule(seated: Mapping[str, int], shown: Iterable[str], k: int) -> Disclosure:
    """The disclosure of a room whose sectors seat `seated` delegates, the sectors `shown`
    holding k of them each: the pool (every seated sector not shown) shows only with at least
    two seated sectors and at least k delegates (never fewer than MIN_POOL); otherwise nothing
    shows for it."""
    shown = frozenset(shown)
    pooled = {slug: n for slug, n in seated.items() if slug not in shown and n > 0}
    return Disclosure(shown, sum(pooled.values()), len(pooled), max(MIN_POOL, k))


def disclosure(room: RoundTable, reader: Reader | str) -> Disclosure:
    """The one rule: which sectors `reader` may see named in `room`, and whether the others'
    pooled group may show."""
    if reader == Reader.MODERATORS or room.attribution == RoundTable.Attribution.NAMED:
        return FULL
    seated = seated_per_sector(room)
    if room.attribution == RoundTable.Attribution.SECTOR:
        shown = {slug for slug, n in seated.items() if n >= room.k}
    else:
        shown = set()
    return pool_rule(seated, shown, room.k)


def attribution_for(room: RoundTable, reader: Reader | str, payload: dict | None) -> dict | None:
    """A stored attribution as `reader` may see it now (`Disclosure.attribution`); the seats
    are read only when the label names a sector."""
    if not payload or not payload.get("sector") or payload.get("kind") == "named":
        return payload
    return disclosure(room, reader).attribution(payload)


def reader_of(role: str) -> Reader:
    """The live reader a seat of `role` is: those who read the moderators' rendering of the
    log (chair, moderators) see everything."""
    return Reader.MODERATORS if allowed(role, Action.READ_MODERATION) else Reader.PARTICIPANTS
