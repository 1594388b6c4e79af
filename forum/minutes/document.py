"""The minutes of a round table: a projection of its state and event log, JSON-ready.

`minutes_document(room)` reads; it writes nothing. The renderings are in
forum/minutes/formats/ (one module per format) and take only this document, so every
format says the same.

Attribution follows the room's policy and only what each intervention stored when it was
posted (`Intervention.attribution`): the minutes never look up who holds a seat. Under the
Chatham House Rule an intervention reads "A participant from civil society said:" (asked:,
replied:, raised a point of order:, by the intervention's kind) when its stored attribution
names a sector, "The chair said:" for a function, else "A participant said:"; a named room
reads "Name (Organization) said:".

The document is written in the room's language (`RoundTable.language`, in the header as
"language"): every fixed sentence, and the names of the default sectors and consensus options,
go through gettext under that language, never the reader's, so the content hash depends on the
room alone. The renderers print their own words in the same language (formats/common.py:
`in_minutes_language`).

Shape (schema "roundtables.minutes/1"):

    {"schema": "roundtables.minutes/1", "status": "draft" | "in_review" | "adopted",
     "version": {"number" (None before the first save), "status", "saved_at", "adopted_at",
                 "content_sha256" (None unless adopted),
                 "audit_head" ({"entry", "mac"}: the audit chain at adoption, else None),
                 "open_comments" (review comments left unanswered at adoption, else None)},
     "header": {"dialogue", "round_table", "slug",
                "date" (YYYY-MM-DD: the session's own date in its time zone),
                "starts_at", "ends_at" (ISO 8601 with the zone's offset, or None),
                "time_zone" (an IANA name), "place" (a city, "online", or "City and online"),
                "language" (a code of settings.LANGUAGES),
                "convener": {"name", "akn_author", "akn_country"},
                "rule": {"key", "name", "explanation"},
                "attribution": {"key", "name", "explanation"},
                "attendance": {"sectors": [{"slug", "name", "delegates" (seats held),
                                            "present"}],
                               "delegates", "present", "in_room",
                               "chair", "moderators", "rapporteur", "observers"}},
     "items": [{"id", "position", "title", "description",
                "summary" (the rapporteur's Markdown, "" when none), "summary_html", "summary_text",
                "interventions": [{"id", "number" ("2.3"), "kind", "speaker", "speaker_key",
                                   "sentence", "body_html", "body_text", "redacted",
                                   "lang" (what it is written in, else the room's language)}],
                "consensus_checks": [{"id", "proposition", "status", "outcome", "options",
                                      "rule", "voters", "weighted", "support", "sectors":
                                      [{"slug", "name", "voters", "weight", "distribution"}],
                                      "abstaining_sectors", "blocking_sectors", "reasons",
                                      "outcome_sentence"}],
                "recommendations": [{"id", "number" ("3"), "text_md", "text_html", "audience",
                                     "audience_label", "consensus_check"}]}],
     "parity": forum.parity.parity_figures(room) (balance None when nobody had the floor),
     "method": [{"title", "text"}],
     "contributions": the annex of written contributions (forum/minutes/annex.py)}
"""

from __future__ import annotations

import hashlib
import html
import json
import re

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from forum.minutes.annex import contributions_annex
from forum.minutes.phrases import kind_sentence, option_label, sector_name, speaker_phrase
from forum.minutes.when import _date, _local, place_text
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
from forum.tally import disclose_result, explain, percent
from moderation.attribution import FUNCTION_LABELS
from moderation.disclosure import POOLED, Disclosure, Reader, disclosure, pooled_name
from moderation.sanitize import render_markdown

SCHEMA = "roundtables.minutes/1"
# The language of a document built before rooms had one (its header has no "language").
DEFAULT_LANGUAGE = "en"

RULE_EXPLANATIONS = {
    RoundTable.Rule.CHATHAM_HOUSE: gettext_lazy(
        "Participants are free to use the information received, but neither the identity nor "
        "the affiliation of the speakers, nor that of any other participant, may be revealed."
    ),
    RoundTable.Rule.OPEN: gettext_lazy(
        "The discussion is on the record: what is said may be attributed to the speaker by name "
        "and organization."
    ),
}

# Formatted with %(k)s (the room's k) once translated.
ATTRIBUTION_EXPLANATIONS = {
    RoundTable.Attribution.NAMED: gettext_lazy(
        "Interventions are attributed to the speaker by name and organization."
    ),
    RoundTable.Attribution.SECTOR: gettext_lazy(
        "Interventions are attributed to the speaker's stakeholder sector only, never to a person "
        "or an organization; a sector with fewer than %(k)s delegates in the room is reported as "
        '"a participant".'
    ),
    RoundTable.Attribution.ANONYMOUS: gettext_lazy(
        'Interventions are attributed to no one: each reads "a participant".'
    ),
}

