import getpass
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from forum.errors import ServiceError
from forum.services.staff import staff_account_save


class Command(BaseCommand):
    help = (
        "Create a staff account for the secretariat (or set a new password on it). It signs in "
        "at /sign-in/ and holds no seat."
    )

    # Tests hand the password in with call_command(..., stdin=...).
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument(
            "email", help="the account's e-mail address, which is also what it signs in with"
        )
        parser.add_argument(
            "--password-from-stdin",
            action="store_true",
            help="read the password from the first line of standard input instead of asking for it",
        )

    def handle(self, *args, **opts):
        if opts["password_from_stdin"]:
            stdin = opts.get("stdin") or sys.stdin
            password = stdin.readline().rstrip("\r\n")
        else:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The two passwords differ; nothing was changed.")
        try:
            user, created = staff_account_save(email=opts["email"], password=password)
        except ServiceError as exc:
            raise CommandError(exc.message) from None
        what = "Created" if created else "Updated"
        base = settings.BASE_URL.rstrip("/")
        self.stdout.write(f"{what} the staff account {user.username}. Sign in at {base}/sign-in/")
