"""Heads kept outside the database: `verify_audit --head`, `--record-heads` and `--heads`.

Someone who can edit the database may delete the last entries of a log and put back the
head row as it was when those entries did not exist yet (from a backup, or noted down): the
chain and its head then verify, since they are genuine, only older. What catches it is a head
recorded somewhere the database editor cannot reach.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from moderation.audit import audit_append, audit_verify
from moderation.models import AuditHead
from tests.support.audit import five_entries, rechain, sql


def verify(*args: str) -> str:
    out = StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


def cut_the_tail_and_restore_the_old_head(room, keep: int) -> None:
    """Delete the entries after `keep` and put back the head row as it was then."""
    old_head = dict(
        AuditHead.objects.filter(room=room).values("count", "last_hash", "key_id", "mac").get()
    )
    with transaction.atomic():
        audit_append(room=room, action="seat.removed", actor=None, reason="the entry that goes")
        audit_append(room=room, action="seat.revealed", actor=None, reason="and this one")
    sql("DELETE FROM {table} WHERE room_id = %s AND seq > %s", [room.pk, keep])
    AuditHead.objects.filter(room=room).update(**old_head)


def test_a_tail_cut_with_the_old_head_restored_verifies_on_its_own(cast):
    """What the heads file is for: without it, nothing in the database shows the cut."""
    five_entries(cast)
    cut_the_tail_and_restore_the_old_head(cast.room, keep=5)
    assert audit_verify(cast.room).ok


def test_head_without_a_value_prints_the_current_head(cast):
    entries = five_entries(cast)
    assert verify("test-room", "--head") == (
        "audit log of test-room: 5 entries, chain intact\n"
        f"head of test-room: entry 5, {entries[-1].hash}\n"
    )


def test_head_of_an_empty_log_is_entry_zero(cast):
    assert verify("test-room", "--head") == (
        f"audit log of test-room: 0 entries, chain intact\nhead of test-room: entry 0, {'0' * 64}\n"
    )


def test_record_heads_appends_slug_seq_head_and_time(cast, tmp_path):
    heads = tmp_path / "heads.txt"
    heads.write_text("# audit heads of the round tables\n")
    entries = five_entries(cast)
    verify("test-room", "--record-heads", str(heads))
    with transaction.atomic():
        later = audit_append(room=cast.room, action="later", actor=None)
    out = verify("test-room", "--record-heads", str(heads))
    assert out.endswith(f"recorded the head of test-room (entry 6) in {heads}\n")
    lines = heads.read_text().splitlines()
    assert lines[0] == "# audit heads of the round tables"
    recorded = [line.split(" ") for line in lines[1:]]
    assert [(slug, seq, mac) for slug, seq, mac, _at in recorded] == [
        ("test-room", "5", entries[-1].hash),
        ("test-room", "6", later.hash),
    ]
    assert all(at.endswith("Z") and "T" in at for *_rest, at in recorded)


def test_heads_detects_a_tail_cut_with_the_old_head_restored(cast, tmp_path):
    heads = tmp_path / "heads.txt"
    five_entries(cast)
    with transaction.atomic():
        audit_append(room=cast.room, action="seat.removed", actor=None, reason="kept")
    verify("test-room", "--record-heads", str(heads))  # entry 6 is recorded
    sql("DELETE FROM {table} WHERE room_id = %s AND seq > 5", [cast.room.pk])
    head = AuditHead.objects.get(room=cast.room)
    # The head row as it was at entry 5 (its MAC is genuine: recomputed here as the product
    # sealed it then).
    from moderation.audit import audit_entries, head_mac

    head.count, head.last_hash = 5, audit_entries(cast.room)[-1].hash
    AuditHead.objects.filter(room=cast.room).update(
        count=5, last_hash=head.last_hash, mac=head_mac(head)
    )
    assert audit_verify(cast.room).ok  # the database alone says nothing
    with pytest.raises(CommandError) as refused:
        verify("test-room", "--heads", str(heads))
    message = str(refused.value)
    assert message.startswith(
        "audit log of test-room: the log ends at entry 5, but entry 6 was recorded"
    )
    assert "entry 6 was removed" in message


def test_heads_detects_a_recorded_entry_that_is_no_longer_in_the_chain(cast, tmp_path):
    from django.conf import settings

    heads = tmp_path / "heads.txt"
    five_entries(cast)
    verify("test-room", "--record-heads", str(heads))
    with transaction.atomic():
        audit_append(room=cast.room, action="later", actor=None)
    sql(
        "UPDATE {table} SET reason = %s WHERE room_id = %s AND seq = 2", ["rewritten", cast.room.pk]
    )
    rechain(cast.room, settings.AUDIT_KEY)  # someone holding the key
    assert audit_verify(cast.room).ok
    with pytest.raises(
        CommandError, match=r"entry 5 is not the one recorded at .*: the log was rewritten up to it"
    ):
        verify("test-room", "--heads", str(heads))


def test_heads_passes_an_intact_log_that_grew_and_names_the_latest_recorded_head(cast, tmp_path):
    heads = tmp_path / "heads.txt"
    five_entries(cast)
    verify("test-room", "--record-heads", str(heads))
    heads.write_text(heads.read_text() + "other-room 9 " + "a" * 64 + " 2026-01-01T00:00:00Z\n")
    with transaction.atomic():
        audit_append(room=cast.room, action="later", actor=None)
    out = verify("test-room", "--heads", str(heads), "--record-heads", str(heads))
    assert "1 recorded head of test-room still in the log (the latest: entry 5)" in out
    assert len(heads.read_text().splitlines()) == 3  # checked, then the new head appended


def test_heads_with_no_line_for_the_room_says_so(cast, tmp_path):
    heads = tmp_path / "heads.txt"
    heads.write_text("")
    five_entries(cast)
    assert "no head of test-room recorded in" in verify("test-room", "--heads", str(heads))


@pytest.mark.parametrize(
    "line",
    [
        "test-room five " + "a" * 64 + " 2026-01-01T00:00:00Z",
        "test-room 5 xyz 2026-01-01T00:00:00Z",
        "test-room 5",
    ],
)
def test_a_malformed_heads_file_is_refused_with_its_line_number(cast, tmp_path, line):
    heads = tmp_path / "heads.txt"
    heads.write_text("# comment\n" + line + "\n")
    five_entries(cast)
    with pytest.raises(CommandError, match=f"{heads}, line 2: "):
        verify("test-room", "--heads", str(heads))


def test_a_missing_heads_file_is_refused(cast, tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        verify("test-room", "--heads", str(tmp_path / "nowhere.txt"))


def test_a_broken_chain_records_no_head(cast, tmp_path):
    heads = tmp_path / "heads.txt"
    five_entries(cast)
    sql(
        "UPDATE {table} SET reason = %s WHERE room_id = %s AND seq = 2", ["rewritten", cast.room.pk]
    )
    with pytest.raises(CommandError, match="entry 2 was altered"):
        verify("test-room", "--record-heads", str(heads))
    assert not heads.exists()


def test_head_still_takes_a_printed_mac(cast):
    entries = five_entries(cast)
    assert "the head" in verify("test-room", "--head", entries[2].hash)
