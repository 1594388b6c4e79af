"""The audit chain is anchored outside the database: a keyed MAC whose key only the
environment holds, and the chain's head printed in documents the committee keeps.

The attacks below edit the database with raw SQL, as someone with database access would.
Without the key, any rewrite shows; with the key (the operator's), a rewrite shows against a
head printed before it (`verify_audit --head`).
"""

from __future__ import annotations

import hashlib
import json
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from moderation.audit import audit_append, audit_entries, audit_erase, audit_verify
from moderation.audit_mac import (
    current_key_id,
    field_digest,
    key_id,
)
from moderation.models import GENESIS_HASH, AuditEntry, AuditHead
from tests.support.audit import delete, five_entries, rechain, shift, sql

OTHER_KEY = "a-key-the-attacker-guessed-" + "z" * 20


def delete_and_renumber(cast) -> None:
    delete(cast, None)
    shift(cast.room, 4, -1)


def verify(slug: str, *args: str) -> str:
    out = StringIO()
    call_command("verify_audit", slug, *args, stdout=out)
    return out.getvalue()


# -- without the key, nothing can be rewritten --------------------------------------------


@pytest.mark.parametrize(
    "guess", [OTHER_KEY, "tests-only-audit-key-not-for-production-use-012345678"]
)
def test_an_entry_deleted_and_the_chain_recomputed_without_the_key_is_detected(cast, guess):
    five_entries(cast)
    delete_and_renumber(cast)
    rechain(cast.room, guess, kid=current_key_id())  # even naming the real key's id
    report = audit_verify(cast.room)
    assert not report.ok and report.first_bad_seq == 1, report.problem
    with pytest.raises(CommandError, match="^audit log of test-room: entry 1 was altered"):
        verify("test-room")


def test_a_chain_recomputed_under_a_key_of_its_own_is_refused_for_that_key(cast):
    five_entries(cast)
    delete_and_renumber(cast)
    rechain(cast.room, OTHER_KEY)
    report = audit_verify(cast.room)
    assert not report.ok and report.first_bad_seq == 1
    assert "sealed with a key this server does not hold" in report.problem
    assert key_id(OTHER_KEY) in report.problem


def test_the_old_unkeyed_sha256_chain_no_longer_verifies(cast):
    """What passed verify_audit before: delete, renumber, recompute plain SHA-256 hashes."""
    five_entries(cast)
    delete_and_renumber(cast)
    prev = GENESIS_HASH
    for entry in audit_entries(cast.room):
        content = {
            "room": entry.room_id,
            "seq": entry.seq,
            "action": entry.action,
            "prev_hash": prev,
            "reason": entry.reason,
            "data": entry.data,
            "target": entry.target,
        }
        digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
        sql("UPDATE {table} SET prev_hash = %s, hash = %s WHERE id = %s", [prev, digest, entry.pk])
        prev = digest
    AuditHead.objects.filter(room=cast.room).update(count=4, last_hash=prev)
    assert audit_verify(cast.room).first_bad_seq == 1


def test_removing_the_last_entry_and_rewinding_the_head_is_detected(cast):
    entries = five_entries(cast)
    sql("DELETE FROM {table} WHERE room_id = %s AND seq = 5", [cast.room.pk])
    AuditHead.objects.filter(room=cast.room).update(count=4, last_hash=entries[3].hash)
    report = audit_verify(cast.room)
    assert not report.ok and report.first_bad_seq == 5
    assert report.problem.startswith("the audit head was altered (its MAC does not match it)")


# -- with the key, a head printed in a document still holds -------------------------------


def test_verify_audit_head_names_the_entry_a_printed_head_is(cast):
    entries = five_entries(cast)
    printed = entries[2].hash  # the head when entry 3 was the last (an adoption, say)
    with transaction.atomic():
        audit_append(room=cast.room, action="later", actor=None)
    assert verify("test-room", "--head", printed.upper()) == (
        f"audit log of test-room: 6 entries, chain intact; the head {printed} is entry 3: "
        "nothing up to it was rewritten\n"
    )


