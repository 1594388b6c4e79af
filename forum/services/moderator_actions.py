"""Moderation actions. Each one: check the actor's permission, change the rows, append the
event for each audience, write the audit entry, all in one transaction.

Actors and targets are seats of the room. Targets are named by their opaque per-room
`public_id` (what moderators see as `author` / `seat` in events), never by database ids.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from forum.errors import ServiceError
from forum.models import Flag, Intervention, RoomEvent, RoundTable, Seat
from moderation.attribution import attribute
from moderation.audit import audit_append
from moderation.permissions import Action
from moderation.sanitize import render_markdown
from realtime.log import append_event, notify_seat

from .acting import Acting, load_acting, refuse_names
from .floor import floor_release_seat, floor_stop
from .interventions import check_body, intervention_payloads
from .reasons import clean_reason
from .rooms import room_set_status
from .seats import seat_next_link

FLAGS_TO_HIDE = 3
MAX_MUTE_MINUTES = 24 * 60
REDACTED_PLACEHOLDER = "<p><em>Redacted by the moderator.</em></p>"
HIDDEN_PLACEHOLDER = "<p><em>Hidden by the moderator.</em></p>"

Status = Intervention.Status


def _reason(acting: Acting, reason: object) -> str:
    """A moderation reason, required; it is shown to others (every reader for a hide or a
    redaction, the author for a rejection), so it passes the leak guard too, and a reason
    that names someone is refused, marked, for the moderator to rephrase."""
    reason = clean_reason(reason)
    refuse_names(acting.room, reason, what=_("reason"), field="reason", rephrase_only=True)
    return reason


def _intervention(acting: Acting, public_id: str) -> Intervention:
    intervention = (
        Intervention.objects.select_for_update(of=("self",))
        .select_related("seat__sector", "agenda_item")
        .filter(room=acting.room, public_id=public_id)
        .first()
    )
    if intervention is None:
        raise ServiceError(
            "not_found", _("There is no such intervention in this round table."), field="id"
        )
    return intervention


def _target_seat(acting: Acting, public_id: str) -> Seat:
    seat = (
        Seat.objects.select_for_update(of=("self",))
        .select_related("user", "sector", "organization")
        .filter(room=acting.room, public_id=public_id)
        .first()
    )
    if seat is None:
        raise ServiceError(
            "not_found", _("There is no such seat in this round table."), field="seat"
        )
    seat.room = acting.room
    return seat


def _target_below_chair(acting: Acting, seat: str) -> Seat:
    """A seat a moderator may act against: not their own, not the chair's."""
    target = _target_seat(acting, seat)
    if target.pk == acting.seat.pk:
        raise ServiceError(
            "invalid_target", _("You cannot do that to your own seat."), field="seat"
        )
    if target.role == Seat.Role.CHAIR:
        raise ServiceError(
            "invalid_target", _("The chair's seat is not subject to moderation."), field="seat"
        )
    return target


def _expect(intervention: Intervention, *statuses: str) -> None:
    if intervention.status not in statuses:
        raise ServiceError(
            "invalid_state",
            _("This intervention is %(status)s; that action does not apply.")
            % {"status": intervention.get_status_display().lower()},
        )


def _audit(acting: Acting, action: Action, target: str, reason: str = "", **data) -> None:
    audit_append(
        room=acting.room,
        action=str(action),
        actor=acting.seat,
        target=target,
        reason=reason,
        data=data,
    )


def _seat_data(seat: Seat) -> dict:
    return {"seat": seat.public_id, "attribution": attribute(seat).as_payload()}


def _publish(intervention: Intervention) -> None:
    participants, moderators = intervention_payloads(intervention)
    append_event(
        intervention.room_id,
        "intervention.posted",
        participants=participants,
        moderators=moderators,
    )


# -- held interventions ---------------------------------------------------------------


def _guard(
    acting: Acting, intervention: Intervention, text: str, not_a_participant: str | None
) -> None:
    """What a moderator is about to publish passes the guard a delegate's post did: a text
    still naming a seat holder is refused, quoting the place to this moderator alone."""
    refuse_names(
        acting.room,
        text,
        what=_("intervention"),
        field="body",
        actor=acting.seat,
        target=intervention.public_id,
        not_a_participant=not_a_participant,
    )


