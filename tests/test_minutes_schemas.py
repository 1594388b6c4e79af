"""minutes.json and recommendations.json against their JSON Schemas (docs/schemas/, draft
2020-12): the live draft, an adopted version, the demo's minutes and a submission package,
and schemas strict enough to refuse a document that breaks them."""

from __future__ import annotations

import copy
import io
import json
import uuid
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from jsonschema import Draft202012Validator, FormatChecker

from forum.minutes.access import version_document
from forum.minutes.document import minutes_document
from forum.minutes.package import build_package
from forum.models import Committee, Intervention, Recommendation, RoundTable, User
from forum.services.hybrid import turn_record
from forum.services.interventions import intervention_post
from forum.services.minutes import minutes_adopt, minutes_save
from forum.services.recommendations import recommendation_save
from forum.services.submissions import submission_create
from tests.support.minutes import run_session

pytestmark = pytest.mark.django_db

SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "schemas"


def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


MINUTES = validator("minutes.schema.json")
RECOMMENDATIONS = validator("recommendations.schema.json")


def errors(check: Draft202012Validator, doc: dict) -> list[str]:
    # Through JSON, as a recipient reads the file.
    data = json.loads(json.dumps(doc))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in check.iter_errors(data)]


def test_an_empty_round_table_is_valid(cast):
    doc = minutes_document(cast.room)
    assert errors(MINUTES, doc) == []
    assert doc["parity"]["room"]["balance"] is None  # nobody had the floor


def test_a_session_with_every_kind_is_valid(cast):
    run_session(cast)
    for persona, kind in (("cora", "question"), ("gus", "reply"), ("ada", "point_of_order")):
        intervention_post(
            seat_id=cast.seats[persona].pk, client_id=uuid.uuid4(), body="Words.", kind=kind
        )
    turn_record(actor_seat_id=cast.chloe.pk, seat=cast.gus.public_id, note="Spoke on data.")
    doc = minutes_document(cast.room)
    assert {iv["kind"] for iv in doc["items"][0]["interventions"]} == set(Intervention.Kind.values)
    [noted] = [iv for iv in doc["items"][0]["interventions"] if iv["kind"] == "in_room"]
    assert noted["sentence"].endswith("spoke in the room; the chair's note:")
    assert errors(MINUTES, doc) == []


def test_an_adopted_version_and_the_package_files_are_valid(cast):
    run_session(cast)
    recommendation_save(
        actor_seat_id=cast.rita.pk, text="Second **one**.", audience=Recommendation.Audience.UN
    )
    minutes_save(actor_seat_id=cast.rita.pk, summaries={})
    version = minutes_adopt(actor_seat_id=cast.chloe.pk, version=1)
    assert errors(MINUTES, version_document(version)) == []
    sam = User.objects.create_user(
        username="sam", email="sam@example.org", password="x", is_staff=True
    )
    committee = Committee.objects.create(name="Committee", rigo="RIGO", working_languages="en")
    ids = list(cast.room.recommendations.order_by("created_at").values_list("public_id", flat=True))
    submission = submission_create(
        user=sam,
        room_slug=cast.room.slug,
        committee_id=committee.public_id,
        recommendation_ids=ids,
    )
    data, _sha, _manifest = build_package(submission)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        minutes = json.loads(archive.read("minutes.json"))
        recommendations = json.loads(archive.read("recommendations.json"))
    assert errors(MINUTES, minutes) == []
    assert minutes["version"]["content_sha256"] and minutes["status"] == "adopted"
    assert errors(RECOMMENDATIONS, recommendations) == []
    assert [r["number"] for r in recommendations["recommendations"]] == ["1", "2"]


def test_the_demo_minutes_are_valid_in_each_language():
    call_command("seed_demo", quiet=True)
    room = RoundTable.objects.get(slug="demo-roundtable")
    for language in ("en", "es", "fr", "pt"):
        room.language = language
        room.save(update_fields=["language"])
        assert errors(MINUTES, minutes_document(room)) == [], language


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("items", 0, "interventions", 0, "kind"), "speech"),
        (("items", 0, "interventions", 0, "number"), "one"),
        (("items", 0, "recommendations", 0, "number"), "0"),
        (("items", 0, "consensus_checks", 0, "outcome"), "maybe"),
        (("version", "content_sha256"), "not a hash"),
        (("header", "date"), "6 December"),
        (("parity", "room", "balance"), 1.5),
        (("header", "attendance", "sectors", 0, "slug"), "Civil Society"),
    ],
)
def test_the_minutes_schema_refuses_a_broken_document(cast, path, value):
    run_session(cast)
    doc = json.loads(json.dumps(minutes_document(cast.room)))
    broken = copy.deepcopy(doc)
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert errors(MINUTES, doc) == []
    assert errors(MINUTES, broken), path


@pytest.mark.parametrize("drop", ["number", "follow_up", "audience"])
def test_the_recommendations_schema_refuses_a_missing_field(drop):
    rec = {
        "id": "r1",
        "number": "1",
        "agenda_item": "General discussion",
        "text_md": "Do it.",
        "audience": "un",
        "audience_label": "The United Nations",
        "consensus_check": None,
        "follow_up": "f1",
    }
    assert (
        errors(
            RECOMMENDATIONS, {"schema": "roundtables.recommendations/1", "recommendations": [rec]}
        )
        == []
    )
    del rec[drop]
    assert errors(
        RECOMMENDATIONS, {"schema": "roundtables.recommendations/1", "recommendations": [rec]}
    )
