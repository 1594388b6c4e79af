from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import Q
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .errors import ServiceError
from .models import (
    AgendaItem,
    Committee,
    Dialogue,
    Intervention,
    MinutesVersion,
    Organization,
    RoomEvent,
    RoundTable,
    Seat,
    Sector,
    SectorSeats,
    Submission,
    User,
)
from .services.committees import committee_save
from .services.rooms import room_set_status
from .services.seat_rules import (
    QUOTA_ROLES,
    check_seat,
    delegates_per_sector,
)
from .services.seats import (
    join_url,
    seat_link_issue,
    seat_link_revoke,
    seat_save,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records nobody edits through the product: logs, frozen versions, submissions."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# The admin keeps the same rules as the services: seats per sector, accreditation. A change
# that would break them is refused with a form error and saves nothing.

ACCREDITED = Organization.Accreditation.ACCREDITED


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


class UserChangeForm(BaseUserAdmin.form):
    """A seat never attaches to a staff or superuser account: a seat holder's account is not
    made staff here (the person gets a staff account of their own)."""

    def clean(self):
        cleaned = super().clean()
        user = self.instance
        staff = cleaned.get("is_staff") or cleaned.get("is_superuser")
        if user.pk is not None and staff and user.seats.exists():
            rooms = sorted(set(user.seats.values_list("room__slug", flat=True)))
            self.add_error(
                "is_staff" if "is_staff" in self.fields else None,
                f"{user.get_username()} holds seats ({', '.join(rooms)}), and a seat never carries "
                "staff rights. Give this person a separate staff account instead.",
            )
        return cleaned


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserChangeForm
    fieldsets = BaseUserAdmin.fieldsets + (("Round tables", {"fields": ("display_name",)}),)
    list_display = ("username", "display_name", "email", "is_staff")

    def has_delete_permission(self, request, obj=None):
        # Deleting a seat holder's account would delete their seats outside the audited
        # path (forum/services/seats.py); revoke their links instead.
        if obj is not None and obj.seats.exists():
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


@admin.register(Sector)
class SectorAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "position")


class OrganizationForm(forms.ModelForm):
    class Meta:
        model = Organization
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        org = self.instance
        if org.pk is None:
            return cleaned
        sector = cleaned.get("sector")
        if (
            sector is not None
            and Seat.objects.filter(organization=org).exclude(sector=sector).exists()
        ):
            self.add_error(
                "sector",
                f"Seats of delegates of {org.name!r} are in another sector; an "
                f"organization's seats "
                "must be in its own sector. Change those seats first.",
            )
        accreditation = cleaned.get("accreditation")
        if accreditation and accreditation != ACCREDITED:
            seated = Seat.objects.filter(
                organization=org,
                role__in=QUOTA_ROLES,
                removed_at__isnull=True,
                room__require_accreditation=True,
            ).exclude(room__status=RoundTable.Status.CLOSED)
            rooms = sorted(set(seated.values_list("room__slug", flat=True)))
            if rooms:
                self.add_error(
                    "accreditation",
                    f"{_plural(seated.count(), 'delegate')} of {org.name!r} hold seats "
                    f"in round tables "
                    f"that require accreditation ({', '.join(rooms)}). Remove those "
                    f"seats first, or "
                    "stop requiring accreditation there.",
                )
        return cleaned


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    form = OrganizationForm
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


