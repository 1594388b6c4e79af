"""The domain of round tables.

Every change inside a round table is also a RoomEvent in the same transaction (see
realtime/log.py); the tables here hold current state, the log holds history.
"""

from __future__ import annotations

import re
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def new_room_secret() -> str:
    return secrets.token_hex(32)


def new_public_id() -> str:
    # Opaque, random, per-room: safe to show to any client, links to nothing else.
    return secrets.token_urlsafe(9)


_PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def is_public_id(value: object) -> bool:
    """Whether a client's value can be a public id at all: looked up otherwise, a NUL in it
    is an error of PostgreSQL rather than "no such thing"."""
    return isinstance(value, str) and _PUBLIC_ID.fullmatch(value) is not None


def default_retention_days() -> int:
    return settings.RETENTION_DAYS


class User(AbstractUser):
    """A person. `display_name` is what a named (open) forum shows."""

    display_name = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username


class Sector(models.Model):
    """A stakeholder group of equal standing (government, civil society, ...)."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "slug"]

    def __str__(self) -> str:
        return self.name


class Organization(models.Model):
    class Accreditation(models.TextChoices):
        APPLIED = "applied", _("Applied")
        ACCREDITED = "accredited", _("Accredited")
        SUSPENDED = "suspended", _("Suspended")

    name = models.CharField(max_length=200)
    sector = models.ForeignKey(Sector, on_delete=models.PROTECT, related_name="organizations")
    accreditation = models.CharField(
        max_length=20, choices=Accreditation.choices, default=Accreditation.ACCREDITED
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="organization_name_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Dialogue(models.Model):
    """A standing process that holds many round tables and owns follow-up."""

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=300)
    convener = models.CharField(max_length=300, blank=True)
    # The convening body in Akoma Ntoso: its id ("oas", "pif") is the FRBR author of the
    # minutes and part of their work URI; the country (an ISO 3166-1 alpha-2 code, or a
    # user-assigned one such as "aa" for a body that belongs to no single country) heads it.
    akn_author = models.SlugField(max_length=40, blank=True)
    akn_country = models.CharField(max_length=10, default="aa")
    sectors = models.ManyToManyField(Sector, related_name="dialogues")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.title


class RoundTable(models.Model):
    class Rule(models.TextChoices):
        OPEN = "open", _("Open")
        CHATHAM_HOUSE = "chatham-house", _("Chatham House Rule")

    class Attribution(models.TextChoices):
        NAMED = "named", _("Named")
        SECTOR = "sector", _("By sector")
        ANONYMOUS = "anonymous", _("Anonymous")

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        LIVE = "live", _("Live")
        CLOSED = "closed", _("Closed")

    dialogue = models.ForeignKey(Dialogue, on_delete=models.PROTECT, related_name="round_tables")
    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=300)
    rule = models.CharField(max_length=20, choices=Rule.choices, default=Rule.CHATHAM_HOUSE)
    attribution = models.CharField(
        max_length=20, choices=Attribution.choices, default=Attribution.SECTOR
    )
    k = models.PositiveSmallIntegerField(
        default=3, help_text="Below k seated delegates, a sector is attributed as anonymous."
    )
    seats_per_sector = models.PositiveIntegerField(default=10)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SCHEDULED)
    # Moderation settings, changed only through forum.services.moderator_actions.
    premoderation = models.BooleanField(
        default=False, help_text="Every intervention is held until a moderator approves it."
    )
    slow_mode_seconds = models.PositiveIntegerField(
        default=0, help_text="Minimum seconds between two posts of a delegate (0: off)."
    )
    locked = models.BooleanField(default=False, help_text="Only the chair and moderators may post.")

    class FloorMode(models.TextChoices):
        OPEN = "open", _("Open: any delegate posts")
        QUEUED = "queued", _("Queued: only the delegate holding the floor posts statements")

    floor_mode = models.CharField(max_length=10, choices=FloorMode.choices, default=FloorMode.OPEN)
    turn_seconds = models.PositiveIntegerField(
        default=180, help_text="Time limit of a turn on the floor."
    )
    require_accreditation = models.BooleanField(
        default=False, help_text="Only delegates of accredited organizations get seats."
    )
    # Where the session sits: a city (blank when it has none), online, or both (hybrid).
    # The secretariat sets them (forum.services.rooms.room_set_schedule).
    place = models.CharField(max_length=200, blank=True, default="")
    online = models.BooleanField(default=True)
    # An IANA name (zoneinfo); the minutes date the session and the pages show its hours in it.
    time_zone = models.CharField(max_length=64, default="UTC")
    language = models.CharField(
        max_length=8,
        choices=settings.LANGUAGES,
        default="en",
        help_text=_("The language of its minutes."),
    )
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    # The calendar files' SEQUENCE (RFC 5545): raised when the date or place changes and on
    # cancellation, so a calendar replaces the event it already holds (forum/services/calendar.py).
    calendar_sequence = models.PositiveIntegerField(default=0, editable=False)
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)
    current_item = models.ForeignKey(
        "AgendaItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The event log's counter. Locked with select_for_update by realtime.log.append_event,
    # which is what makes sequence numbers gapless under concurrent writers.
    last_seq = models.PositiveBigIntegerField(default=0)
    # Per-room secret for pseudonyms and opaque ids; never leaves the server.
    secret = models.CharField(max_length=64, default=new_room_secret, editable=False)
    # Days after the minutes are adopted before purge_identities erases who held the seats
    # (forum/services/retention.py); 0 keeps them. Set by the secretariat.
    retention_days = models.PositiveIntegerField(default=default_retention_days)
    identities_purged_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_chatham_house(self) -> bool:
        return self.rule == self.Rule.CHATHAM_HOUSE

    @property
    def group_name(self) -> str:
        return f"room.{self.pk}"


class AgendaItem(models.Model):
    room = models.ForeignKey(RoundTable, on_delete=models.CASCADE, related_name="agenda_items")
    position = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    public_id = models.CharField(max_length=16, default=new_public_id, editable=False)

    class Meta:
        ordering = ["room", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["room", "position"], name="agenda_item_position_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"


class Seat(models.Model):
    """A person's place in one round table: role, sector, join link, consent."""

    class Role(models.TextChoices):
        CHAIR = "chair", _("Chair")
        MODERATOR = "moderator", _("Moderator")
        RAPPORTEUR = "rapporteur", _("Rapporteur")
        DELEGATE = "delegate", _("Delegate")
        OBSERVER = "observer", _("Observer")
        # The venue's screen: a link that reads the room (as participants read it) and does
        # nothing else; not a person, so it never counts in presence or attendance.
        SCREEN = "screen", _("Venue screen")

    class Presence(models.TextChoices):
        ONLINE = "online", _("Online")
        IN_ROOM = "in_room", _("In the room")

    room = models.ForeignKey(RoundTable, on_delete=models.CASCADE, related_name="seats")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="seats")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.DELEGATE)
    sector = models.ForeignKey(
        Sector, null=True, blank=True, on_delete=models.PROTECT, related_name="seats"
    )
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="seats"
    )
    # SHA-256 of the join token; the token itself is shown once and never stored.
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    token_revoked_at = models.DateTimeField(null=True, blank=True)
    # Counts the seat's links: every new link, revocation and removal adds one. A session
    # remembers the number it signed in with and is refused once it differs, so a replaced
    # or revoked link ends every session it opened (forum/selectors.py: access_room), and
    # revoking then issuing again never brings an old session back.
    link_generation = models.PositiveIntegerField(default=0, editable=False)
    consented_at = models.DateTimeField(null=True, blank=True)
    # How the holder takes part: set by the secretariat, the chair and the moderators through
    # forum.services.seats.seat_save. A delegate "in the room" counts as present in the
    # attendance whether or not a device of theirs ever connected.
    presence = models.CharField(max_length=10, choices=Presence.choices, default=Presence.ONLINE)
    # The first time a socket of this seat was let in (forum.services.seats.seat_mark_joined):
    # the attendance's "came", kept when the socket goes.
    joined_at = models.DateTimeField(null=True, blank=True, editable=False)
    removed_at = models.DateTimeField(null=True, blank=True)
    muted_until = models.DateTimeField(null=True, blank=True)
    # The post rate bucket (see forum.services.limits); kept on the row so every Daphne
    # process sees the same bucket.
    rate_tokens = models.FloatField(null=True, blank=True)
    rate_updated_at = models.DateTimeField(null=True, blank=True)
    last_post_at = models.DateTimeField(null=True, blank=True)
    # Per-room number in "Civil society · Delegate 3"; drawn at random, never from ids.
    pseudonym_number = models.PositiveIntegerField(null=True, blank=True)
    public_id = models.CharField(max_length=16, default=new_public_id, editable=False)
    # Set when the holder's name, e-mail and organization were erased (retention or a
    # request): `user` is then a placeholder of no one, and the seat is withdrawn.
    identity_erased_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The holder's interface language, for their e-mail (blank: the round table's language);
    # set when they sign in with their link and when they change the page's language.
    language = models.CharField(max_length=8, blank=True, default="")

    class Notices(models.TextChoices):
        ROUND_TABLE = "round_table", _("Review and adoption of the minutes")
        OUTCOMES = "outcomes", _("Those and what becomes of the outcomes")
        NONE = "none", _("No notices")

    # Which notices by e-mail the holder wants (forum/services/notices.py); invitations and
    # changes of date or place come whatever this says.
    notices = models.CharField(max_length=12, choices=Notices.choices, default=Notices.ROUND_TABLE)
    # The first time the join page of the seat's current link was shown (a mail scanner that
    # opens links counts too: "opened" is a hint, "joined" is the fact).
    link_opened_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["room", "role", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="seat_room_user_unique"),
            models.UniqueConstraint(
                fields=["room", "sector", "pseudonym_number"],
                name="seat_pseudonym_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.room.slug} ({self.role})"


class Intervention(models.Model):
    class Kind(models.TextChoices):
        STATEMENT = "statement", _("Statement")
        QUESTION = "question", _("Question")
        REPLY = "reply", _("Reply")
        POINT_OF_ORDER = "point_of_order", _("Point of order")
        # What a delegate said in the meeting room without a device, as the chair noted it
        # (forum/services/hybrid.py); never posted by a delegate.
        IN_ROOM = "in_room", _("Spoke in the room")

    class Status(models.TextChoices):
        PUBLISHED = "published", _("Published")
        HELD = "held", _("Held for the moderator")
        HIDDEN = "hidden", _("Hidden")
        REJECTED = "rejected", _("Rejected")

    room = models.ForeignKey(RoundTable, on_delete=models.CASCADE, related_name="interventions")
    seat = models.ForeignKey(Seat, on_delete=models.PROTECT, related_name="interventions")
    agenda_item = models.ForeignKey(
        AgendaItem, on_delete=models.PROTECT, related_name="interventions"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.STATEMENT)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PUBLISHED)
    # The original text. Once redacted, it stays here for the audit only; readers get
    # `redacted_html`.
    body_md = models.TextField()
    body_html = models.TextField()
    # What it is written in (a code of settings.INTERVENTION_LANGUAGES); blank: the room's.
    # The minutes mark a statement in another language so each format can set it as such.
    language = models.CharField(max_length=8, blank=True, default="")
    redacted_html = models.TextField(null=True, blank=True)
    redaction_reason = models.TextField(blank=True)
    # Why it is held or hidden, in words the moderators can read.
    status_reason = models.TextField(blank=True)
    # What held it when it was posted ("names", "premoderation"); kept after it is released,
    # so that a seat testing names against the roster shows in the moderators' console.
    held_for = models.CharField(max_length=20, blank=True)
    # The label it was posted under ({"label", "sector"}), reused when it is released or
    # restored so that one intervention never changes attribution.
    attribution = models.JSONField(default=dict)
    client_id = models.UUIDField()
    public_id = models.CharField(max_length=16, default=new_public_id, editable=False)
    # The seq of the event that published it; what a repeated client_id is acknowledged with.
    seq = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["room", "seq"]
        constraints = [
            models.UniqueConstraint(
                fields=["seat", "client_id"], name="intervention_client_id_unique"
            ),
        ]


