# Audit entries sealed with a keyed MAC (moderation/audit_mac.py) instead of a plain SHA-256.
#
# Chains written before are migrated deliberately: each room's chain is first verified with
# the SHA-256 it was written with; an intact chain is then sealed again, entry by entry, with
# the AUDIT_KEY this migration runs under (so it verifies, and can have identities erased,
# from now on). A chain that does not verify is left as it was, with no key id: verify_audit
# keeps reporting it, and this migration names the room, so nobody launders a tampered log.
# It cannot be reversed (refuse_unsealing says why): restore a backup from before it instead.

import hashlib
import json
import sys

from django.db import migrations, models

GENESIS_HASH = "0" * 64


def _legacy_digest(entry) -> str:
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
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _legacy_intact(entries, head) -> bool:
    prev = GENESIS_HASH
    for number, entry in enumerate(entries, start=1):
        if entry.seq != number or entry.prev_hash != prev or _legacy_digest(entry) != entry.hash:
            return False
        prev = entry.hash
    if head is None:
        return not entries
    return head.count == len(entries) and head.last_hash == prev


def seal_existing_chains(apps, schema_editor):
    from moderation.audit_mac import (
        current_key_id,
        entry_mac,
        head_content,
        key_for,
        seal_content,
    )

    AuditEntry = apps.get_model("moderation", "AuditEntry")
    AuditHead = apps.get_model("moderation", "AuditHead")
    kid = current_key_id()
    key = key_for(kid)
    rooms = set(AuditHead.objects.values_list("room_id", flat=True))
    rooms |= set(AuditEntry.objects.values_list("room_id", flat=True))
    for room_id in sorted(rooms):
        entries = list(AuditEntry.objects.filter(room_id=room_id).order_by("seq"))
        head = AuditHead.objects.filter(room_id=room_id).first()
        if not _legacy_intact(entries, head):
            sys.stderr.write(
                f"audit log of round table {room_id}: its SHA-256 chain does not verify; "
                "left unsealed, as it was (verify_audit reports it)\n"
            )
            continue
        prev = GENESIS_HASH
        for entry in entries:
            entry.prev_hash, entry.key_id = prev, kid
            entry.hash = entry_mac(entry, key, entry.seq)
            entry.save(update_fields=["prev_hash", "key_id", "hash"])
            prev = entry.hash
        if head is not None:
            head.last_hash, head.key_id = prev, kid
            head.mac = seal_content(key, head_content(room_id, head.count, prev, kid))
            head.save(update_fields=["last_hash", "key_id", "mac"])


def refuse_unsealing(apps, schema_editor):
    """Going back would leave every entry sealed with a keyed MAC under the unkeyed SHA-256
    verifier of before, which reports each chain broken; and re-hashing them without keys
    would make a log anyone can rewrite. Refuse, and say so, before anything changes."""
    from django.db.migrations.exceptions import IrreversibleError

    raise IrreversibleError(
        "moderation 0002_keyed_audit cannot be reversed: the audit entries are sealed with a keyed "
        "MAC (AUDIT_KEY), which the code before it cannot verify, and re-hashing them without the "
        "key would make a log anyone can rewrite. Restore a database backup taken before the "
        "upgrade instead."
    )


class Migration(migrations.Migration):

    dependencies = [
        ("moderation", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="erased",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="key_id",
            field=models.CharField(blank=True, default="", max_length=16),
        ),
        migrations.AddField(
            model_name="audithead",
            name="key_id",
            field=models.CharField(blank=True, default="", max_length=16),
        ),
        migrations.AddField(
            model_name="audithead",
            name="mac",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.RunPython(seal_existing_chains, refuse_unsealing),
    ]
