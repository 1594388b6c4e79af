"""Tampering with the audit log from outside the product, and a short chain to tamper with."""

from __future__ import annotations

from django.db import connection, transaction

from moderation.audit import audit_append
from moderation.models import AuditEntry

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
    sql("UPDATE {table} SET seq = seq + %s WHERE room_id = %s AND seq >= %s", [far + by, room.pk, from_seq])
    sql("UPDATE {table} SET seq = seq - %s WHERE room_id = %s AND seq >= %s", [far, room.pk, far])


def delete(cast, entries):
    sql("DELETE FROM {table} WHERE room_id = %s AND seq = 3", [cast.room.pk])