def test_verify_audit_head_detects_a_rewrite_before_that_head_even_with_the_key(cast):
    entries = five_entries(cast)
    printed = entries[3].hash
    sql("DELETE FROM {table} WHERE room_id = %s AND seq = 2", [cast.room.pk])
    shift(cast.room, 3, -1)
    rechain(cast.room, settings.AUDIT_KEY)  # the operator holds the key: the chain verifies
    assert verify("test-room") == "audit log of test-room: 4 entries, chain intact\n"
    with pytest.raises(CommandError, match=f"no entry of this log has the MAC {printed}"):
        verify("test-room", "--head", printed)


def test_a_rewrite_after_the_printed_head_is_not_what_the_head_protects(cast):
    entries = five_entries(cast)
    printed = entries[2].hash
    sql("UPDATE {table} SET reason = %s WHERE room_id = %s AND seq = 5", ["changed", cast.room.pk])
    rechain(cast.room, settings.AUDIT_KEY)
    assert audit_verify(cast.room, anchor=printed).anchor_seq == 3  # documented: up to the head


@pytest.mark.parametrize("bad", ["xyz", "0" * 63, "g" * 64])
def test_verify_audit_refuses_a_head_that_is_not_a_mac(cast, bad):
    with pytest.raises(CommandError, match="--head takes the 64 hex digits of a MAC"):
        verify("test-room", "--head", bad)


def test_a_head_of_another_round_table_is_not_found(cast):
    from tests.support.personas import build_cast

    other = build_cast("other-room")
    five_entries(cast)
    with transaction.atomic():
        foreign = audit_append(room=other.room, action="a", actor=None)
    report = audit_verify(cast.room, anchor=foreign.hash)
    assert not report.ok and "another round table" in report.problem


# -- key rotation -------------------------------------------------------------------------


def test_after_a_rotation_old_entries_verify_with_the_old_key_kept(cast, settings):
    # `settings` here is pytest-django's fixture: the change is undone after the test.
    old = settings.AUDIT_KEY
    five_entries(cast)
    settings.AUDIT_KEY, settings.AUDIT_OLD_KEYS = "the-new-audit-key-" + "n" * 30, [old]
    with transaction.atomic():
        audit_append(room=cast.room, action="after.rotation", actor=None)
    kids = [e.key_id for e in audit_entries(cast.room)]
    assert kids == [key_id(old)] * 5 + [key_id(settings.AUDIT_KEY)]
    assert audit_verify(cast.room).ok
    settings.AUDIT_OLD_KEYS = []  # the old key dropped: its entries can no longer be checked
    report = audit_verify(cast.room)
    assert not report.ok and report.first_bad_seq == 1
    assert "list it in AUDIT_OLD_KEYS" in report.problem


# -- erasure keeps the chain ----------------------------------------------------------------


def test_erasing_a_reason_keeps_the_chain_and_leaves_only_a_keyed_digest(cast):
    entries = five_entries(cast)  # entry 3's reason is "threat"
    printed = entries[4].hash
    with transaction.atomic():
        done = audit_erase(room=cast.room, mentions=lambda text: "threat" in text)
    assert (done.entries, done.fields) == (1, 1)
    stored = AuditEntry.objects.get(pk=entries[2].pk)
    assert stored.reason == "" and stored.hash == entries[2].hash
    assert stored.erased == {
        "reason": field_digest(settings.AUDIT_KEY.encode(), "reason", "threat")
    }
    assert "threat" not in json.dumps(stored.erased)
    assert audit_verify(cast.room, anchor=printed).ok


def test_erasing_without_the_key_is_detected(cast):
    """Blanking a reason and writing a digest of one's own: only the key gives the right one."""
    five_entries(cast)
    fake = hashlib.sha256(b'reason\0"threat"').hexdigest()
    sql(
        "UPDATE {table} SET reason = '', erased = %s WHERE room_id = %s AND seq = 3",
        [json.dumps({"reason": fake}), cast.room.pk],
    )
    report = audit_verify(cast.room)
    assert not report.ok and report.first_bad_seq == 3


def test_erasure_never_launders_an_altered_entry(cast):
    five_entries(cast)
    sql(
        "UPDATE {table} SET reason = %s WHERE room_id = %s AND seq = 3",
        ["routine threat", cast.room.pk],
    )
    with transaction.atomic():
        audit_erase(room=cast.room, mentions=lambda text: "threat" in text)
    assert audit_verify(cast.room).first_bad_seq == 3


# -- chains written before keys ---------------------------------------------------------------