@transaction.atomic
def intervention_approve(
    *, actor_seat_id: int, intervention_id: str, not_a_participant: str | None = None
) -> None:
    """Publish a held intervention as written: refused while it names a seat holder, unless
    the moderator states why the match is not a participant (audited)."""
    acting = load_acting(actor_seat_id, Action.APPROVE)
    intervention = _intervention(acting, intervention_id)
    _expect(intervention, Status.HELD)
    _guard(acting, intervention, intervention.body_md, not_a_participant)
    intervention.status, intervention.status_reason = Status.PUBLISHED, ""
    intervention.save(update_fields=["status", "status_reason"])
    _publish(intervention)
    _audit(acting, Action.APPROVE, intervention.public_id)


@transaction.atomic
def intervention_reject(*, actor_seat_id: int, intervention_id: str, reason: str) -> None:
    acting = load_acting(actor_seat_id, Action.REJECT)
    reason = _reason(acting, reason)
    intervention = _intervention(acting, intervention_id)
    _expect(intervention, Status.HELD)
    intervention.status, intervention.status_reason = Status.REJECTED, reason
    intervention.save(update_fields=["status", "status_reason"])
    data = {"id": intervention.public_id, "reason": reason}
    append_event(acting.room, "intervention.rejected", participants=None, moderators=data)
    notify_seat(
        acting.room.pk,
        intervention.seat_id,
        {"type": "notice", "code": "rejected", "id": intervention.public_id, "reason": reason},
        message=lambda: (
            _("A moderator declined your intervention: %(reason)s") % {"reason": reason}
        ),
    )
    _audit(acting, Action.REJECT, intervention.public_id, reason)


# -- published interventions ----------------------------------------------------------


@transaction.atomic
def intervention_hide(*, actor_seat_id: int, intervention_id: str, reason: str) -> None:
    acting = load_acting(actor_seat_id, Action.HIDE)
    reason = _reason(acting, reason)
    intervention = _intervention(acting, intervention_id)
    _expect(intervention, Status.PUBLISHED)
    _hide(intervention, reason)
    _audit(acting, Action.HIDE, intervention.public_id, reason)


def _scrub(intervention: Intervention, body_html: str) -> None:
    """Replays stop carrying a taken-down text to readers: the participants' rendering of
    the events that published it now shows `body_html` instead (moderators' untouched)."""
    for event in RoomEvent.objects.filter(
        room_id=intervention.room_id,
        kind__in=("intervention.posted", "intervention.restored"),
        participants__id=intervention.public_id,
    ):
        event.participants = {**event.participants, "body_html": body_html}
        event.save(update_fields=["participants"])


def _hide(intervention: Intervention, reason: str) -> None:
    intervention.status, intervention.status_reason = Status.HIDDEN, reason
    intervention.save(update_fields=["status", "status_reason"])
    _scrub(intervention, HIDDEN_PLACEHOLDER)
    data = {"id": intervention.public_id, "reason": reason}
    append_event(intervention.room_id, "intervention.hidden", participants=data, moderators=data)


@transaction.atomic
def intervention_restore(*, actor_seat_id: int, intervention_id: str) -> None:
    acting = load_acting(actor_seat_id, Action.RESTORE)
    intervention = _intervention(acting, intervention_id)
    _expect(intervention, Status.HIDDEN)
    intervention.status, intervention.status_reason = Status.PUBLISHED, ""
    intervention.save(update_fields=["status", "status_reason"])
    participants, moderators = intervention_payloads(intervention)
    append_event(
        acting.room, "intervention.restored", participants=participants, moderators=moderators
    )
    _audit(acting, Action.RESTORE, intervention.public_id)


