"""The minutes of a round table: a projection of its state and event log, JSON-ready.

`minutes_document(room)` reads; it writes nothing. The renderings (Markdown, HTML, JSON)
are in forum/minutes_render.py and take only this document, so every format says the same.

Attribution follows the room's policy and only what each intervention stored when it was
posted (`Intervention.attribution`): the minutes never look up who holds a seat. Under the
Chatham House Rule an intervention reads "A participant from civil society said:" when its
stored attribution names a sector, "The chair said:" for a function, else
"A participant said:"; a named room reads "Name (Organization) said:".

Shape (schema "roundtables.minutes/1"):

    {"schema": "roundtables.minutes/1", "status": "draft" | "in_review" | "adopted",
     "version": {"number" (None before the first save), "status", "saved_at", "adopted_at",
                 "content_sha256" (None unless adopted)},
     "header": {"dialogue", "round_table", "slug", "date" (YYYY-MM-DD), "place",
                "rule": {"key", "name", "explanation"},
                "attribution": {"key", "name", "explanation"},
                "attendance": {"sectors": [{"slug", "name", "delegates"}], "delegates",
                               "chair", "moderators", "rapporteur", "observers"}},
     "items": [{"id", "position", "title", "description",
                "summary" (the rapporteur's Markdown, "" when none), "summary_html", "summary_text",
                "interventions": [{"id", "kind", "speaker", "sentence", "body_html",
                                   "body_text", "redacted"}],
                "consensus_checks": [{"id", "proposition", "status", "outcome", "options",
                                      "rule", "voters", "weighted", "support", "sectors":
                                      [{"slug", "name", "voters", "weight", "distribution"}],
                                      "abstaining_sectors", "blocking_sectors", "reasons"}],
                "recommendations": [{"id", "text_md", "text_html", "audience",
                                     "audience_label", "consensus_check"}]}],
     "parity": forum.parity.parity_figures(room),
     "method": [{"title", "text"}]}
"""

from __future__ import annotations

import hashlib
import html
import json
import re

from django.utils import translation

from forum.models import (
    ConsensusCheck,
    Intervention,
    Recommendation,
    RoomEvent,
    RoundTable,
    Seat,
    Sector,
)
from forum.parity import parity_figures
from moderation.attribution import FUNCTION_LABELS
from moderation.sanitize import render_markdown

SCHEMA = "roundtables.minutes/1"
MINUTES_LANGUAGE = "en"

RULE_EXPLANATIONS = {
    RoundTable.Rule.CHATHAM_HOUSE: (
        "Participants are free to use the information received, but neither the identity nor "
        "the affiliation of the speakers, nor that of any other participant, may be revealed."
    ),
    RoundTable.Rule.OPEN: (
        "The discussion is on the record: what is said may be attributed to the speaker by name "
        "and organization."
    ),
}

ATTRIBUTION_EXPLANATIONS = {
    RoundTable.Attribution.NAMED: "Interventions are attributed to the speaker by name and organization.",
    RoundTable.Attribution.SECTOR: (
        "Interventions are attributed to the speaker's stakeholder sector only, never to a person "
        "or an organization; a sector with fewer than {k} delegates in the room is reported as "
        "\"a participant\"."
    ),
    RoundTable.Attribution.ANONYMOUS: "Interventions are attributed to no one: each reads \"a participant\".",
}

