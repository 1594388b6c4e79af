"""The leak guard for a room: does a text name one of its seat holders?

The matcher (moderation/leakguard.py) is pure; this module feeds it the room's identities
and keeps one compiled matcher per room until the seats change, and gives the tools that
show a match to whoever publishes the text: where it is, marked, and the text without it.
"""

from __future__ import annotations

from functools import lru_cache

from forum.models import NameStatement, RoundTable, Seat

from .leakguard import Identity, IdentityMatcher, Mention, _fold


def room_identities(room: RoundTable) -> tuple[Identity, ...]:
    rows = (
        # An erased seat's holder is a placeholder of no one: nothing to guard.
        Seat.objects.filter(room=room, identity_erased_at__isnull=True)
        # The venue screen's account is a placeholder of no one.
        .exclude(role=Seat.Role.SCREEN)
        .select_related("user", "organization")
        .order_by("pk")
    )
    return tuple(
        Identity(
            name=str(seat.user),
            email=seat.user.email or seat.user.username,
            organization=seat.organization.name if seat.organization_id else None,
        )
        for seat in rows
    )


@lru_cache(maxsize=64)
def _matcher(identities: tuple[Identity, ...]) -> IdentityMatcher:
    # Keyed by the identities themselves: a new seat or a renamed person gives a new matcher.
    return IdentityMatcher(identities)


def mentions_in(room: RoundTable, text: str) -> list[Mention]:
    """Every mention of a seat holder of `room` (name, e-mail, organization) in `text`."""
    return _matcher(room_identities(room)).find(text)


def names_in(room: RoundTable, text: str) -> list[Mention]:
    """The mentions that matter: none in a room that names its speakers anyway."""
    if room.attribution == RoundTable.Attribution.NAMED or not text:
        return []
    return mentions_in(room, text)


def spans(text: str, mentions: list[Mention]) -> list[dict]:
    """Mentions as moderators' tools mark them: offsets into `text` (in code points) and
    the words found there."""
    return [
        {"start": m.start, "end": m.end, "kind": m.kind, "text": text[m.start : m.end]}
        for m in mentions
    ]


def place(text: str, mention: Mention, around: int = 30) -> str:
    """Where a mention is: the words around it, quoted ("…told us that Cora Civil said…")."""
    left, right = max(0, mention.start - around), min(len(text), mention.end + around)
    excerpt = " ".join(text[left:right].split())
    return f"\u201c{'…' if left else ''}{excerpt}{'…' if right < len(text) else ''}\u201d"


def pieces(text: str, mentions: list[Mention]) -> list[tuple[str, bool]]:
    """`text` cut at its mentions: (piece, is a mention), in order, to mark them."""
    out, pos = [], 0
    for m in mentions:
        out += [(text[pos : m.start], False), (text[m.start : m.end], True)]
        pos = m.end
    out.append((text[pos:], False))
    return out


def withheld(text: str, mentions: list[Mention], mark: str = "[…]") -> str:
    """`text` with every mention replaced by `mark`: where a redaction starts from."""
    return "".join(mark if named else piece for piece, named in pieces(text, mentions))


def folded(words: str) -> str:
    """Words as the guard reads them (letters and digits, casefolded, marks dropped): the
    key of a statement that they are not a participant."""
    return _fold(words).text


def stated_words(room: RoundTable) -> frozenset[str]:
    """The folded words of the room's standing statements that they are not a participant."""
    return frozenset(
        NameStatement.objects.filter(room=room, withdrawn_at__isnull=True).values_list(
            "words", flat=True
        )
    )


def unstated(text: str, mentions: list[Mention], stated: frozenset[str]) -> list[Mention]:
    """The mentions no standing statement covers."""
    return (
        [m for m in mentions if folded(text[m.start : m.end]) not in stated] if stated else mentions
    )


def whole_identity(room: RoundTable, words: str) -> bool:
    """`words` are a seat holder's whole name, e-mail address or organization: no statement
    may say that they are not a participant."""
    key = folded(words)
    return any(
        key in {folded(i.name), folded(i.email), folded(i.organization or "")}
        for i in room_identities(room)
    )


def mentions_of_others(room: RoundTable, text: str, seat: Seat | None) -> list[Mention]:
    """The mentions in `text` of a seat holder of `room` other than `seat`'s own (a message to
    a participant may greet them by name), that no standing statement covers.

    The room's one cached matcher finds every mention; those lying within a match of the
    recipient's own identity are theirs. (A matcher per recipient without them would cost
    a tenth of a second each in a room of 200.)"""
    found = mentions_in(room, text)
    if found and seat is not None and seat.identity_erased_at is None:
        own = Identity(
            name=str(seat.user),
            email=seat.user.email or seat.user.username,
            organization=None,  # never written into a message, so never excused either
        )
        spans = IdentityMatcher((own,)).find(text)
        found = [m for m in found if not any(o.start <= m.start and m.end <= o.end for o in spans)]
    return unstated(text, found, stated_words(room))
