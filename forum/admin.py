from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import (
    AgendaItem,
    Dialogue,
    Intervention,
    Organization,
    RoomEvent,
    RoundTable,
    Seat,
    Sector,
    User,
)
from .services.rooms import room_set_status
from .services.seats import join_url, seat_issue_token, seat_revoke_token


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
    # The counter belongs to the event log; the status changes through the actions below,
    # which go through the service and so reach the log and the live rooms.
    readonly_fields = ("last_seq", "status", "current_item")
    inlines = [AgendaItemInline]
    actions = ["open_rooms", "close_rooms"]

    @admin.action(description="Open the selected round tables (live)")
    def open_rooms(self, request, queryset):
        for room in queryset:
            room_set_status(room=room, status=RoundTable.Status.LIVE)
        self.message_user(request, f"{queryset.count()} round table(s) opened.")

    @admin.action(description="Close the selected round tables")
    def close_rooms(self, request, queryset):
        for room in queryset:
            room_set_status(room=room, status=RoundTable.Status.CLOSED)
        self.message_user(request, f"{queryset.count()} round table(s) closed.")


@admin.register(Seat)
class SeatAdmin(admin.ModelAdmin):
    list_display = ("user", "room", "role", "sector", "organization", "consented_at", "token_revoked_at")
    list_filter = ("room", "role", "sector")
    readonly_fields = ("token_hash", "token_revoked_at", "pseudonym_number", "consented_at")
    actions = ["issue_links", "revoke_links"]

    @admin.action(description="Issue new join links (replaces and revokes the old ones)")
    def issue_links(self, request, queryset):
        # Tokens are stored hashed: this is the only time they can be shown.
        for seat in queryset.select_related("user"):
            url = join_url(seat_issue_token(seat=seat))
            self.message_user(request, f"Join link for {seat.user.email}: {url}", messages.WARNING)

    @admin.action(description="Revoke join links")
    def revoke_links(self, request, queryset):
        for seat in queryset:
            seat_revoke_token(seat=seat)
        self.message_user(request, f"{queryset.count()} link(s) revoked.")


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
