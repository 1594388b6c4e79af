"""Who may do what in a round table: the one table, and the one check; and the one check
for what the secretariat (staff accounts, no seat) does.

docs/permissions.md is this table in words; tests walk every role x every action against
it. Services call `require(seat, action)` with the seat fresh from the database, so a
role change or a removal takes effect at once.
"""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from forum.errors import Forbidden, ServiceError
from forum.models import Seat

CHAIR = Seat.Role.CHAIR
MODERATOR = Seat.Role.MODERATOR
RAPPORTEUR = Seat.Role.RAPPORTEUR
DELEGATE = Seat.Role.DELEGATE
OBSERVER = Seat.Role.OBSERVER
SCREEN = Seat.Role.SCREEN
# The people of a round table; the venue's screen is a link that only reads.
EVERYONE = frozenset(Seat.Role.values) - {SCREEN}
RUNS_THE_ROOM = frozenset({CHAIR, MODERATOR})


class Action(StrEnum):
    JOIN = "join"  # enter the live room and read it
    READ_SCREEN = "read_screen"  # the venue screen's page: floor, countdown, checks, no stream
    CONSENT = "consent"  # accept the room's rule
    POST = "post"  # post an intervention
    POST_WHEN_LOCKED = "post_when_locked"
    SKIP_LIMITS = "skip_limits"  # exempt from slow mode and the post rate bucket
    FLAG = "flag"  # report an intervention to the moderators
    READ_MODERATION = "read_moderation"  # held interventions, flags, who consented
    APPROVE = "approve"  # release a held intervention
    REJECT = "reject"
    HIDE = "hide"
    RESTORE = "restore"
    REDACT = "redact"
    MUTE = "mute"  # and unmute
    REMOVE_SEAT = "remove_seat"
    REVEAL = "reveal"  # see who is behind a pseudonym, with a reason (audited)
    MARK_PRESENCE = "mark_presence"  # mark a seat "in the room" or "online" (attendance)
    PREMODERATION = "premoderation"
    SLOW_MODE = "slow_mode"
    LOCK = "lock"  # and unlock
    CLOSE = "close"  # close (or reopen) the round table
    READ_AUDIT = "read_audit"
    RAISE_HAND = "raise_hand"  # and lower it
    RUN_FLOOR = "run_floor"  # give the floor by the rule, end a turn, set the floor mode
    FLOOR_OVERRIDE = "floor_override"  # give out of order, move or remove a request
    RUN_CHECKS = "run_checks"  # open and close consensus checks
    RUN_AGENDA = "run_agenda"  # make an item current, add, rename and move items live
    PROXY_FLOOR = "proxy_floor"  # raise a hand for a delegate in the room, record that one spoke
    VOTE = "vote"
    DRAFT_RECOMMENDATIONS = "draft_recommendations"
    READ_DRAFT_MINUTES = "read_draft_minutes"  # every version, and the live draft
    EDIT_MINUTES = "edit_minutes"  # save a version (summaries, recommendations)
    REVIEW_MINUTES = "review_minutes"  # open and close a review period
    COMMENT_MINUTES = "comment_minutes"  # comment on a version under review
    MODERATE_NOTES = (
        "moderate_notes"  # publish (redacted) or decline a comment or note held for a name
    )
    ADOPT_MINUTES = "adopt_minutes"
    CONTRIBUTE = "contribute"  # send a written contribution to an agenda item, edit it if asked
    MODERATE_CONTRIBUTIONS = (
        "moderate_contributions"  # publish a written contribution, ask for changes, decline it
    )


PERMISSIONS: dict[Action, frozenset[str]] = {
    Action.JOIN: EVERYONE | {SCREEN},
    Action.READ_SCREEN: frozenset({SCREEN}),
    Action.CONSENT: EVERYONE,
    Action.POST: frozenset({CHAIR, MODERATOR, RAPPORTEUR, DELEGATE}),
    Action.POST_WHEN_LOCKED: RUNS_THE_ROOM,
    Action.SKIP_LIMITS: RUNS_THE_ROOM,
    Action.FLAG: frozenset({RAPPORTEUR, DELEGATE}),
    Action.READ_MODERATION: RUNS_THE_ROOM,
    Action.APPROVE: RUNS_THE_ROOM,
    Action.REJECT: RUNS_THE_ROOM,
    Action.HIDE: RUNS_THE_ROOM,
    Action.RESTORE: RUNS_THE_ROOM,
    Action.REDACT: RUNS_THE_ROOM,
    Action.MUTE: RUNS_THE_ROOM,
    Action.REMOVE_SEAT: RUNS_THE_ROOM,
    Action.REVEAL: RUNS_THE_ROOM,
    Action.MARK_PRESENCE: RUNS_THE_ROOM,
    Action.PREMODERATION: RUNS_THE_ROOM,
    Action.SLOW_MODE: RUNS_THE_ROOM,
    Action.LOCK: RUNS_THE_ROOM,
    Action.CLOSE: frozenset({CHAIR}),
    Action.READ_AUDIT: frozenset({CHAIR}),
    Action.RAISE_HAND: frozenset({DELEGATE}),
    Action.RUN_FLOOR: RUNS_THE_ROOM,
    Action.FLOOR_OVERRIDE: RUNS_THE_ROOM,
    Action.RUN_CHECKS: RUNS_THE_ROOM,
    Action.RUN_AGENDA: RUNS_THE_ROOM,
    Action.PROXY_FLOOR: RUNS_THE_ROOM,
    Action.VOTE: frozenset({DELEGATE}),
    Action.DRAFT_RECOMMENDATIONS: frozenset({CHAIR, RAPPORTEUR}),
    Action.READ_DRAFT_MINUTES: frozenset({CHAIR, MODERATOR, RAPPORTEUR}),
    Action.EDIT_MINUTES: frozenset({CHAIR, RAPPORTEUR}),
    Action.REVIEW_MINUTES: frozenset({CHAIR, RAPPORTEUR}),
    Action.COMMENT_MINUTES: frozenset({CHAIR, MODERATOR, RAPPORTEUR, DELEGATE}),
    Action.MODERATE_NOTES: frozenset({CHAIR, RAPPORTEUR}),
    Action.ADOPT_MINUTES: frozenset({CHAIR}),
    Action.CONTRIBUTE: frozenset({DELEGATE}),
    Action.MODERATE_CONTRIBUTIONS: RUNS_THE_ROOM,
}

