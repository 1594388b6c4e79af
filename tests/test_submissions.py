"""Committees and submissions: the package and its manifest, the status history in
order, follow-up per recommendation, and the tracking page delegates read."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile

import pytest
from django.test import Client
from django.utils import timezone
from docx import Document
from lxml import etree
from pypdf import PdfReader

from forum.errors import ServiceError
from forum.models import Committee, FollowUp, HeldText, Submission, SubmissionStep, User
from forum.services.minutes import minutes_adopt, minutes_save
from forum.services.packages import package_url
from forum.services.submissions import follow_up_update, submission_advance, submission_create
from moderation.models import AuditEntry
from tests.support.minutes import identities, run_session
from tests.support.personas import sign_in

pytestmark = pytest.mark.django_db

AKN_NS = "http://docs.oasis-open.org/legaldocml/ns/akn/3.0"


@pytest.fixture
def sam(db) -> User:
    """Sam, the secretariat: a staff account without a seat."""
    return User.objects.create_user(
        username="sam", email="sam@example.org", password="x", is_staff=True
    )


@pytest.fixture
def committee(db) -> Committee:
    return Committee.objects.create(
        name="Forum Regional Security Committee",
        rigo="Pacific Islands Forum",
        working_languages="en, fr",
        address="secretariat@frsc.example",
        accepts="Security recommendations.",
    )


@pytest.fixture
def adopted(cast):
    run_session(cast)
    item = cast.room.agenda_items.get().public_id
    minutes_save(
        actor_seat_id=cast.rita.pk, summaries={item: "The round table agreed on monthly data."}
    )
    return minutes_adopt(actor_seat_id=cast.chloe.pk, version=1)


def recommendation_ids(cast) -> list[str]:
    return list(cast.room.recommendations.values_list("public_id", flat=True))


def test_only_adopted_minutes_are_submitted(cast, sam, committee):
    run_session(cast)
    with pytest.raises(ServiceError) as refused:
        submission_create(
            user=sam,
            room_slug=cast.room.slug,
            committee_id=committee.public_id,
            recommendation_ids=[],
        )
    assert refused.value.code == "not_adopted"
    assert not Submission.objects.exists()


def test_only_the_secretariat_files_submissions(cast, adopted, committee):
    for user in (cast.chloe.user, cast.rita.user, None):
        with pytest.raises(ServiceError) as refused:
            submission_create(
                user=user,
                room_slug=cast.room.slug,
                committee_id=committee.public_id,
                recommendation_ids=[],
            )
        assert refused.value.code == "forbidden"
    response = sign_in(Client(), cast.chloe)
    assert response.get(f"/rooms/{cast.room.slug}/submissions/").status_code == 403


def test_unknown_recommendations_are_refused(cast, adopted, sam, committee):
    with pytest.raises(ServiceError) as refused:
        submission_create(
            user=sam,
            room_slug=cast.room.slug,
            committee_id=committee.public_id,
            recommendation_ids=["nope"],
        )
    assert refused.value.code == "unknown_recommendation" and "nope" in refused.value.message
    assert not Submission.objects.exists()


def test_the_package_holds_every_format_and_its_manifest_hashes_verify(
    cast, adopted, sam, committee
):
    submission = submission_create(
        user=sam,
        room_slug=cast.room.slug,
        committee_id=committee.public_id,
        recommendation_ids=recommendation_ids(cast),
    )
    assert submission.status == "draft" and not submission.package
    letter = submission.cover_letter
    assert (
        committee.name in letter
        and adopted.content_sha256 in letter
        and "RIGOs should publish data" in letter
    )

    submission = submission_advance(
        user=sam, submission_id=submission.public_id, status="submitted", note="By e-mail."
    )
    archive = zipfile.ZipFile(io.BytesIO(bytes(submission.package)))
    names = set(archive.namelist())
    assert names == {
        "minutes.pdf",
        "minutes.docx",
        "minutes.akn.xml",
        "minutes.json",
        "recommendations.json",
        "cover-letter.txt",
        "manifest.json",
        "manifest.sig",
    }
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest == submission.manifest
    adoption = AuditEntry.objects.get(room=cast.room, action="adopt_minutes")
    assert manifest["minutes"] == {
        "version": 1,
        "adopted_at": adopted.adopted_at.isoformat(),
        "content_sha256": adopted.content_sha256,
        "audit_head": {"entry": adoption.seq, "mac": adoption.hash},
    }
    listed = {f["name"]: f for f in manifest["files"]}
    assert set(listed) == names - {"manifest.json", "manifest.sig"}
    for name, entry in listed.items():
        data = archive.read(name)
        assert (
            hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["bytes"]
        ), name
    assert hashlib.sha256(bytes(submission.package)).hexdigest() == submission.package_sha256

    # Each file opens in the tool a secretariat uses, and none names a participant.
    texts = {
        "minutes.pdf": "\n".join(
            p.extract_text() for p in PdfReader(io.BytesIO(archive.read("minutes.pdf"))).pages
        ),
        "minutes.docx": "\n".join(
            p.text for p in Document(io.BytesIO(archive.read("minutes.docx"))).paragraphs
        ),
        "minutes.json": archive.read("minutes.json").decode(),
        "minutes.akn.xml": archive.read("minutes.akn.xml").decode(),
        "cover-letter.txt": archive.read("cover-letter.txt").decode(),
    }
    assert json.loads(texts["minutes.json"])["version"]["content_sha256"] == adopted.content_sha256
    assert etree.fromstring(archive.read("minutes.akn.xml")).tag == f"{{{AKN_NS}}}akomaNtoso"
    for name, text in texts.items():
        assert adopted.content_sha256 in text.replace("\n", ""), name
        for identity in identities(cast):
            assert identity.lower() not in text.lower(), (name, identity)
    recommendations = json.loads(archive.read("recommendations.json"))["recommendations"]
    assert [r["id"] for r in recommendations] == recommendation_ids(cast)


def test_status_steps_go_in_order_with_dates_and_notes(cast, adopted, sam, committee):
    submission = submission_create(
        user=sam,
        room_slug=cast.room.slug,
        committee_id=committee.public_id,
        recommendation_ids=[],
    )
    sid = submission.public_id
    for status in ("received", "endorsed", "draft", "bogus"):
        with pytest.raises(ServiceError) as refused:
            submission_advance(user=sam, submission_id=sid, status=status)
        assert refused.value.code in {"invalid_transition", "invalid_status"}, status
    assert Submission.objects.get().status == "draft" and SubmissionStep.objects.count() == 1
    today = timezone.localdate()
    for day in (today - dt.timedelta(days=1), today + dt.timedelta(days=1)):
        with pytest.raises(ServiceError) as baddate:  # before the draft, or still to come
            submission_advance(
                user=sam, submission_id=sid, status="submitted", date=day.isoformat()
            )
        assert baddate.value.code == "invalid_date"
    with pytest.raises(ServiceError) as baddate:
        submission_advance(user=sam, submission_id=sid, status="submitted", date="20th")
    assert baddate.value.code == "invalid_date"
    submission_advance(user=sam, submission_id=sid, status="submitted", date=today.isoformat())
    submission_advance(
        user=sam, submission_id=sid, status="received", date=today, note="Acknowledged."
    )
    submission_advance(user=sam, submission_id=sid, status="under_consideration")
    submission_advance(user=sam, submission_id=sid, status="endorsed", note="Decision FRSC/2026/7.")
    with pytest.raises(ServiceError) as final:
        submission_advance(user=sam, submission_id=sid, status="noted")
    assert final.value.code == "invalid_transition" and "final" in final.value.message
    steps = list(Submission.objects.get().steps.values_list("status", "date", "note"))
    assert [s for s, _, _ in steps] == [
        "draft",
        "submitted",
        "received",
        "under_consideration",
        "endorsed",
    ]
    assert steps[-1][2] == "Decision FRSC/2026/7."


def test_follow_up_and_the_tracking_page(cast, adopted, sam, committee):
    submission = submission_create(
        user=sam,
        room_slug=cast.room.slug,
        committee_id=committee.public_id,
        recommendation_ids=recommendation_ids(cast),
    )
    [follow_up] = submission.follow_ups.all()
    gus = sign_in(Client(), cast.gus)
    page = gus.get(f"/rooms/{cast.room.slug}/outcomes/").content.decode()
    assert (
        "Not submitted to a committee yet." in page
    )  # a draft submission is the secretariat's own

    submission_advance(user=sam, submission_id=submission.public_id, status="submitted")
    follow_up_update(
        user=sam,
        follow_up_id=follow_up.public_id,
        note="Endorsed; a mandate follows.",
        status="in_progress",
        reference="FRSC/2026/7",
        owner="Regional Security Office",
        due_date="2027-06-30",
    )
    with pytest.raises(ServiceError) as refused:
        follow_up_update(user=sam, follow_up_id=follow_up.public_id, note="", status="implemented")
    assert refused.value.code == "note_required"
    with pytest.raises(ServiceError) as bad:
        follow_up_update(user=sam, follow_up_id=follow_up.public_id, note="x", status="done")
    assert bad.value.code == "invalid_status"
    follow_up = FollowUp.objects.get()
    assert (follow_up.status, follow_up.reference, str(follow_up.due_date)) == (
        "in_progress",
        "FRSC/2026/7",
        "2027-06-30",
    )
    [update] = follow_up.updates.all()
    assert update.changes["status"] == ["pending", "in_progress"]

    page = gus.get(f"/rooms/{cast.room.slug}/outcomes/").content.decode()
    for expected in (
        committee.name,
        "Submitted",
        "In progress",
        "FRSC/2026/7",
        "Regional Security Office",
        "2027-06-30",
        "Endorsed; a mandate follows.",
    ):
        assert expected in page, expected


def test_the_package_link_opens_for_the_secretariat_and_with_the_signed_key(
    cast, adopted, sam, committee
):
    submission = submission_create(
        user=sam,
        room_slug=cast.room.slug,
        committee_id=committee.public_id,
        recommendation_ids=[],
    )
    path = f"/submissions/{submission.public_id}/package.zip"
    staff = Client()
    staff.force_login(sam)
    assert staff.get(path).status_code == 404  # not submitted: no package yet
    submission = submission_advance(
        user=sam, submission_id=submission.public_id, status="submitted"
    )
    response = staff.get(path)
    assert response.status_code == 200 and response.content == bytes(submission.package)
    assert Client().get(path).status_code == 403
    assert Client().get(path + "?key=forged").status_code == 403
    signed = package_url(submission)
    response = Client().get(signed[signed.index("/submissions/") :])
    assert response.status_code == 200 and response["X-Package-SHA256"] == submission.package_sha256


def test_the_submissions_page_drives_the_whole_flow(cast, adopted, sam, committee):
    staff = Client()
    staff.force_login(sam)
    url = f"/rooms/{cast.room.slug}/submissions/"
    assert committee.name in staff.get(url).content.decode()
    created = staff.post(
        url,
        {
            "action": "create",
            "committee": committee.public_id,
            "recommendations": recommendation_ids(cast),
        },
    )
    assert created.status_code == 302
    submission = Submission.objects.get()
    refused = staff.post(
        url, {"action": "advance", "submission": submission.public_id, "status": "endorsed"}
    )
    assert refused.status_code == 409 and "draft" in refused.content.decode()
    assert (
        staff.post(
            url,
            {
                "action": "advance",
                "submission": submission.public_id,
                "status": "submitted",
                "note": "Sent",
            },
        ).status_code
        == 302
    )
    [follow_up] = submission.follow_ups.all()
    done = staff.post(
        url,
        {
            "action": "follow_up",
            "follow_up": follow_up.public_id,
            "status": "in_progress",
            "reference": "R-1",
            "owner": "",
            "due_date": "",
            "note": "Work started.",
        },
    )
    assert done.status_code == 302
    page = staff.get(url).content.decode()
    assert (
        "Submitted" in page and "R-1" in page and "Work started." in page and "package.zip" in page
    )
    assert 'href="/signing-key/"' in page  # the key the package is signed with


def test_the_registry_refuses_an_unsigned_or_non_http_webhook(db):
    from django.core.exceptions import ValidationError

    for url, secret, field in (
        ("ftp://frsc.example/in", "s3cret", "webhook_url"),
        ("https://frsc.example/in", "", "webhook_secret"),
    ):
        committee = Committee(name="FRSC", rigo="PIF", webhook_url=url, webhook_secret=secret)
        with pytest.raises(ValidationError) as refused:
            committee.full_clean()
        assert field in refused.value.message_dict
    Committee(
        name="FRSC", rigo="PIF", webhook_url="https://frsc.example/in", webhook_secret="s3cret"
    ).full_clean()
    assert languages_of("en, fr ,, pt") == ["en", "fr", "pt"]


def languages_of(value: str) -> list[str]:
    return Committee(name="x", rigo="y", working_languages=value).languages


def test_a_submitted_recommendation_stays_and_follow_up_text_names_no_one(
    cast, adopted, sam, committee
):
    from forum.services.recommendations import recommendation_delete

    submission = submission_create(
        user=sam,
        room_slug=cast.room.slug,
        committee_id=committee.public_id,
        recommendation_ids=recommendation_ids(cast),
    )
    with pytest.raises(ServiceError) as kept:
        recommendation_delete(
            actor_seat_id=cast.rita.pk, recommendation_id=recommendation_ids(cast)[0]
        )
    assert kept.value.code == "recommendation_submitted"
    [follow_up] = submission.follow_ups.all()
    for fields in ({"owner": "Cora Civil"}, {"reference": "Chamber of Mocks memo"}):
        with pytest.raises(ServiceError) as named:
            follow_up_update(user=sam, follow_up_id=follow_up.public_id, note="Assigned.", **fields)
        assert named.value.code == "names_participant"
    assert not follow_up.updates.exists()
    # A note that names someone waits for the rapporteur and the chair; delegates see none.
    assert (
        follow_up_update(
            user=sam,
            follow_up_id=follow_up.public_id,
            note="Handled by Gustavo Gobierno.",
        ).note_held
        is True
    )
    assert (
        submission_advance(
            user=sam,
            submission_id=submission.public_id,
            status="submitted",
            note="Cora Civil sent it.",
        ).note_held
        is True
    )
    assert list(follow_up.updates.values_list("note", flat=True)) == [""]
    assert list(submission.steps.values_list("status", "note")) == [
        ("draft", ""),
        ("submitted", ""),
    ]
    held = HeldText.objects.filter(room=cast.room, status="held")
    assert sorted(held.values_list("kind", "text_md")) == [
        ("follow_up_note", "Handled by Gustavo Gobierno."),
        ("step_note", "Cora Civil sent it."),
    ]
    assert set(held.values_list("recorded_by", flat=True)) == {sam.pk}
