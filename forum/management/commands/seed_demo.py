"""A demo round table that looks like the real thing (all people and organizations invented)."""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from forum.models import Committee, RoundTable, Sector
from forum.services.rooms import dialogue_get_or_create, room_create
from forum.services.seats import (
    demo_token,
    hash_token,
    join_url,
    organization_get_or_create,
    seat_issue_token,
    seat_upsert,
    user_upsert,
)

ROOM_SLUG = "demo-roundtable"
AGENDA = [
    "How governments, RIGOs and civil society overcome tensions and improve collaboration",
    "Who decides which CSOs are engaged, and how they are selected",
    "How CSOs can engage more effectively",
    "Collaboration in policy-making and implementation",
    "The role of the media",
]
# (name, e-mail, organization, sector, role): invented people and organizations.
PERSONAS = [
    ("Amara Okonkwo-Reyes", "chair@demo.roundtables.invalid", "", "", "chair"),
    ("Tomasi Vaka", "rapporteur@demo.roundtables.invalid", "", "", "rapporteur"),
    ("Ingrid Solberg", "observer@demo.roundtables.invalid", "", "", "observer"),
    (
        "Rafael Quintanilla",
        "gov1@demo.roundtables.invalid",
        "Ministry of Foreign Affairs of Costa Verde",
        "government",
        "delegate",
    ),
    (
        "Mereani Tuilagi",
        "gov2@demo.roundtables.invalid",
        "Office of the Prime Minister of Nalavu",
        "government",
        "delegate",
    ),
    (
        "Kwabena Asante-Mensah",
        "gov3@demo.roundtables.invalid",
        "Ministry of Interior of Sahelia",
        "government",
        "delegate",
    ),
    (
        "Lucía Ferreyra",
        "igo1@demo.roundtables.invalid",
        "Regional Peace Support Office",
        "intergovernmental",
        "delegate",
    ),
    (
        "Jean-Baptiste Kaboré",
        "igo2@demo.roundtables.invalid",
        "Early Warning Liaison Unit",
        "intergovernmental",
        "delegate",
    ),
    (
        "Sione Havili",
        "igo3@demo.roundtables.invalid",
        "UN Regional Coordination Desk",
        "intergovernmental",
        "delegate",
    ),
    (
        "Fatoumata Diallo-Sané",
        "cso1@demo.roundtables.invalid",
        "Women Peacebuilders Network of the Coast",
        "civil-society",
        "delegate",
    ),
    (
        "Mateo Ixcot",
        "cso2@demo.roundtables.invalid",
        "Highlands Human Rights Collective",
        "civil-society",
        "delegate",
    ),
    (
        "Losana Ratu",
        "cso3@demo.roundtables.invalid",
        "Pacific Youth for Climate Security",
        "civil-society",
        "delegate",
    ),
    (
        "Daniela Arce Molina",
        "priv1@demo.roundtables.invalid",
        "Isthmus Chamber of Commerce",
        "private-sector",
        "delegate",
    ),
    (
        "Emeka Obi-Lawson",
        "priv2@demo.roundtables.invalid",
        "Gulf Logistics Association",
        "private-sector",
        "delegate",
    ),
    (
        "Ana Tuiasosopo",
        "priv3@demo.roundtables.invalid",
        "Islands Telecom Cooperative",
        "private-sector",
        "delegate",
    ),
    (
        "Aïssatou Ndiaye",
        "acad1@demo.roundtables.invalid",
        "Institute for Regional Security Studies",
        "academia",
        "delegate",
    ),
    (
        "Joaquín Bermúdez Lanz",
        "acad2@demo.roundtables.invalid",
        "University of the Southern Coast",
        "academia",
        "delegate",
    ),
    (
        "Kalena Moana",
        "acad3@demo.roundtables.invalid",
        "Oceania Policy Research Centre",
        "academia",
        "delegate",
    ),
]


