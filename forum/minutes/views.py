"""Minutes over HTTP: the exports (GET /rooms/<slug>/minutes.<fmt>, the public contract), the
minutes page with its editor, review and adoption forms, and the outcomes page for delegates."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from forum.errors import ServiceError
from forum.minutes.access import (
    can_read_drafts,
    live_document,
    parse_version,
    readable_version,
    reviews,
    version_diff,
    version_document,
)
from forum.minutes.formats.html import render_html_fragment
from forum.minutes.formats.registry import exports
from forum.minutes.leak import leak_check_document
from forum.minutes.phrases import sector_name
from forum.models import FollowUp, Recommendation, Submission
from forum.pages import refusal, seat_holder_page, service_refusal
from forum.services import holds
from forum.services import minutes as minutes_service
from forum.services.holds import held_texts
from moderation.attribution import in_reader_language
from moderation.disclosure import disclosure, reader_of
from moderation.guard import names_in, pieces, withheld
from moderation.permissions import Action, allowed


def minutes_export(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    renderers = exports()
    if fmt not in renderers:
        return refusal(
            request,
            404,
            "not_found",
            _("There are no minutes in %(format)s; the formats are %(formats)s.")
            % {"format": repr(fmt), "formats": ", ".join(renderers)},
        )
    return _export(request, slug, fmt=fmt, renderers=renderers)


@seat_holder_page
def _export(request: HttpRequest, room, seat, *, fmt: str = "", renderers=None) -> HttpResponse:
    try:
        wanted = parse_version(request.GET.get("version"))
        row = readable_version(room, seat, wanted, review=True)
        doc = live_document(room) if row is None else version_document(row)
    except ServiceError as exc:
        return service_refusal(request, exc)
    try:
        leak_checked(room, seat, doc)
    except ServiceError as exc:
        return HttpResponse(exc.message, status=409, content_type="text/plain; charset=utf-8")
    render_fn, content_type = renderers[fmt]
    rendered = render_fn(doc)
    response = HttpResponse(rendered, content_type=content_type)
    number = doc["version"]["number"]
    name = f"{room.slug}-minutes" + (f"-v{number}" if number else "-draft")
    disposition = "inline" if fmt in ("md", "html", "json", "pdf") else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{name}.{fmt}"'
    if doc["version"]["content_sha256"]:
        response["X-Minutes-Content-SHA256"] = doc["version"]["content_sha256"]
    return response


def leak_checked(room, seat, doc: dict) -> None:
    """The leak check of what `seat` is about to read. Its refusal quotes the matched text
    only to those who may read the drafts (they remove the mention); anyone else learns only
    that the minutes wait for a correction: a quote would name the very person it protects."""
    try:
        leak_check_document(room, doc)
    except ServiceError:
        if can_read_drafts(seat):
            raise
        raise ServiceError(
            "export_leak",
            _(
                "These minutes are withheld until the rapporteur corrects them: they "
                "name a participant."
            ),
        ) from None


# -- The minutes page ------------------------------------------------------------------------


def _versions_for(room, seat) -> list:
    rows = list(room.minutes_versions.order_by("-number"))
    if can_read_drafts(seat):
        return rows
    return [row for row in rows if row.adopted_at or (row.in_review and reviews(seat))]


def _default_shown(room, seat, versions: list):
    if can_read_drafts(seat):
        return versions[0] if versions else None
    adopted = [row for row in versions if row.adopted_at]
    review = [row for row in versions if row.in_review]
    return (review or adopted or [None])[0]


@seat_holder_page(methods=("GET", "POST"))
def minutes_page(request: HttpRequest, room, seat) -> HttpResponse:
    if request.method == "POST":
        return _minutes_action(request, room, seat)
    versions = _versions_for(room, seat)
    try:
        wanted = parse_version(request.GET.get("version"))
        shown = (
            _default_shown(room, seat, versions)
            if wanted is None
            else readable_version(room, seat, wanted, review=True)
        )
        diff = _diff(request, room, seat)
    except ServiceError as exc:
        return service_refusal(request, exc)
    if shown is None and not can_read_drafts(seat):
        return refusal(
            request,
            403,
            "forbidden",
            _("The minutes are shared once adopted (or while circulated for review)."),
        )
    doc = live_document(room) if shown is None else version_document(shown)
    if not can_read_drafts(seat):
        # What the exports refuse, the page does not show either (the chair, moderators and
        # rapporteur still see it, to find and remove the mention).
        try:
            leak_checked(room, seat, doc)
        except ServiceError as exc:
            return service_refusal(request, exc)
    latest = versions[0] if versions and can_read_drafts(seat) else None
    return render(
        request,
        "minutes/minutes.html",
        {
            "room": room,
            "seat": seat,
            "versions": versions,
            "shown": shown,
            "latest": latest,
            "doc": doc,
            "minutes_html": render_html_fragment(doc, heading="h2"),
            "comments": _comments(room, shown, seat),
            "review_open": bool(shown and shown.in_review),
            "open_comments": (
                minutes_service.open_comments(room, shown)
                if shown and allowed(seat.role, Action.ADOPT_MINUTES) and not shown.adopted_at
                else 0
            ),
            "diff": diff,
            "formats": list(exports()),
            **_forms(room, seat, shown, doc),
            "audiences": Recommendation.Audience.choices,
        },
    )


def _forms(room, seat, shown, doc) -> dict:
    """What the minutes page's forms need, for the forms this seat sees."""
    return {
        "may": _may(seat),
        "editor": _editor(room, doc) if allowed(seat.role, Action.EDIT_MINUTES) else None,
        "held": _held(room) if allowed(seat.role, Action.MODERATE_NOTES) else [],
        # Those who may state that words are not a participant see the standing statements.
        "statements": (
            list(room.name_statements.filter(withdrawn_at__isnull=True))
            if can_read_drafts(seat)
            else None
        ),
    }


