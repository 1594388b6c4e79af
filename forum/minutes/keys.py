"""The secretariat's keys, as PEM: loading, fingerprints and the development set.

Two keys, for two readers:

- an Ed25519 key signs the submission package's `manifest.json` (`manifest.sig`); its public
  half is published by the product and checked by `verify_package`;
- an ECDSA P-256 key with its X.509 certificate signs the PDF (PAdES). PDF readers verify
  RSA and ECDSA certificates but few know Ed25519, so the PDF has its own certificate.

This module needs `cryptography` only (no Django): the test settings and `make run` create the
development set with it before Django is configured.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

DEVELOPMENT_KEY = "signing-ed25519.pem"
DEVELOPMENT_CERT = "pdf-certificate.pem"
DEVELOPMENT_CERT_KEY = "pdf-certificate-key.pem"
DEVELOPMENT_NAME = "Round tables secretariat (development only)"


class BadKey(ValueError):
    """A configured key or certificate that cannot be used; the message names the problem."""


def load_signing_key(pem: bytes, where: str) -> ed25519.Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise BadKey(f"{where} is not an unencrypted PEM private key ({exc}).") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise BadKey(f"{where} must be an Ed25519 private key, not {type(key).__name__}.")
    return key


def load_public_key(pem: bytes, where: str) -> ed25519.Ed25519PublicKey:
    """A public key, or the public half of a private key, in PEM."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        try:
            key = serialization.load_pem_private_key(pem, password=None).public_key()
        except (ValueError, TypeError):
            raise BadKey(f"{where} is not a PEM public key.") from None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise BadKey(f"{where} must be an Ed25519 public key, not {type(key).__name__}.")
    return key


def public_pem(key: ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        key = key.public_key()
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def fingerprint(key: ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey) -> str:
    """`SHA256:` and the base64 of the SHA-256 of the public key's DER (SubjectPublicKeyInfo),
    the form OpenSSH prints, so two people can compare it read aloud."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        key = key.public_key()
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode("ascii").rstrip("=")


def check_certificate(cert_pem: bytes, key_pem: bytes, where: str) -> None:
    """The PDF certificate and its key must parse and belong together."""
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        raise BadKey(f"{where}: the certificate is not a PEM X.509 certificate.") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise BadKey(
            f"{where}: the certificate's key is not an unencrypted PEM private key."
        ) from None
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if cert.public_key().public_bytes(
        serialization.Encoding.DER, spki
    ) != key.public_key().public_bytes(serialization.Encoding.DER, spki):
        raise BadKey(f"{where}: the certificate and the key do not belong together.")


def _self_signed_certificate(name: str) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def generate_set(name: str = DEVELOPMENT_NAME) -> dict[str, bytes]:
    """A fresh Ed25519 signing key and a self-signed ECDSA P-256 certificate, by file name."""
    signing = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    cert, cert_key = _self_signed_certificate(name)
    return {DEVELOPMENT_KEY: signing, DEVELOPMENT_CERT: cert, DEVELOPMENT_CERT_KEY: cert_key}


def ensure_development_set(directory: Path) -> tuple[dict[str, Path], bool]:
    """The development key and certificate under `directory` (created when missing), and
    whether they were created now. The three files appear together or not at all: they are
    written to a sibling directory renamed into place, so concurrent callers agree on one set."""
    directory = Path(directory)
    paths = {
        name: directory / name for name in (DEVELOPMENT_KEY, DEVELOPMENT_CERT, DEVELOPMENT_CERT_KEY)
    }
    if all(p.exists() for p in paths.values()):
        return paths, False
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".signing-", dir=directory.parent))
    for name, data in generate_set().items():
        (staging / name).write_bytes(data)
        os.chmod(staging / name, 0o600)
    try:
        os.rename(staging, directory)
        created = True
    except OSError:  # another process won the race (or a partial directory is in the way)
        for name in paths:
            (staging / name).unlink()
        staging.rmdir()
        created = False
        if not all(p.exists() for p in paths.values()):
            raise BadKey(
                f"{directory} exists but does not hold the development key and certificate."
            )
    return paths, created
