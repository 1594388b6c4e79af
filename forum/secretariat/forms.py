"""The secretariat's forms (forum/secretariat/): parsing only; the services validate."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from forum.errors import ServiceError
from forum.models import Committee, Dialogue, RoundTable, Seat
from forum.services.csv_input import decode_csv
from forum.services.rooms import MAX_SECTOR_SEATS
from forum.services.schedule import check_time_zone

MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # as manage.py import_participants
MAX_AGENDA_ITEMS = 50

# The models' choice labels are plain strings; these are the interface's, translated.
LABELS = {
    "rule": {
        RoundTable.Rule.OPEN: gettext_lazy("Open"),
        RoundTable.Rule.CHATHAM_HOUSE: gettext_lazy("Chatham House Rule"),
    },
    "attribution": {
        RoundTable.Attribution.NAMED: gettext_lazy("Named"),
        RoundTable.Attribution.SECTOR: gettext_lazy("By sector"),
        RoundTable.Attribution.ANONYMOUS: gettext_lazy("Anonymous"),
    },
    "status": {
        RoundTable.Status.SCHEDULED: gettext_lazy("Scheduled"),
        RoundTable.Status.LIVE: gettext_lazy("Live"),
        RoundTable.Status.CLOSED: gettext_lazy("Closed"),
    },
    "role": {
        Seat.Role.CHAIR: gettext_lazy("Chair"),
        Seat.Role.MODERATOR: gettext_lazy("Moderator"),
        Seat.Role.RAPPORTEUR: gettext_lazy("Rapporteur"),
        Seat.Role.DELEGATE: gettext_lazy("Delegate"),
        Seat.Role.OBSERVER: gettext_lazy("Observer"),
    },
}


def choices(kind: str) -> list[tuple[str, str]]:
    return list(LABELS[kind].items())


# -- Forms: parsing only; the services validate -------------------------------------------


class Form(forms.Form):
    """Labels without a trailing colon (they read as questions or names, and translate)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class DialogueForm(Form):
    slug = forms.SlugField(
        label=gettext_lazy("Short name for addresses"),
        max_length=80,
        help_text=gettext_lazy("Lowercase letters, digits and hyphens, e.g. rigo-cso-dialogue."),
    )
    title = forms.CharField(label=gettext_lazy("Title"), max_length=300)
    convener = forms.CharField(label=gettext_lazy("Convened by"), max_length=300, required=False)
    akn_author = forms.SlugField(
        label=gettext_lazy("Convening body's short id for Akoma Ntoso"),
        max_length=40,
        required=False,
        help_text=gettext_lazy(
            "The minutes' author in Akoma Ntoso, e.g. oas; left empty, the secretariat."
        ),
    )
    akn_country = forms.CharField(
        label=gettext_lazy("Country code for Akoma Ntoso"),
        max_length=10,
        required=False,
        initial="aa",
        help_text=gettext_lazy(
            "A two-letter ISO 3166-1 code in lowercase; aa (user-assigned) for a body that "
            "belongs to no single country."
        ),
    )

    def clean_akn_country(self) -> str:
        # Left empty: the default, a body that belongs to no single country.
        return self.cleaned_data["akn_country"].strip().lower() or "aa"

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"]
        # dialogue_get_or_create would quietly return the existing one.
        if Dialogue.objects.filter(slug=slug).exists():
            raise ValidationError(
                _("A dialogue with this short name already exists."), code="slug_taken"
            )
        return slug


