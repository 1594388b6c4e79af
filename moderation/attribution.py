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

from django.utils.translation import gettext as _

from forum.models import RoundTable, Seat
from moderation.disclosure import ANONYMOUS_LABEL, Reader, disclosure

FUNCTION_LABELS = {
    Seat.Role.CHAIR: "Chair",
    Seat.Role.MODERATOR: "Moderator",
    Seat.Role.RAPPORTEUR: "Rapporteur",
    Seat.Role.OBSERVER: "Observer",
    Seat.Role.SCREEN: "Venue screen",  # never speaks; named on its own join page only
}


@dataclass(frozen=True)
class Attribution:
    label: str
    sector: str | None  # sector slug, only where the policy lets it be known
    # What the label is made of, so each reader's page can word it in their language
    # ("Sociedad civil · Delegado 3"): "named", "function" (with the role), "pseudonym" (with
    # the number) or "anonymous". Nothing here that the label does not already say.
    kind: str = "named"
    function: str | None = None
    number: int | None = None

    def as_payload(self) -> dict:
        payload = {"label": self.label, "sector": self.sector, "kind": self.kind}
        if self.function:
            payload["function"] = self.function
        if self.number is not None:
            payload["number"] = self.number
        return payload


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
        return Attribution(FUNCTION_LABELS[seat.role], None, "function", function=seat.role)
    if policy == RoundTable.Attribution.SECTOR and seat.sector_id:
        # The disclosure rule: the sector is named only while it holds k seated delegates.
        if disclosure(room, Reader.RECORD).shows(seat.sector.slug):
            label = f"{seat.sector.name} · Delegate {seat.pseudonym_number}"
            return Attribution(label, seat.sector.slug, "pseudonym", number=seat.pseudonym_number)
    return Attribution(ANONYMOUS_LABEL, None, "anonymous")


def in_reader_language(payload: dict, sector_names: dict[str, str]) -> str:
    """An attribution as its reader reads it: the stored label is English (the minutes word
    speakers from its parts, in their own language), so a page or a frame for one person
    words it again in theirs. `sector_names`: slug -> the sector's name for that reader.
    A named label is a person's name and stays as it is. static/room/util.js: `who()` does the
    same."""
    kind = payload.get("kind")
    if kind == "function" and payload.get("function") in Seat.Role.values:
        return str(Seat.Role(payload["function"]).label)
    if kind == "pseudonym" and payload.get("sector"):
        name = sector_names.get(payload["sector"]) or payload["label"].rsplit(" · ", 1)[0]
        return _("%(sector)s · Delegate %(number)s") % {
            "sector": name,
            "number": payload.get("number"),
        }
    if kind == "anonymous":
        return _("A participant")
    return payload.get("label", "")