class Flag(models.Model):
    """A delegate's report of an intervention, with a reason, for the moderators' queue."""

    intervention = models.ForeignKey(Intervention, on_delete=models.CASCADE, related_name="flags")
    seat = models.ForeignKey(Seat, on_delete=models.CASCADE, related_name="flags")
    reason = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["intervention", "seat"], name="flag_once_per_seat"),
        ]


class SectorSeats(models.Model):
    """The secretariat's own number of seats for one sector of a room (else seats_per_sector)."""

    room = models.ForeignKey(RoundTable, on_delete=models.CASCADE, related_name="sector_seats")
    sector = models.ForeignKey(Sector, on_delete=models.PROTECT, related_name="+")
    seats = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["room", "sector"], name="sector_seats_unique"),
        ]


class FloorRequest(models.Model):
    """A raised hand, and the turn on the floor it may become."""

    class Kind(models.TextChoices):
        STATEMENT = "statement", _("Statement")
        REPLY = "reply", _("Reply")
        POINT_OF_ORDER = "point_of_order", _("Point of order")

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        SPEAKING = "speaking", _("Has the floor")
        DONE = "done", _("Spoke")
        WITHDRAWN = "withdrawn", _("Lowered")
        REMOVED = "removed", _("Removed by the chair")

    room = models.ForeignKey(RoundTable, on_delete=models.CASCADE, related_name="floor_requests")
    agenda_item = models.ForeignKey(AgendaItem, on_delete=models.PROTECT, related_name="+")
    seat = models.ForeignKey(Seat, on_delete=models.PROTECT, related_name="floor_requests")
    # The seat's sector when the hand went up: parity counts turns by it.
    sector = models.ForeignKey(
        Sector, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.STATEMENT)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.WAITING)
    public_id = models.CharField(max_length=16, default=new_public_id, editable=False)
    requested_at = models.DateTimeField(default=timezone.now)
    # A chair's manual place in the queue (move); None follows the parity rule.
    pinned_position = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    out_of_order = models.BooleanField(
        default=False, help_text="Given by the chair against the rule."
    )
    # Raised by the chair or a moderator for a delegate in the meeting room (hybrid rooms).
    by_chair = models.BooleanField(
        default=False, help_text="Raised by the chair on the delegate's behalf."
    )
    # The label the hand was raised under, kept so that a sector crossing k later does not
    # relabel (and so link) an earlier anonymous request.
    attribution = models.JSONField(default=dict)

    class Meta:
        ordering = ["room", "requested_at", "pk"]
        constraints = [
            # One raised hand per seat, one speaker per room: the database refuses a second,
            # whatever two moderators do at the same moment.
            models.UniqueConstraint(
                fields=["room", "seat"],
                condition=models.Q(status="waiting"),
                name="floor_one_hand_per_seat",
            ),
            models.UniqueConstraint(
                fields=["room"], condition=models.Q(status="speaking"), name="floor_one_speaker"
            ),
        ]