class SectorSeatsFormSet(BaseInlineFormSet):
    """The secretariat's per-sector numbers, checked together with the room's seats_per_sector
    (the number of every sector without its own): no sector may end up with fewer seats than
    it has seated delegates, and only the dialogue's sectors get a number."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        room = self.instance
        dialogue_sectors = (
            set(room.dialogue.sectors.values_list("slug", flat=True)) if room.dialogue_id else None
        )
        own: dict[str, tuple[int, forms.Form]] = {}
        for form in self.forms:
            if not getattr(form, "cleaned_data", None) or self._should_delete_form(form):
                continue
            sector, seats = form.cleaned_data.get("sector"), form.cleaned_data.get("seats")
            if sector is None or seats is None:
                continue
            if dialogue_sectors is not None and sector.slug not in dialogue_sectors:
                form.add_error(
                    "sector", f"Sector {sector.slug!r} does not take part in this dialogue."
                )
                continue
            own[sector.slug] = (seats, form)
        if room.pk is None:
            return
        problems = []
        for slug, seated in sorted(delegates_per_sector(room).items()):
            if slug in own:
                seats, form = own[slug]
                if seated > seats:
                    form.add_error(
                        "seats",
                        f"Sector {slug!r} has {_plural(seated, 'seated delegate')}; it cannot have "
                        f"fewer than {seated} seats. Remove delegates first.",
                    )
            elif room.seats_per_sector is not None and seated > room.seats_per_sector:
                problems.append(
                    f"Sector {slug!r} has {_plural(seated, 'seated delegate')}, more than the "
                    f"{room.seats_per_sector} seats per sector: keep seats per sector "
                    f"at {seated} or more, "
                    f"or give the sector its own number of seats (at least {seated})."
                )
        if problems:
            raise forms.ValidationError(problems)


class SectorSeatsInline(admin.TabularInline):
    """Seats per sector are equal (the round table's seats per sector) unless set here."""

    model = SectorSeats
    formset = SectorSeatsFormSet
    extra = 0
    verbose_name = "own number of seats for a sector"
    verbose_name_plural = (
        "Seats per sector (sectors not listed get the round table's seats per sector)"
    )


class RoundTableForm(forms.ModelForm):
    class Meta:
        model = RoundTable
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        room = self.instance
        if room.pk is not None and cleaned.get("require_accreditation"):
            offending = Seat.objects.filter(
                room=room, role__in=QUOTA_ROLES, removed_at__isnull=True
            ).filter(
                Q(organization__isnull=True)
                | Q(
                    organization__accreditation__in=[
                        a for a in Organization.Accreditation.values if a != ACCREDITED
                    ]
                )
            )
            count = offending.count()
            if count:
                names = sorted(
                    set(n for n in offending.values_list("organization__name", flat=True) if n)
                )
                without = offending.filter(organization__isnull=True).count()
                detail = []
                if names:
                    detail.append("organizations not accredited: " + ", ".join(names))
                if without:
                    detail.append(f"{_plural(without, 'delegate')} without an organization")
                self.add_error(
                    "require_accreditation",
                    f"{_plural(count, 'seated delegate')} would break this rule "
                    f"({'; '.join(detail)}). "
                    "Accredit the organizations or remove those seats first.",
                )
        return cleaned


@admin.register(RoundTable)
class RoundTableAdmin(admin.ModelAdmin):
    form = RoundTableForm
    list_display = ("title", "slug", "rule", "attribution", "language", "status", "last_seq")
    list_filter = ("rule", "status", "language")
    # The counter belongs to the event log; the status changes through the actions below,
    # which go through the service and so reach the log and the live rooms. The retention
    # period, the schedule, place and time zone change on the secretariat's page, which
    # validates and audits them.
    readonly_fields = (
        "last_seq",
        "status",
        "current_item",
        "retention_days",
        "starts_at",
        "ends_at",
        "time_zone",
        "place",
        "online",
    )
    inlines = [AgendaItemInline, SectorSeatsInline]
    actions = ["open_rooms", "close_rooms"]

    @admin.action(description=gettext_lazy("Open the selected round tables (live)"))
    def open_rooms(self, request, queryset):
        for room in queryset:
            room_set_status(room=room, status=RoundTable.Status.LIVE)
        self.message_user(
            request, _("%(count)s round table(s) opened.") % {"count": queryset.count()}
        )

    @admin.action(description=gettext_lazy("Close the selected round tables"))
    def close_rooms(self, request, queryset):
        for room in queryset:
            room_set_status(room=room, status=RoundTable.Status.CLOSED)
        self.message_user(
            request, _("%(count)s round table(s) closed.") % {"count": queryset.count()}
        )


class SeatForm(forms.ModelForm):
    """The seat's room, person, role, sector and organization; nothing else is edited here.
    Shows, as form errors, what the service refuses (forum/services/seats.py: check_seat): a
    staff account, a full sector, a sector outside the dialogue, an organization of another
    sector, a delegate of an organization that is not accredited where the round table
    requires accreditation. Saving goes through seat_save, audited."""

    class Meta:
        model = Seat
        fields = ("room", "user", "role", "sector", "organization")

    def clean(self):
        cleaned = super().clean()
        room = cleaned.get("room") if "room" in self.fields else self.instance.room
        user = cleaned.get("user") if "user" in self.fields else self.instance.user
        role = cleaned.get("role")
        if room is None or user is None or role is None or self.errors:
            return cleaned
        try:
            check_seat(
                room=room,
                user=user,
                role=role,
                sector=cleaned.get("sector"),
                organization=cleaned.get("organization"),
            )
        except ServiceError as exc:
            field = exc.extra.get("field")
            self.add_error(field if field in self.fields else None, exc.message)
        return cleaned


@admin.register(Seat)
class SeatAdmin(admin.ModelAdmin):
    form = SeatForm
    list_display = (
        "user",
        "room",
        "role",
        "sector",
        "organization",
        "consented_at",
        "token_revoked_at",
    )
    list_filter = ("room", "role", "sector")
    readonly_fields = (
        "token_hash",
        "token_revoked_at",
        "link_generation",
        "removed_at",
        "muted_until",
        "pseudonym_number",
        "consented_at",
        # Marked on the secretariat's page and by the chair (seat_set_presence, audited).
        "presence",
        "joined_at",
    )
    actions = ["issue_links", "revoke_links"]

    def get_readonly_fields(self, request, obj=None):
        # A seat belongs to one person in one room (its handle, pseudonym and log entries
        # are per room): to move someone, give them a new seat.
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields + ("room", "user") if obj is not None else fields

    def has_delete_permission(self, request, obj=None):
        # A seat is withdrawn (its link revoked, or removed by a moderator), never deleted:
        # its interventions, votes and audit entries refer to it.
        return False

    def save_model(self, request, obj, form, change):
        # The service takes the room lock, checks the rules again under it (the form checked
        # without it), draws the pseudonym number and writes the audit entry.
        data = form.cleaned_data
        seat, _created = seat_save(
            room=obj.room,
            user=obj.user,
            role=data["role"],
            sector=data.get("sector"),
            organization=data.get("organization"),
            actor=request.user,
            via="admin",
        )
        obj.pk = seat.pk
        obj.refresh_from_db()

    @admin.action(
        description=gettext_lazy("Issue new join links (replaces and revokes the old ones)")
    )
    def issue_links(self, request, queryset):
        # Tokens are stored hashed: this is the only time they can be shown.
        for seat in queryset.select_related("user", "room", "sector"):
            if seat.removed_at:
                self.message_user(
                    request,
                    _("%(email)s was removed from %(room)s: no link issued.")
                    % {"email": seat.user.email, "room": seat.room.slug},
                    messages.ERROR,
                )
                continue
            url = join_url(seat_link_issue(seat=seat, actor=request.user, via="admin"))
            self.message_user(
                request,
                _("Join link for %(email)s: %(url)s") % {"email": seat.user.email, "url": url},
                messages.WARNING,
            )

    @admin.action(description=gettext_lazy("Revoke join links"))
    def revoke_links(self, request, queryset):
        for seat in queryset.select_related("room", "sector"):
            seat_link_revoke(seat=seat, actor=request.user, via="admin")
        self.message_user(request, _("%(count)s link(s) revoked.") % {"count": queryset.count()})


@admin.register(Intervention)
class InterventionAdmin(admin.ModelAdmin):
    list_display = ("room", "seq", "kind", "status", "created_at")
    list_filter = ("room", "status")
    readonly_fields = [f.name for f in Intervention._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(RoomEvent)
class RoomEventAdmin(ReadOnlyAdmin):
    """The log is append-only: readable here, never editable."""

    list_display = ("room", "seq", "kind", "created_at")
    list_filter = ("room", "kind")
    readonly_fields = [f.name for f in RoomEvent._meta.fields]


@admin.register(Committee)
class CommitteeAdmin(admin.ModelAdmin):
    """The committee registry. Submissions are filed on each round table's submissions page."""

    list_display = ("name", "rigo", "working_languages", "webhook_url")
    search_fields = ("name", "rigo")
    readonly_fields = ("public_id",)

    def save_model(self, request, obj, form, change):
        # The same service as the secretariat's committee page: one path for every save.
        committee_save(actor=request.user, committee=obj, data=form.cleaned_data)


@admin.register(MinutesVersion)
class MinutesVersionAdmin(ReadOnlyAdmin):
    """Versions are frozen: readable here, changed only by the rapporteur's saves."""

    list_display = ("room", "number", "status", "saved_at", "adopted_at", "content_sha256")
    list_filter = ("room",)
    exclude = ("document",)
    readonly_fields = [f.name for f in MinutesVersion._meta.fields if f.name != "document"]


@admin.register(Submission)
class SubmissionAdmin(ReadOnlyAdmin):
    """Read-only: the status history and follow-up are recorded on the submissions page,
    where the order of steps is enforced (and a submission is never deleted)."""

    list_display = ("room", "committee", "status", "created_at")
    list_filter = ("status", "committee")
    exclude = ("package",)
    readonly_fields = [f.name for f in Submission._meta.fields if f.name != "package"]
