from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import AgendaItem, Dialogue, Intervention, Organization, RoomEvent, RoundTable, Seat, Sector, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = BaseUserAdmin.fieldsets + (("Round tables", {"fields": ("display_name",)}),)
    list_display = ("username", "display_name", "email", "is_staff")


@admin.register(Sector)
class SectorAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "position")


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "sector", "accreditation")
    list_filter = ("sector", "accreditation")
    search_fields = ("name",)


@admin.register(Dialogue)
class DialogueAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "convener")
    filter_horizontal = ("sectors",)


class AgendaItemInline(admin.TabularInline):
    model = AgendaItem
    extra = 0
    exclude = ("public_id",)


@admin.register(RoundTable)
class RoundTableAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "rule", "attribution", "status", "last_seq")
    list_filter = ("rule", "status")
    # The counter belongs to the event log; editing it by hand would break the sequence.
    readonly_fields = ("last_seq",)
    inlines = [AgendaItemInline]


@admin.register(Seat)
class SeatAdmin(admin.ModelAdmin):
    list_display = ("user", "room", "role", "sector", "organization", "consented_at", "token_revoked_at")
    list_filter = ("room", "role", "sector")
    readonly_fields = ("token_hash", "pseudonym_number", "consented_at")


@admin.register(Intervention)
class InterventionAdmin(admin.ModelAdmin):
    list_display = ("room", "seq", "kind", "status", "created_at")
    list_filter = ("room", "status")
    readonly_fields = [f.name for f in Intervention._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(RoomEvent)
class RoomEventAdmin(admin.ModelAdmin):
    """The log is append-only: readable here, never editable."""

    list_display = ("room", "seq", "kind", "created_at")
    list_filter = ("room", "kind")
    readonly_fields = [f.name for f in RoomEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
