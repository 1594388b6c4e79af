"""`make run`'s development signing set: created under DATA_DIR/signing when no key is
configured, and announced on the console, never committed (var/ is ignored)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from forum.minutes import keys


class Command(BaseCommand):
    help = (
        "With DEBUG on and no SIGNING_KEY/SIGNING_KEY_FILE configured, create the development "
        "signing key and self-signed PDF certificate under DATA_DIR/signing (once) and say so."
    )

    def handle(self, *args, **opts):
        if settings.SIGNING_KEY_PEM and settings.SIGNING_CERT_PEM:
            key = keys.load_signing_key(settings.SIGNING_KEY_PEM, "SIGNING_KEY")
            self.stdout.write(f"Signing key: configured, fingerprint {keys.fingerprint(key)}")
            return
        if settings.SIGNING_KEY_PEM or settings.SIGNING_CERT_PEM:
            missing = "SIGNING_CERT_FILE" if settings.SIGNING_KEY_PEM else "SIGNING_KEY_FILE"
            raise CommandError(f"Half a signing set is configured: set {missing} too.")
        if not settings.DEBUG:
            raise CommandError(
                "No signing key is configured and DEBUG is off: set SIGNING_KEY_FILE, "
                "SIGNING_CERT_FILE and SIGNING_CERT_KEY_FILE (a development key is only made "
                "with DEBUG=1)."
            )
        directory = settings.DATA_DIR / "signing"
        paths, created = keys.ensure_development_set(directory)
        key = keys.load_signing_key(
            paths[keys.DEVELOPMENT_KEY].read_bytes(), str(paths[keys.DEVELOPMENT_KEY])
        )
        verb = "Generated" if created else "Using"
        self.stdout.write(
            f"{verb} a DEVELOPMENT signing key and self-signed PDF certificate in {directory} "
            f"(not for production; fingerprint {keys.fingerprint(key)})."
        )
