"""Texts held because they name someone: review comments and notes waiting for the
rapporteur and the chair, and the alert raised when one seat keeps naming people.

A delegate's intervention that names a participant is held for the moderators
(forum/services/interventions.py); a review comment, a version note or a submission's note
that does is held here, for the rapporteur and the chair, who publish it (redacted) or
decline it. Its author learns only that it waits: refusing it with a code that says why
would confirm that a name holds a seat.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from forum.errors import ServiceError
from forum.models import HeldText, NameStatement, RoundTable
from moderation.audit import audit_append
from moderation.guard import mentions_in, whole_identity
from moderation.permissions import Action, require
from moderation.sanitize import plain_input
from realtime.log import append_event

from .acting import load_acting, refuse_names, statement_record
from .minutes import COMMENT_LIMIT, NOTE_LIMIT, comment_publish
from .reasons import clean_reason
from .submissions import NOTE_MAX


def held_texts(room: RoundTable) -> list[HeldText]:
    """What waits for the rapporteur and the chair, oldest first."""
    return list(
        HeldText.objects.filter(room=room, status=HeldText.Status.HELD).select_related(
            "version", "agenda_item", "step__submission__committee", "update__follow_up"
        )
    )


def _limits() -> dict[str, int]:
    return {
        HeldText.Kind.COMMENT: COMMENT_LIMIT,
        HeldText.Kind.VERSION_NOTE: NOTE_LIMIT,
        HeldText.Kind.STEP_NOTE: NOTE_MAX,
        HeldText.Kind.FOLLOW_UP_NOTE: NOTE_MAX,
    }


def _held(room: RoundTable, public_id: object) -> HeldText:
    held = None
    if isinstance(public_id, str):
        held = (
            HeldText.objects.select_for_update(of=("self",))
            .select_related("version", "seat", "step", "update", "agenda_item")
            .filter(room=room, public_id=public_id)
            .first()
        )
    if held is None:
        raise ServiceError(
            "not_found", _("There is no such held text in this round table."), field="held"
        )
    if held.status != HeldText.Status.HELD:
        raise ServiceError(
            "invalid_state",
            _("This text is %(status)s; that action does not apply.")
            % {"status": held.get_status_display().lower()},
            field="held",
        )
    return held


@transaction.atomic
def held_text_publish(
    *,
    actor_seat_id: int,
    held_id: str,
    body: str | None = None,
    reason: str = "",
    not_a_participant: str | None = None,
) -> HeldText:
    """Publish a held text: `body` is the redacted version (None: the text as written). The
    text that goes out passes the same guard as every moderated text."""
    acting = load_acting(actor_seat_id, Action.MODERATE_NOTES)
    held = _held(acting.room, held_id)
    text = held.text_md if body is None else plain_input(body).strip()
    if not text:
        raise ServiceError(
            "invalid_body", _("The text to publish is empty; decline it instead."), field="body"
        )
    limit = _limits()[held.kind]
    if len(text) > limit:
        raise ServiceError(
            "too_large",
            _("The text is at most %(limit)s characters.") % {"limit": limit},
            field="body",
            limit=limit,
        )
    refuse_names(
        acting.room,
        text,
        what=_("text"),
        field="body",
        actor=acting.seat,
        target=held.public_id,
        not_a_participant=not_a_participant,
    )
    reason = clean_reason(reason, required=False)
    if held.kind == HeldText.Kind.COMMENT:
        held.comment = comment_publish(
            room=acting.room,
            version=held.version,
            seat=held.seat,
            agenda_item=held.agenda_item,
            body=text,
            attribution=held.attribution,
        )
    else:
        target = {
            HeldText.Kind.VERSION_NOTE: held.version,
            HeldText.Kind.STEP_NOTE: held.step,
            HeldText.Kind.FOLLOW_UP_NOTE: held.update,
        }[held.kind]
        target.note = text
        target.save(update_fields=["note"])
    _decided(acting, held, HeldText.Status.PUBLISHED)
    append_event(
        acting.room,
        "text.published",
        participants=None,
        moderators={"id": held.public_id, "kind": held.kind, "edited": text != held.text_md},
    )
    audit_append(
        room=acting.room,
        action=str(Action.MODERATE_NOTES),
        actor=acting.seat,
        target=held.public_id,
        reason=reason,
        data={"step": "publish", "kind": held.kind, "edited": text != held.text_md},
    )
    return held


@transaction.atomic
def held_text_decline(*, actor_seat_id: int, held_id: str, reason: str) -> HeldText:
    """Decline a held text: it is never shown (the original stays for the audit)."""
    acting = load_acting(actor_seat_id, Action.MODERATE_NOTES)
    reason = clean_reason(reason)
    held = _held(acting.room, held_id)
    _decided(acting, held, HeldText.Status.DECLINED)
    append_event(
        acting.room,
        "text.declined",
        participants=None,
        moderators={"id": held.public_id, "kind": held.kind},
    )
    audit_append(
        room=acting.room,
        action=str(Action.MODERATE_NOTES),
        actor=acting.seat,
        target=held.public_id,
        reason=reason,
        data={"step": "decline", "kind": held.kind},
    )
    return held


def _decided(acting, held: HeldText, status: str) -> None:
    held.status, held.decided_by, held.decided_at = status, acting.seat, timezone.now()
    held.save(update_fields=["status", "comment", "decided_by", "decided_at"])


# -- statements that a match is not a participant ---------------------------------------------


def _may_state(acting) -> None:
    # Whoever may publish a text with such a statement: moderators (interventions), the
    # rapporteur and the chair (the minutes).
    require(acting.seat, Action.READ_DRAFT_MINUTES)


@transaction.atomic
def name_statement_make(*, actor_seat_id: int, words: str, reason: str) -> NameStatement:
    """State, audited, that `words` (what an export refusal quoted as a match) are not a
    participant: the exports' leak check skips them from now on. Refused for words that are
    no match at all, or a seat holder's whole name, e-mail or organization."""
    acting = load_acting(actor_seat_id, None)
    _may_state(acting)
    reason = clean_reason(reason, field="reason")
    words = plain_input(words if isinstance(words, str) else "").strip()
    if not words or len(words) > 200 or not mentions_in(acting.room, words):
        raise ServiceError(
            "invalid_words",
            _(
                "Give the words an export refusal quoted as naming a participant (up "
                "to 200 characters)."
            ),
            field="words",
        )
    if whole_identity(acting.room, words):
        raise ServiceError(
            "names_participant",
            _(
                "These words are a participant's whole name, address or organization: "
                "remove them from the text."
            ),
            field="words",
        )
    statement = statement_record(
        acting.room, words, actor=acting.seat, reason=reason, field="words"
    )
    audit_append(
        room=acting.room,
        action="not_a_participant",
        actor=acting.seat,
        target=statement.public_id,
        reason=reason,
        data={"field": "words", "mentions": len(mentions_in(acting.room, words))},
    )
    return statement


@transaction.atomic
def name_statement_withdraw(*, actor_seat_id: int, statement_id: str, reason: str) -> NameStatement:
    """Withdraw a standing statement (audited): its words are a match again, and exports
    that hold them are refused until the text is corrected or a statement is made again."""
    acting = load_acting(actor_seat_id, None)
    _may_state(acting)
    reason = clean_reason(reason)
    statement = (
        NameStatement.objects.select_for_update()
        .filter(room=acting.room, public_id=statement_id)
        .first()
        if isinstance(statement_id, str)
        else None
    )
    if statement is None:
        raise ServiceError(
            "not_found", _("There is no such statement in this round table."), field="statement"
        )
    if statement.withdrawn_at is not None:
        raise ServiceError(
            "invalid_state", _("This statement has already been withdrawn."), field="statement"
        )
    statement.withdrawn_at, statement.withdrawn_by = timezone.now(), acting.seat
    statement.save(update_fields=["withdrawn_at", "withdrawn_by"])
    audit_append(
        room=acting.room,
        action="not_a_participant_withdrawn",
        actor=acting.seat,
        target=statement.public_id,
        reason=reason,
        data={"field": statement.field},
    )
    return statement
