from django.contrib import admin

from forum.admin import ReadOnlyAdmin

from .models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The secretariat reads the audit log here; nobody edits it (append-only, hash-chained)."""

    list_display = (
        "room",
        "seq",
        "created_at",
        "action",
        "actor_role",
        "actor_public_id",
        "target",
    )
    list_filter = ("room", "action", "actor_role")
    search_fields = ("target", "actor_public_id", "reason")
    list_select_related = ("room",)
    ordering = ("room", "seq")
    readonly_fields = [f.name for f in AuditEntry._meta.fields]