@transaction.atomic
def intervention_redact(
    *,
    actor_seat_id: int,
    intervention_id: str,
    reason: str,
    body: str | None = None,
    not_a_participant: str | None = None,
) -> None:
    """Replace what readers see by a redacted version (the moderator's edit, or a notice).

    The original stays in the database for the audit only. A held intervention is published
    in its redacted version; a published one is replaced in place. The edit passes the guard
    (see intervention_approve): a "redaction" that still names someone is refused.
    """
    acting = load_acting(actor_seat_id, Action.REDACT)
    reason = _reason(acting, reason)
    intervention = _intervention(acting, intervention_id)
    _expect(intervention, Status.HELD, Status.PUBLISHED, Status.HIDDEN)
    if body is not None:
        body = check_body(body)
        _guard(acting, intervention, body, not_a_participant)
    html = render_markdown(body) if body is not None else REDACTED_PLACEHOLDER
    was = intervention.status
    intervention.redacted_html, intervention.redaction_reason = html, reason
    if was == Status.HELD:
        intervention.status, intervention.status_reason = Status.PUBLISHED, ""
    intervention.save(
        update_fields=["redacted_html", "redaction_reason", "status", "status_reason"]
    )
    if was == Status.HELD:
        _publish(intervention)
    else:
        _scrub(intervention, html)
    if was == Status.PUBLISHED:
        data = {"id": intervention.public_id, "body_html": html, "reason": reason}
        append_event(acting.room, "intervention.redacted", participants=data, moderators=data)
    _audit(acting, Action.REDACT, intervention.public_id, reason, edited=body is not None)


@transaction.atomic
def intervention_flag(*, seat_id: int, intervention_id: str, reason: str) -> int:
    """A delegate reports an intervention; at FLAGS_TO_HIDE different flaggers it is hidden
    pending review. Returns the number of flags."""
    acting = load_acting(seat_id, Action.FLAG)
    reason = clean_reason(reason)
    intervention = _intervention(acting, intervention_id)
    _expect(intervention, Status.PUBLISHED)
    if Flag.objects.filter(intervention=intervention, seat=acting.seat).exists():
        raise ServiceError("already_flagged", _("You have already flagged this intervention."))
    Flag.objects.create(intervention=intervention, seat=acting.seat, reason=reason)
    flags = Flag.objects.filter(intervention=intervention).count()
    data = {"id": intervention.public_id, "reason": reason, "flags": flags}
    append_event(acting.room, "intervention.flagged", participants=None, moderators=data)
    if flags >= FLAGS_TO_HIDE:
        _hide(intervention, f"Hidden pending review: flagged by {flags} participants.")
        audit_append(
            room=acting.room,
            action="hide_after_flags",
            actor=None,
            target=intervention.public_id,
            reason=f"{flags} flags",
            data={},
        )
    return flags


# -- seats ----------------------------------------------------------------------------


@transaction.atomic
def seat_mute(*, actor_seat_id: int, seat: str, minutes: int, reason: str = "") -> Seat:
    acting = load_acting(actor_seat_id, Action.MUTE)
    if (
        isinstance(minutes, bool)
        or not isinstance(minutes, int)
        or not 1 <= minutes <= MAX_MUTE_MINUTES
    ):
        raise ServiceError(
            "invalid_frame",
            _("minutes must be a whole number from 1 to %(max)s.") % {"max": MAX_MUTE_MINUTES},
            field="minutes",
        )
    reason = clean_reason(reason, required=False)
    target = _target_below_chair(acting, seat)
    target.muted_until = timezone.now() + timedelta(minutes=minutes)
    target.save(update_fields=["muted_until"])
    until = target.muted_until.isoformat()
    append_event(
        acting.room,
        "seat.muted",
        participants=None,
        moderators={**_seat_data(target), "until": until},
    )
    notify_seat(
        acting.room.pk,
        target.pk,
        {"type": "notice", "code": "muted", "until": until, "minutes": minutes},
        message=lambda: (
            ngettext(
                "A moderator has muted you for %(minutes)s minute.",
                "A moderator has muted you for %(minutes)s minutes.",
                minutes,
            )
            % {"minutes": minutes}
        ),
    )
    _audit(acting, Action.MUTE, target.public_id, reason, minutes=minutes)
    return target


@transaction.atomic
def seat_unmute(*, actor_seat_id: int, seat: str) -> Seat:
    acting = load_acting(actor_seat_id, Action.MUTE)
    target = _target_seat(acting, seat)
    target.muted_until = None
    target.save(update_fields=["muted_until"])
    append_event(acting.room, "seat.unmuted", participants=None, moderators=_seat_data(target))
    notify_seat(
        acting.room.pk,
        target.pk,
        {"type": "notice", "code": "unmuted"},
        message=lambda: _("You may speak again."),
    )
    _audit(acting, Action.MUTE, target.public_id, "unmute")
    return target


