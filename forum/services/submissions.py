"""Submissions: adopted minutes and chosen recommendations, addressed to a committee.

The secretariat (staff users) files them; `submission_advance` walks the status history in
order (draft, submitted, received, under consideration, then endorsed, noted or declined)
and refuses any other step. Submitting builds the package once (forum/minutes/package.py) and, when
the committee has a webhook, queues its announcement in the outbox in the same transaction
(forum/services/delivery.py sends it).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from forum.errors import NotFound, ServiceError
from forum.minutes.blocks import plain_text
from forum.minutes.document import RULE_EXPLANATIONS
from forum.minutes.package import build_package
from forum.models import (
    Committee,
    FollowUp,
    FollowUpUpdate,
    HeldText,
    MinutesVersion,
    OutboxMessage,
    Recommendation,
    RoundTable,
    Submission,
    SubmissionStep,
    User,
)
from forum.services.acting import refuse_names
from forum.services.delivery import enqueue_submission_webhook
from forum.services.hold_guard import hold_if_named
from forum.services.notices import notify_outcome
from moderation.permissions import StaffAction, require_secretariat
from moderation.sanitize import plain_input

Status = Submission.Status

# Each status and the ones that may follow it; nothing else is a valid step.
NEXT: dict[str, frozenset[str]] = {
    Status.DRAFT: frozenset({Status.SUBMITTED}),
    Status.SUBMITTED: frozenset({Status.RECEIVED}),
    Status.RECEIVED: frozenset({Status.UNDER_CONSIDERATION}),
    Status.UNDER_CONSIDERATION: frozenset({Status.ENDORSED, Status.NOTED, Status.DECLINED}),
    Status.ENDORSED: frozenset(),
    Status.NOTED: frozenset(),
    Status.DECLINED: frozenset(),
}

NOTE_MAX = 5000


def latest_adopted(room: RoundTable) -> MinutesVersion | None:
    return room.minutes_versions.filter(adopted_at__isnull=False).order_by("-number").first()


def _clean_note(note: str) -> str:
    note = plain_input(note or "").strip()
    if len(note) > NOTE_MAX:
        raise ServiceError(
            "too_large", _("A note is at most %(limit)s characters.") % {"limit": NOTE_MAX}
        )
    return note


def _date(value: dt.date | str | None) -> dt.date:
    if value in (None, ""):
        return timezone.localdate()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ServiceError(
            "invalid_date", _("%(value)s is not a date (YYYY-MM-DD).") % {"value": repr(value)}
        )


LETTER_LANGUAGES = frozenset({"en", "es", "fr", "pt"})


def letter_language(committee: Committee, room: RoundTable) -> str:
    """The language a cover letter is written in: the committee's first working language
    that has a letter template, else the room's (the minutes') language, else English."""
    for code in committee.languages:
        code = code.lower().split("-")[0]
        if code in LETTER_LANGUAGES:
            return code
    return room.language if room.language in LETTER_LANGUAGES else "en"


def cover_letter(
    room: RoundTable, committee: Committee, version: MinutesVersion, recommendations: list[dict]
) -> str:
    """The cover letter from its template in the committee's working language
    (templates/secretariat/submissions/cover_letter.<language>.txt).

    Recommendations keep the number the minutes give them (documents adopted before
    recommendations were numbered: their place in the minutes), and their Markdown is
    rendered to plain text: a letter never shows `**`."""
    header = version.document["header"]
    language = letter_language(committee, room)
    order = {rid: n for n, rid in enumerate(adopted_recommendations(version), start=1)}
    # "online" is a word of the minutes' language, not a name: the letter says it in its own.
    with translation.override(header.get("language") or "en"):
        online = header["place"] == _("online")
    with translation.override(language):
        if online:
            header = {**header, "place": _("online")}
        rule = (
            {
                "name": str(RoundTable.Rule(header["rule"]["key"]).label),
                "explanation": str(RULE_EXPLANATIONS[header["rule"]["key"]]),
            }
            if header["rule"]["key"] in RoundTable.Rule.values
            else header["rule"]
        )
        listed = [
            {
                "number": rec.get("number") or str(order.get(rec["id"], "")),
                "text": plain_text(rec.get("text_html") or "", indent="   ").strip()
                or rec["text_md"],
                "audience_label": str(Recommendation.Audience(rec["audience"]).label)
                if rec["audience"] in Recommendation.Audience.values
                else rec["audience_label"],
            }
            for rec in recommendations
        ]
        return (
            render_to_string(
                f"secretariat/submissions/cover_letter.{language}.txt",
                {
                    "committee": committee,
                    "header": header,
                    "rule": rule,
                    "version": version,
                    "recommendations": listed,
                    "today": timezone.localdate(),
                },
            ).strip()
            + "\n"
        )


def adopted_recommendations(version: MinutesVersion) -> dict[str, dict]:
    """The recommendations as the adopted minutes state them, by public id, in order."""
    return {rec["id"]: rec for item in version.document["items"] for rec in item["recommendations"]}


@transaction.atomic
def submission_create(
    *,
    user: User,
    room_slug: str,
    committee_id: str,
    recommendation_ids: list[str],
    letter: str | None = None,
) -> Submission:
    """A draft submission of the room's latest adopted minutes to a committee."""
    require_secretariat(user, StaffAction.SUBMISSIONS)
    room = RoundTable.objects.filter(slug=room_slug).first()
    if room is None:
        raise NotFound(_("There is no round table at this address."))
    committee = Committee.objects.filter(public_id=committee_id).first()
    if committee is None:
        raise NotFound(_("There is no such committee in the registry."))
    version = latest_adopted(room)
    if version is None:
        raise ServiceError(
            "not_adopted",
            _("Only adopted minutes are submitted; the chair has not adopted them yet."),
        )
    adopted = adopted_recommendations(version)
    chosen = list(dict.fromkeys(recommendation_ids or []))
    unknown = [rid for rid in chosen if rid not in adopted]
    if unknown:
        raise ServiceError(
            "unknown_recommendation",
            _("Not a recommendation of the adopted minutes (version %(number)s): %(ids)s.")
            % {"number": version.number, "ids": ", ".join(unknown)},
        )
    rows = {r.public_id: r for r in Recommendation.objects.filter(room=room, public_id__in=chosen)}
    missing = [rid for rid in chosen if rid not in rows]
    if missing:
        raise ServiceError(
            "unknown_recommendation",
            _("Withdrawn since the minutes were adopted: %(ids)s.") % {"ids": ", ".join(missing)},
        )
    letter = plain_input(letter or "").strip() or cover_letter(
        room, committee, version, [adopted[rid] for rid in chosen]
    )
    submission = Submission.objects.create(
        room=room,
        version=version,
        committee=committee,
        cover_letter=letter,
        created_by=user,
    )
    for rid in chosen:
        FollowUp.objects.create(
            submission=submission, recommendation=rows[rid], text_md=adopted[rid]["text_md"]
        )
    SubmissionStep.objects.create(
        submission=submission,
        status=Status.DRAFT,
        date=timezone.localdate(),
        note="",
        recorded_by=user,
    )
    return submission


