"""The secretariat's submissions page for a round table, and the package download.

Views parse and call forum/services/submissions.py, which holds the one access check
(`require_secretariat`); the package link also opens with the signed key a committee gets.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from forum.errors import ServiceError
from forum.models import Committee, FollowUp, RoundTable, Submission
from forum.pages import refusal, service_refusal
from forum.services import submissions as service
from forum.services.packages import package_key_valid, package_url
from moderation.permissions import StaffAction, require_secretariat


@never_cache
@require_http_methods(["GET", "POST"])
def room_submissions(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        require_secretariat(request.user, StaffAction.SUBMISSIONS)
        room = RoundTable.objects.filter(slug=slug).first()
        if room is None:
            return refusal(request, 404, "not_found", _("There is no round table at this address."))
        if request.method == "POST":
            done = _act(request, room)
            messages.success(request, done)
            return redirect(reverse("room_submissions", args=[room.slug]))
    except ServiceError as exc:
        return service_refusal(request, exc)
    adopted = service.latest_adopted(room)
    submissions = (
        Submission.objects.filter(room=room)
        .select_related("committee", "version")
        .prefetch_related(
            "steps", "follow_ups__updates", "follow_ups__recommendation", "deliveries__attempt_log"
        )
    )
    return render(
        request,
        "secretariat/submissions.html",
        {
            "room": room,
            "adopted": adopted,
            "recommendations": list(service.adopted_recommendations(adopted).values())
            if adopted
            else [],
            "committees": Committee.objects.all(),
            "submissions": [
                {
                    "row": s,
                    "next": [
                        (v, Submission.Status(v).label) for v in sorted(service.NEXT[s.status])
                    ],
                    "package_url": package_url(s) if s.package else None,
                }
                for s in submissions
            ],
            "follow_up_statuses": FollowUp.Status.choices,
        },
    )


NOTE_HELD = gettext_lazy(
    "The note names a participant or an organization of the round table: delegates "
    "will see it once "
    "the rapporteur or the chair has published it (redacted) on the minutes page."
)


def _act(request: HttpRequest, room: RoundTable) -> str:
    data = request.POST
    action = data.get("action", "")
    if action == "create":
        submission = service.submission_create(
            user=request.user,
            room_slug=room.slug,
            committee_id=data.get("committee", ""),
            recommendation_ids=data.getlist("recommendations"),
            letter=data.get("letter") or None,
        )
        return _("Submission to %(committee)s drafted.") % {"committee": submission.committee.name}
    if action == "advance":
        submission = service.submission_advance(
            user=request.user,
            submission_id=data.get("submission", ""),
            status=data.get("status", ""),
            date=data.get("date") or None,
            note=data.get("note", ""),
        )
        done = _("The submission is now: %(status)s.") % {
            "status": Submission.Status(submission.status).label
        }
        return f"{done} {NOTE_HELD}" if submission.note_held else done
    if action == "follow_up":
        changes = {field: data.get(field) for field in service.FOLLOW_UP_FIELDS if field in data}
        follow_up = service.follow_up_update(
            user=request.user,
            follow_up_id=data.get("follow_up", ""),
            note=data.get("note", ""),
            date=data.get("update_date") or None,
            **changes,
        )
        done = _("Follow-up recorded.")
        return f"{done} {NOTE_HELD}" if follow_up.note_held else done
    raise ServiceError("invalid_action", _("Unknown action %(action)s.") % {"action": repr(action)})


@never_cache
@require_GET
def submission_package(request: HttpRequest, public_id: str) -> HttpResponse:
    """The ZIP: for the secretariat, or for whoever holds the signed link (the committee)."""
    submission = Submission.objects.select_related("room").filter(public_id=public_id).first()
    if submission is None:
        return refusal(request, 404, "not_found", _("There is no submission at this address."))
    key = request.GET.get("key")
    if not (key and package_key_valid(submission, key)):
        try:
            require_secretariat(request.user, StaffAction.SUBMISSIONS)
        except ServiceError as exc:
            return service_refusal(request, exc)
    if not submission.package:
        return refusal(
            request,
            404,
            "not_found",
            _("This submission has not been submitted yet: it has no package."),
        )
    response = HttpResponse(bytes(submission.package), content_type="application/zip")
    response["Content-Disposition"] = (
        f'attachment; filename="{submission.room.slug}-submission-{submission.public_id}.zip"'
    )
    response["X-Package-SHA256"] = submission.package_sha256
    return response