_BLOCK_END = re.compile(r"</(p|li|blockquote|h[1-6]|pre)>|<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_BLANKS = re.compile(r"\n\s*\n+")


def html_to_text(fragment: str) -> str:
    """Plain text of a sanitised HTML fragment: blocks become paragraphs, entities decoded."""
    text = _TAG.sub("", _BLOCK_END.sub("\n\n", fragment or ""))
    text = html.unescape(text)
    return _BLANKS.sub("\n\n", text).strip()


def _parity(room: RoundTable, shown: Disclosure) -> dict:
    """The parity figures as the record stands at the room's last event other than the
    minutes' own, so saving the minutes twice over the same log gives the same content."""
    last = (
        RoomEvent.objects.filter(room=room)
        .exclude(kind__startswith="minutes.")
        .order_by("-seq")
        .values_list("seq", "created_at")
        .first()
    )
    seq, at = last or (0, room.created_at)
    figures = parity_figures(room, at, upto=seq, disclosure=shown)
    for sector in figures.get("sectors", []):
        sector["name"] = sector_name(sector["name"])
    # Equal shares of nothing are not balance: when nobody had the floor the index is null
    # ("not used" in the renderings), never 1.0.
    for scope in [figures.get("room") or {}, *figures.get("items", [])]:
        if "balance" in scope and not floor_used(scope):
            scope["balance"] = None
    return figures


def floor_used(scope: dict) -> bool:
    """Whether anyone had the floor in a parity scope (the room's, or an item's)."""
    return any(
        f.get("turns", 0) or f.get("speaking_seconds", 0)
        for f in (scope.get("sectors") or {}).values()
    )


def came(room: RoundTable, seat: dict) -> bool:
    """Whether a seat's holder took part: marked in the room, or connected at least once
    (in a Chatham House room, having also accepted the rule)."""
    if seat["presence"] == Seat.Presence.IN_ROOM:
        return True
    if seat["joined_at"] is None:
        return False
    return not room.is_chatham_house or seat["consented_at"] is not None


def _attendance(room: RoundTable, sectors: list[Sector], shown: Disclosure) -> dict:
    """Per sector, the delegates' seats held and the delegates present (see `came`), grouped
    by the disclosure rule like every figure of the record; then totals per function."""
    seats = list(
        Seat.objects.filter(room=room, token_revoked_at__isnull=True).values(
            "role", "sector__slug", "presence", "joined_at", "consented_at"
        )
    )
    held = {sector.slug: 0 for sector in sectors}
    present = {sector.slug: 0 for sector in sectors}
    for seat in seats:
        slug = seat["sector__slug"]
        if seat["role"] == Seat.Role.DELEGATE and slug is not None:
            held[slug] = held.get(slug, 0) + 1
            present[slug] = present.get(slug, 0) + came(room, seat)
    names = {s.slug: sector_name(s.name) for s in Sector.objects.filter(slug__in=held)}
    names[POOLED] = pooled_name()
    listed = {s.slug for s in sectors}
    order = [s.slug for s in sectors] + sorted(slug for slug in held if slug not in listed)

    def count(role: str, *, attended: bool = False) -> int:
        return sum(
            1 for seat in seats if seat["role"] == role and (not attended or came(room, seat))
        )

    delegates = [seat for seat in seats if seat["role"] == Seat.Role.DELEGATE]
    return {
        "sectors": [
            {
                "slug": key,
                "name": names[key],
                "delegates": sum(held[slug] for slug in members),
                "present": sum(present[slug] for slug in members),
            }
            for key, members in shown.groups(order)
        ],
        "delegates": count(Seat.Role.DELEGATE),
        "present": count(Seat.Role.DELEGATE, attended=True),
        "in_room": sum(1 for seat in delegates if seat["presence"] == Seat.Presence.IN_ROOM),
        "chair": count(Seat.Role.CHAIR),
        "moderators": count(Seat.Role.MODERATOR),
        "rapporteur": count(Seat.Role.RAPPORTEUR),
        "observers": count(Seat.Role.OBSERVER),
    }


def _speaker_key(room: RoundTable, stored: dict | None) -> str:
    """A language-independent key of who spoke, as the speaker phrase says it: a function's
    role ("chair"), "participant-<sector slug>", "participant", or "named" (a named room's
    speaker, whom the phrase names). The same in every language of the room."""
    label = (stored or {}).get("label") or ""
    sector = (stored or {}).get("sector")
    if room.attribution == RoundTable.Attribution.NAMED and not room.is_chatham_house and label:
        return "named"
    roles = {text: role for role, text in FUNCTION_LABELS.items()}
    if label in roles:
        return str(roles[label])
    if room.attribution == RoundTable.Attribution.SECTOR and sector:
        return f"participant-{sector}"
    return "participant"


def _intervention(
    room: RoundTable,
    row: Intervention,
    names: tuple[dict[str, str], dict[str, str]],
    shown: Disclosure,
    number: str,
) -> dict:
    sector_names, stored_names = names
    redacted = row.redacted_html is not None
    body_html = row.redacted_html if redacted else row.body_html
    # As posted, unless its sector is no longer one the record may name.
    stored = shown.attribution(row.attribution)
    speaker = speaker_phrase(room, stored, sector_names, stored_names)
    return {
        "id": row.public_id,
        "number": number,
        "kind": row.kind,
        "speaker": speaker,
        "speaker_key": _speaker_key(room, stored),
        "sentence": kind_sentence(row.kind, speaker),
        "body_html": body_html,
        "body_text": html_to_text(body_html),
        "redacted": redacted,
        "lang": row.language or room.language or DEFAULT_LANGUAGE,
    }


def _check(check: ConsensusCheck, sector_names: dict[str, str], shown: Disclosure) -> dict:
    result = disclose_result(check.result or {}, shown)
    labels = {
        option["key"]: option_label(option["key"], option["label"]) for option in check.options
    }
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
        "reasons": _reasons(result, sector_names, labels),
        "outcome_sentence": outcome_sentence(check.status, check.rule, result, labels),
    }


