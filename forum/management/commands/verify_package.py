"""Check a submission package: every file against the manifest, the manifest against the
secretariat's signature.

Exit status: 0 the package is exactly what the key's holder signed; 1 it is not (a file was
changed, added or removed, the signature is missing, or another key signed it); 2 it could not
be checked (no such file, not a package, no usable key).
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from forum.minutes import keys
from forum.minutes.package import UnreadablePackage, verify_package

MAX_BYTES = 512 * 1024 * 1024  # a package is minutes and a letter: anything larger is not one


class Command(BaseCommand):
    help = (
        "Verify a submission package (ZIP): the SHA-256 and size of every file listed in "
        "manifest.json, no unlisted file, and manifest.sig, the Ed25519 signature of "
        "manifest.json, under the secretariat's public key (--key PUB, else the configured "
        "signing key). Exit status 0: verified; 1: refused (changed, or signed by another key); "
        "2: could not be checked."
    )

    def add_arguments(self, parser):
        parser.add_argument("package", help="the package's ZIP file")
        parser.add_argument(
            "--key",
            metavar="PUB",
            help="the secretariat's public key in PEM (as published at "
            "/.well-known/roundtables-signing-key.pem); default: the configured signing key",
        )

    def handle(self, *args, **opts):
        public_key = self._key(opts["key"])
        path = Path(opts["package"])
        try:
            if path.stat().st_size > MAX_BYTES:
                raise CommandError(
                    f"{path}: larger than {MAX_BYTES} bytes, not a package", returncode=2
                )
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{path}: cannot read it ({exc.strerror})", returncode=2) from None
        try:
            problems = verify_package(data, public_key)
        except UnreadablePackage as exc:
            raise CommandError(f"{path}: {exc}", returncode=2) from None
        if problems:
            for problem in problems[:-1]:
                self.stderr.write(f"{path}: {problem}")
            raise CommandError(f"{path}: {problems[-1]}", returncode=1)
        self.stdout.write(f"{path}: verified, signed by the key {keys.fingerprint(public_key)}")

    def _key(self, option):
        if option:
            try:
                pem = Path(option).read_bytes()
            except OSError as exc:
                raise CommandError(
                    f"--key {option}: cannot read it ({exc.strerror})", returncode=2
                ) from None
            where = f"--key {option}"
        elif settings.SIGNING_KEY_PEM:
            pem, where = settings.SIGNING_KEY_PEM, "SIGNING_KEY"
        else:
            raise CommandError(
                "no key to check against: pass --key PUB (the published public key) or configure "
                "SIGNING_KEY_FILE",
                returncode=2,
            )
        try:
            return keys.load_public_key(pem, where)
        except keys.BadKey as exc:
            raise CommandError(str(exc), returncode=2) from None
