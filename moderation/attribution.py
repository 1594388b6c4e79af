"""How a seat is named to the rest of the room, by the room's attribution policy.

- named: "Name (Organization)"
- sector: a per-room pseudonym, "Civil society · Delegate 3"; falls back to anonymous when
  fewer than k delegates of that sector hold seats (a label that fits one or two people
  reveals them)
- anonymous: "A participant"

Chairs, moderators and the rapporteur speak in their function ("Chair"), never by name,
in a Chatham House room.
"""

from __future__ import annotations

from dataclasses import dataclass

from forum.models import RoundTable, Seat

ANONYMOUS_LABEL = "A participant"
FUNCTION_LABELS = {
    Seat.Role.CHAIR: "Chair",
    Seat.Role.MODERATOR: "Moderator",
    Seat.Role.RAPPORTEUR: "Rapporteur",
    Seat.Role.OBSERVER: "Observer",
}


@dataclass(frozen=True)
class Attribution:
    label: str
    sector: str | None  # sector slug, only where the policy lets it be known

    def as_payload(self) -> dict:
        return {"label": self.label, "sector": self.sector}


def seated_delegates(room: RoundTable, sector_id: int) -> int:
    return Seat.objects.filter(
        room=room, sector_id=sector_id, role=Seat.Role.DELEGATE, token_revoked_at__isnull=True
    ).count()


def attribute(seat: Seat) -> Attribution:
    """The attribution of `seat`'s interventions in its room."""
    room = seat.room
    policy = room.attribution
    if policy == RoundTable.Attribution.NAMED:
        name = str(seat.user)
        org = seat.organization.name if seat.organization_id else None
        sector = seat.sector.slug if seat.sector_id else None
        return Attribution(f"{name} ({org})" if org else name, sector)
    if seat.role != Seat.Role.DELEGATE:
        return Attribution(FUNCTION_LABELS[seat.role], None)
    if policy == RoundTable.Attribution.SECTOR and seat.sector_id:
        if seated_delegates(room, seat.sector_id) >= room.k:
            return Attribution(f"{seat.sector.name} · Delegate {seat.pseudonym_number}", seat.sector.slug)
    return Attribution(ANONYMOUS_LABEL, None)
