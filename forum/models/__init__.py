"""The forum app's models, one module per part of the product; everything is re-exported
here, so `from forum.models import X` and the migrations find every model in one place.

rooms: people, round tables, seats, the floor, checks, recommendations and the event log.
mail: the e-mail outbox and its attempts.
contributions: written contributions and their windows.
outcomes: minutes versions, committees, submissions, follow-ups, webhooks, held text.
Outcomes import rooms, never the other way round.
"""

from forum.models.contributions import DEFAULT_WORD_LIMIT, Contribution, ContributionWindow
from forum.models.mail import MailAttempt, OutboxMessage
from forum.models.outcomes import (
    Committee,
    DeliveryAttempt,
    FollowUp,
    FollowUpUpdate,
    HeldText,
    MinutesComment,
    MinutesVersion,
    NameStatement,
    Submission,
    SubmissionStep,
    WebhookDelivery,
)
from forum.models.rooms import (
    AgendaItem,
    Ballot,
    ConsensusCheck,
    Dialogue,
    Flag,
    FloorRequest,
    Intervention,
    Organization,
    Recommendation,
    RoomEvent,
    RoundTable,
    Seat,
    Sector,
    SectorSeats,
    User,
    Voter,
    default_retention_days,
    is_public_id,
    new_public_id,
    new_room_secret,
)

__all__ = [
    "AgendaItem",
    "Ballot",
    "Committee",
    "ConsensusCheck",
    "Contribution",
    "ContributionWindow",
    "DEFAULT_WORD_LIMIT",
    "DeliveryAttempt",
    "Dialogue",
    "Flag",
    "FloorRequest",
    "FollowUp",
    "FollowUpUpdate",
    "HeldText",
    "Intervention",
    "MailAttempt",
    "MinutesComment",
    "MinutesVersion",
    "NameStatement",
    "Organization",
    "OutboxMessage",
    "Recommendation",
    "RoomEvent",
    "RoundTable",
    "Seat",
    "Sector",
    "SectorSeats",
    "Submission",
    "SubmissionStep",
    "User",
    "Voter",
    "WebhookDelivery",
    "default_retention_days",
    "is_public_id",
    "new_public_id",
    "new_room_secret",
]
