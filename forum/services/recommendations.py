"""Recommendations: outcome texts addressed to an audience, drafted during the session by the
rapporteur (or the chair), tied to an agenda item and, where one exists, the consensus check
they came from.

Named by their opaque per-room `public_id`; the text is Markdown, rendered and sanitised once
by moderation.sanitize.render_markdown.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from forum.errors import ServiceError
from forum.models import AgendaItem, ConsensusCheck, Recommendation
from moderation.audit import audit_append
from moderation.permissions import Action
from moderation.sanitize import render_markdown
from realtime.log import append_event

from .acting import Acting, current_agenda_item, load_acting, seat_marks
from .consensus import clean_text


def _recommendation(acting: Acting, public_id: object) -> Recommendation:
    found = None
    if isinstance(public_id, str):
        found = (
            Recommendation.objects.select_for_update(of=("self",))
            .select_related("agenda_item", "consensus_check")
            .filter(room=acting.room, public_id=public_id)
            .first()
        )
    if found is None:
        raise ServiceError(
            "not_found", _("There is no such recommendation in this round table."), field="id"
        )
    return found


def _agenda_item(acting: Acting, public_id: object) -> AgendaItem:
    item = None
    if isinstance(public_id, str):
        item = AgendaItem.objects.filter(room=acting.room, public_id=public_id).first()
    if item is None:
        raise ServiceError(
            "not_found", _("There is no such agenda item in this round table."), field="agenda_item"
        )
    return item


def _closed_check(acting: Acting, public_id: object) -> ConsensusCheck:
    check = None
    if isinstance(public_id, str):
        check = ConsensusCheck.objects.filter(room=acting.room, public_id=public_id).first()
    if check is None:
        raise ServiceError(
            "not_found",
            _("There is no such consensus check in this round table."),
            field="consensus_check",
        )
    if check.status != ConsensusCheck.Status.CLOSED:
        raise ServiceError(
            "check_not_closed",
            _("A recommendation cites a check once it has closed and has a result."),
            field="consensus_check",
        )
    return check


def recommendation_payload(recommendation: Recommendation) -> dict:
    """What every reader of the room gets (the Markdown too: the rapporteur edits it)."""
    check = recommendation.consensus_check
    return {
        "id": recommendation.public_id,
        "text_html": recommendation.text_html,
        "text_md": recommendation.text_md,
        "audience": recommendation.audience,
        "agenda_item": recommendation.agenda_item.public_id,
        "consensus_check": check.public_id if check else None,
        "consensus_outcome": (check.result or {}).get("outcome") if check else None,
        "updated_at": recommendation.updated_at.isoformat(),
    }


@transaction.atomic
def recommendation_save(
    *,
    actor_seat_id: int,
    text: str,
    audience: str,
    agenda_item: str | None = None,
    consensus_check: str | None = None,
    recommendation_id: str | None = None,
    not_a_participant: str | None = None,
) -> Recommendation:
    """Draft a recommendation, or edit the one named by `recommendation_id`.

    An edit replaces the text, the audience and the cited check (None: none). `agenda_item`
    None keeps an edited recommendation's item; a new one goes under the cited check's item,
    else the room's current item. A cited check must be closed, of this room and of the same
    agenda item. The text passes the guard of published text (`not_a_participant`: why what
    it finds is not a participant, audited).
    """
    acting = load_acting(actor_seat_id, Action.DRAFT_RECOMMENDATIONS)
    room = acting.room
    existing = _recommendation(acting, recommendation_id) if recommendation_id is not None else None
    recommendation = existing or Recommendation(room=room)
    text = clean_text(
        room,
        text,
        field="text",
        limit=settings.ROUNDTABLES["MAX_BODY_CHARS"],
        what=_("recommendation"),
        actor=acting.seat,
        target=recommendation.public_id,
        not_a_participant=not_a_participant,
    )
    if audience not in Recommendation.Audience.values:
        raise ServiceError(
            "invalid_audience",
            _("The audience is one of %(audiences)s.")
            % {"audiences": ", ".join(Recommendation.Audience.values)},
            field="audience",
        )
    check = _closed_check(acting, consensus_check) if consensus_check is not None else None
    if agenda_item is not None:
        item = _agenda_item(acting, agenda_item)
    elif existing is not None:
        item = existing.agenda_item
    elif check is not None:
        item = check.agenda_item
    else:
        item = current_agenda_item(room)
        if item is None:
            raise ServiceError("no_agenda", _("This round table has no agenda item."))
    if check is not None and check.agenda_item_id != item.pk:
        raise ServiceError(
            "invalid_agenda_item",
            _("The consensus check was held on another agenda item."),
            field="agenda_item",
        )

    recommendation.text_md, recommendation.text_html = text, render_markdown(text)
    recommendation.audience, recommendation.agenda_item, recommendation.consensus_check = (
        audience,
        item,
        check,
    )
    recommendation.updated_at = timezone.now()
    recommendation.save()
    data = recommendation_payload(recommendation)
    append_event(
        room,
        "recommendation.saved",
        participants=data,
        moderators={**data, **seat_marks(acting.seat)},
    )
    audit_append(
        room=room,
        action=str(Action.DRAFT_RECOMMENDATIONS),
        actor=acting.seat,
        target=recommendation.public_id,
        data={"step": "edit" if existing else "draft"},
    )
    return recommendation


@transaction.atomic
def recommendation_delete(*, actor_seat_id: int, recommendation_id: str) -> None:
    """Withdraw a recommendation."""
    acting = load_acting(actor_seat_id, Action.DRAFT_RECOMMENDATIONS)
    recommendation = _recommendation(acting, recommendation_id)
    if recommendation.follow_ups.exists():
        raise ServiceError(
            "recommendation_submitted",
            _("This recommendation has been submitted to a committee; it stays on the record."),
            field="id",
        )
    public_id = recommendation.public_id
    recommendation.delete()
    data = {"id": public_id}
    append_event(
        acting.room,
        "recommendation.deleted",
        participants=data,
        moderators={**data, **seat_marks(acting.seat)},
    )
    audit_append(
        room=acting.room,
        action=str(Action.DRAFT_RECOMMENDATIONS),
        actor=acting.seat,
        target=public_id,
        data={"step": "delete"},
    )
