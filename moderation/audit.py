"""Append to a room's audit chain, read it, verify it, and erase identities from it.

`audit_append` is the only writer of AuditEntry. It runs inside the caller's transaction
(the moderation service that took the action), so an action and its audit entry commit or
roll back together, and it serialises appends per room on the room row lock, the same lock
the event log takes.

The `hash` of an entry is its MAC: HMAC-SHA256 under the audit key (settings.AUDIT_KEY,
never stored in the database) over a canonical JSON serialisation of every field but the
MAC itself, the previous entry's MAC included (moderation/audit_mac.py). Changing any stored
field, or the order of entries, breaks the chain, and without the key nobody can compute
a chain that verifies. The room's head (count, last MAC) carries a MAC too, so removing the
last entries and rewinding the head shows. A holder of the key could still recompute a whole
chain: the MAC of the chain's head printed in adopted minutes and submission manifests is
what `audit_verify(room, anchor=...)` checks against (nothing before it can change without
changing it).

`audit_erase` is the one sanctioned change of an entry: it replaces a `reason` or `data`
that names a person by the keyed digest the MAC already covered, so the chain still verifies.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from forum.models import RoundTable, Seat

from .audit_mac import (
    ERASABLE,
    UnknownKey,
    current_key_id,
    entry_mac,
    field_digest,
    head_content,
    key_for,
    seal_content,
)
from .models import GENESIS_HASH, AuditEntry, AuditHead

SECRETARIAT = "secretariat"  # actor_role of entries written by the secretariat or the system
ACTION_MAX = AuditEntry._meta.get_field("action").max_length
TARGET_MAX = AuditEntry._meta.get_field("target").max_length
# How far back verify looks for the seq an entry had before a renumbering.
RENUMBER_SEARCH_MAX = 10_000


@dataclass(frozen=True)
class AuditReport:
    ok: bool
    entries: int
    first_bad_seq: int | None = None
    problem: str | None = None
    # With an anchor (a head printed in a document): the entry whose MAC it is.
    anchor_seq: int | None = None
    # The chain's head as verified: its last entry and that entry's MAC (GENESIS_HASH, 0
    # for an empty log). What `verify_audit --head` prints and `--record-heads` keeps.
    head_seq: int = 0
    head_mac: str = GENESIS_HASH
    # With recorded heads: how many of this room's were checked, and the latest of them.
    recorded: int = 0
    recorded_seq: int | None = None


@dataclass(frozen=True)
class RecordedHead:
    """A head of the chain kept outside the database (`verify_audit --record-heads`): the
    entry that was the last one, its MAC, and when it was recorded (as written)."""

    seq: int
    mac: str
    at: str


def audit_append(
    *,
    room: RoundTable,
    action: str,
    actor: Seat | None,
    target: str = "",
    reason: str = "",
    data: dict | None = None,
) -> AuditEntry:
    """Append one entry to the room's audit chain and return it.

    Must run inside `transaction.atomic()`. Takes the room row lock (select_for_update) and
    holds it to the end of the caller's transaction; a caller may already hold it. `actor`
    None means the secretariat or the system.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_append must run inside transaction.atomic()")
    if not action or len(action) > ACTION_MAX:
        raise ValueError(f"an audit action is 1 to {ACTION_MAX} characters, not {action!r}")
    target, reason = target or "", reason or ""
    if len(target) > TARGET_MAX:
        raise ValueError(f"an audit target is at most {TARGET_MAX} characters")
    if actor is not None and actor.room_id != room.pk:
        raise ValueError("the actor holds no seat in this round table")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise TypeError("audit data is a dict")
    data = _plain(data)

    RoundTable.objects.select_for_update().values_list("pk", flat=True).get(pk=room.pk)
    head, _ = AuditHead.objects.get_or_create(room_id=room.pk)
    entry = AuditEntry(
        room_id=room.pk,
        seq=head.count + 1,
        created_at=timezone.now(),
        action=action,
        actor_role=str(actor.role) if actor else SECRETARIAT,
        actor_public_id=actor.public_id if actor else "",
        actor_seat=actor,
        target=target,
        reason=reason,
        data=data,
        prev_hash=head.last_hash,
        key_id=current_key_id(),
    )
    entry.hash = entry_hash(entry)
    entry.save()
    head.count = entry.seq
    head.last_hash = entry.hash
    head.key_id = entry.key_id
    head.mac = head_mac(head)
    head.save(update_fields=["count", "last_hash", "key_id", "mac", "updated_at"])
    return entry


