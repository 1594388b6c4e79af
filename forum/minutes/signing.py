"""The secretariat's signatures on what it files: the package's manifest and the PDF.

- `manifest.sig` is the base64 (one line, then a newline) of the raw 64-byte Ed25519 signature
  over the exact bytes of `manifest.json` in the same ZIP. The public key is published at
  /.well-known/roundtables-signing-key.pem; its fingerprint is printed in the cover letter.
- The PDF carries a PAdES signature (ETSI.CAdES.detached, SHA-256) with the secretariat's
  X.509 certificate, so a PDF reader shows who issued it and that it is unchanged.

The keys come from the settings (SIGNING_KEY / SIGNING_KEY_FILE, SIGNING_CERT_FILE and
SIGNING_CERT_KEY_FILE); without them nothing is signed and the caller's step is refused.
"""

from __future__ import annotations

import base64
import binascii
import io

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.conf import settings
from django.utils.translation import gettext as _

from forum.errors import ServiceError
from forum.minutes import keys

PUBLIC_KEY_PATH = "/.well-known/roundtables-signing-key.pem"
PDF_SIGNATURE_FIELD = "Secretariat"


def _not_configured() -> ServiceError:
    return ServiceError(
        "signing_not_configured",
        _(
            "The secretariat's signing key is not configured: set SIGNING_KEY_FILE "
            "(or SIGNING_KEY), SIGNING_CERT_FILE and SIGNING_CERT_KEY_FILE "
            "(make run creates a development set)."
        ),
    )


def configured() -> bool:
    return bool(
        settings.SIGNING_KEY_PEM and settings.SIGNING_CERT_PEM and settings.SIGNING_CERT_KEY_PEM
    )


def signing_key() -> ed25519.Ed25519PrivateKey:
    if not settings.SIGNING_KEY_PEM:
        raise _not_configured()
    return keys.load_signing_key(settings.SIGNING_KEY_PEM, "SIGNING_KEY")


def public_key_pem() -> bytes | None:
    """The published public key, or None when no key is configured."""
    return keys.public_pem(signing_key()) if settings.SIGNING_KEY_PEM else None


def key_fingerprint() -> str | None:
    return keys.fingerprint(signing_key()) if settings.SIGNING_KEY_PEM else None


def sign_manifest(manifest: bytes) -> bytes:
    """The content of `manifest.sig` for these manifest bytes."""
    return base64.b64encode(signing_key().sign(manifest)) + b"\n"


def manifest_signature_valid(
    manifest: bytes, sig: bytes, public_key: ed25519.Ed25519PublicKey
) -> bool:
    try:
        raw = base64.b64decode(sig.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        public_key.verify(raw, manifest)
    except InvalidSignature:
        return False
    return True


def sign_pdf(pdf: bytes) -> bytes:
    """`pdf` with a PAdES signature by the secretariat's certificate (an incremental update:
    the original bytes stay, byte for byte, at the start of the signed file)."""
    from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    if not configured():
        raise _not_configured()
    # The file may carry the chain after the signing certificate: it goes into the signature,
    # so a reader that trusts the issuing CA can build the path.
    cert, *chain = load_certs_from_pemder_data(settings.SIGNING_CERT_PEM)
    key = load_private_key_from_pemder_data(settings.SIGNING_CERT_KEY_PEM, passphrase=None)
    signer = signers.SimpleSigner(
        signing_cert=cert,
        signing_key=key,
        cert_registry=SimpleCertificateStore.from_certs([cert, *chain]),
    )
    meta = signers.PdfSignatureMetadata(
        field_name=PDF_SIGNATURE_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=_("Minutes filed by the secretariat"),
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    return signers.sign_pdf(writer, meta, signer=signer).getvalue()
