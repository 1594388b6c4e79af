"""Published written contributions in the record: the minutes' annex in all six formats, its
schema, and the submission package (the attachments as files the manifest hashes)."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile

import pytest
from lxml import etree
from pypdf import PdfReader

from forum.minutes.access import version_document
from forum.minutes.formats.akn import akn_errors
from forum.minutes.formats.registry import exports
from forum.models import Committee, User
from forum.services.minutes import minutes_adopt, minutes_save
from forum.services.submissions import submission_advance, submission_create
from tests.support.contributions import open_window, pdf_bytes, published_contribution
from tests.support.minutes import run_session
from tests.test_minutes_schemas import MINUTES

pytestmark = pytest.mark.django_db

PAPER_PDF = pdf_bytes(["Alert networks: a paper.", "Annex table of districts."])
CIVIL_SOCIETY = "A participant from civil society"


@pytest.fixture
def adopted(cast):
    run_session(cast)
    open_window(cast)
    first = published_contribution(
        cast, "cora", body="District councils need **alerts** within the hour.",
        attachment=PAPER_PDF,
    )  # fmt: skip
    second = published_contribution(
        cast, "gus", body="The ministry will fund the network.", summary=""
    )
    minutes_save(actor_seat_id=cast.rita.pk, summaries={})
    version = minutes_adopt(actor_seat_id=cast.chloe.pk, version=1)
    return version, first, second


def test_the_document_annexes_published_contributions_numbered_per_item(cast, adopted):
    version, first, second = adopted
    doc = version_document(version)
    MINUTES.validate(doc)
    annex = doc["contributions"]
    assert [(c["id"], c["number"]) for c in annex] == [
        (first.public_id, "1.1"),
        (second.public_id, "1.2"),
    ]
    assert annex[0]["speaker"] == CIVIL_SOCIETY
    assert annex[0]["speaker_key"] == "participant-civil-society"
    assert annex[0]["attachment"] == {
        "file": f"contributions/contribution-1.1-{first.public_id}.pdf",
        "kind": "pdf",
        "bytes": len(PAPER_PDF),
        "sha256": hashlib.sha256(PAPER_PDF).hexdigest(),
    }
    assert annex[1]["attachment"] is None and annex[1]["summary_text"] == ""


def _text(fmt: str, data) -> str:
    if fmt == "pdf":
        return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    if fmt == "docx":
        import docx

        return "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)
    if fmt == "akn.xml":
        return " ".join(etree.fromstring(data).itertext())
    if fmt == "json":
        return json.dumps(json.loads(data), ensure_ascii=False)
    if fmt == "md":
        return re.sub(r"\\(.)", r"\1", data)  # Markdown escapes speakers' punctuation
    return data


@pytest.mark.parametrize("fmt", ["md", "html", "json", "pdf", "docx", "akn.xml"])
def test_every_format_renders_the_annex(cast, adopted, fmt):
    version, first, _second = adopted
    render, _content_type = exports()[fmt]
    data = render(version_document(version))
    text = " ".join(_text(fmt, data).split())
    if fmt != "json":
        assert "Annex: written contributions" in text
        assert f"Contribution 1.1 (agenda item 1, General discussion): {CIVIL_SOCIETY}" in text
        assert f"contribution-1.1-{first.public_id}.pdf" in text
    assert "District councils need" in text and "The ministry will fund the network." in text
    assert "Cora" not in text and "Peace Network" not in text
    if fmt == "akn.xml":
        assert akn_errors(data) == []
        speech = etree.fromstring(data).find(
            ".//{http://docs.oasis-open.org/legaldocml/ns/akn/3.0}debateSection"
            "[@name='contributions']"
        )
        assert speech is not None


def test_the_package_holds_the_attachments_and_its_manifest_lists_them(cast, adopted):
    version, first, second = adopted
    sam = User.objects.create_user(username="sam", password="x", is_staff=True)
    committee = Committee.objects.create(name="Forum Regional Security Committee", rigo="PIF")
    submission = submission_create(
        user=sam, room_slug=cast.room.slug, committee_id=committee.public_id, recommendation_ids=[]
    )
    submission = submission_advance(
        user=sam, submission_id=submission.public_id, status="submitted", note="By e-mail."
    )
    archive = zipfile.ZipFile(io.BytesIO(bytes(submission.package)))
    name = f"contributions/contribution-1.1-{first.public_id}.pdf"
    assert archive.read(name) == PAPER_PDF
    manifest = json.loads(archive.read("manifest.json"))
    listed = {f["name"]: f for f in manifest["files"]}
    assert listed[name] == {
        "name": name,
        "bytes": len(PAPER_PDF),
        "sha256": hashlib.sha256(PAPER_PDF).hexdigest(),
    }
    assert manifest["contributions"] == [
        {"id": first.public_id, "number": "1.1", "attachment": name},
        {"id": second.public_id, "number": "1.2", "attachment": None},
    ]