def _objection_key(rule: dict, labels: dict[str, str]) -> str | None:
    # The rule's objection option; a threshold rule over the default scale still has "object".
    objection = (rule or {}).get("objection")
    if objection:
        return objection
    if "object" in labels and "object" not in (rule or {}).get("support", []):
        return "object"
    return None


def outcome_sentence(status: str, rule: dict, result: dict, labels: dict[str, str]) -> str:
    """What happened, in one sentence of the active language: "No consensus: a majority of
    one sector objects." A check carried while some of the weight objected never reads
    "consensus": it says the objections (e.g. a third objecting in every sector, which blocks
    no sector but is not agreement)."""
    outcome = result.get("outcome")
    if not outcome:
        return _("Still open.") if status == ConsensusCheck.Status.OPEN else _("No result.")
    codes = {e.get("code") for e in result.get("explanations", [])}
    weighted = result.get("weighted") or {}
    if not result.get("voters") or "nobody_voted" in codes:
        return _("No decision: nobody voted.")
    if (rule or {}).get("kind") == "majority":
        decided = result.get("decided")
        if outcome == "consensus" and decided:
            return _("Decided by majority: %(option)s (%(share)s of the weight).") % {
                "option": labels.get(decided, decided),
                "share": percent(weighted.get(decided, 0.0)),
            }
        return _("No decision: no option holds more than half of the weight.")
    blocking = result.get("blocking_sectors") or []
    support = percent(result.get("support") or 0.0)
    if outcome != "consensus":
        if "sectors_block" in codes and blocking:
            named = len([slug for slug in blocking if slug != POOLED])
            if POOLED in blocking:
                return ngettext(
                    "No consensus: a majority of at least %(count)s sector objects.",
                    "No consensus: a majority of at least %(count)s sectors object.",
                    named + 1,
                ) % {"count": named + 1}
            return ngettext(
                "No consensus: a majority of one sector objects.",
                "No consensus: a majority of %(count)s sectors object.",
                named,
            ) % {"count": named}
        return _(
            "No consensus: weighted support %(support)s is below the threshold of %(threshold)s."
        ) % {"support": support, "threshold": percent((rule or {}).get("threshold") or 0.0)}
    objection = _objection_key(rule, labels)
    objecting = weighted.get(objection, 0.0) if objection else 0.0
    if objecting > 0:
        return _(
            "Carried with objections, not by consensus: weighted support %(support)s, "
            "%(objecting)s of the weight objects."
        ) % {"support": support, "objecting": percent(objecting)}
    return _("Consensus: weighted support %(support)s, no objection.") % {"support": support}


