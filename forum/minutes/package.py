"""The submission package: a ZIP a committee secretariat can file as it is.

    minutes.pdf, minutes.docx, minutes.akn.xml, minutes.json   the adopted minutes
    recommendations.json                                     the chosen recommendations
    cover-letter.txt                                         the letter to the committee
    manifest.json                                            every other file's SHA-256

The ZIP's entries carry the adoption date, so the same submission always gives the same
bytes; the manifest is what the webhook announces and what a recipient checks first.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

from forum.minutes.access import version_document
from forum.minutes.formats.registry import exports
from forum.minutes.leak import leak_check, leak_check_document
from forum.models import Submission

MANIFEST_SCHEMA = "roundtables.submission-manifest/1"
MINUTES_FILES = ("pdf", "docx", "akn.xml", "json")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _recommendations(submission: Submission, doc: dict) -> list[dict]:
    adopted = {rec["id"]: rec for item in doc["items"] for rec in item["recommendations"]}
    titles = {rec["id"]: item["title"] for item in doc["items"] for rec in item["recommendations"]}
    # The number the minutes and the cover letter give it (older documents: its place there).
    order = {rid: str(n) for n, rid in enumerate(adopted, start=1)}
    out = []
    for follow_up in submission.follow_ups.select_related("recommendation"):
        rec = adopted[follow_up.recommendation.public_id]
        out.append({
            "id": rec["id"],
            "number": rec.get("number") or order[rec["id"]],
            "agenda_item": titles[rec["id"]],
            "text_md": rec["text_md"],
            "audience": rec["audience"],
            "audience_label": rec["audience_label"],
            "consensus_check": rec["consensus_check"],
            "follow_up": follow_up.public_id,
        })
    return out


def package_files(submission: Submission) -> dict[str, bytes]:
    """Every file of the package but the manifest, by name."""
    doc = version_document(submission.version)
    rendered = exports()
    files = {}
    for fmt in MINUTES_FILES:
        render, _content_type = rendered[fmt]
        data = render(doc)
        files[f"minutes.{fmt}"] = data if isinstance(data, bytes) else data.encode("utf-8")
    recommendations = _recommendations(submission, doc)
    files["recommendations.json"] = (
        json.dumps({"schema": "roundtables.recommendations/1", "recommendations": recommendations},
                   ensure_ascii=False, indent=2) + "\n"
    ).encode("utf-8")
    files["cover-letter.txt"] = submission.cover_letter.encode("utf-8")
    # The leak check of a Chatham House room covers what the package adds to the minutes.
    leak_check_document(submission.room, doc)
    leak_check(submission.room, submission.cover_letter)
    return files


def build_manifest(submission: Submission, files: dict[str, bytes]) -> dict:
    version = submission.version
    return {
        "schema": MANIFEST_SCHEMA,
        "submission": submission.public_id,
        "round_table": {"slug": submission.room.slug, "title": submission.room.title},
        "committee": {"name": submission.committee.name, "rigo": submission.committee.rigo},
        "minutes": {
            "version": version.number,
            "adopted_at": version.adopted_at.isoformat(),
            "content_sha256": version.content_sha256,
            # The audit chain at adoption: what `verify_audit --head` checks the log against.
            "audit_head": (
                {"entry": version.audit_seq, "mac": version.audit_head} if version.audit_head else None
            ),
        },
        "recommendations": [f.recommendation.public_id for f in submission.follow_ups.select_related("recommendation")],
        "files": [
            {"name": name, "bytes": len(data), "sha256": sha256(data)} for name, data in sorted(files.items())
        ],
    }


def zip_bytes(files: dict[str, bytes], date_time: tuple) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def build_package(submission: Submission) -> tuple[bytes, str, dict]:
    """(ZIP bytes, their SHA-256, the manifest) for `submission`."""
    files = package_files(submission)
    manifest = build_manifest(submission, files)
    files["manifest.json"] = (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    adopted = submission.version.adopted_at
    data = zip_bytes(files, (adopted.year, adopted.month, adopted.day, adopted.hour, adopted.minute, adopted.second - adopted.second % 2))
    return data, sha256(data), manifest
