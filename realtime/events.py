"""The declared event kinds of the room log and their payloads, per audience.

This module is the single list of what may appear in a room's log. The log refuses an
undeclared kind or a payload that does not match its schema, the protocol docs list the
same kinds, and the tests check every emitted event against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PARTICIPANTS = "participants"
MODERATORS = "moderators"
AUDIENCES = (PARTICIPANTS, MODERATORS)

# Who reads which rendering. Chairs and moderators run the room and see moderator-only
# events; everyone else (delegates, rapporteur, observers) reads the participants' one.
_ROLE_AUDIENCE = {
    "chair": MODERATORS,
    "moderator": MODERATORS,
    "rapporteur": PARTICIPANTS,
    "delegate": PARTICIPANTS,
    "observer": PARTICIPANTS,
    # The venue screen reads what participants read (and shows a part of it).
    "screen": PARTICIPANTS,
}


def audience_for_role(role: str) -> str:
    return _ROLE_AUDIENCE[role]


ATTRIBUTION = {"label": str, "sector": (str, type(None))}


@dataclass(frozen=True)
class EventKind:
    name: str
    description: str
    # Required keys of `data` and their types; a nested dict is a nested schema.
    schema: dict = field(default_factory=dict)
    # Audiences that receive the payload; the others receive a `redacted` stub.
    audiences: tuple[str, ...] = AUDIENCES


INTERVENTION = {
    "id": str,
    "kind": str,
    "attribution": ATTRIBUTION,
    "body_html": str,
    "agenda_item": str,
    "created_at": str,
}
CONTRIBUTION = {
    "id": str,
    "agenda_item": str,
    "attribution": ATTRIBUTION,
    "summary_html": str,
    "body_html": str,
    "attachment": (dict, type(None)),
    "published_at": str,
}
SEAT = {"seat": str, "attribution": ATTRIBUTION}  # seat: opaque per-room handle
MODERATORS_ONLY = (MODERATORS,)
# Every floor event carries the whole floor after the change, so a client just redraws it.
# queue: [{"request", "kind", "attribution", "requested_at"}] in the order the rule gives;
# speaker: null or {"request", "kind", "attribution", "started_at", "ends_at", "limit_seconds"}.
FLOOR = {"request": str, "queue": list, "speaker": (dict, type(None))}

KINDS: dict[str, EventKind] = {
    kind.name: kind
    for kind in (
        EventKind(
            "intervention.posted",
            "An intervention was published (directly, or released by a moderator). "
            "Moderators also get `author`, the seat's handle, and `redaction` when a "
            "moderator published a redacted version.",
            INTERVENTION,
        ),
        EventKind(
            "intervention.held",
            "An intervention is held for the moderators (leak guard or pre-moderation): `reason` "
            "says which, `body_md` is the text as written and `mentions` the names found in it "
            "(`start`, `end` in code points, `kind`, `text`); `alert`, when present, is the "
            "seat's name-hold alert (as `seat.alert` describes it).",
            {**INTERVENTION, "author": str, "reason": str, "body_md": str, "mentions": list},
            audiences=MODERATORS_ONLY,
        ),
        EventKind(
            "intervention.rejected",
            "A moderator rejected a held intervention; it is never published.",
            {"id": str, "reason": str},
            audiences=MODERATORS_ONLY,
        ),
        EventKind(
            "intervention.hidden",
            "A published intervention is hidden (by a moderator, or pending review after flags).",
            {"id": str, "reason": str},
        ),
        EventKind(
            "intervention.restored",
            "A hidden intervention is shown again; `data` is the whole intervention.",
            INTERVENTION,
        ),
        EventKind(
            "intervention.redacted",
            "A moderator redacted a published intervention; readers see `body_html` instead.",
            {"id": str, "body_html": str, "reason": str},
        ),
        EventKind(
            "intervention.flagged",
            "A delegate flagged an intervention for the moderators.",
            {"id": str, "reason": str, "flags": int},
            audiences=MODERATORS_ONLY,
        ),
        EventKind(
            "seat.consented",
            "A seat accepted the room's rule (moderators only: who has consented).",
            {"attribution": ATTRIBUTION, "at": str},
            audiences=MODERATORS_ONLY,
        ),
        EventKind(
            "seat.presence_changed",
            "A seat was marked attending in the room or online (the secretariat, the "
            "chair or a moderator).",
            {**SEAT, "presence": str},
            audiences=MODERATORS_ONLY,
        ),
        EventKind(
            "seat.muted",
            "A moderator muted a seat until `until`.",
            {**SEAT, "until": str},
            audiences=MODERATORS_ONLY,
        ),
        EventKind("seat.unmuted", "A seat may post again.", SEAT, audiences=MODERATORS_ONLY),
        EventKind(
            "seat.removed",
            "A seat was removed: its link is revoked and its sockets closed.",
            SEAT,
            audiences=MODERATORS_ONLY,
        ),
        EventKind(
            "seat.revealed",
            "A moderator looked behind a pseudonym (the identity goes to that moderator "
            "alone; the reason is in the audit log).",
            {**SEAT, "by": str},
            audiences=MODERATORS_ONLY,
        ),
        EventKind(
            "seat.alert",
            "A seat needs the moderators' attention: `alert` `name_holds` when `count` of its "
            "texts were held for naming someone within `minutes` (a guess tested "
            "against the roster?). "
            "Written by earlier versions only: the alert now rides on the hold's own "
            "event (`alert` "
            "in `intervention.held` and `text.held`), so the hold takes one seq like any other.",
            {**SEAT, "alert": str, "count": int, "minutes": int},
            audiences=MODERATORS_ONLY,
        ),
        EventKind(
            "text.held",
            "A review comment or a note names someone: it waits for the rapporteur and the chair "
            "(`kind`: comment, version_note, step_note or follow_up_note); `alert` as in "
            "`intervention.held`.",
            {"id": str, "kind": str},
            audiences=MODERATORS_ONLY,
        ),
        EventKind(
            "text.published",
            "The rapporteur or the chair published a held text (`edited`: in a redacted version).",
            {"id": str, "kind": str, "edited": bool},
            audiences=MODERATORS_ONLY,
        ),
        EventKind(
            "text.declined",
            "The rapporteur or the chair declined a held text: it is never shown.",
            {"id": str, "kind": str},
            audiences=MODERATORS_ONLY,
        ),
        EventKind(
            "room.status_changed",
            "The round table was opened or closed.",
            {"status": str},
        ),
        EventKind(
            "room.settings_changed",
            "Pre-moderation, slow mode or the lock changed.",
            {"premoderation": bool, "slow_mode_seconds": int, "locked": bool},
        ),
        EventKind("floor.hand_raised", "A delegate asked for the floor.", {**FLOOR, "kind": str}),
        EventKind("floor.hand_lowered", "A delegate withdrew a request.", FLOOR),
        EventKind(
            "floor.given",
            "A delegate has the floor until `speaker.ends_at` (server clock); `out_of_order` "
            "is true when the chair overrode the rule.",
            {**FLOOR, "out_of_order": bool},
        ),
        EventKind(
            "floor.turn_ended",
            "A turn ended: `reason` is time, yielded or chair; `seconds` it lasted.",
            {**FLOOR, "reason": str, "seconds": int},
        ),
        EventKind(
            "floor.request_moved",
            "The chair moved a request in the queue (an override).",
            {**FLOOR, "position": int},
        ),
        EventKind(
            "floor.request_removed",
            "The chair removed a request (an override).",
            {**FLOOR, "reason": str},
        ),
        EventKind(
            "floor.mode_changed",
            "The floor mode (open or queued) or the turn time changed; `request` is empty.",
            {**FLOOR, "floor_mode": str, "turn_seconds": int},
        ),
        EventKind(
            "consensus.opened",
            "The chair opened a consensus check on a proposition.",
            {"check": str, "proposition": str, "options": list, "rule": dict, "agenda_item": str},
        ),
        EventKind(
            "consensus.voted",
            "Someone cast or changed a ballot: how many delegates have voted, never who or how.",
            {"check": str, "voters": int},
        ),
        EventKind(
            "consensus.closed",
            "A check closed; `result` holds the weighted tally, each sector's "
            "distribution and the outcome.",
            {"check": str, "result": dict},
        ),
        EventKind(
            "recommendation.saved",
            "A recommendation was drafted or edited.",
            {
                "id": str,
                "text_html": str,
                "audience": str,
                "agenda_item": str,
                "consensus_check": (str, type(None)),
            },
        ),
        EventKind("recommendation.deleted", "A draft recommendation was withdrawn.", {"id": str}),
        EventKind(
            "minutes.saved",
            "The rapporteur or the chair saved a new version of the minutes (a draft "
            "until adopted).",
            {"version": int, "content_sha256": str},
        ),
        EventKind(
            "minutes.review_opened",
            "A version of the minutes is circulated for review: seat holders may read "
            "and comment on it.",
            {"version": int, "until": (str, type(None))},
        ),
        EventKind(
            "minutes.commented",
            "A review comment on the version under review, attributed by the room's policy.",
            {
                "version": int,
                "id": str,
                "attribution": ATTRIBUTION,
                "body_html": str,
                "agenda_item": (str, type(None)),
                "created_at": str,
            },
        ),
        EventKind(
            "minutes.comment_marked",
            "The rapporteur answered a review comment: addressed (true), not addressed "
            "(false) or unanswered (null).",
            {"version": int, "id": str, "addressed": (bool, type(None))},
        ),
        EventKind(
            "minutes.review_closed",
            "The review of a version of the minutes ended.",
            {"version": int},
        ),
        EventKind(
            "minutes.adoption_requested",
            "The rapporteur asks the chair to adopt the latest version of the minutes.",
            {"version": int, "content_sha256": str},
        ),
        EventKind(
            "minutes.adopted",
            "The chair adopted a version of the minutes: frozen, with the SHA-256 of its content.",
            {"version": int, "content_sha256": str, "adopted_at": str},
        ),
        EventKind(
            "contribution.submitted",
            "A delegate sent (or, `revision` > 1, sent again) a written contribution to an "
            "agenda item; it waits for the moderators. `mentions` counts the places where it "
            "names a participant (the room page lists them).",
            {
                "id": str,
                "agenda_item": str,
                "attribution": ATTRIBUTION,
                "author": str,
                "revision": int,
                "mentions": int,
            },
            audiences=MODERATORS_ONLY,
        ),
        EventKind(
            "contribution.published",
            "A moderator published a written contribution: `summary_html` (may be empty), "
            '`body_html`, `attachment` ({"kind", "bytes", "url"} or null).',
            CONTRIBUTION,
        ),
        EventKind(
            "contribution.returned",
            "A moderator asked the author of a written contribution for changes.",
            {"id": str, "author": str},
            audiences=MODERATORS_ONLY,
        ),
        EventKind(
            "contribution.declined",
            "A moderator declined a written contribution.",
            {"id": str, "author": str},
            audiences=MODERATORS_ONLY,
        ),
        EventKind(
            "agenda.current_changed",
            "The chair moved to another agenda item (the turn in progress ends first; open "
            "consensus checks stay with their item).",
            {"agenda_item": str, "title": str},
        ),
        EventKind(
            "agenda.changed",
            "An agenda item was added, renamed, moved or removed (`action`; `item` its id). "
            '`items` is the whole agenda afterwards, in order: [{"id", "position", "title"}]; '
            "`current` the current item's id.",
            {"action": str, "item": str, "items": list, "current": str},
        ),
    )
}


class PayloadError(ValueError):
    pass


def _check(schema: dict, data: object, path: str) -> None:
    if not isinstance(data, dict):
        raise PayloadError(f"{path or 'data'} must be an object")
    for key, expected in schema.items():
        where = f"{path}.{key}" if path else key
        if key not in data:
            raise PayloadError(f"missing {where}")
        if isinstance(expected, dict):
            _check(expected, data[key], where)
        elif not isinstance(data[key], expected):
            raise PayloadError(f"{where} has the wrong type")


def validate_payload(kind: str, audience: str, data: dict | None) -> None:
    """Raise PayloadError unless `data` is what `kind` declares for `audience`."""
    declared = KINDS.get(kind)
    if declared is None:
        raise PayloadError(f"undeclared event kind {kind!r}")
    if audience not in declared.audiences:
        if data is not None:
            raise PayloadError(f"{kind} may not carry a payload for {audience}")
        return
    if data is None:
        raise PayloadError(f"{kind} needs a payload for {audience}")
    _check(declared.schema, data, "")
