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
        parser.add_argument(
            "--rule", choices=RoundTable.Rule.values, default=RoundTable.Rule.CHATHAM_HOUSE
        )
        parser.add_argument(
            "--attribution",
            choices=RoundTable.Attribution.values,
            default=None,
            help="default: sector under chatham-house, named when the rule is open",
        )
        parser.add_argument("--seats-per-sector", type=int, default=10)
        parser.add_argument("--k", type=int, default=3)
        parser.add_argument(
            "--status",
            choices=RoundTable.Status.values,
            default=RoundTable.Status.LIVE,
            help="live (default) accepts interventions at once; scheduled waits to be opened",
        )
        parser.add_argument(
            "--dialogue",
            default=DEFAULT_DIALOGUE[0],
            help="slug of the dialogue (created if missing)",
        )
        parser.add_argument(
            "--language",
            default="en",
            help="language of the minutes: en, es, fr or pt (default en)",
        )
        parser.add_argument(
            "--starts",
            default=None,
            help="scheduled start, ISO 8601 (e.g. 2027-03-04T09:00), in the round table's "
            "time zone",
        )
        parser.add_argument("--ends", default=None, help="scheduled end, as --starts")
        parser.add_argument(
            "--time-zone",
            default="UTC",
            help="IANA time zone of the session, e.g. Pacific/Auckland (default UTC)",
        )
        parser.add_argument(
            "--place",
            default="",
            help='the city where it sits; empty or "online" for a session online only',
        )
        parser.add_argument(
            "--hybrid",
            action="store_true",
            help="with --place: delegates also take part online",
        )

    @transaction.atomic
    def handle(self, *args, **opts):
        dialogue = dialogue_get_or_create(
            slug=opts["dialogue"],
            title=DEFAULT_DIALOGUE[1]
            if opts["dialogue"] == DEFAULT_DIALOGUE[0]
            else opts["dialogue"],
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
                starts_at=opts["starts"],
                ends_at=opts["ends"],
                time_zone=opts["time_zone"],
                place=opts["place"],
                online=True if opts["hybrid"] or not opts["place"].strip() else None,
            )
        except ServiceError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"{base_url()}/rooms/{room.slug}/")
