import csv
import io
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from forum.errors import ServiceError
from forum.models import RoundTable
from forum.services.csv_input import decode_csv
from forum.services.participants import ImportRefused, participants_import

MAX_FILE_BYTES = 5 * 1024 * 1024


class Command(BaseCommand):
    help = (
        "Create or update users and seats from a CSV with the header "
        "name,email,organization,sector,role (comma, semicolon or tab separated; UTF-8 with or "
        "without BOM). Refuses the whole file if any row is invalid."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("file")
        parser.add_argument(
            "--out", help="write name,email,role,join_url rows here (default: stdout)"
        )
        parser.add_argument("--base-url", help="e.g. https://roundtables.example.org")
        parser.add_argument(
            "--reissue-links",
            action="store_true",
            help="give every seat in the file a new link (revokes links already sent)",
        )
        parser.add_argument(
            "--language",
            choices=[code for code, _name in settings.LANGUAGES],
            default=settings.LANGUAGE_CODE,
            help="language of the messages (en, es, fr, pt; default: the site's)",
        )

    # The command's own words are in --language: the problems of a file are read by the
    # secretariat that prepared it.
    def execute(self, *args, **opts):
        with translation.override(opts.get("language") or settings.LANGUAGE_CODE):
            return super().execute(*args, **opts)

    def handle(self, *args, **opts):
        room = RoundTable.objects.filter(slug=opts["slug"]).first()
        if room is None:
            raise CommandError(
                _("There is no round table with slug %(slug)s.") % {"slug": repr(opts["slug"])}
            )
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(_("%(path)s: no such file.") % {"path": path})
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CommandError(
                _("%(path)s: larger than %(max)s MiB.")
                % {"path": path, "max": MAX_FILE_BYTES // (1024 * 1024)}
            )
        try:
            text = decode_csv(path.read_bytes())
        except ServiceError as exc:
            raise CommandError(f"{path}: {exc.message}") from None
        try:
            # The new links exist only in this output: if it cannot be written, import nothing.
            with transaction.atomic():
                results = participants_import(
                    room=room,
                    text=text,
                    actor=None,
                    via="import_participants",
                    base_url=opts["base_url"],
                    reissue_links=opts["reissue_links"],
                )
                rows = io.StringIO()
                writer = csv.writer(rows)
                writer.writerow(["name", "email", "role", "join_url"])
                for r in results:
                    writer.writerow([r.name, r.email, r.role, r.join_url])
                if opts["out"]:
                    Path(opts["out"]).write_text(rows.getvalue(), encoding="utf-8", newline="")
        except ImportRefused as exc:
            raise CommandError(
                _("%(path)s: nothing was imported; fix these rows and try again:") % {"path": path}
                + "\n  "
                + "\n  ".join(exc.problems)
            ) from None
        except OSError as exc:
            raise CommandError(
                _("%(path)s: cannot write the links (%(error)s); nothing was imported.")
                % {"path": opts["out"], "error": exc.strerror}
            ) from None
        if not opts["out"]:
            self.stdout.write(rows.getvalue(), ending="")
        created = sum(r.created for r in results)
        kept = sum(1 for r in results if not r.join_url)
        summary = (
            f"{len(results)} participants: {created} new seats, {len(results) - created} updated"
        )
        if kept:
            summary += f"; {kept} existing seats kept their links (--reissue-links to replace them)"
        self.stderr.write(summary)
