"""Tampering with the audit log from outside the product, and a short chain to tamper with."""

from __future__ import annotations

from django.db import connection, transaction

from moderation.audit import audit_append, audit_entries
from moderation.audit_mac import entry_mac, head_content, key_id, seal_content
from moderation.models import GENESIS_HASH, AuditEntry, AuditHead

TABLE = AuditEntry._meta.db_table


def append(room, action="intervention.hidden", actor=None, **kwargs) -> AuditEntry:
    with transaction.atomic():
        return audit_append(room=room, action=action, actor=actor, **kwargs)


def five_entries(cast) -> list[AuditEntry]:
    """A short, varied chain: chair, moderator-less secretariat, reveals with reasons."""
    room = cast.room
    return [
        append(room, "room.premoderation_on", cast.chloe, reason="heated item"),
        append(room, "intervention.hidden", cast.chloe, target="iv-1", reason="off topic"),
        append(room, "seat.revealed", cast.chloe, target=cast.cora.public_id, reason="threat"),
        append(room, "seat.muted", None, target=cast.gus.public_id, data={"minutes": 10}),
        append(room, "intervention.redacted", cast.chloe, target="iv-2", reason="names a person"),
    ]


def sql(statement: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement.format(table=connection.ops.quote_name(TABLE)), params)


def shift(room, from_seq: int, by: int) -> None:
    """Renumber the entries from `from_seq` on by `by`, in two steps so no two rows ever
    share a seq (PostgreSQL checks the unique constraint row by row)."""
    far = 1_000_000
    sql(
        "UPDATE {table} SET seq = seq + %s WHERE room_id = %s AND seq >= %s",
        [far + by, room.pk, from_seq],
    )
    sql("UPDATE {table} SET seq = seq - %s WHERE room_id = %s AND seq >= %s", [far, room.pk, far])


def delete(cast, entries):
    sql("DELETE FROM {table} WHERE room_id = %s AND seq = 3", [cast.room.pk])


def rechain(room, key: str, *, kid: str | None = None) -> None:
    """Recompute every MAC of the room's chain, and its head, under `key`, as a forger would
    after removing or changing entries."""
    kid = kid or key_id(key)
    prev = GENESIS_HASH
    entries = audit_entries(room)
    for entry in entries:
        entry.prev_hash, entry.key_id = prev, kid
        entry.hash = entry_mac(entry, key.encode(), entry.seq)
        sql(
            "UPDATE {table} SET prev_hash = %s, key_id = %s, hash = %s WHERE id = %s",
            [entry.prev_hash, kid, entry.hash, entry.pk],
        )
        prev = entry.hash
    mac = seal_content(key.encode(), head_content(room.pk, len(entries), prev, kid))
    AuditHead.objects.filter(room=room).update(
        count=len(entries), last_hash=prev, key_id=kid, mac=mac
    )
