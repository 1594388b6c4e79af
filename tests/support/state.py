"""A snapshot of what a refusal must leave untouched."""

from __future__ import annotations

from forum.models import (
    Ballot,
    ConsensusCheck,
    Contribution,
    ContributionWindow,
    Flag,
    FloorRequest,
    HeldText,
    Intervention,
    MinutesComment,
    MinutesVersion,
    Recommendation,
    RoomEvent,
    RoundTable,
    Seat,
    Voter,
)
from moderation.models import AuditEntry

SEAT_STATE = [f.attname for f in Seat._meta.concrete_fields if f.name != "joined_at"]


def snapshot(room: RoundTable) -> dict:
    """Every row an action in `room` could touch, as plain values."""
    return {
        "room": RoundTable.objects.filter(pk=room.pk).values().get(),
        # joined_at records a socket's first connection (the attendance), not a frame's effect.
        "seats": list(Seat.objects.filter(room=room).order_by("pk").values(*SEAT_STATE)),
        "interventions": list(Intervention.objects.filter(room=room).order_by("pk").values()),
        "flags": list(Flag.objects.filter(intervention__room=room).order_by("pk").values()),
        "events": list(
            RoomEvent.objects.filter(room=room).order_by("seq").values_list("seq", "kind")
        ),
        "audit": list(
            AuditEntry.objects.filter(room_id=room.pk).order_by("seq").values_list("seq", "hash")
        ),
        "floor": list(FloorRequest.objects.filter(room=room).order_by("pk").values()),
        "checks": list(ConsensusCheck.objects.filter(room=room).order_by("pk").values()),
        "ballots": list(Ballot.objects.filter(consensus_check__room=room).order_by("pk").values()),
        "voters": list(Voter.objects.filter(consensus_check__room=room).order_by("pk").values()),
        "recommendations": list(Recommendation.objects.filter(room=room).order_by("pk").values()),
        "minutes": list(MinutesVersion.objects.filter(room=room).order_by("pk").values()),
        "comments": list(MinutesComment.objects.filter(version__room=room).order_by("pk").values()),
        "held": list(HeldText.objects.filter(room=room).order_by("pk").values()),
        "contributions": list(Contribution.objects.filter(room=room).order_by("pk").values()),
        "contribution_windows": list(
            ContributionWindow.objects.filter(room=room).order_by("pk").values()
        ),
    }
