from django.core.management.base import BaseCommand, CommandError

from forum.models import RoundTable
from moderation.audit import audit_verify


class Command(BaseCommand):
    help = (
        "Verify the hash chain of a round table's audit log. Prints the number of entries, or "
        "the first entry that was altered, inserted or removed (and exits with status 1)."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the round table's slug")

    def handle(self, *args, **opts):
        slug = opts["slug"]
        room = RoundTable.objects.filter(slug=slug).first()
        if room is None:
            raise CommandError(f"there is no round table with the slug {slug!r}")
        report = audit_verify(room)
        if not report.ok:
            raise CommandError(f"audit log of {slug}: {report.problem}")
        noun = "entry" if report.entries == 1 else "entries"
        self.stdout.write(f"audit log of {slug}: {report.entries} {noun}, chain intact")
