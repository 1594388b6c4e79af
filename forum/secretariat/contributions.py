"""The secretariat's page of a round table's written contributions: the window of the round
table and of each agenda item (opening, deadline, word limit), and how many contributions each
item has in each state (who sent them is not shown: the moderators decide on them)."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from forum.errors import ServiceError
from forum.minutes.when import room_zone
from forum.models import Contribution, ContributionWindow, RoundTable
from forum.pages import refusal
from forum.secretariat.pages import secretariat_page
from forum.services.contribution_windows import (
    contribution_window_remove,
    contribution_window_set,
)


def _local(room: RoundTable, moment) -> str:
    """A moment as a datetime-local input shows it, in the round table's time zone."""
    return moment.astimezone(room_zone(room)).strftime("%Y-%m-%dT%H:%M") if moment else ""


def _rows(room: RoundTable) -> list[dict]:
    windows = {w.agenda_item_id: w for w in ContributionWindow.objects.filter(room=room)}
    counts: dict[int, dict[str, int]] = {}
    for row in (
        Contribution.objects.filter(room=room)
        .values("agenda_item_id", "status")
        .annotate(n=Count("pk"))
    ):
        counts.setdefault(row["agenda_item_id"], {})[row["status"]] = row["n"]
    rows = [{"item": None, "key": "", "window": windows.get(None), "counts": {}}]
    for item in room.agenda_items.order_by("position"):
        rows.append(
            {
                "item": item,
                "key": item.public_id,
                "window": windows.get(item.pk),
                "counts": counts.get(item.pk, {}),
            }
        )
    for row in rows:
        window = row["window"]
        row["opens"] = _local(room, window.opens_at) if window else ""
        row["closes"] = _local(room, window.closes_at) if window else ""
    return rows


@secretariat_page
def room_contributions(request: HttpRequest, slug: str) -> HttpResponse:
    room = RoundTable.objects.select_related("dialogue").filter(slug=slug).first()
    if room is None:
        return refusal(request, 404, "not_found", _("There is no round table at this address."))
    problem, status = None, 200
    if request.method == "POST":
        post, item = request.POST, request.POST.get("agenda_item") or None
        try:
            if post.get("action") == "remove":
                contribution_window_remove(room=room, actor=request.user, agenda_item=item)
            else:
                contribution_window_set(
                    room=room,
                    actor=request.user,
                    agenda_item=item,
                    opens_at=post.get("opens_at"),
                    closes_at=post.get("closes_at"),
                    word_limit=post.get("word_limit"),
                )
        except ServiceError as exc:
            problem, status = (
                {"form": item or "room", "code": exc.code, "message": exc.message},
                400,
            )
        else:
            messages.success(request, _("The contribution window is saved."))
            return redirect(reverse("secretariat_contributions", args=[room.slug]))
    context = {"room": room, "rows": _rows(room), "problem": problem, "zone": room.time_zone}
    return render(request, "secretariat/contributions.html", context, status=status)