def audit_entries(room: RoundTable) -> list[AuditEntry]:
    """The room's audit entries in order (for the chair's page and the admin)."""
    return list(AuditEntry.objects.filter(room_id=room.pk).order_by("seq"))


def audit_head(room: RoundTable) -> AuditHead | None:
    """The room's head: how many entries, and the MAC of the last (what documents print)."""
    return AuditHead.objects.filter(room_id=room.pk).first()


def audit_verify(
    room: RoundTable, *, anchor: str | None = None, recorded: list[RecordedHead] | None = None
) -> AuditReport:
    """Walk the room's chain in seq order and report the first problem found, if any.

    `anchor`: the MAC of the chain's head as a document printed it (adopted minutes, a
    submission manifest). The chain must still hold an entry with that MAC: if anything up
    to that entry was rewritten, even by a holder of the key, it no longer does.

    `recorded`: heads of this room kept outside the database. The chain must still be at
    least as long as each, and hold its entry with its MAC. The chain alone cannot show a
    cut tail whose older head row was put back (that head is genuine, only older); these can.
    """
    with transaction.atomic():
        # Appends wait while we read, so the entries and the head are one consistent picture.
        RoundTable.objects.select_for_update().values_list("pk", flat=True).get(pk=room.pk)
        entries = audit_entries(room)
        head = audit_head(room)
    found = _first_problem(entries, head)
    if found is not None:
        seq, problem = found
        return AuditReport(ok=False, entries=len(entries), first_bad_seq=seq, problem=problem)
    tip = {"head_seq": entries[-1].seq, "head_mac": entries[-1].hash} if entries else {}
    if recorded:
        cut = _recorded_problem(entries, recorded)
        if cut is not None:
            seq, problem = cut
            return AuditReport(
                ok=False, entries=len(entries), first_bad_seq=seq, problem=problem, **tip
            )
        tip.update(recorded=len(recorded), recorded_seq=max(head.seq for head in recorded))
    if anchor is None:
        return AuditReport(ok=True, entries=len(entries), **tip)
    anchored = next((entry.seq for entry in entries if entry.hash == anchor), None)
    if anchored is None:
        return AuditReport(
            ok=False,
            entries=len(entries),
            **tip,
            problem=(
                f"no entry of this log has the MAC {anchor}: the log was rewritten up to the "
                "entry that head named (by someone holding the key), or the head belongs to "
                "another round table"
            ),
        )
    return AuditReport(ok=True, entries=len(entries), anchor_seq=anchored, **tip)


def _recorded_problem(
    entries: list[AuditEntry], recorded: list[RecordedHead]
) -> tuple[int, str] | None:
    """The first recorded head (by seq) that the verified chain no longer holds."""
    count = len(entries)  # a verified chain is numbered 1..count
    for head in sorted(recorded, key=lambda h: h.seq):
        if head.seq > count:
            ends = f"ends at entry {count}" if count else "is empty"
            return count + 1, (
                f"the log {ends}, but entry {head.seq} was recorded at {head.at} with the MAC "
                f"{head.mac}: {_entries(count + 1, head.seq)} removed (the head row was put "
                "back as it was before them)"
            )
        if head.seq == 0:
            continue  # an empty log's head: every chain starts there
        if entries[head.seq - 1].hash != head.mac:
            return head.seq, (
                f"entry {head.seq} is not the one recorded at {head.at} (MAC {head.mac}): the log "
                "was rewritten up to it, by someone holding the key"
            )
    return None


def entry_hash(entry: AuditEntry) -> str | None:
    """The MAC `entry` should carry, computed from its stored content; None when this server
    does not hold the key the entry names (or it names none)."""
    return _seal(entry, entry.seq)


