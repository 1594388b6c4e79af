"""A round table's session played through the services, for the minutes and what follows them."""

from __future__ import annotations

import uuid

from forum.models import Recommendation
from forum.services.consensus import ballot_cast, check_close, check_open
from forum.services.interventions import intervention_post
from forum.services.moderator_actions import intervention_hide, intervention_redact
from forum.services.recommendations import recommendation_save
from forum.services.seats import seat_consent
from tests.support.personas import PERSONAS


def consent_all(cast) -> None:
    for seat in cast.seats.values():
        seat_consent(seat_id=seat.pk, rule=cast.room.rule)


def post(cast, persona: str, body: str) -> str:
    return intervention_post(
        seat_id=cast.seats[persona].pk, client_id=uuid.uuid4(), body=body
    ).intervention_id


def run_session(cast) -> dict[str, str]:
    """Interventions (one hidden, one redacted), a closed check, a recommendation."""
    consent_all(cast)
    ids = {
        "cora": post(cast, "cora", "Early warning must reach **village** councils."),
        "gus": post(cast, "gus", "The ministry can publish data monthly."),
        "ada": post(cast, "ada", "Research shows <b>local</b> ownership matters."),
        "chloe": post(cast, "chloe", "Let us move to a check."),
        "pia": post(cast, "pia", "Something the moderators will hide."),
        "cyrus": post(cast, "cyrus", "Something offensive to redact."),
    }
    mona = cast.mona.pk
    intervention_hide(actor_seat_id=mona, intervention_id=ids["pia"], reason="Off topic.")
    intervention_redact(
        actor_seat_id=mona,
        intervention_id=ids["cyrus"],
        reason="Insult.",
        body="A point on funding.",
    )
    check = check_open(actor_seat_id=cast.chloe.pk, proposition="Publish the data monthly.")
    for persona, option in (
        ("gus", "support"),
        ("greta", "object"),
        ("cora", "support"),
        ("cyrus", "live"),
        ("ada", "support"),
    ):
        ballot_cast(seat_id=cast.seats[persona].pk, check_id=check, option=option)
    check_close(actor_seat_id=cast.chloe.pk, check_id=check)
    recommendation_save(
        actor_seat_id=cast.rita.pk,
        text="RIGOs should publish data **monthly**.",
        audience=Recommendation.Audience.RIGOS,
        consensus_check=check,
    )
    return ids


def identities(cast) -> list[str]:
    out = []
    for persona, (name, org, _sector, _role) in PERSONAS.items():
        out += [name, f"{persona}@example.org"] + ([org] if org else [])
    return out