@transaction.atomic
def seat_remove(*, actor_seat_id: int, seat: str, reason: str) -> Seat:
    """Withdraw a seat: its link is revoked and its open sockets are closed everywhere."""
    acting = load_acting(actor_seat_id, Action.REMOVE_SEAT)
    reason = clean_reason(reason)
    target = _target_below_chair(acting, seat)
    if target.removed_at is not None:
        raise ServiceError("invalid_state", _("This seat has already been removed."))
    now = timezone.now()
    # A new link generation: every session the seat's link opened is refused from now on.
    seat_next_link(target, removed_at=now, token_revoked_at=target.token_revoked_at or now)
    floor_release_seat(acting.room, target, now)
    append_event(acting.room, "seat.removed", participants=None, moderators=_seat_data(target))
    notify_seat(
        acting.room.pk,
        target.pk,
        {"type": "error", "code": "forbidden"},
        message=lambda: _("Your seat in this round table has been withdrawn."),
        close_code=4403,
    )
    _audit(acting, Action.REMOVE_SEAT, target.public_id, reason)
    return target


@transaction.atomic
def seat_reveal(*, actor_seat_id: int, seat: str, reason: str) -> dict:
    """Who is behind a pseudonym, for the asking moderator alone; always audited."""
    acting = load_acting(actor_seat_id, Action.REVEAL)
    reason = clean_reason(reason)
    target = _target_seat(acting, seat)
    append_event(
        acting.room,
        "seat.revealed",
        participants=None,
        moderators={**_seat_data(target), "by": attribute(acting.seat).label},
    )
    _audit(acting, Action.REVEAL, target.public_id, reason)
    erased = target.identity_erased_at is not None
    return {
        "seat": target.public_id,
        # Erased (retention, or at the person's request): there is no one left to show.
        "name": None if erased else str(target.user),
        "email": None if erased else target.user.email,
        "organization": target.organization.name if target.organization_id else None,
        "sector": target.sector.slug if target.sector_id else None,
        "role": target.role,
        "erased": target.identity_erased_at.isoformat() if erased else None,
    }


# -- the room -------------------------------------------------------------------------


def _settings_changed(acting: Acting, action: Action, **fields) -> None:
    room = acting.room
    for name, value in fields.items():
        setattr(room, name, value)
    room.save(update_fields=list(fields))
    data = {
        "premoderation": room.premoderation,
        "slow_mode_seconds": room.slow_mode_seconds,
        "locked": room.locked,
    }
    append_event(room, "room.settings_changed", participants=data, moderators=data)
    _audit(acting, action, room.slug, **fields)


@transaction.atomic
def room_set_premoderation(*, actor_seat_id: int, on: bool) -> RoundTable:
    acting = load_acting(actor_seat_id, Action.PREMODERATION)
    _settings_changed(acting, Action.PREMODERATION, premoderation=bool(on))
    return acting.room


@transaction.atomic
def room_set_slow_mode(*, actor_seat_id: int, seconds: int) -> RoundTable:
    acting = load_acting(actor_seat_id, Action.SLOW_MODE)
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 <= seconds <= 3600:
        raise ServiceError(
            "invalid_frame",
            _("seconds must be a whole number from 0 (off) to 3600."),
            field="seconds",
        )
    _settings_changed(acting, Action.SLOW_MODE, slow_mode_seconds=seconds)
    return acting.room


@transaction.atomic
def room_set_locked(*, actor_seat_id: int, locked: bool) -> RoundTable:
    acting = load_acting(actor_seat_id, Action.LOCK)
    _settings_changed(acting, Action.LOCK, locked=bool(locked))
    return acting.room


@transaction.atomic
def room_close(*, actor_seat_id: int, reopen: bool = False) -> RoundTable:
    acting = load_acting(actor_seat_id, Action.CLOSE)
    status = RoundTable.Status.LIVE if reopen else RoundTable.Status.CLOSED
    if acting.room.status == status:
        raise ServiceError(
            "invalid_state",
            _("The round table is already %(status)s.")
            % {"status": acting.room.get_status_display().lower()},
        )
    if not reopen:
        floor_stop(acting.room)
    room_set_status(room=acting.room, status=status)
    _audit(acting, Action.CLOSE, acting.room.slug, "reopen" if reopen else "close")
    return acting.room