def head_mac(head: AuditHead) -> str:
    return seal_content(
        key_for(head.key_id), head_content(head.room_id, head.count, head.last_hash, head.key_id)
    )


@dataclass(frozen=True)
class Erased:
    entries: int  # entries with a field erased
    fields: int


def audit_erase(*, room: RoundTable, mentions: Callable[[str], bool]) -> Erased:
    """Erase from the room's entries every `reason` or `data` in which `mentions` finds a
    person: the text goes, the keyed digest the entry's MAC covers stays (in `erased`), and
    the chain verifies as before. Runs inside the caller's transaction, under the room lock.

    An entry sealed with a key this server does not hold cannot be erased: UnknownKey is
    raised (list the key in AUDIT_OLD_KEYS), and the caller's transaction rolls back. An
    entry sealed with no key (a chain that was already broken before keys) is blanked.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_erase must run inside transaction.atomic()")
    RoundTable.objects.select_for_update().values_list("pk", flat=True).get(pk=room.pk)
    entries, fields = 0, 0
    for entry in audit_entries(room):
        erased = dict(entry.erased or {})
        changes = {}
        for name in ERASABLE:
            value = getattr(entry, name)
            if name in erased or not value:
                continue
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            if not mentions(text):
                continue
            erased[name] = field_digest(key_for(entry.key_id), name, value) if entry.key_id else ""
            changes[name] = "" if name == "reason" else {}
        if changes:
            AuditEntry.objects.erase_fields(entry.pk, erased=erased, **changes)
            entries, fields = entries + 1, fields + len(changes)
    return Erased(entries, fields)


# -- sealing ------------------------------------------------------------------------------


def _seal(entry: AuditEntry, seq: int) -> str | None:
    try:
        return entry_mac(entry, key_for(entry.key_id), seq)
    except UnknownKey:
        return None


def _plain(value):
    """`value` as plain JSON that reads back from every database exactly as it went in.

    Integral floats become ints: PostgreSQL's jsonb gives 1e16 back as an integer, and
    the hash must not change on the way through the database.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("audit data cannot hold NaN or infinity")
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        plain = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"audit data keys are strings, not {key!r}")
            plain[str.__str__(key)] = _plain(item)
        return plain
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    raise TypeError(f"audit data cannot hold a {type(value).__name__}")


# -- verification -------------------------------------------------------------------------


def _first_problem(
    entries: list[AuditEntry], head: AuditHead | None
) -> tuple[int | None, str] | None:
    seen = {GENESIS_HASH: 0}  # hash -> seq, for the entries walked so far
    upto = max([head.count if head else 0] + [e.seq for e in entries[-1:]])
    prev = None
    for index, entry in enumerate(entries):
        following = entries[index + 1] if index + 1 < len(entries) else None
        found = _entry_problem(prev, entry, following, seen, upto)
        if found is not None:
            return found
        seen.setdefault(entry.hash, entry.seq)
        prev = entry
    return _head_problem(prev, head)


def _entry_problem(
    prev: AuditEntry | None,
    entry: AuditEntry,
    following: AuditEntry | None,
    seen: dict[str, int],
    upto: int,
) -> tuple[int, str] | None:
    prev_seq = prev.seq if prev else 0
    expected_prev_hash = prev.hash if prev else GENESIS_HASH
    intact = entry_hash(entry) == entry.hash

    if entry.seq > prev_seq + 1:
        where = f"goes from entry {prev_seq} straight to" if prev else "starts at"
        return prev_seq + 1, (
            f"{_entries(prev_seq + 1, entry.seq - 1)} removed: the log {where} entry {entry.seq}"
        )
    if entry.seq <= prev_seq:  # only a seq of 0 gets here: (room, seq) is unique
        return entry.seq, f"entry {entry.seq} was inserted: entries are numbered from 1"
    unsealed = _key_problem(entry)
    if unsealed is not None:
        return entry.seq, unsealed

    if entry.prev_hash != expected_prev_hash:
        linked = seen.get(entry.prev_hash)
        if linked is not None:
            # Chained past the entries after `linked`: those were slipped in.
            return linked + 1, (
                f"{_entries(linked + 1, prev_seq)} inserted: entry {entry.seq} is chained to "
                f"{_entry_name(linked)}, not to entry {prev_seq}"
            )
        if intact and prev is not None:
            # Its own content is genuine, so what it was chained to is no longer entry prev_seq.
            return prev_seq, (
                f"entry {prev_seq} was altered or replaced: entry {entry.seq} is chained to "
                "a different version of it"
            )
        if intact:
            return entry.seq, (
                f"entry {entry.seq} was inserted: it is chained to an entry that is not in the log"
            )
        original = _original_seq(entry, upto)
        if original is not None:
            return prev_seq + 1, (
                f"{_entries(prev_seq + 1, original - 1)} removed and the later entries "
                f"renumbered: entry {entry.seq} was entry {original}"
            )
        return _altered_or_inserted(entry, following, expected_prev_hash, prev_seq)

    if not intact:
        return _altered_or_inserted(entry, following, expected_prev_hash, prev_seq)
    return None


