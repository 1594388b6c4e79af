"""The audit log: append-only, hash-chained, and verify_audit names the first tampered entry.

The tampering below goes through raw SQL, the way someone with database access would; the
product's own ways of changing an entry (save, delete, queryset update, the admin) refuse.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
from datetime import UTC
from io import StringIO
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from forum.models import RoundTable, User
from moderation.audit import audit_append, audit_entries, audit_verify, entry_hash
from moderation.audit_mac import current_key_id
from moderation.models import GENESIS_HASH, AuditEntry, AuditHead, AuditLogImmutable
from tests.support.audit import append, delete, five_entries, shift, sql
from tests.support.personas import PERSONAS, build_cast

REPO = Path(__file__).resolve().parent.parent


# -- appending -----------------------------------------------------------------------------


def canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def documented_mac(entry: AuditEntry, key: str = settings.AUDIT_KEY) -> str:
    """The documented keyed serialisation, written out independently of moderation.audit."""

    def mac(text: str) -> str:
        return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()

    content = {
        "room": entry.room_id,
        "seq": entry.seq,
        "created_at": entry.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "action": entry.action,
        "actor_role": entry.actor_role,
        "actor_public_id": entry.actor_public_id,
        "actor_seat": entry.actor_seat_id,
        "target": entry.target,
        "reason": mac("reason\0" + canonical(entry.reason)),
        "data": mac("data\0" + canonical(entry.data)),
        "prev_hash": entry.prev_hash,
        "key": hashlib.sha256(b"roundtables-audit-key-id:" + key.encode()).hexdigest()[:16],
    }
    return mac(canonical(content))


def test_appends_chain_each_entry_to_the_one_before(cast):
    five_entries(cast)
    entries = audit_entries(cast.room)
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == GENESIS_HASH
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.prev_hash == before.hash
    for entry in entries:  # as read back from the database
        assert len(entry.hash) == 64 and entry.hash == documented_mac(entry)
    head = AuditHead.objects.get(room=cast.room)
    assert (head.count, head.last_hash) == (5, entries[-1].hash)
    report = audit_verify(cast.room)
    assert (report.ok, report.entries, report.first_bad_seq, report.problem) == (
        True,
        5,
        None,
        None,
    )


def test_an_empty_log_verifies(cast):
    report = audit_verify(cast.room)
    assert (report.ok, report.entries) == (True, 0)


def test_the_actor_is_a_role_and_an_opaque_id_never_a_name(cast):
    by_chair = append(
        cast.room, "seat.revealed", cast.chloe, target=cast.cora.public_id, reason="x"
    )
    by_system = append(cast.room, "room.closed", None)
    assert (by_chair.actor_role, by_chair.actor_public_id, by_chair.actor_seat_id) == (
        "chair",
        cast.chloe.public_id,
        cast.chloe.pk,
    )
    assert (by_system.actor_role, by_system.actor_public_id, by_system.actor_seat_id) == (
        "secretariat",
        "",
        None,
    )
    stored = json.dumps(
        list(AuditEntry.objects.values("actor_role", "actor_public_id", "target", "reason", "data"))
    )
    for persona in ("chloe", "cora"):
        name, organization, _, _ = PERSONAS[persona]
        identities = [f"{persona}@example.org", name, *name.split(), organization]
        assert [text for text in identities if text and text in stored] == []


def test_each_room_has_its_own_chain(cast):
    other = build_cast("other-room")
    append(cast.room, "a", cast.chloe)
    append(other.room, "a", other.chloe)
    append(cast.room, "b", cast.chloe)
    assert [e.seq for e in audit_entries(cast.room)] == [1, 2]
    assert [e.seq for e in audit_entries(other.room)] == [1]
    assert audit_verify(cast.room).ok and audit_verify(other.room).ok


def test_unicode_and_numbers_in_data_survive_the_round_trip_through_the_database(cast):
    data = {
        "minutes": 10,
        "ratio": 1.5,
        "huge": 1e16,  # jsonb gives this back as an integer
        "whole": 2.0,
        "labels": ("Société civile · Délégué 3", "代表", "🙂"),
        "nested": {"z": [1, None, True], "a": "x"},
    }
    entry = append(cast.room, "seat.muted", cast.chloe, reason="Naïve «quote» \u200b 🙂", data=data)
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert stored.data["labels"] == ["Société civile · Délégué 3", "代表", "🙂"]
    assert stored.data["huge"] == 10**16 and stored.data["whole"] == 2
    assert entry_hash(stored) == stored.hash
    assert audit_verify(cast.room).ok


def test_bad_arguments_are_refused_and_leave_no_entry(cast):
    other = build_cast("other-room")
    with pytest.raises(ValueError, match="no seat in this round table"):
        append(cast.room, "seat.muted", other.chloe)
    with pytest.raises(ValueError, match="NaN"):
        append(cast.room, "seat.muted", cast.chloe, data={"minutes": float("nan")})
    with pytest.raises(TypeError):
        append(cast.room, "seat.muted", cast.chloe, data=["not", "a", "dict"])
    with pytest.raises(TypeError):
        append(cast.room, "seat.muted", cast.chloe, data={"when": timezone.now()})
    with pytest.raises(ValueError):
        append(cast.room, "", cast.chloe)
    with pytest.raises(ValueError):
        append(cast.room, "x" * 61, cast.chloe)
    assert AuditEntry.objects.count() == 0


def test_a_rolled_back_action_leaves_no_entry_and_no_gap(cast):
    append(cast.room, "first", cast.chloe)
    with pytest.raises(RuntimeError, match="the action failed"):
        with transaction.atomic():
            audit_append(room=cast.room, action="lost", actor=cast.chloe)
            raise RuntimeError("the action failed")
    append(cast.room, "second", cast.chloe)
    assert [(e.seq, e.action) for e in audit_entries(cast.room)] == [(1, "first"), (2, "second")]
    assert audit_verify(cast.room).ok


def test_appending_when_the_caller_already_holds_the_room_lock(cast):
    with transaction.atomic():
        RoundTable.objects.select_for_update().get(pk=cast.room.pk)
        audit_append(room=cast.room, action="a", actor=cast.chloe)
        audit_append(room=cast.room, action="b", actor=None)
    assert [e.seq for e in audit_entries(cast.room)] == [1, 2]
    assert audit_verify(cast.room).ok


@pytest.mark.django_db(transaction=True)
def test_appending_outside_a_transaction_is_refused(cast):
    with pytest.raises(RuntimeError, match=r"inside transaction\.atomic"):
        audit_append(room=cast.room, action="a", actor=cast.chloe)
    assert AuditEntry.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_on_one_room_keep_one_valid_chain(cast):
    actors = [cast.chloe, None, cast.rita, cast.chloe]
    per_thread = 10
    errors = []

    def run(index, actor):
        try:
            for i in range(per_thread):
                with transaction.atomic():
                    if i % 2:  # half the time the caller took the room lock first
                        RoundTable.objects.select_for_update().get(pk=cast.room.pk)
                    audit_append(
                        room=cast.room,
                        action="seat.muted",
                        actor=actor,
                        target=f"t{index}",
                        data={"i": i},
                    )
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=args) for args in enumerate(actors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    total = len(actors) * per_thread
    entries = audit_entries(cast.room)
    assert [e.seq for e in entries] == list(range(1, total + 1))
    for index in range(len(actors)):  # each thread's entries, in the order it wrote them
        assert [e.data["i"] for e in entries if e.target == f"t{index}"] == list(range(per_thread))
    report = audit_verify(cast.room)
    assert (report.ok, report.entries) == (True, total), report.problem
    assert AuditHead.objects.get(room=cast.room).count == total


# -- tampering through raw SQL, and what verify says ----------------------------------------


def insert_raw(entry: AuditEntry) -> None:
    fields = [f for f in AuditEntry._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    values = [f.get_db_prep_save(getattr(entry, f.attname), connection) for f in fields]
    marks = ", ".join(["%s"] * len(fields))
    sql(f"INSERT INTO {{table}} ({columns}) VALUES ({marks})", values)


def forged(cast, seq: int, prev_hash: str, hash: str | None = None) -> AuditEntry:
    entry = AuditEntry(
        room_id=cast.room.pk,
        seq=seq,
        created_at=timezone.now(),
        action="seat.revealed",
        actor_role="chair",
        actor_public_id=cast.chloe.public_id,
        actor_seat=cast.chloe,
        target=cast.ada.public_id,
        reason="never happened",
        data={},
        prev_hash=prev_hash,
        key_id=current_key_id(),
    )
    entry.hash = hash or entry_hash(entry)
    return entry


def alter(cast, entries):
    sql("UPDATE {table} SET reason = %s WHERE room_id = %s AND seq = 3", ["routine", cast.room.pk])


def alter_last(cast, entries):
    sql(
        "UPDATE {table} SET action = %s WHERE room_id = %s AND seq = 5",
        ["seat.unmuted", cast.room.pk],
    )


def alter_and_rehash(cast, entries):
    entry = entries[2]
    entry.reason = "routine"
    sql(
        "UPDATE {table} SET reason = %s, hash = %s WHERE room_id = %s AND seq = 3",
        ["routine", entry_hash(entry), cast.room.pk],
    )


def alter_and_rehash_last(cast, entries):
    entry = entries[4]
    entry.target = "iv-9"
    sql(
        "UPDATE {table} SET target = %s, hash = %s WHERE room_id = %s AND seq = 5",
        ["iv-9", entry_hash(entry), cast.room.pk],
    )


def insert_with_forged_hash(cast, entries):
    shift(cast.room, 3, +1)
    insert_raw(forged(cast, 3, prev_hash=entries[1].hash, hash="f" * 64))


def insert_with_well_formed_hash(cast, entries):
    shift(cast.room, 3, +1)
    insert_raw(forged(cast, 3, prev_hash=entries[1].hash))


def insert_at_the_start(cast, entries):
    shift(cast.room, 1, +1)
    insert_raw(forged(cast, 1, prev_hash=GENESIS_HASH))


def append_behind_the_heads_back(cast, entries):
    insert_raw(forged(cast, 6, prev_hash=entries[4].hash))


def delete_two(cast, entries):
    sql("DELETE FROM {table} WHERE room_id = %s AND seq IN (2, 3)", [cast.room.pk])


def delete_and_renumber(cast, entries):
    sql("DELETE FROM {table} WHERE room_id = %s AND seq = 3", [cast.room.pk])
    shift(cast.room, 4, -1)


def delete_first(cast, entries):
    sql("DELETE FROM {table} WHERE room_id = %s AND seq = 1", [cast.room.pk])


def delete_last(cast, entries):
    sql("DELETE FROM {table} WHERE room_id = %s AND seq = 5", [cast.room.pk])


def delete_all(cast, entries):
    sql("DELETE FROM {table} WHERE room_id = %s", [cast.room.pk])


@pytest.mark.parametrize(
    ("tamper", "first_bad_seq", "problem"),
    [
        (alter, 3, "entry 3 was altered: its content no longer matches its hash"),
        (alter_last, 5, "entry 5 was altered: its content no longer matches its hash"),
        (alter_and_rehash, 3, "entry 3 was altered or replaced: entry 4 is chained to"),
        (alter_and_rehash_last, 5, "entry 5 was altered or replaced: its hash is not the one"),
        (insert_with_forged_hash, 3, "entry 3 was inserted: entry 4 is chained to entry 2"),
        (insert_with_well_formed_hash, 3, "entry 3 was inserted: entry 4 is chained to entry 2"),
        (insert_at_the_start, 1, "entry 1 was inserted: entry 2 is chained to the start"),
        (append_behind_the_heads_back, 6, "entry 6 was inserted after the last entry the head"),
        (delete, 3, "entry 3 was removed: the log goes from entry 2 straight to entry 4"),
        (delete_two, 2, "entries 2 to 3 were removed: the log goes from entry 1 straight to"),
        (delete_and_renumber, 3, "entry 3 was removed and the later entries renumbered"),
        (delete_first, 1, "entry 1 was removed: the log starts at entry 2"),
        (delete_last, 5, "entry 5 was removed: the log ends at entry 4, the head records 5"),
        (delete_all, 1, "entries 1 to 5 were removed: the log is empty"),
    ],
)
def test_verify_reports_the_first_tampered_entry(cast, tamper, first_bad_seq, problem):
    entries = five_entries(cast)
    assert audit_verify(cast.room).ok
    tamper(cast, entries)
    report = audit_verify(cast.room)
    assert not report.ok
    assert report.first_bad_seq == first_bad_seq, report.problem
    assert report.problem.startswith(problem), report.problem
    assert report.entries == AuditEntry.objects.filter(room=cast.room).count()


def test_verify_reports_a_missing_head(cast):
    five_entries(cast)
    AuditHead.objects.filter(room=cast.room).delete()
    report = audit_verify(cast.room)
    assert not report.ok and report.first_bad_seq is None
    assert "audit head" in report.problem


def test_tampering_in_another_room_does_not_touch_this_one(cast):
    other = build_cast("other-room")
    five_entries(cast)
    append(other.room, "a", other.chloe)
    sql("UPDATE {table} SET reason = %s WHERE room_id = %s AND seq = 1", ["x", other.room.pk])
    assert audit_verify(cast.room).ok
    assert audit_verify(other.room).first_bad_seq == 1


# -- nothing in the product edits the log ---------------------------------------------------


def test_saving_or_deleting_an_entry_is_refused(cast):
    entry = five_entries(cast)[2]
    entry.reason = "routine"
    with pytest.raises(AuditLogImmutable):
        entry.save()
    with pytest.raises(AuditLogImmutable):
        entry.save(update_fields=["reason"])
    with pytest.raises(AuditLogImmutable):
        entry.delete()
    assert AuditEntry.objects.get(pk=entry.pk).reason == "threat"
    assert audit_verify(cast.room).ok


def test_queryset_updates_and_deletes_are_refused(cast):
    five_entries(cast)
    with pytest.raises(AuditLogImmutable):
        AuditEntry.objects.filter(room=cast.room).update(reason="routine")
    with pytest.raises(AuditLogImmutable):
        AuditEntry.objects.update(reason="routine")
    with pytest.raises(AuditLogImmutable):
        cast.room.audit_entries.filter(seq=3).update(reason="routine")
    with pytest.raises(AuditLogImmutable):
        AuditEntry.objects.filter(seq=3).delete()
    with pytest.raises(AuditLogImmutable):
        cast.room.audit_entries.all().delete()
    with pytest.raises(AuditLogImmutable):
        AuditEntry.objects.bulk_create([forged(cast, 6, prev_hash=GENESIS_HASH)])
    assert AuditEntry.objects.count() == 5
    assert audit_verify(cast.room).ok


def test_a_room_or_seat_with_an_audit_trail_cannot_be_deleted(cast):
    from django.db.models import ProtectedError

    append(cast.room, "seat.revealed", cast.chloe)
    with pytest.raises(ProtectedError):
        cast.room.delete()
    with pytest.raises(ProtectedError):
        cast.chloe.delete()
    assert audit_verify(cast.room).ok


@pytest.fixture
def admin_client(db):
    client = Client()
    client.force_login(
        User.objects.create_superuser("sec@example.org", "sec@example.org", "pw-tests")
    )
    return client


def test_the_secretariat_reads_the_log_in_the_admin_but_cannot_edit_it(cast, admin_client):
    entry = five_entries(cast)[2]
    base = "/admin/moderation/auditentry/"
    listing = admin_client.get(base)
    assert listing.status_code == 200
    assert "seat.revealed" in listing.content.decode()
    assert admin_client.get(f"{base}{entry.pk}/change/").status_code == 200  # view only
    assert admin_client.post(f"{base}{entry.pk}/change/", {"reason": "routine"}).status_code == 403
    assert admin_client.get(f"{base}add/").status_code == 403
    assert admin_client.get(f"{base}{entry.pk}/delete/").status_code == 403
    admin_client.post(
        base, {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"}
    )
    assert AuditEntry.objects.count() == 5
    assert AuditEntry.objects.get(pk=entry.pk).reason == "threat"
    assert audit_verify(cast.room).ok


# -- the command ----------------------------------------------------------------------------


def test_verify_audit_prints_the_count_when_the_chain_is_intact(cast):
    five_entries(cast)
    out = StringIO()
    call_command("verify_audit", "test-room", stdout=out)
    assert out.getvalue() == "audit log of test-room: 5 entries, chain intact\n"


def test_verify_audit_names_the_first_bad_entry(cast):
    entries = five_entries(cast)
    alter(cast, entries)
    with pytest.raises(CommandError, match="^audit log of test-room: entry 3 was altered: "):
        call_command("verify_audit", "test-room", stdout=StringIO())


def test_verify_audit_refuses_an_unknown_slug(db):
    with pytest.raises(CommandError, match="no round table with the slug 'nowhere'"):
        call_command("verify_audit", "nowhere", stdout=StringIO())


def database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return "sqlite:///" + os.path.abspath(settings["NAME"])
    credentials = quote(settings["USER"] or "", safe="")
    if settings.get("PASSWORD"):
        credentials += ":" + quote(settings["PASSWORD"], safe="")
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{settings['NAME']}"


def run_manage(*args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "forum.settings",
        "DEBUG": "1",
        "DATABASE_URL": database_url(),
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.django_db(transaction=True)
def test_verify_audit_exit_status_in_a_real_process(cast):
    entries = five_entries(cast)
    intact = run_manage("verify_audit", "test-room")
    assert (intact.returncode, intact.stdout, intact.stderr) == (
        0,
        "audit log of test-room: 5 entries, chain intact\n",
        "",
    )
    delete_last(cast, entries)
    broken = run_manage("verify_audit", "test-room")
    assert broken.returncode == 1 and broken.stdout == ""
    assert "audit log of test-room: entry 5 was removed" in broken.stderr
    unknown = run_manage("verify_audit", "nowhere")
    assert unknown.returncode == 1
    assert "no round table with the slug 'nowhere'" in unknown.stderr