def legacy_hash(entry) -> str:
    from moderation.audit_mac import timestamp

    content = {
        "room": entry.room_id,
        "seq": entry.seq,
        "created_at": timestamp(entry.created_at),
        "action": entry.action,
        "actor_role": entry.actor_role,
        "actor_public_id": entry.actor_public_id,
        "actor_seat": entry.actor_seat_id,
        "target": entry.target,
        "reason": entry.reason,
        "data": entry.data,
        "prev_hash": entry.prev_hash,
    }
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def as_legacy(room, *, break_entry: int | None = None) -> None:
    """Rewrite the room's chain as the unkeyed SHA-256 chain of before (optionally with one
    entry altered afterwards), and its head as it was."""
    prev = GENESIS_HASH
    for entry in audit_entries(room):
        entry.prev_hash = prev
        entry.hash = legacy_hash(entry)
        sql(
            "UPDATE {table} SET prev_hash = %s, hash = %s, key_id = '', erased = %s WHERE id = %s",
            [prev, entry.hash, "{}", entry.pk],
        )
        prev = entry.hash
    AuditHead.objects.filter(room=room).update(last_hash=prev, key_id="", mac="")
    if break_entry:
        sql(
            "UPDATE {table} SET reason = 'edited' WHERE room_id = %s AND seq = %s",
            [room.pk, break_entry],
        )


@pytest.mark.django_db(transaction=True)
def test_the_migration_seals_intact_old_chains_and_leaves_broken_ones_as_they_were(cast, capfd):
    from tests.support.personas import build_cast

    broken = build_cast("broken-room")
    five_entries(cast)
    with transaction.atomic():
        for action in ("a", "b", "c"):
            audit_append(room=broken.room, action=action, actor=broken.chloe, reason=action)
    as_legacy(cast.room)
    as_legacy(broken.room, break_entry=2)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    try:
        # Replay the migration over the legacy rows (its schema part is already applied).
        migration = executor.loader.get_migration("moderation", "0002_keyed_audit")
        state = executor.loader.project_state(("moderation", "0002_keyed_audit"))
        seal = migration.operations[-1].code
        seal(state.apps, None)
    finally:
        connection.close()
    assert audit_verify(cast.room).ok
    assert {e.key_id for e in audit_entries(cast.room)} == {current_key_id()}
    report = audit_verify(broken.room)
    assert not report.ok and report.first_bad_seq == 1
    assert "written before keyed MACs" in report.problem
    assert "audit log of round table" in capfd.readouterr().err
    assert AuditEntry.objects.get(room=broken.room, seq=2).reason == "edited"  # untouched


# -- an erased field stays erased -----------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("reason", "a reason written in after the erasure"),
        ("reason", " "),
        ("data", json.dumps({"note": "put back by hand"})),
        ("data", "[]"),
    ],
)
def test_an_erased_field_rewritten_after_the_erasure_breaks_the_chain(cast, column, value):
    entries = five_entries(cast)  # entry 3's reason is "threat"
    with transaction.atomic():
        audit_append(room=cast.room, action="seat.removed", actor=None, data={"who": "threat"})
        audit_erase(room=cast.room, mentions=lambda text: "threat" in text)
    assert audit_verify(cast.room).ok
    seq = 3 if column == "reason" else 6
    sql(
        f"UPDATE {{table}} SET {column} = %s WHERE room_id = %s AND seq = %s",
        [value, cast.room.pk, seq],
    )
    report = audit_verify(cast.room)
    assert not report.ok and report.first_bad_seq == seq, report
    assert entries  # the five before stay as they were


def test_the_erased_digest_and_its_marker_are_covered(cast):
    five_entries(cast)
    with transaction.atomic():
        audit_erase(room=cast.room, mentions=lambda text: "threat" in text)
    # Dropping the marker (the field then claims it was never erased) breaks the chain too.
    sql("UPDATE {table} SET erased = %s WHERE room_id = %s AND seq = 3", ["{}", cast.room.pk])
    assert audit_verify(cast.room).first_bad_seq == 3


def test_restoring_the_original_text_of_an_erased_field_still_verifies(cast):
    """The digest is of the original: the text itself, put back, is what the MAC covered."""
    five_entries(cast)
    with transaction.atomic():
        audit_erase(room=cast.room, mentions=lambda text: "threat" in text)
    sql("UPDATE {table} SET reason = %s WHERE room_id = %s AND seq = 3", ["threat", cast.room.pk])
    assert audit_verify(cast.room).ok