_FUNCTIONS = {label: label.lower() for label in FUNCTION_LABELS.values()}
_BLOCK_END = re.compile(r"</(p|li|blockquote|h[1-6]|pre)>|<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_BLANKS = re.compile(r"\n\s*\n+")


def html_to_text(fragment: str) -> str:
    """Plain text of a sanitised HTML fragment: blocks become paragraphs, entities decoded."""
    text = _TAG.sub("", _BLOCK_END.sub("\n\n", fragment or ""))
    text = html.unescape(text)
    return _BLANKS.sub("\n\n", text).strip()


def _lower_first(name: str) -> str:
    # "Civil society" -> "civil society", but "UN agencies" stays.
    if len(name) > 1 and name[1].isupper():
        return name
    return name[:1].lower() + name[1:]


def speaker_phrase(room: RoundTable, stored: dict, sector_names: dict[str, str]) -> str:
    """Who said it, by the room's policy and the attribution stored with the intervention."""
    label = (stored or {}).get("label") or ""
    sector = (stored or {}).get("sector")
    if room.attribution == RoundTable.Attribution.NAMED and not room.is_chatham_house and label:
        return label
    if label in _FUNCTIONS:
        return f"The {_FUNCTIONS[label]}"
    if room.attribution == RoundTable.Attribution.SECTOR and sector:
        return f"A participant from {_lower_first(sector_names.get(sector, sector))}"
    return "A participant"


def _parity(room: RoundTable) -> dict:
    """The parity figures as the record stands at the room's last event other than the
    minutes' own, so saving the minutes twice over the same log gives the same content."""
    last = (
        RoomEvent.objects.filter(room=room).exclude(kind__startswith="minutes.")
        .order_by("-seq").values_list("seq", "created_at").first()
    )
    seq, at = last or (0, room.created_at)
    return parity_figures(room, at, upto=seq)


def _date(room: RoundTable) -> str:
    first = RoomEvent.objects.filter(room=room).order_by("seq").values_list("created_at", flat=True).first()
    return (first or room.created_at).date().isoformat()


def _attendance(room: RoundTable, sectors: list[Sector]) -> dict:
    seats = list(
        Seat.objects.filter(room=room, token_revoked_at__isnull=True).values_list("role", "sector_id")
    )
    per_sector = {sector.pk: 0 for sector in sectors}
    for role, sector_id in seats:
        if role == Seat.Role.DELEGATE and sector_id is not None:
            per_sector[sector_id] = per_sector.get(sector_id, 0) + 1
    names = {s.pk: s for s in Sector.objects.filter(pk__in=per_sector)}
    order = [s.pk for s in sectors] + sorted(pk for pk in per_sector if pk not in {s.pk for s in sectors})

    def count(role: str) -> int:
        return sum(1 for r, _ in seats if r == role)

    return {
        "sectors": [
            {"slug": names[pk].slug, "name": names[pk].name, "delegates": per_sector[pk]} for pk in order
        ],
        "delegates": count(Seat.Role.DELEGATE),
        "chair": count(Seat.Role.CHAIR),
        "moderators": count(Seat.Role.MODERATOR),
        "rapporteur": count(Seat.Role.RAPPORTEUR),
        "observers": count(Seat.Role.OBSERVER),
    }


def _intervention(room: RoundTable, row: Intervention, sector_names: dict[str, str]) -> dict:
    redacted = row.redacted_html is not None
    body_html = row.redacted_html if redacted else row.body_html
    speaker = speaker_phrase(room, row.attribution, sector_names)
    return {
        "id": row.public_id,
        "kind": row.kind,
        "speaker": speaker,
        "sentence": f"{speaker} said:",
        "body_html": body_html,
        "body_text": html_to_text(body_html),
        "redacted": redacted,
    }


def _check(check: ConsensusCheck, sector_names: dict[str, str]) -> dict:
    result = check.result or {}
    labels = {option["key"]: option["label"] for option in check.options}
    return {
        "id": check.public_id,
        "proposition": check.proposition,
        "status": check.status,
        "outcome": result.get("outcome"),
        "options": [{"key": key, "label": label} for key, label in labels.items()],
        "rule": check.rule,
        "voters": result.get("voters", 0),
        "weighted": result.get("weighted", {}),
        "support": result.get("support"),
        "sectors": [
            {
                "slug": slug,
                "name": sector_names.get(slug, slug),
                "voters": figures["voters"],
                "weight": figures["weight"],
                "distribution": figures["distribution"],
            }
            for slug, figures in (result.get("sectors") or {}).items()
        ],
        "abstaining_sectors": result.get("abstaining_sectors", []),
        "blocking_sectors": result.get("blocking_sectors", []),
        "reasons": result.get("reasons", []),
    }


def _recommendation(rec: Recommendation) -> dict:
    return {
        "id": rec.public_id,
        "text_md": rec.text_md,
        "text_html": rec.text_html,
        "audience": rec.audience,
        "audience_label": str(Recommendation.Audience(rec.audience).label),
        "consensus_check": rec.consensus_check.public_id if rec.consensus_check_id else None,
    }


def _method(room: RoundTable) -> list[dict]:
    if room.attribution == RoundTable.Attribution.NAMED:
        attribution = "Each intervention is attributed to the speaker by name and organization, as it was shown in the room."
    elif room.attribution == RoundTable.Attribution.SECTOR:
        attribution = (
            "Each intervention is attributed as it was shown in the room when it was posted: to the "
            f"speaker's sector when at least {room.k} delegates of that sector held seats, otherwise to "
            "\"a participant\"; the chair, moderators and rapporteur speak in their function. "
            "No name, e-mail address or organization of a participant appears in these minutes, "
            "and every export is checked for them before it is released."
        )
    else:
        attribution = (
            "Every intervention is attributed to \"a participant\"; the chair, moderators and "
            "rapporteur speak in their function."
        )
    return [
        {"title": "Attribution", "text": attribution},
        {
            "title": "Parity weighting",
            "text": (
                "In a consensus check every sector that voted weighs the same, whatever its number of "
                "delegates; that weight is split evenly between the sector's voters. Sectors that did "
                "not vote are listed as abstaining and do not lower the share of any option."
            ),
        },
        {
            "title": "The floor rule",
            "text": (
                "Points of order are heard first. Otherwise the floor goes to the sector that has had "
                "the least speaking time on the current agenda item (then the fewest turns, then the "
                "longest wait); within a sector, first come, first served. The chair's departures from "
                "this rule are counted in the parity figures."
            ),
        },
        {
            "title": "Parity figures",
            "text": (
                "Speaking time, turns, published interventions and their words per sector, computed from "
                "the round table's event log; the balance index is 1 minus the Gini coefficient of "
                "speaking time across sectors (1.0 is equal time)."
            ),
        },
    ]


# Keys outside the hashed content: what a version is, not what it says.
UNHASHED = ("status", "version")


def content_sha256(doc: dict) -> str:
    """SHA-256 of the document's content: canonical JSON (sorted keys, no spaces, UTF-8)
    of everything but `status` and `version`. docs/minutes.md tells recipients how to check it."""
    content = {key: value for key, value in doc.items() if key not in UNHASHED}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def draft_version() -> dict:
    return {"number": None, "status": "draft", "saved_at": None, "adopted_at": None, "content_sha256": None}


def summary_fields(markdown: str) -> dict:
    summary_html = render_markdown(markdown) if markdown.strip() else ""
    return {"summary": markdown, "summary_html": summary_html, "summary_text": html_to_text(summary_html)}


def minutes_document(room: RoundTable, summaries: dict[str, str] | None = None) -> dict:
    """The minutes draft of `room` (see the module docstring for the shape), with the
    rapporteur's `summaries` by agenda item public id.

    The record is written in English whatever language the reader's interface is in (its
    content, and so its hash, must not depend on who asks)."""
    with translation.override(MINUTES_LANGUAGE):
        return _minutes_document(room, summaries)


def _minutes_document(room: RoundTable, summaries: dict[str, str] | None) -> dict:
    summaries = summaries or {}
    room = RoundTable.objects.select_related("dialogue").get(pk=room.pk)
    dialogue_sectors = list(room.dialogue.sectors.order_by("position", "slug"))
    sector_names = {s.slug: s.name for s in Sector.objects.all()}
    items = list(room.agenda_items.order_by("position"))
    interventions: dict[int, list[dict]] = {item.pk: [] for item in items}
    for row in Intervention.objects.filter(room=room, status=Intervention.Status.PUBLISHED).order_by("seq"):
        interventions.setdefault(row.agenda_item_id, []).append(_intervention(room, row, sector_names))
    checks: dict[int, list[dict]] = {item.pk: [] for item in items}
    for check in ConsensusCheck.objects.filter(room=room).order_by("opened_at", "pk"):
        checks.setdefault(check.agenda_item_id, []).append(_check(check, sector_names))
    recommendations: dict[int, list[dict]] = {item.pk: [] for item in items}
    for rec in Recommendation.objects.filter(room=room).select_related("consensus_check").order_by("created_at", "pk"):
        recommendations.setdefault(rec.agenda_item_id, []).append(_recommendation(rec))

    return {
        "schema": SCHEMA,
        "status": "draft",
        "version": draft_version(),
        "header": {
            "dialogue": room.dialogue.title,
            "round_table": room.title,
            "slug": room.slug,
            "date": _date(room),
            "place": room.place.strip() or "online",
            "rule": {
                "key": room.rule,
                "name": str(RoundTable.Rule(room.rule).label),
                "explanation": RULE_EXPLANATIONS[room.rule],
            },
            "attribution": {
                "key": room.attribution,
                "name": str(RoundTable.Attribution(room.attribution).label),
                "explanation": ATTRIBUTION_EXPLANATIONS[room.attribution].format(k=room.k),
            },
            "attendance": _attendance(room, dialogue_sectors),
        },
        "items": [
            {
                "id": item.public_id,
                "position": item.position,
                "title": item.title,
                "description": item.description,
                **summary_fields(summaries.get(item.public_id, "")),
                "interventions": interventions[item.pk],
                "consensus_checks": checks[item.pk],
                "recommendations": recommendations[item.pk],
            }
            for item in items
        ],
        "parity": _parity(room),
        "method": _method(room),
    }
