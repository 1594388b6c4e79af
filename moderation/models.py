"""The audit log: one append-only list of entries per round table, chained by keyed MACs.

Each entry holds the MAC of the one before it (`prev_hash`) and its own MAC over its content
(`hash`: HMAC-SHA256 under the key its `key_id` names, moderation/audit_mac.py), and the
room's AuditHead holds the count and the last MAC, sealed with a MAC of its own. Altering,
inserting or removing an entry, the last one included, then breaks the chain in a way
`moderation.audit.audit_verify` can name. Entries are written only by
`moderation.audit.audit_append`; the one change the product makes to them is
`moderation.audit.audit_erase`, which swaps a text naming a person for the digest its MAC
covers (`erased`).
"""

from __future__ import annotations

from django.db import models

GENESIS_HASH = "0" * 64


class AuditLogImmutable(Exception):
    """Raised on any attempt to change or delete an audit entry through the ORM."""


class AuditEntryQuerySet(models.QuerySet):
    # Bulk writes bypass save() and the chain; raw SQL remains possible (and is what
    # audit_verify is there to catch).
    def update(self, **kwargs):
        raise AuditLogImmutable("audit entries cannot be updated")

    def delete(self):
        raise AuditLogImmutable("audit entries cannot be deleted")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AuditLogImmutable("audit entries cannot be updated")

    def bulk_create(self, objs, *args, **kwargs):
        raise AuditLogImmutable("audit entries are appended one by one with audit_append")

    delete.queryset_only = True  # as on QuerySet: managers have no delete()

    def erase_fields(self, pk: int, *, erased: dict, **fields) -> None:
        """For moderation.audit.audit_erase only: blank `fields` of one entry and record the
        digests that stand for them in `erased` (the entry's MAC is unchanged)."""
        if set(fields) - {"reason", "data"}:
            raise AuditLogImmutable("only an entry's reason and data can be erased")
        models.QuerySet.update(self.filter(pk=pk), erased=erased, **fields)


class AuditEntry(models.Model):
    """One audited action in a room: who (as a role and an opaque per-room id), what, why."""

    # PROTECT: a round table with an audit trail cannot be deleted, nor can the seat of an
    # actor; the trail outlives them by design.
    room = models.ForeignKey(
        "forum.RoundTable", on_delete=models.PROTECT, related_name="audit_entries"
    )
    seq = models.PositiveBigIntegerField()
    created_at = models.DateTimeField()
    action = models.CharField(max_length=60)
    # A label, never a name: the seat's role ("chair", "moderator", or "secretariat" for
    # the system) and its opaque per-room public_id.
    actor_role = models.CharField(max_length=20)
    actor_public_id = models.CharField(max_length=16, blank=True)
    # For the secretariat's admin only; never shown in the room.
    actor_seat = models.ForeignKey(
        "forum.Seat", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    target = models.CharField(max_length=100, blank=True)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)  # the entry's MAC
    # Which key sealed it (a fingerprint, never the key); "" for an entry written before
    # keys whose chain did not verify when they were introduced.
    key_id = models.CharField(max_length=16, blank=True, default="")
    # {"reason" | "data": the keyed digest of the erased text}: what the MAC covers in its
    # place once an identity was erased from the entry.
    erased = models.JSONField(default=dict, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["room", "seq"]
        verbose_name_plural = "audit entries"
        constraints = [
            models.UniqueConstraint(fields=["room", "seq"], name="audit_entry_seq_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.room_id}#{self.seq} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditLogImmutable(f"audit entry {self.seq} cannot be changed")
        kwargs["force_insert"] = True
        kwargs.pop("force_update", None)
        kwargs.pop("update_fields", None)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditLogImmutable(f"audit entry {self.seq} cannot be deleted")


class AuditHead(models.Model):
    """How long a room's chain is and how it ends, so that removing the last entry shows."""

    room = models.OneToOneField(
        "forum.RoundTable", on_delete=models.PROTECT, primary_key=True, related_name="audit_head"
    )
    count = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    key_id = models.CharField(max_length=16, blank=True, default="")
    # HMAC of (room, count, last_hash, key_id): rewinding the head to hide removed last
    # entries needs the key.
    mac = models.CharField(max_length=64, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.room_id}: {self.count} entries"
