from django.core.management.base import BaseCommand, CommandError

from forum.errors import ServiceError
from forum.management.commands.deliver_submissions import refresh_connections
from forum.models import RoundTable
from forum.services.retention import Erasure, purge_due_at, room_purge_identities, rooms_due
from moderation.audit_mac import UnknownKey


class Command(BaseCommand):
    help = (
        "Erase the names, e-mail addresses and organizations of the seats of every round table "
        "whose retention period after adoption has passed (or of SLUG only), keeping pseudonyms, "
        "sectors, the minutes, the submissions and a verifiable audit log. Run it from cron "
        "(daily is enough). --dry-run says what it would erase and changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", nargs="?", help="only this round table")
        parser.add_argument(
            "--dry-run", action="store_true", help="report what would be erased; change nothing"
        )

    def handle(self, *args, **opts):
        dry_run = opts["dry_run"]
        if opts["slug"]:
            room = RoundTable.objects.filter(slug=opts["slug"]).first()
            if room is None:
                raise CommandError(f"there is no round table with the slug {opts['slug']!r}")
            rooms = [room]
        else:
            rooms = rooms_due()
            if not rooms:
                self.stdout.write("nothing due")
                return
        failed = 0
        for room in rooms:
            refresh_connections()  # a long run survives a database restart between rooms
            try:
                done = room_purge_identities(room=room, dry_run=dry_run)
            except ServiceError as exc:
                if opts["slug"] and exc.code in ("not_due", "already_purged"):
                    # Asked about one round table with nothing to erase: say why, and succeed.
                    self.stdout.write(f"{room.slug}: {exc.message}")
                    continue
                failed += 1
                self.stderr.write(f"{room.slug}: {exc.message} ({exc.code})")
                continue
            except UnknownKey as exc:
                failed += 1
                self.stderr.write(
                    f"{room.slug}: an audit entry is sealed with key id {exc}, which this server "
                    "does not hold: list that key in AUDIT_OLD_KEYS. Nothing was erased."
                )
                continue
            self.stdout.write(line(room, done, dry_run))
        if failed:
            raise CommandError(f"{failed} round table(s) could not be purged")


def line(room: RoundTable, done: Erasure, dry_run: bool) -> str:
    verb = "would erase" if dry_run else "erased"
    due = purge_due_at(room)
    since = f" (retention ended {due.date().isoformat()})" if due else ""
    return (
        f"{room.slug}{since}: {verb} the identities of {done.seats} seat(s); "
        f"{done.people_deleted} account(s) deleted, {done.people_kept} kept for other round tables "
        f"or staff, {done.organizations_deleted} organization(s) deleted; "
        f"{done.texts} text(s) and {done.audit_fields} audit field(s) named someone"
    )