@transaction.atomic
def submission_advance(
    *,
    user: User,
    submission_id: str,
    status: str,
    date: dt.date | str | None = None,
    note: str = "",
) -> Submission:
    """Move a submission one step along its history; out-of-order steps are refused."""
    require_secretariat(user, StaffAction.SUBMISSIONS)
    submission = Submission.objects.select_for_update().filter(public_id=submission_id).first()
    if submission is None:
        raise NotFound(_("There is no submission at this address."))
    if status not in Status.values:
        raise ServiceError(
            "invalid_status",
            _("Unknown status %(status)s; one of: %(values)s.")
            % {"status": repr(status), "values": ", ".join(Status.values)},
        )
    allowed = NEXT[submission.status]
    if status not in allowed:
        after = _(" or ").join(Status(s).label.lower() for s in sorted(allowed)) or _(
            "nothing (it is final)"
        )
        raise ServiceError(
            "invalid_transition",
            _("A submission that is %(status)s can become %(after)s, not %(other)s.")
            % {
                "status": Status(submission.status).label.lower(),
                "after": after,
                "other": Status(status).label.lower(),
            },
        )
    day = _date(date)
    if day > timezone.localdate():
        raise ServiceError(
            "invalid_date", _("A step is recorded once it has happened: the date is in the future.")
        )
    last = submission.steps.order_by("-recorded_at", "-pk").first()
    if last and day < last.date:
        raise ServiceError(
            "invalid_date",
            _("This step cannot be dated before the previous one (%(date)s).")
            % {"date": last.date.isoformat()},
        )
    note = _clean_note(note)
    if status == Status.SUBMITTED:
        submission.package, submission.package_sha256, submission.manifest = build_package(
            submission
        )
        submission.status = status
        submission.save(update_fields=["package", "package_sha256", "manifest", "status"])
        enqueue_submission_webhook(submission)
    else:
        submission.status = status
        submission.save(update_fields=["status"])
    step = SubmissionStep.objects.create(
        submission=submission, status=status, date=day, note="", recorded_by=user
    )
    submission.note_held = _note(
        submission.room, step, note, kind=HeldText.Kind.STEP_NOTE, user=user, step=step
    )
    notify_outcome(submission=submission, kind=OutboxMessage.Kind.SUBMISSION_STEP)
    return submission