class ConsensusCheck(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    room = models.ForeignKey(RoundTable, on_delete=models.CASCADE, related_name="consensus_checks")
    agenda_item = models.ForeignKey(AgendaItem, on_delete=models.PROTECT, related_name="+")
    public_id = models.CharField(max_length=16, default=new_public_id, editable=False)
    proposition = models.TextField()
    # [{"key": "support", "label": "Support"}, ...]
    options = models.JSONField()
    # e.g. {"support": ["support", "live"], "threshold": 0.6, "objection": "object"}
    rule = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    # Keys ballots to voters while the check is open (HMAC); wiped when a Chatham House
    # check closes, after which nothing links a ballot to a voter.
    voter_secret = models.CharField(max_length=64, null=True, blank=True, default=new_room_secret)


class Ballot(models.Model):
    """One choice, stored apart from who voted (see Voter)."""

    consensus_check = models.ForeignKey(
        ConsensusCheck, on_delete=models.CASCADE, related_name="ballots"
    )
    sector = models.ForeignKey(Sector, on_delete=models.PROTECT, related_name="+")
    option = models.CharField(max_length=40)
    voter_key = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["consensus_check", "voter_key"], name="ballot_one_per_voter"
            ),
        ]


class Voter(models.Model):
    """The list of who voted in a check, without their choice."""

    consensus_check = models.ForeignKey(
        ConsensusCheck, on_delete=models.CASCADE, related_name="voters"
    )
    seat = models.ForeignKey(Seat, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["consensus_check", "seat"], name="voter_once_per_check"
            ),
        ]