def _may(seat) -> dict[str, bool]:
    """Which of the minutes page's forms this seat sees."""
    return {
        "drafts": can_read_drafts(seat),
        "edit": allowed(seat.role, Action.EDIT_MINUTES),
        "review": allowed(seat.role, Action.REVIEW_MINUTES),
        "comment": allowed(seat.role, Action.COMMENT_MINUTES),
        "adopt": allowed(seat.role, Action.ADOPT_MINUTES),
    }


def _held(room) -> list[dict]:
    """What waits for the rapporteur and the chair: each text with the names found marked,
    and where its redaction starts from (the names taken out)."""
    names = {sector.slug: sector_name(sector.name) for sector in room.dialogue.sectors.all()}
    out = []
    for held in held_texts(room):
        found = names_in(room, held.text_md)
        out.append(
            {
                "row": held,
                "by": in_reader_language(held.attribution, names)
                if held.attribution
                else _("the secretariat"),
                "marked": pieces(held.text_md, found),
                "redacted": withheld(held.text_md, found),
            }
        )
    return out


def _comments(room, shown, seat) -> list:
    """The review comments of the version shown, each labelled as this reader may read it:
    a pseudonym whose sector has since fallen below k reads "A participant"."""
    if shown is None:
        return []
    names = {sector.slug: sector_name(sector.name) for sector in room.dialogue.sectors.all()}
    rule = disclosure(room, reader_of(seat.role))
    comments = list(shown.comments.select_related("agenda_item"))
    for comment in comments:
        comment.said_by = in_reader_language(rule.attribution(comment.attribution), names)
    return comments


def _diff(request: HttpRequest, room, seat) -> dict | None:
    spec = request.GET.get("diff")
    if not spec:
        return None
    older, sep, newer = spec.partition("..")
    a, b = parse_version(older), parse_version(newer)
    if not sep or not isinstance(a, int) or not isinstance(b, int):
        raise ServiceError("invalid_version", _("A diff names two versions: ?diff=1..2."))
    rows = [readable_version(room, seat, n) for n in (a, b)]
    return {"from": a, "to": b, "text": version_diff(*rows)}


def _editor(room, doc: dict) -> dict:
    """The editor's starting point: the summaries and recommendations as last saved/posted."""
    return {
        "items": [
            {"id": item["id"], "title": item["title"], "summary": item["summary"]}
            for item in doc["items"]
        ],
        "recommendations": list(
            room.recommendations.order_by("agenda_item__position", "created_at")
        ),
    }


def _save(room, seat, data) -> tuple:
    summaries = {
        key[len("summary:") :]: value for key, value in data.items() if key.startswith("summary:")
    }
    recommendations = {
        key[len("rec:") :]: {"text": value, "audience": data.get(f"audience:{key[len('rec:') :]}")}
        for key, value in data.items()
        if key.startswith("rec:")
    }
    row = minutes_service.minutes_save(
        actor_seat_id=seat.pk,
        summaries=summaries,
        recommendations=recommendations,
        note=data.get("note", ""),
        not_a_participant=data.get("not_a_participant", "").strip() or None,
    )
    return row, _("Saved as version %(number)s.") % {"number": row.number}


def _review_open(room, seat, data) -> tuple:
    row = minutes_service.minutes_review_open(
        actor_seat_id=seat.pk,
        version=_number(data),
        until=data.get("until") or None,
    )
    return row, _("Version %(number)s is circulated for review.") % {"number": row.number}


def _review_close(room, seat, data) -> tuple:
    row = minutes_service.minutes_review_close(actor_seat_id=seat.pk, version=_number(data))
    return row, _("The review of version %(number)s has ended.") % {"number": row.number}


def _comment(room, seat, data) -> tuple:
    number = _number(data)
    comment = minutes_service.minutes_comment(
        seat_id=seat.pk,
        version=number,
        body=data.get("body", ""),
        agenda_item=data.get("agenda_item") or None,
    )
    row = room.minutes_versions.get(number=number)
    return row, _("Your comment is recorded.") if comment else COMMENT_HELD


def _request_adoption(room, seat, data) -> tuple:
    row = minutes_service.minutes_request_adoption(actor_seat_id=seat.pk, version=_number(data))
    return row, _("The chair is asked to adopt version %(number)s.") % {"number": row.number}