def _reasons(result: dict, sector_names: dict[str, str], labels: dict[str, str]) -> list[str]:
    # Results closed before reasons were kept as codes have English sentences only.
    if "explanations" not in result:
        return result.get("reasons", [])
    return [explain(e, sector_names, labels) for e in result["explanations"]]


def _recommendation(rec: Recommendation, number: str) -> dict:
    return {
        "id": rec.public_id,
        "number": number,
        "text_md": rec.text_md,
        "text_html": rec.text_html,
        "audience": rec.audience,
        "audience_label": str(Recommendation.Audience(rec.audience).label),
        "consensus_check": rec.consensus_check.public_id if rec.consensus_check_id else None,
    }


def _method(room: RoundTable) -> list[dict]:
    if room.attribution == RoundTable.Attribution.NAMED:
        attribution = _(
            "Each intervention is attributed to the speaker by name and organization, as it was "
            "shown in the room."
        )
    elif room.attribution == RoundTable.Attribution.SECTOR:
        attribution = _(
            "Each intervention is attributed as it was shown in the room when it was "
            "posted: to the "
            "speaker's sector when at least %(k)s delegates of that sector held seats "
            "then and still "
            'do when this version was saved, otherwise to "a participant"; the chair, moderators '
            "and rapporteur speak in their function. "
            "No name, e-mail address or organization of a participant appears in these minutes, "
            "and every export is checked for them before it is released."
        ) % {"k": room.k}
    else:
        attribution = _(
            'Every intervention is attributed to "a participant"; the chair, moderators and '
            "rapporteur speak in their function."
        )
    return [
        {"title": _("Attribution"), "text": attribution},
        {"title": _("What these minutes show of each sector"), "text": _disclosure_text(room)},
        {
            "title": _("Parity weighting"),
            "text": _(
                "In a consensus check every sector that voted weighs the same, "
                "whatever its number of "
                "delegates; that weight is split evenly between the sector's voters. "
                "Sectors that did "
                "not vote are listed as abstaining and do not lower the share of any option."
            ),
        },
        {
            "title": _("The floor rule"),
            "text": _(
                "Points of order are heard first. Otherwise the floor goes to the "
                "sector that has had "
                "the least speaking time on the current agenda item (then the fewest "
                "turns, then the "
                "longest wait); within a sector, first come, first served. The chair's "
                "departures from "
                "this rule are counted in the parity figures."
            ),
        },
        {
            "title": _("Parity figures"),
            "text": _(
                "Speaking time, turns, published interventions and their words per "
                "sector, computed from "
                "the round table's event log; interventions hidden by a moderator are "
                "not counted. The "
                "balance index is 1 minus the Gini coefficient of speaking time across "
                "the sectors shown "
                "(1.0 is equal time)."
            ),
        },
    ]


def _disclosure_text(room: RoundTable) -> str:
    """The method annex on disclosure: which sectors a figure may name
    (moderation/disclosure.py)."""
    if room.attribution == RoundTable.Attribution.NAMED:
        return _("Attendance, consensus checks and parity figures are given for every sector.")
    live = _(
        "In the room, the live figures followed the same rule for everyone but the chair and "
        "moderators, who see every sector in order to moderate."
    )
    if room.attribution == RoundTable.Attribution.SECTOR:
        rule = _(
            "Attendance, consensus checks and parity figures name a sector only if at "
            "least %(k)s of its "
            "delegates held seats when this version was saved. The other sectors are "
            "counted together "
            'as "other participants", never split by sector, and nothing is shown for that group '
            "when it would be a single delegate."
        ) % {"k": room.k}
    else:
        rule = _(
            "No figure in these minutes is split by sector: attendance, consensus "
            "checks and parity "
            'figures count the delegates together as "other participants", and nothing is shown '
            "for that group when it would be a single delegate."
        )
    pool = _(
        'The "other participants" are shown only when they are delegates of at least two '
        "sectors and at "
        "least %(k)s in all; otherwise nothing is shown for them. A consensus check "
        "shows nothing for a "
        "group of a single voter, nor, when a single ballot would be left out, for the "
        "smallest group "
        "beside it: the total minus what is shown would be that ballot."
    ) % {"k": max(2, room.k)}
    return f"{rule} {pool} {live}"


# Keys outside the hashed content: what a version is, not what it says.
UNHASHED = ("status", "version")


def content_sha256(doc: dict) -> str:
    """SHA-256 of the document's content: canonical JSON (sorted keys, no spaces, UTF-8)
    of everything but `status` and `version`. docs/minutes.md tells recipients how to check it."""
    content = {key: value for key, value in doc.items() if key not in UNHASHED}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def draft_version() -> dict:
    return {
        "number": None,
        "status": "draft",
        "saved_at": None,
        "adopted_at": None,
        "content_sha256": None,
        "audit_head": None,
        "open_comments": None,
    }


