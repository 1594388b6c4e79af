"""The secretariat's signatures: a signed manifest, the published key, `verify_package` and
its refusals, the PAdES signature of the PDF, and the settings that hold the keys."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client

from forum.errors import ServiceError
from forum.minutes import keys
from forum.minutes.package import MANIFEST, SIGNATURE
from forum.models import Committee, User
from forum.services.minutes import minutes_adopt, minutes_save
from forum.services.submissions import submission_advance, submission_create
from tests.support.minutes import run_session
from tests.test_settings import load, refusal, run_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def sam(db) -> User:
    """Sam, the secretariat: a staff account without a seat."""
    return User.objects.create_user(
        username="sam", email="sam@example.org", password="x", is_staff=True
    )


@pytest.fixture
def draft(cast, sam):
    run_session(cast)
    item = cast.room.agenda_items.get().public_id
    minutes_save(
        actor_seat_id=cast.rita.pk, summaries={item: "The round table agreed on monthly data."}
    )
    minutes_adopt(actor_seat_id=cast.chloe.pk, version=1)
    committee = Committee.objects.create(
        name="Forum Regional Security Committee",
        rigo="Pacific Islands Forum",
        working_languages="fr, en",
    )
    return submission_create(
        user=sam,
        room_slug=cast.room.slug,
        committee_id=committee.public_id,
        recommendation_ids=list(cast.room.recommendations.values_list("public_id", flat=True)),
    )


@pytest.fixture
def submitted(draft, sam):
    return submission_advance(user=sam, submission_id=draft.public_id, status="submitted")


@pytest.fixture
def package(submitted, tmp_path) -> Path:
    path = tmp_path / "package.zip"
    path.write_bytes(bytes(submitted.package))
    return path


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rezip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def verify(path: Path, *args: str) -> str:
    out = io.StringIO()
    call_command("verify_package", str(path), *args, stdout=out)
    return out.getvalue()


def refused(path: Path, *args: str) -> CommandError:
    with pytest.raises(CommandError) as caught:
        verify(path, *args)
    return caught.value


def configured_fingerprint() -> str:
    return keys.fingerprint(keys.load_signing_key(settings.SIGNING_KEY_PEM, "SIGNING_KEY"))


def another_key(tmp_path: Path) -> tuple[ed25519.Ed25519PrivateKey, Path]:
    key = ed25519.Ed25519PrivateKey.generate()
    path = tmp_path / "other.pem"
    path.write_bytes(keys.public_pem(key))
    return key, path


# -- the signed manifest and verify_package ------------------------------------------------------


def test_a_fresh_package_is_signed_and_verifies_with_the_configured_and_the_published_key(
    package, tmp_path
):
    files = members(package)
    manifest = json.loads(files[MANIFEST])
    assert manifest["signature"] == {
        "file": SIGNATURE,
        "algorithm": "Ed25519",
        "key_fingerprint": configured_fingerprint(),
        "public_key_url": f"{settings.BASE_URL}/.well-known/roundtables-signing-key.pem",
    }
    assert SIGNATURE not in {f["name"] for f in manifest["files"]}
    assert configured_fingerprint() in verify(package)

    published = Client().get("/.well-known/roundtables-signing-key.pem")
    assert published.status_code == 200 and published.content.startswith(
        b"-----BEGIN PUBLIC KEY-----"
    )
    (tmp_path / "published.pem").write_bytes(published.content)
    assert "verified" in verify(package, "--key", str(tmp_path / "published.pem"))


def test_the_cover_letter_prints_the_key_fingerprint_and_address_in_the_committee_language(package):
    letter = members(package)["cover-letter.txt"].decode()
    assert configured_fingerprint() in letter
    assert "/.well-known/roundtables-signing-key.pem" in letter
    assert "secrétariat" in letter  # the committee works in French first


def test_the_key_page_shows_the_fingerprint_and_links_the_key(db):
    page = Client().get("/signing-key/").content.decode()
    assert (
        configured_fingerprint() in page
        and 'href="/.well-known/roundtables-signing-key.pem"' in page
    )


@pytest.mark.parametrize("name", ["cover-letter.txt", "minutes.pdf", "recommendations.json"])
def test_a_package_with_a_changed_file_is_refused(package, name):
    files = members(package)
    files[name] = files[name] + b" "
    error = refused(rezip(package, files))
    assert error.returncode == 1 and f"{name} was changed" in str(error)


def test_a_changed_manifest_is_refused_even_with_matching_hashes(package):
    files = members(package)
    manifest = json.loads(files[MANIFEST])
    files["cover-letter.txt"] = b"Another letter.\n"
    entry = next(f for f in manifest["files"] if f["name"] == "cover-letter.txt")
    entry.update(bytes=16, sha256=__import__("hashlib").sha256(b"Another letter.\n").hexdigest())
    files[MANIFEST] = json.dumps(manifest).encode()
    error = refused(rezip(package, files))
    assert error.returncode == 1 and "does not match manifest.json" in str(error)


def test_a_package_signed_by_another_key_is_refused(package, tmp_path):
    other, other_pub = another_key(tmp_path)
    files = members(package)
    files["cover-letter.txt"] = b"Forged.\n"
    manifest = json.loads(files[MANIFEST])
    entry = next(f for f in manifest["files"] if f["name"] == "cover-letter.txt")
    entry.update(bytes=8, sha256=__import__("hashlib").sha256(b"Forged.\n").hexdigest())
    files[MANIFEST] = json.dumps(manifest).encode()
    files[SIGNATURE] = __import__("base64").b64encode(other.sign(files[MANIFEST])) + b"\n"
    forged = rezip(tmp_path / "forged.zip", files)
    error = refused(forged)
    assert error.returncode == 1 and "another key signed it" in str(error)
    assert "verified" in verify(forged, "--key", str(other_pub))  # what the forger's key did sign
    # and the genuine package does not verify under the other key
    assert refused(package, "--key", str(other_pub)).returncode == 1


def test_an_unsigned_package_and_an_unlisted_file_are_refused(package, tmp_path):
    files = members(package)
    del files[SIGNATURE]
    error = refused(rezip(tmp_path / "unsigned.zip", files))
    assert error.returncode == 1 and "nobody signed it" in str(error)
    files = members(package)
    files["extra.exe"] = b"MZ"
    error = refused(rezip(tmp_path / "extra.zip", files))
    assert error.returncode == 1 and "extra.exe is in the package but not in the manifest" in str(
        error
    )
    files = members(package)
    del files["minutes.docx"]
    error = refused(rezip(tmp_path / "short.zip", files))
    assert error.returncode == 1 and "minutes.docx is listed in the manifest but missing" in str(
        error
    )


def test_what_cannot_be_checked_exits_with_status_2(package, tmp_path, settings):
    assert refused(tmp_path / "absent.zip").returncode == 2
    (tmp_path / "text.zip").write_text("not a zip")
    assert (
        "Not a ZIP file" in str(error := refused(tmp_path / "text.zip")) and error.returncode == 2
    )
    assert refused(rezip(tmp_path / "bare.zip", {"a.txt": b"a"})).returncode == 2
    assert refused(rezip(tmp_path / "bad.zip", {MANIFEST: b"{"})).returncode == 2
    (tmp_path / "rsa.pem").write_text(
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
    )
    assert refused(package, "--key", str(tmp_path / "rsa.pem")).returncode == 2
    assert refused(package, "--key", str(tmp_path / "nothing.pem")).returncode == 2
    settings.SIGNING_KEY_PEM = None
    error = refused(package)
    assert error.returncode == 2 and "--key" in str(error)


# -- refusals when no key is configured --------------------------------------------------------


def test_without_a_signing_key_submitting_is_refused_and_nothing_changes(draft, sam, settings):
    steps = list(draft.steps.values_list("status", flat=True))
    settings.SIGNING_KEY_PEM = None
    with pytest.raises(ServiceError) as caught:
        submission_advance(user=sam, submission_id=draft.public_id, status="submitted")
    assert (
        caught.value.code == "signing_not_configured" and "SIGNING_KEY_FILE" in caught.value.message
    )
    draft.refresh_from_db()
    assert draft.status == "draft" and not draft.package
    assert list(draft.steps.values_list("status", flat=True)) == steps
    assert Client().get("/.well-known/roundtables-signing-key.pem").status_code == 404


def test_without_a_pdf_certificate_submitting_is_refused(draft, sam, settings):
    settings.SIGNING_CERT_PEM = None
    with pytest.raises(ServiceError) as caught:
        submission_advance(user=sam, submission_id=draft.public_id, status="submitted")
    assert caught.value.code == "signing_not_configured"
    draft.refresh_from_db()
    assert draft.status == "draft" and not draft.package


# -- the PAdES signature of the PDF ------------------------------------------------------------


def test_the_pdf_carries_a_pades_signature_that_validates_against_the_certificate(package):
    from pyhanko.keys import load_certs_from_pemder_data
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    root = next(iter(load_certs_from_pemder_data(settings.SIGNING_CERT_PEM)))
    pdf = members(package)["minutes.pdf"]
    reader = PdfFileReader(io.BytesIO(pdf))
    (embedded,) = reader.embedded_signatures
    assert embedded.field_name == "Secretariat"
    assert embedded.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    status = validate_pdf_signature(embedded, ValidationContext(trust_roots=[root]))
    assert status.intact and status.valid and status.trusted, status.pretty_print_details()
    assert status.coverage.name == "ENTIRE_FILE"
    assert status.signing_cert.subject == root.subject

    # Not trusted under another root; not intact once a signed byte changes.
    other = next(iter(load_certs_from_pemder_data(keys.generate_set()[keys.DEVELOPMENT_CERT])))
    assert not validate_pdf_signature(embedded, ValidationContext(trust_roots=[other])).trusted
    start, length = embedded.byte_range[0], embedded.byte_range[1]
    position = start + length // 2
    tampered = pdf[:position] + bytes([pdf[position] ^ 0x01]) + pdf[position + 1 :]
    (changed,) = PdfFileReader(io.BytesIO(tampered), strict=False).embedded_signatures
    assert not validate_pdf_signature(changed, ValidationContext(trust_roots=[root])).intact


# -- the settings and make run's development set ------------------------------------------------


def test_the_settings_refuse_an_unreadable_or_wrong_key(tmp_path):
    assert "SIGNING_KEY_FILE" in refusal(
        run_settings(_env(tmp_path, SIGNING_KEY_FILE=str(tmp_path / "none.pem")))
    )
    rsa = tmp_path / "cert.pem"
    rsa.write_bytes(keys.generate_set()[keys.DEVELOPMENT_CERT_KEY])  # an ECDSA key, not Ed25519
    assert "Ed25519" in refusal(run_settings(_env(tmp_path, SIGNING_KEY_FILE=str(rsa))))
    good = keys.generate_set()
    (tmp_path / "k.pem").write_bytes(good[keys.DEVELOPMENT_KEY])
    assert "not both" in refusal(
        run_settings(
            _env(
                tmp_path,
                SIGNING_KEY_FILE=str(tmp_path / "k.pem"),
                SIGNING_KEY=good[keys.DEVELOPMENT_KEY].decode(),
            )
        )
    )
    (tmp_path / "c.pem").write_bytes(good[keys.DEVELOPMENT_CERT])
    assert "SIGNING_CERT_KEY_FILE" in refusal(
        run_settings(_env(tmp_path, SIGNING_CERT_FILE=str(tmp_path / "c.pem")))
    )
    (tmp_path / "ck.pem").write_bytes(keys.generate_set()[keys.DEVELOPMENT_CERT_KEY])
    assert "do not belong together" in refusal(
        run_settings(
            _env(
                tmp_path,
                SIGNING_CERT_FILE=str(tmp_path / "c.pem"),
                SIGNING_CERT_KEY_FILE=str(tmp_path / "ck.pem"),
            )
        )
    )
    # A key given as a value with escaped newlines, as some environment files write it.
    escaped = good[keys.DEVELOPMENT_KEY].decode().replace("\n", "\\n")
    assert load(tmp_path, SIGNING_KEY=escaped)["debug"] is False


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "SECRET_KEY": "a-test-secret-that-is-long-enough-0123456789",
        "AUDIT_KEY": "a-test-audit-key-that-is-long-enough-0123456789",
        "DATA_DIR": str(tmp_path),
        **extra,
    }


def test_make_runs_command_creates_the_development_set_once_and_says_so(tmp_path):
    base = _env(tmp_path / "data", DJANGO_SETTINGS_MODULE="forum.settings")
    code = (
        "import django; django.setup(); "
        "from django.core.management import call_command; call_command('signing_keys')"
    )
    refused = run_settings(base, code)
    assert refused.returncode != 0 and "DEBUG is off" in refused.stderr
    first = run_settings({**base, "DEBUG": "1"}, code)
    assert first.returncode == 0 and "Generated a DEVELOPMENT signing key" in first.stdout, (
        first.stderr
    )
    assert (tmp_path / "data" / "signing" / keys.DEVELOPMENT_KEY).exists()
    again = run_settings({**base, "DEBUG": "1"}, code)
    # The second start finds the set through the settings: configured, the same fingerprint.
    assert again.returncode == 0 and "Signing key: configured" in again.stdout
    assert (
        first.stdout.split("fingerprint ")[1].rstrip(").\n")
        == again.stdout.split("fingerprint ")[1].strip()
    )


def test_the_command_names_the_missing_half_of_a_signing_set(settings):
    settings.SIGNING_CERT_PEM = None
    with pytest.raises(CommandError, match="SIGNING_CERT_FILE"):
        call_command("signing_keys")
    settings.SIGNING_CERT_PEM, settings.SIGNING_KEY_PEM = b"-", None
    with pytest.raises(CommandError, match="SIGNING_KEY_FILE"):
        call_command("signing_keys")