def _mark_comment(room, seat, data) -> tuple:
    marks = {"yes": True, "no": False, "": None}
    if data.get("addressed") not in marks:
        raise ServiceError(
            "invalid_form", _("Mark the comment addressed or not addressed."), field="addressed"
        )
    comment = minutes_service.minutes_comment_mark(
        actor_seat_id=seat.pk,
        comment=data.get("comment", ""),
        addressed=marks[data["addressed"]],
    )
    return comment.version, _("Your answer to the comment is recorded.")


def _adopt(room, seat, data) -> tuple:
    row = minutes_service.minutes_adopt(
        actor_seat_id=seat.pk,
        version=_number(data),
        content_sha256=data.get("content_sha256") or None,
        confirm_open_comments=data.get("confirm_open_comments") == "1",
    )
    done = _("Version %(number)s is adopted. SHA-256: %(hash)s") % {
        "number": row.number,
        "hash": row.content_sha256,
    }
    return row, done


# The minutes page's forms, by their `action`: each calls one service and returns the version
# the page shows next and the message that says what was done.
MINUTES_ACTIONS = {
    "save": _save,
    "review_open": _review_open,
    "review_close": _review_close,
    "comment": _comment,
    "request_adoption": _request_adoption,
    "mark_comment": _mark_comment,
    "adopt": _adopt,
}


def _minutes_action(request: HttpRequest, room, seat) -> HttpResponse:
    action = request.POST.get("action", "")
    try:
        if action in ("publish_held", "decline_held"):
            return _held_action(request, room, seat, action)
        if action in ("state_not_a_participant", "withdraw_statement"):
            return _statement_action(request, room, seat, action)
        if action not in MINUTES_ACTIONS:
            raise ServiceError(
                "invalid_action", _("Unknown action %(action)s.") % {"action": repr(action)}
            )
        row, done = MINUTES_ACTIONS[action](room, seat, request.POST)
    except ServiceError as exc:
        return service_refusal(request, exc)
    messages.success(request, done)
    return redirect(f"{reverse('room_minutes_page', args=[room.slug])}?version={row.number}")


COMMENT_HELD = gettext_lazy(
    "Your comment waits for the rapporteur and the chair, who may publish it, redact "
    "it or decline it."
)


def _held_action(request: HttpRequest, room, seat, action: str) -> HttpResponse:
    data = request.POST
    if action == "publish_held":
        holds.held_text_publish(
            actor_seat_id=seat.pk,
            held_id=data.get("held", ""),
            body=data.get("body"),
            reason=data.get("reason", ""),
            not_a_participant=data.get("not_a_participant", "").strip() or None,
        )
        messages.success(request, _("Published."))
    else:
        holds.held_text_decline(
            actor_seat_id=seat.pk, held_id=data.get("held", ""), reason=data.get("reason", "")
        )
        messages.success(request, _("Declined."))
    return redirect(f"{reverse('room_minutes_page', args=[room.slug])}#held-h")


def _statement_action(request: HttpRequest, room, seat, action: str) -> HttpResponse:
    data = request.POST
    if action == "state_not_a_participant":
        holds.name_statement_make(
            actor_seat_id=seat.pk, words=data.get("words", ""), reason=data.get("reason", "")
        )
        messages.success(
            request, _("Stated: these words are not taken for a participant in the exports.")
        )
    else:
        holds.name_statement_withdraw(
            actor_seat_id=seat.pk,
            statement_id=data.get("statement", ""),
            reason=data.get("reason", ""),
        )
        messages.success(request, _("Withdrawn: these words are taken for a participant again."))
    return redirect(f"{reverse('room_minutes_page', args=[room.slug])}#statements-h")


def _number(data) -> int:
    value = parse_version(data.get("version"))
    if not isinstance(value, int):
        raise ServiceError("invalid_version", _("Name the version by its number."))
    return value


# -- What became of the recommendations -------------------------------------------------------


@seat_holder_page
def outcomes_page(request: HttpRequest, room, seat) -> HttpResponse:
    """For every recommendation of the adopted minutes: where it was submitted, the
    committee's steps, and the follow-up. Draft submissions are the secretariat's own."""
    adopted = room.minutes_versions.filter(adopted_at__isnull=False).order_by("-number").first()
    recommendations = []
    if adopted is not None:
        follow_ups = {}
        rows = (
            FollowUp.objects.filter(submission__room=room)
            .exclude(submission__status=Submission.Status.DRAFT)
            .select_related("submission__committee", "recommendation")
            .prefetch_related("updates", "submission__steps")
        )
        for follow_up in rows:
            follow_ups.setdefault(follow_up.recommendation.public_id, []).append(follow_up)
        doc = version_document(adopted)
        try:
            leak_checked(room, seat, doc)
        except ServiceError as exc:
            return service_refusal(request, exc)
        for item in doc["items"]:
            for rec in item["recommendations"]:
                recommendations.append(
                    {"item": item["title"], "rec": rec, "follow_ups": follow_ups.get(rec["id"], [])}
                )
    return render(
        request,
        "minutes/outcomes.html",
        {
            "room": room,
            "seat": seat,
            "adopted": adopted,
            "recommendations": recommendations,
        },
    )
