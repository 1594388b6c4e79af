"""The submission package: a ZIP a committee secretariat can file as it is.

    minutes.pdf, minutes.docx, minutes.akn.xml, minutes.json   the adopted minutes
    recommendations.json                                     the chosen recommendations
    cover-letter.txt                                         the letter to the committee
    contributions/contribution-2.1-<id>.pdf (or .docx)       the attachments of the written
                                                             contributions the minutes annex
    manifest.json                                            every other file's SHA-256
    manifest.sig                                             the secretariat's signature of it

The ZIP's entries carry the adoption date; the manifest is what the webhook announces and what
a recipient checks first. The secretariat signs it (forum/minutes/signing.py) and the PDF, so
the package proves who issued it, not only that it is whole: `verify_package` checks both
the hashes and the signature.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from forum.minutes import signing
from forum.minutes.access import version_document
from forum.minutes.formats.registry import render_formats
from forum.minutes.leak import leak_check, leak_check_document
from forum.models import Contribution, RoundTable, Submission

MANIFEST_SCHEMA = "roundtables.submission-manifest/1"
MINUTES_FILES = ("pdf", "docx", "akn.xml", "json")
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
SIGNATURE_ALGORITHM = "Ed25519"


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
        out.append(
            {
                "id": rec["id"],
                "number": rec.get("number") or order[rec["id"]],
                "agenda_item": titles[rec["id"]],
                "text_md": rec["text_md"],
                "audience": rec["audience"],
                "audience_label": rec["audience_label"],
                "consensus_check": rec["consensus_check"],
                "follow_up": follow_up.public_id,
            }
        )
    return out


def package_files(submission: Submission) -> dict[str, bytes]:
    """Every file of the package but the manifest, by name."""
    doc = version_document(submission.version)
    # The leak check of a Chatham House room covers what the package adds to the minutes;
    # the document's own check runs while typst typesets the PDF.
    rendered = render_formats(doc, MINUTES_FILES, lambda: leak_check_document(submission.room, doc))
    files = {f"minutes.{fmt}": data for fmt, data in rendered.items()}
    files["minutes.pdf"] = signing.sign_pdf(files["minutes.pdf"])
    recommendations = _recommendations(submission, doc)
    files["recommendations.json"] = (
        json.dumps(
            {"schema": "roundtables.recommendations/1", "recommendations": recommendations},
            ensure_ascii=False,
            indent=2,
        )
        + "\n"
    ).encode("utf-8")
    files["cover-letter.txt"] = (
        submission.cover_letter.rstrip("\n") + "\n\n" + signature_note(submission)
    ).encode("utf-8")
    files.update(contribution_files(submission.room, doc))
    leak_check(submission.room, submission.cover_letter)
    return files


def contribution_files(room: RoundTable, doc: dict) -> dict[str, bytes]:
    """The attachments of the contributions the minutes annex, by their name in the package:
    the bytes the version's document hashed (a file changed since is refused), each checked
    for names as the rest of the package is."""
    entries = [entry for entry in doc.get("contributions") or [] if entry.get("attachment")]
    rows = Contribution.objects.filter(room=room, public_id__in=[e["id"] for e in entries])
    by_id = {row.public_id: row for row in rows}
    files = {}
    for entry in entries:
        row, attachment = by_id.get(entry["id"]), entry["attachment"]
        data = bytes(row.attachment) if row is not None and row.attachment is not None else b""
        if sha256(data) != attachment["sha256"]:
            raise ValueError(f"the attachment of contribution {entry['number']} has changed")
        leak_check(room, "\n\n".join(part["text"] for part in row.attachment_parts))
        files[attachment["file"]] = data
    return files


def public_key_url() -> str:
    return f"{settings.BASE_URL}{signing.PUBLIC_KEY_PATH}"


def signature_note(submission: Submission) -> str:
    """The cover letter's last paragraph: how to check that the secretariat issued the package.
    In the committee's first working language when the product speaks it."""
    languages = [
        code for code in submission.committee.languages if code in dict(settings.LANGUAGES)
    ]
    with translation.override(languages[0] if languages else translation.get_language()):
        return _(
            "The package is signed by the secretariat: %(sig)s holds the Ed25519 signature of "
            "%(manifest)s, and the PDF carries the secretariat's PAdES signature. The public key "
            "is published at %(url)s; its fingerprint is:\n%(fingerprint)s\n"
        ) % {
            "sig": SIGNATURE,
            "manifest": MANIFEST,
            "url": public_key_url(),
            "fingerprint": signing.key_fingerprint(),
        }


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
                {"entry": version.audit_seq, "mac": version.audit_head}
                if version.audit_head
                else None
            ),
        },
        "recommendations": [
            f.recommendation.public_id
            for f in submission.follow_ups.select_related("recommendation")
        ],
        # The written contributions the minutes annex; an attachment is one of `files`.
        "contributions": [
            {
                "id": entry["id"],
                "number": entry["number"],
                "attachment": (entry.get("attachment") or {}).get("file"),
            }
            for entry in version_document(submission.version).get("contributions") or []
        ],
        # Inside what is signed: a recipient learns which key to expect before checking it.
        "signature": {
            "file": SIGNATURE,
            "algorithm": SIGNATURE_ALGORITHM,
            "key_fingerprint": signing.key_fingerprint(),
            "public_key_url": public_key_url(),
        },
        "files": [
            {"name": name, "bytes": len(data), "sha256": sha256(data)}
            for name, data in sorted(files.items())
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
    signing.signing_key()  # refuses before any work when the secretariat has no key
    files = package_files(submission)
    manifest = build_manifest(submission, files)
    files[MANIFEST] = (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    files[SIGNATURE] = signing.sign_manifest(files[MANIFEST])
    adopted = submission.version.adopted_at
    data = zip_bytes(
        files,
        (
            adopted.year,
            adopted.month,
            adopted.day,
            adopted.hour,
            adopted.minute,
            adopted.second - adopted.second % 2,
        ),
    )
    return data, sha256(data), manifest


class UnreadablePackage(ValueError):
    """Not a package that can be checked at all (not a ZIP, no manifest, a manifest that is
    not JSON); the message names the problem."""


def verify_package(data: bytes, public_key) -> list[str]:
    """The problems of a package, checked against `public_key`: the manifest's signature, then
    every listed file's size and SHA-256, and no file the manifest does not list. Empty when
    the package is exactly what the holder of the key signed."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if len(set(names)) != len(names):
                raise UnreadablePackage(_("The ZIP holds two entries with the same name."))
            contents = {name: archive.read(name) for name in names}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise UnreadablePackage(_("Not a ZIP file (%(error)s).") % {"error": exc}) from None
    if MANIFEST not in contents:
        raise UnreadablePackage(_("The package has no %(name)s.") % {"name": MANIFEST})
    try:
        manifest = json.loads(contents[MANIFEST])
        listed = {entry["name"]: entry for entry in manifest["files"]}
    except (ValueError, KeyError, TypeError):
        raise UnreadablePackage(
            _("%(name)s is not a package manifest.") % {"name": MANIFEST}
        ) from None
    problems = []
    if SIGNATURE not in contents:
        problems.append(_("The package has no %(name)s: nobody signed it.") % {"name": SIGNATURE})
    elif not signing.manifest_signature_valid(contents[MANIFEST], contents[SIGNATURE], public_key):
        problems.append(
            _(
                "%(sig)s does not match %(manifest)s under this key: the manifest was changed, "
                "or another key signed it."
            )
            % {"sig": SIGNATURE, "manifest": MANIFEST}
        )
    for name, entry in sorted(listed.items()):
        if name not in contents:
            problems.append(_("%(name)s is listed in the manifest but missing.") % {"name": name})
        elif sha256(contents[name]) != entry.get("sha256") or len(contents[name]) != entry.get(
            "bytes"
        ):
            problems.append(
                _("%(name)s was changed: its SHA-256 is not the manifest's.") % {"name": name}
            )
    for name in sorted(set(contents) - set(listed) - {MANIFEST, SIGNATURE}):
        problems.append(_("%(name)s is in the package but not in the manifest.") % {"name": name})
    return problems