_REFUSALS = {
    Action.POST: gettext_noop("Observers follow the round table without speaking."),
    Action.READ_SCREEN: gettext_noop(
        "The venue screen opens with the screen link the secretariat issues."
    ),
    Action.RUN_AGENDA: gettext_noop("Only the chair and the moderators run the agenda."),
    Action.PROXY_FLOOR: gettext_noop(
        "Only the chair and the moderators raise a hand for a delegate in the room, or "
        "record that one spoke."
    ),
    Action.FLAG: gettext_noop(
        "Only delegates and the rapporteur flag interventions; moderators act on them."
    ),
    Action.CLOSE: gettext_noop("Only the chair opens and closes the round table."),
    Action.READ_AUDIT: gettext_noop("Only the chair and the secretariat read the audit log."),
    Action.RAISE_HAND: gettext_noop("Only delegates ask for the floor."),
    Action.RUN_FLOOR: gettext_noop(
        "Only the chair and the moderators run the floor (the speaker may yield)."
    ),
    Action.VOTE: gettext_noop("Only delegates vote in consensus checks."),
    Action.DRAFT_RECOMMENDATIONS: gettext_noop(
        "Only the rapporteur and the chair draft recommendations."
    ),
    Action.READ_DRAFT_MINUTES: gettext_noop(
        "The minutes are shared once adopted (or while circulated for review)."
    ),
    Action.EDIT_MINUTES: gettext_noop("Only the rapporteur and the chair edit the minutes."),
    Action.REVIEW_MINUTES: gettext_noop(
        "Only the rapporteur and the chair circulate the minutes for review."
    ),
    Action.COMMENT_MINUTES: gettext_noop("Observers read the minutes without commenting."),
    Action.ADOPT_MINUTES: gettext_noop("Only the chair adopts the minutes."),
    Action.MODERATE_NOTES: gettext_noop(
        "Only the rapporteur and the chair publish or decline held comments and notes."
    ),
    Action.CONTRIBUTE: gettext_noop("Only delegates send written contributions."),
    Action.MODERATE_CONTRIBUTIONS: gettext_noop(
        "Only the chair and the moderators publish, return or decline written contributions."
    ),
}


def allowed(role: str, action: Action) -> bool:
    return role in PERMISSIONS[action]


def require(seat: Seat, action: Action) -> None:
    """Refuse with `forbidden` unless the seat's role may do `action` (and the seat is live)."""
    if seat.removed_at is not None or seat.token_revoked_at is not None:
        raise ServiceError("forbidden", _("Your seat in this round table has been withdrawn."))
    if not allowed(seat.role, action):
        refusal = _REFUSALS.get(action)
        message = _(refusal) if refusal else _("Only the chair and the moderators may do that.")
        raise ServiceError("forbidden", message, action=str(action))


class StaffAction(StrEnum):
    """What only the secretariat does: staff accounts, outside any seat."""

    PAGES = "pages"  # open the secretariat's pages
    ROOMS = "rooms"  # create round tables, set their seats per sector
    SEATS = "seats"  # seat people, send and revoke their links
    SUBMISSIONS = "submissions"  # committees, submissions, follow-ups
    IDENTITIES = "identities"  # retention periods, erasure at a person's request


_STAFF_REFUSALS = {
    StaffAction.PAGES: gettext_noop("Only the secretariat (staff accounts) uses these pages."),
    StaffAction.ROOMS: gettext_noop(
        "Only the secretariat creates round tables and sets their seats."
    ),
    StaffAction.SEATS: gettext_noop("Only the secretariat seats people and sends their links."),
    StaffAction.SUBMISSIONS: gettext_noop(
        "Only the secretariat manages committees and submissions."
    ),
    StaffAction.IDENTITIES: gettext_noop(
        "Only the secretariat sets retention and erases identities."
    ),
}


def require_secretariat(user, action: StaffAction):
    """Refuse (Forbidden, naming `action`) unless `user` is a signed-in staff account; the
    one check for the secretariat, called by every service it uses. Returns the user."""
    if user is None or not user.is_authenticated or not user.is_staff:
        raise Forbidden(_(_STAFF_REFUSALS[action]))
    return user