class ScheduleFields(forms.Form):
    """When and where: the session's start and end in its own time zone, its city and
    whether it is online too. Parsed only; forum.services.schedule validates."""

    starts_at = forms.DateTimeField(
        label=gettext_lazy("Starts"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=gettext_lazy("In the round table's time zone."),
    )
    ends_at = forms.DateTimeField(
        label=gettext_lazy("Ends"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    time_zone = forms.CharField(
        label=gettext_lazy("Time zone"),
        max_length=64,
        initial="UTC",
        required=False,
        help_text=gettext_lazy("Its IANA name, such as Pacific/Auckland or America/Panama."),
    )
    place = forms.CharField(
        label=gettext_lazy("City"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("Where delegates meet in person; empty for a session online only."),
    )
    online = forms.BooleanField(
        label=gettext_lazy("Online too (hybrid when a city is given)"),
        required=False,
        initial=True,
    )

    def clean_time_zone(self) -> str:
        try:
            return check_time_zone(self.cleaned_data["time_zone"] or "UTC")
        except ServiceError as exc:
            raise ValidationError(exc.message, code=exc.code) from None

    def clean_starts_at(self):
        return self._naive(self.cleaned_data["starts_at"])

    def clean_ends_at(self):
        return self._naive(self.cleaned_data["ends_at"])

    @staticmethod
    def _naive(value):
        # The time is the round table's local time: the service reads it in its time zone,
        # not in the server's.
        return value.replace(tzinfo=None) if value is not None and value.tzinfo else value

    @staticmethod
    def schedule_of(cleaned: dict) -> dict:
        data = {
            name: cleaned[name] for name in ("starts_at", "ends_at", "time_zone", "place", "online")
        }
        # An unticked box with no city still means online: a session sits somewhere.
        data["online"] = data["online"] or not data["place"].strip()
        return data


class ScheduleForm(Form, ScheduleFields):
    """The schedule of an existing round table, on its secretariat page."""


class RoomForm(Form, ScheduleFields):
    dialogue = forms.ChoiceField(label=gettext_lazy("Dialogue"))
    slug = forms.CharField(
        label=gettext_lazy("Short name for addresses"),
        max_length=80,
        help_text=gettext_lazy(
            "Lowercase letters, digits and hyphens; it ends the round table's address."
        ),
    )
    title = forms.CharField(label=gettext_lazy("Title"), max_length=300)
    rule = forms.ChoiceField(
        label=gettext_lazy("Rule"), choices=choices("rule"), initial=RoundTable.Rule.CHATHAM_HOUSE
    )
    attribution = forms.ChoiceField(
        label=gettext_lazy("Attribution"),
        required=False,
        choices=[
            ("", gettext_lazy("Default: by sector under the Chatham House Rule, named when open")),
            *choices("attribution"),
        ],
    )
    seats_per_sector = forms.IntegerField(
        label=gettext_lazy("Seats per sector"), initial=10, max_value=10_000
    )
    k = forms.IntegerField(
        label=gettext_lazy("Smallest group named by sector (k)"),
        initial=3,
        max_value=1_000,
        help_text=gettext_lazy(
            "Below k seated delegates, a sector's speakers appear as anonymous."
        ),
    )
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        # A new round table is prepared ahead (scheduled) or starts at once (live).
        choices=[c for c in choices("status") if c[0] != RoundTable.Status.CLOSED],
        initial=RoundTable.Status.SCHEDULED,
        help_text=gettext_lazy(
            "A scheduled round table accepts no intervention until it is opened."
        ),
    )
    # Each language by its own name (settings.LANGUAGES), as language switchers show them.
    language = forms.ChoiceField(
        label=gettext_lazy("Language of the minutes"),
        required=False,
        choices=settings.LANGUAGES,
        initial="en",
        help_text=gettext_lazy("The minutes are written in this language, whoever reads them."),
    )
    agenda = forms.CharField(
        label=gettext_lazy("Agenda"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("One item per line; empty gives one item, “General discussion”."),
    )

    field_order = [
        "dialogue",
        "slug",
        "title",
        "rule",
        "attribution",
        "seats_per_sector",
        "k",
        "status",
        "language",
        "starts_at",
        "ends_at",
        "time_zone",
        "place",
        "online",
        "agenda",
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dialogue"].choices = [
            (d.slug, d.title) for d in Dialogue.objects.order_by("title")
        ]

    def clean_agenda(self) -> list[str]:
        items = [line.strip() for line in self.cleaned_data["agenda"].splitlines() if line.strip()]
        if len(items) > MAX_AGENDA_ITEMS:
            raise ValidationError(_("At most %(n)s agenda items.") % {"n": MAX_AGENDA_ITEMS})
        if any(len(item) > 300 for item in items):
            raise ValidationError(_("An agenda item is at most 300 characters."))
        return items


class ImportForm(Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy(
            "UTF-8 (as “CSV UTF-8”), separated by commas, semicolons or tabs, with the header "
            "name,email,organization,sector,role; at most 5 MiB and 5,000 rows."
        ),
        widget=forms.FileInput(attrs={"accept": ".csv,text/csv"}),
    )
    reissue_links = forms.BooleanField(
        label=gettext_lazy(
            "Give seats that already have a link a new one (the links already sent stop working)"
        ),
        required=False,
    )

    def clean_file(self) -> str:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise ValidationError(_("The file is larger than 5 MiB."), code="import_refused")
        try:
            return decode_csv(upload.read())
        except ServiceError as exc:
            raise ValidationError(exc.message, code="import_refused") from None


class SectorSeatsForm(Form):
    """One number per sector of the room, `seats-<sector slug>`; empty: the room's
    seats_per_sector. Parsed as integers only: room_set_sector_seats checks the bounds."""

    def __init__(self, *args, sectors: list[dict], default: int, **kwargs):
        super().__init__(*args, **kwargs)
        for s in sectors:
            self.fields[self.field_name(s["sector"])] = forms.IntegerField(
                label=s["sector"].name,
                required=False,
                initial=s["own"],
                widget=forms.NumberInput(attrs={"min": 0, "max": MAX_SECTOR_SEATS}),
                help_text=ngettext(
                    "%(held)s delegate seated. Empty: the round table's %(default)s seats.",
                    "%(held)s delegates seated. Empty: the round table's %(default)s seats.",
                    s["filled"],
                )
                % {"held": s["filled"], "default": default},
            )

    @staticmethod
    def field_name(sector) -> str:
        return f"seats-{sector.slug}"


class CommitteeForm(Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=300)
    rigo = forms.CharField(label=gettext_lazy("Regional organization (RIGO)"), max_length=200)
    working_languages = forms.CharField(
        label=gettext_lazy("Working languages"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("Comma-separated language codes, e.g. en, fr, es, pt."),
    )
    address = forms.CharField(
        label=gettext_lazy("Address of the committee's secretariat"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    accepts = forms.CharField(
        label=gettext_lazy("What it accepts, and how"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    webhook_url = forms.CharField(
        label=gettext_lazy("Webhook address"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("Optional: submissions are announced there by a signed POST."),
        widget=forms.URLInput,
    )
    # Never rendered back (render_value=False): the secret only goes in.
    webhook_secret = forms.CharField(
        label=gettext_lazy("Webhook secret"),
        max_length=200,
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    clear_webhook_secret = forms.BooleanField(
        label=gettext_lazy("Remove the webhook secret"), required=False
    )

    def __init__(self, *args, committee: Committee | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.committee = committee
        if committee is None or not committee.webhook_secret:
            del self.fields["clear_webhook_secret"]
            self.fields["webhook_secret"].help_text = _(
                "Required with a webhook: it signs each POST."
            )
        else:
            self.fields["webhook_secret"].help_text = _(
                "A secret is set. Leave this empty to keep it, or type a new one to replace it."
            )