# The registry a secretariat starts from: bodies that receive outcomes of such dialogues.
COMMITTEES = [
    (
        "Forum Regional Security Committee",
        "Pacific Islands Forum",
        "en, fr",
        "Security-related recommendations from the Forum's dialogues; submissions in English.",
    ),
    (
        "General Assembly (civil society dialogue)",
        "Organization of American States",
        "en, es, fr, pt",
        "Recommendations from registered civil society dialogues, in one of the four "
        "official languages.",
    ),
    (
        "Economic, Social and Cultural Council (ECOSOCC)",
        "African Union",
        "en, fr, pt, ar",
        "Civil society input on the Union's programmes.",
    ),
    (
        "Peace and Security Council",
        "African Union",
        "en, fr",
        "Submissions through its secretariat, on conflict prevention and early warning.",
    ),
    (
        "Early Warning Directorate",
        "ECOWAS",
        "en, fr, pt",
        "Early warning and response recommendations.",
    ),
    ("Consultative Committee", "SICA", "es", "Proposals from regional civil society, in Spanish."),
]


class Command(BaseCommand):
    help = (
        "Create (or refresh) the demo dialogue and its Chatham House round table; print join links."
    )

    def add_arguments(self, parser):
        parser.add_argument("--base-url", help="base of the printed links (default BASE_URL)")
        parser.add_argument("--quiet", action="store_true", help="do not print the links")

    @transaction.atomic
    def handle(self, *args, **opts):
        dialogue = dialogue_get_or_create(
            slug="rigo-cso-dialogue",
            title="RIGO–CSO dialogue on peace, security and development",
            convener="A regional organization's secretariat with a regional civil society network",
        )
        room = RoundTable.objects.filter(slug=ROOM_SLUG).first() or room_create(
            dialogue=dialogue,
            slug=ROOM_SLUG,
            title="Closed round table: civil society in regional peace and security",
            rule=RoundTable.Rule.CHATHAM_HOUSE,
            attribution=RoundTable.Attribution.SECTOR,
            seats_per_sector=5,
            k=3,
            status=RoundTable.Status.LIVE,
            agenda=AGENDA,
        )
        for name, rigo, languages, accepts in COMMITTEES:
            Committee.objects.get_or_create(
                rigo=rigo,
                name=name,
                defaults={"working_languages": languages, "accepts": accepts},
            )
        sectors = {s.slug: s for s in Sector.objects.all()}
        lines = []
        for name, email, org_name, sector_slug, role in PERSONAS:
            sector = sectors.get(sector_slug) if sector_slug else None
            org = organization_get_or_create(name=org_name, sector=sector) if org_name else None
            user = user_upsert(email=email, name=name)
            seat, _ = seat_upsert(room=room, user=user, role=role, sector=sector, organization=org)
            token = demo_token(room.slug, email)
            if seat.token_hash != hash_token(token) or seat.token_revoked_at is not None:
                # Only when the seat lacks its demo link: issuing it again on every run would
                # end the demo's open sessions each time `make run` starts.
                seat_issue_token(seat=seat, token=token)
            label = f"{role} · {sector.name}" if sector else role
            lines.append(f"  {label:<30} {name:<24} {join_url(token, opts['base_url'])}")
        if not opts["quiet"]:
            self.stdout.write(
                f"Demo round table {room.slug!r} ({room.get_rule_display()}, "
                f"{room.attribution} attribution)."
            )
            self.stdout.write(
                "Join links (open two in different browsers, or one in a private window):"
            )
            self.stdout.write("\n".join(lines))
            base = (opts["base_url"] or settings.BASE_URL).rstrip("/")
            self.stdout.write(
                f"Minutes: {base}/rooms/{room.slug}/minutes/ · outcomes: "
                f"{base}/rooms/{room.slug}/outcomes/\n"
                f"Secretariat: sign in at {base}/sign-in/ with a staff account; make "
                f"the first one with "
                f"`make staff EMAIL=you@example.org` (or DEBUG=1 .venv/bin/python "
                f"manage.py create_staff "
                f"you@example.org), then open {base}/secretariat/ · submissions: "
                f"{base}/rooms/{room.slug}/submissions/ · committees: "
                f"{base}/secretariat/committees/"
            )
