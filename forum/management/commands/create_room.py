from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from forum.errors import ServiceError
from forum.models import RoundTable
from forum.services.rooms import dialogue_get_or_create, room_create
from forum.services.seats import base_url

DEFAULT_DIALOGUE = ("default", "Round tables")


class Command(BaseCommand):
    help = "Create a round table with the default sectors and one agenda item."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("title")
        parser.add_argument("--rule", choices=RoundTable.Rule.values, default=RoundTable.Rule.CHATHAM_HOUSE)
        parser.add_argument(
            "--attribution", choices=RoundTable.Attribution.values, default=None,
            help="default: sector under chatham-house, named when the rule is open",
        )
        parser.add_argument("--seats-per-sector", type=int, default=10)
        parser.add_argument("--k", type=int, default=3)
        parser.add_argument(
            "--status", choices=RoundTable.Status.values, default=RoundTable.Status.LIVE,
            help="live (default) accepts interventions at once; scheduled waits to be opened",
        )
        parser.add_argument("--dialogue", default=DEFAULT_DIALOGUE[0], help="slug of the dialogue (created if missing)")
        parser.add_argument("--language", default="en", help="language of the minutes: en, es, fr or pt (default en)")

    @transaction.atomic
    def handle(self, *args, **opts):
        dialogue = dialogue_get_or_create(
            slug=opts["dialogue"],
            title=DEFAULT_DIALOGUE[1] if opts["dialogue"] == DEFAULT_DIALOGUE[0] else opts["dialogue"],
        )
        try:
            room = room_create(
                dialogue=dialogue,
                slug=opts["slug"],
                title=opts["title"],
                rule=opts["rule"],
                attribution=opts["attribution"],
                seats_per_sector=opts["seats_per_sector"],
                k=opts["k"],
                status=opts["status"],
                language=opts["language"],
            )
        except ServiceError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"{base_url()}/rooms/{room.slug}/")