def summary_fields(markdown: str) -> dict:
    summary_html = render_markdown(markdown) if markdown.strip() else ""
    return {
        "summary": markdown,
        "summary_html": summary_html,
        "summary_text": html_to_text(summary_html),
    }


def minutes_document(room: RoundTable, summaries: dict[str, str] | None = None) -> dict:
    """The minutes draft of `room` (see the module docstring for the shape), with the
    rapporteur's `summaries` by agenda item public id.

    The record is written in the room's language (`RoundTable.language`) whatever language
    the reader's interface is in: its content, and so its hash, depends on the room only."""
    room = RoundTable.objects.select_related("dialogue").get(pk=room.pk)
    with translation.override(room.language or DEFAULT_LANGUAGE):
        return _minutes_document(room, summaries)


def _minutes_document(room: RoundTable, summaries: dict[str, str] | None) -> dict:
    summaries = summaries or {}
    dialogue_sectors = list(room.dialogue.sectors.order_by("position", "slug"))
    sector_names = {s.slug: sector_name(s.name) for s in Sector.objects.all()}
    sector_names[POOLED] = pooled_name()
    names = (sector_names, {s.slug: s.name for s in Sector.objects.all()})
    # The minutes are a record: they show what the rule lets everyone see, whoever reads them.
    shown = disclosure(room, Reader.RECORD)
    items = list(room.agenda_items.order_by("position"))
    positions = {item.pk: item.position for item in items}
    interventions: dict[int, list[dict]] = {item.pk: [] for item in items}
    for row in Intervention.objects.filter(
        room=room, status=Intervention.Status.PUBLISHED
    ).order_by("seq"):
        # "2.3": the third published intervention of agenda item 2, the same in every format.
        listed = interventions.setdefault(row.agenda_item_id, [])
        number = f"{positions.get(row.agenda_item_id, 0)}.{len(listed) + 1}"
        listed.append(_intervention(room, row, names, shown, number))
    checks: dict[int, list[dict]] = {item.pk: [] for item in items}
    for check in ConsensusCheck.objects.filter(room=room).order_by("opened_at", "pk"):
        checks.setdefault(check.agenda_item_id, []).append(_check(check, sector_names, shown))
    recommendations: dict[int, list[dict]] = {item.pk: [] for item in items}
    recs = (
        Recommendation.objects.filter(room=room)
        .select_related("consensus_check")
        .order_by("created_at", "pk")
    )
    by_item = {item.pk: [] for item in items}
    for rec in recs:
        by_item.setdefault(rec.agenda_item_id, []).append(rec)
    # Recommendations are numbered 1, 2, 3 through the document in agenda order: the number
    # the cover letter, the JSON and the AKN repeat.
    count = 0
    for item_pk, rows in by_item.items():
        for rec in rows:
            count += 1
            recommendations.setdefault(item_pk, []).append(_recommendation(rec, str(count)))

    return {
        "schema": SCHEMA,
        "status": "draft",
        "version": draft_version(),
        "header": {
            "dialogue": room.dialogue.title,
            "round_table": room.title,
            "slug": room.slug,
            "date": _date(room),
            "starts_at": _local(room, room.starts_at),
            "ends_at": _local(room, room.ends_at),
            "time_zone": room.time_zone or "UTC",
            "place": place_text(room),
            "language": room.language or DEFAULT_LANGUAGE,
            # Who convenes, as the Akoma Ntoso rendering names it (FRBR author and country).
            "convener": {
                "name": room.dialogue.convener,
                "akn_author": room.dialogue.akn_author,
                "akn_country": room.dialogue.akn_country,
            },
            "rule": {
                "key": room.rule,
                "name": str(RoundTable.Rule(room.rule).label),
                "explanation": str(RULE_EXPLANATIONS[room.rule]),
            },
            "attribution": {
                "key": room.attribution,
                "name": str(RoundTable.Attribution(room.attribution).label),
                "explanation": str(ATTRIBUTION_EXPLANATIONS[room.attribution]) % {"k": room.k},
            },
            "attendance": _attendance(room, dialogue_sectors, shown),
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
        "parity": _parity(room, shown),
        "method": _method(room),
        "contributions": contributions_annex(
            room, items, names, shown, text_of=html_to_text, speaker_key=_speaker_key
        ),
    }