class Recommendation(models.Model):
    class Audience(models.TextChoices):
        RIGOS = "rigos", _("Regional intergovernmental organizations")
        CSOS = "csos", _("Civil society organizations")
        UN = "un", _("The United Nations")
        STATES = "states", _("States")
        PRIVATE_SECTOR = "private-sector", _("The private sector")

    room = models.ForeignKey(RoundTable, on_delete=models.CASCADE, related_name="recommendations")
    agenda_item = models.ForeignKey(AgendaItem, on_delete=models.PROTECT, related_name="+")
    public_id = models.CharField(max_length=16, default=new_public_id, editable=False)
    text_md = models.TextField()
    text_html = models.TextField()
    audience = models.CharField(max_length=20, choices=Audience.choices)
    consensus_check = models.ForeignKey(
        ConsensusCheck,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="recommendations",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["room", "agenda_item__position", "created_at"]


class RoomEvent(models.Model):
    """One entry of a room's log: gapless `seq`, one payload per audience.

    A payload of None means that audience may not see the event; it receives a
    `redacted` stub with the same seq instead.
    """

    room = models.ForeignKey(RoundTable, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=60)
    participants = models.JSONField(null=True, blank=True)
    moderators = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["room", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["room", "seq"], name="room_event_seq_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.room_id}#{self.seq} {self.kind}"