def _key_problem(entry: AuditEntry) -> str | None:
    if not entry.key_id:
        return (
            f"entry {entry.seq} is not sealed with a key: it was written before keyed MACs, "
            "and its chain did not verify when they were introduced"
        )
    try:
        key_for(entry.key_id)
    except UnknownKey:
        return (
            f"entry {entry.seq} is sealed with a key this server does not hold (key id "
            f"{entry.key_id}): if that key was rotated out, list it in AUDIT_OLD_KEYS"
        )
    return None


def _altered_or_inserted(
    entry: AuditEntry, following: AuditEntry | None, expected_prev_hash: str, prev_seq: int
) -> tuple[int, str]:
    """An entry whose content does not match its hash: altered in place, or slipped in?"""
    if (
        following is not None
        and following.prev_hash == expected_prev_hash
        and following.prev_hash != entry.hash
    ):
        return entry.seq, (
            f"entry {entry.seq} was inserted: entry {following.seq} is chained to "
            f"{_entry_name(prev_seq)}, and entry {entry.seq}'s hash does not match its content"
        )
    return entry.seq, f"entry {entry.seq} was altered: its content no longer matches its hash"


def _original_seq(entry: AuditEntry, upto: int) -> int | None:
    """The seq under which `entry`'s content matches its hash, if it was renumbered down."""
    last = min(max(upto, entry.seq), entry.seq + RENUMBER_SEARCH_MAX)
    for seq in range(entry.seq + 1, last + 1):
        if _seal(entry, seq) == entry.hash:
            return seq
    return None


def _head_problem(last: AuditEntry | None, head: AuditHead | None) -> tuple[int | None, str] | None:
    count = last.seq if last else 0
    last_hash = last.hash if last else GENESIS_HASH
    if head is None:
        if last is None:
            return None
        return None, (
            "the audit head of this round table is missing, so the removal of its last "
            "entries cannot be ruled out"
        )
    if head.count > count:
        ends = f"ends at entry {count}" if count else "is empty"
        return count + 1, (
            f"{_entries(count + 1, head.count)} removed: the log {ends}, "
            f"the head records {head.count} entries"
        )
    if head.count < count:
        return head.count + 1, (
            f"{_entries(head.count + 1, count)} inserted after the last entry the head records "
            f"(entry {head.count})"
        )
    if head.last_hash != last_hash:
        if not count:
            return None, "the audit head was altered: it records a hash for an empty log"
        return count, (
            f"entry {count} was altered or replaced: its hash is not the one the head records"
        )
    try:
        intact = head.mac == head_mac(head)
    except UnknownKey:
        return None, (
            f"the audit head is sealed with a key this server does not hold (key id "
            f"{head.key_id}): if that key was rotated out, list it in AUDIT_OLD_KEYS"
        )
    if not intact:
        return count + 1, (
            f"the audit head was altered (its MAC does not match it): entries after "
            f"{_entry_name(count)} may have been removed"
        )
    return None


def _entries(first: int, last: int) -> str:
    """'entry 3 was' or 'entries 3 to 5 were'."""
    if first == last:
        return f"entry {first} was"
    return f"entries {first} to {last} were"


def _entry_name(seq: int) -> str:
    return f"entry {seq}" if seq else "the start of the log"