def _note(room, row, note: str, *, kind: str, user: User, **where) -> bool:
    """Delegates read a submission's notes (outcomes): one that names someone waits for the
    rapporteur and the chair of the round table, and the row shows no note meanwhile.
    True if it waits."""
    if not note:
        return False
    if hold_if_named(room, note, kind=kind, recorded_by=user, **where):
        return True
    row.note = note
    row.save(update_fields=["note"])
    return False


FOLLOW_UP_FIELDS = ("status", "reference", "owner", "due_date")


@transaction.atomic
def follow_up_update(*, user: User, follow_up_id: str, note: str, date=None, **changes) -> FollowUp:
    """Record what happened to a recommendation: a dated note, and any field it changes."""
    require_secretariat(user, StaffAction.SUBMISSIONS)
    follow_up = FollowUp.objects.select_for_update().filter(public_id=follow_up_id).first()
    if follow_up is None:
        raise NotFound(_("There is no such follow-up."))
    unknown = sorted(set(changes) - set(FOLLOW_UP_FIELDS))
    if unknown:
        raise ServiceError(
            "invalid_field",
            _("Unknown follow-up field(s): %(fields)s.") % {"fields": ", ".join(unknown)},
        )
    note = _clean_note(note)
    if not note:
        raise ServiceError("note_required", _("Say what happened in a note."))
    # Delegates read the follow-up on the outcomes page: no participant is named there (a
    # note that does waits, see _note).
    room = follow_up.submission.room
    for field in ("reference", "owner"):
        if isinstance(changes.get(field), str):
            refuse_names(room, changes[field], what=field, field=field)
    diff = {}
    for field, value in changes.items():
        if value is None:
            continue
        if field == "status" and value not in FollowUp.Status.values:
            raise ServiceError(
                "invalid_status",
                _("Unknown follow-up status %(status)s; one of: %(values)s.")
                % {"status": repr(value), "values": ", ".join(FollowUp.Status.values)},
            )
        if field == "due_date":
            value = _date(value) if value != "" else None
        elif field in ("reference", "owner"):
            value = plain_input(str(value)).strip()[:300]
        before = getattr(follow_up, field)
        if before != value:
            diff[field] = [_plain(before), _plain(value)]
            setattr(follow_up, field, value)
    follow_up.save()
    update = FollowUpUpdate.objects.create(
        follow_up=follow_up,
        date=_date(date),
        note="",
        changes=diff,
        recorded_by=user,
    )
    follow_up.note_held = _note(
        room, update, note, kind=HeldText.Kind.FOLLOW_UP_NOTE, user=user, update=update
    )
    notify_outcome(submission=follow_up.submission, kind=OutboxMessage.Kind.FOLLOW_UP)
    return follow_up


def _plain(value):
    return value.isoformat() if isinstance(value, dt.date) else value
