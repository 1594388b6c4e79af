import re

from django.core.management.base import BaseCommand, CommandError

from forum.models import RoundTable
from moderation.audit import audit_verify

HEX = re.compile(r"[0-9a-f]{64}")


class Command(BaseCommand):
    help = (
        "Verify the keyed MAC chain of a round table's audit log. Prints the number of entries, "
        "or the first entry that was altered, inserted or removed (and exits with status 1). "
        "--head HEX: the chain head printed in the adopted minutes or a submission manifest; "
        "the log must still hold that entry, so nothing before it was rewritten."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the round table's slug")
        parser.add_argument(
            "--head", metavar="HEX",
            help="the MAC of the chain's head as a document printed it (64 hex digits)",
        )

    def handle(self, *args, **opts):
        slug = opts["slug"]
        anchor = opts["head"]
        if anchor is not None:
            anchor = anchor.strip().lower()
            if not HEX.fullmatch(anchor):
                raise CommandError(f"--head takes the 64 hex digits of a MAC, not {opts['head']!r}")
        room = RoundTable.objects.filter(slug=slug).first()
        if room is None:
            raise CommandError(f"there is no round table with the slug {slug!r}")
        report = audit_verify(room, anchor=anchor)
        if not report.ok:
            raise CommandError(f"audit log of {slug}: {report.problem}")
        noun = "entry" if report.entries == 1 else "entries"
        line = f"audit log of {slug}: {report.entries} {noun}, chain intact"
        if report.anchor_seq is not None:
            line += f"; the head {anchor} is entry {report.anchor_seq}: nothing up to it was rewritten"
        self.stdout.write(line)
