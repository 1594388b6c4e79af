"""Importing participants from a secretariat's CSV: all rows or none.

Every row is checked first and every problem is reported with its line number; only a
file without a single problem is applied, in one transaction.

Quotas: delegates per sector after the import may not exceed the sector's seats (its own
number, else the room's seats_per_sector); observers, the chair, moderators and the
rapporteur sit outside the quotas.

Accreditation: an import never accredits. Organizations it creates start as "applied"
(the secretariat accredits them in the admin). When the round table requires
accreditation, every delegate row must name an organization that already exists and is
accredited; a row that names none, a new one, or one that is applied or suspended is
reported with its line.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from forum.errors import ServiceError
from forum.models import Organization, RoundTable, Seat, User
from moderation.sanitize import plain_input

from .seats import (
    PERSON_ROLES,
    QUOTA_ROLES,
    describe_limit,
    is_accredited,
    join_url,
    organization_get_or_create,
    quota_seats,
    seat_link_issue,
    seat_save,
    sector_seat_limits,
    staff_addresses,
    user_upsert,
)

COLUMNS = ("name", "email", "organization", "sector", "role")
MAX_ROWS = 5000
MAX_FIELD = 200
# The address becomes the username (forum/services/seats.py, user_upsert).
MAX_EMAIL = User._meta.get_field("username").max_length


@dataclass(frozen=True)
class ParticipantRow:
    line: int
    name: str
    email: str
    organization: str
    sector: str
    role: str


@dataclass(frozen=True)
class ImportedSeat:
    name: str
    email: str
    role: str
    join_url: str  # empty when an existing seat kept its link
    created: bool


class ImportRefused(ServiceError):
    def __init__(self, problems: list[str]):
        super().__init__("import_refused", "\n".join(problems))
        self.problems = problems


def parse_participants(text: str, room: RoundTable) -> list[ParticipantRow]:
    """Parse and validate the whole file; raise ImportRefused listing every problem."""
    problems: list[str] = []
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportRefused(["line 1: the file is empty; expected the header " + ",".join(COLUMNS)]) from None
    except csv.Error as exc:
        raise ImportRefused([f"line 1: {exc}"]) from None
    header = [h.strip().lower() for h in header]
    if sorted(header) != sorted(COLUMNS) or len(header) != len(COLUMNS):
        raise ImportRefused([f"line 1: the header must be {','.join(COLUMNS)} (got {','.join(header)})"])
    index = {name: header.index(name) for name in COLUMNS}

    sectors = {s.slug: s for s in room.dialogue.sectors.all()}
    known_orgs = {o.name.lower(): o for o in Organization.objects.select_related("sector")}
    staff = staff_addresses()
    # Seats a moderator removed (or whose identity was erased): withdrawn for good, so an
    # import never hands them a new link nor changes them.
    withdrawn = set(
        Seat.objects.filter(room=room, removed_at__isnull=False).values_list("user__username", flat=True)
    )
    rows: list[ParticipantRow] = []
    seen_emails: dict[str, int] = {}
    org_sector_in_file: dict[str, tuple[str, int]] = {}
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) >= MAX_ROWS:
                problems.append(f"line {line}: too many rows (at most {MAX_ROWS} per file)")
                break
            if len(record) != len(COLUMNS):
                problems.append(f"line {line}: expected {len(COLUMNS)} fields, found {len(record)}")
                continue
            # plain_input: no control characters (PostgreSQL refuses NUL), as typed text elsewhere.
            values = {name: " ".join(plain_input(record[i]).split()) for name, i in index.items()}
            row_problems = []
            for name, value in values.items():
                if len(value) > MAX_FIELD:
                    row_problems.append(f"{name} is longer than {MAX_FIELD} characters")
            name, email = values["name"], values["email"].lower()
            org, sector, role = values["organization"], values["sector"].lower(), values["role"].lower()
            if not name:
                row_problems.append("name is empty")
            try:
                validate_email(email)
            except ValidationError:
                row_problems.append(f"email {values['email']!r} is not a valid address")
            else:
                if len(email) > MAX_EMAIL:
                    row_problems.append(f"email is longer than {MAX_EMAIL} characters")
            if email in staff:
                row_problems.append(
                    f"email {email} belongs to a staff account, and a seat never carries staff rights: "
                    "give this person's seat another e-mail address (a seat identity of its own)"
                )
            if email in withdrawn:
                row_problems.append(
                    f"the seat of {email} in this round table was removed by a moderator; a removed "
                    "seat gets no new link: take the line out"
                )
            if email in seen_emails:
                row_problems.append(f"email {email} already appears on line {seen_emails[email]}")
            else:
                seen_emails[email] = line
            if role not in PERSON_ROLES:
                row_problems.append(f"role {values['role']!r} is not one of {', '.join(PERSON_ROLES)}")
            if sector and sector not in sectors:
                row_problems.append(f"sector {values['sector']!r} is not one of {', '.join(sectors)}")
            if role in QUOTA_ROLES and not sector:
                row_problems.append("a delegate needs a sector")
            if org and not sector:
                row_problems.append("an organization needs a sector")
            if org and sector in sectors:
                existing = known_orgs.get(org.lower())
                if existing is not None and existing.sector.slug != sector:
                    row_problems.append(
                        f"organization {existing.name!r} belongs to sector {existing.sector.slug!r}, not {sector!r}"
                    )
                earlier = org_sector_in_file.setdefault(org.lower(), (sector, line))
                if earlier[0] != sector:
                    row_problems.append(
                        f"organization {org!r} is in sector {earlier[0]!r} on line {earlier[1]}"
                    )
            if room.require_accreditation and role in QUOTA_ROLES:
                row_problems.extend(_accreditation_problems(org, known_orgs))
            for problem in row_problems:
                problems.append(f"line {line}: {problem}")
            if not row_problems:
                rows.append(ParticipantRow(line, name, email, org, sector, role))
    except csv.Error as exc:
        problems.append(f"line {reader.line_num}: {exc}")

    if not problems:
        problems.extend(_quota_problems(rows, room))
    if problems:
        raise ImportRefused(problems)
    if not rows:
        raise ImportRefused(["the file has a header but no participants"])
    return rows


def _accreditation_problems(org: str, known_orgs: dict[str, Organization]) -> list[str]:
    """Why a delegate row cannot have a seat in a room that requires accreditation."""
    if not org:
        return ["this round table seats only delegates of accredited organizations; the organization is empty"]
    existing = known_orgs.get(org.lower())
    if existing is None:
        return [
            f"organization {org!r} is not known; this round table seats only delegates of accredited "
            "organizations, and an import cannot accredit one (the secretariat does, in the admin)"
        ]
    if not is_accredited(existing):
        return [
            f"organization {existing.name!r} is {existing.get_accreditation_display().lower()}, not accredited; "
            "this round table seats only delegates of accredited organizations"
        ]
    return []


def _quota_problems(rows: list[ParticipantRow], room: RoundTable) -> list[str]:
    """Seats per sector after the import: existing seats not in the file plus the file's."""
    in_file = {row.email for row in rows}
    after = Counter(
        sector
        for sector, username in quota_seats(room).values_list(
            "sector__slug", "user__username"
        )
        if username not in in_file
    )
    after.update(row.sector for row in rows if row.role in QUOTA_ROLES)
    limits = sector_seat_limits(room)
    problems = []
    for sector, count in sorted(after.items()):
        limit = limits.get(sector, room.seats_per_sector)
        if count > limit:
            problems.append(
                f"sector {sector!r} would have {count} delegates; this round table has "
                f"{describe_limit(room, sector, limit)}"
            )
    return problems


@transaction.atomic
def participants_import(
    *,
    room: RoundTable,
    text: str,
    actor: User | None,
    via: str,
    base_url: str | None = None,
    reissue_links: bool = False,
) -> list[ImportedSeat]:
    """Create or update users and seats from CSV text. Refuses the whole file on any problem.

    New seats get a join link. Seats that already had one keep it (the link already sent
    stays valid) unless `reissue_links` is set, which replaces and revokes it (and ends the
    sessions it opened). Every seat and link change goes through seat_save and
    seat_link_issue, and so into the room's audit log, with `via` (`csv_import` from the
    secretariat's page, `import_participants` from the command) and `actor` (the secretariat's
    account; None for the command).
    """
    rows = parse_participants(text, room)
    sectors = {s.slug: s for s in room.dialogue.sectors.all()}
    results = []
    for row in rows:
        user = user_upsert(email=row.email, name=row.name)
        sector = sectors.get(row.sector) if row.sector else None
        # An import never accredits: organizations it creates start as applied.
        org = (
            organization_get_or_create(
                name=row.organization, sector=sector, accreditation=Organization.Accreditation.APPLIED
            )
            if row.organization
            else None
        )
        seat, created = seat_save(
            room=room, user=user, role=row.role, sector=sector, organization=org, actor=actor, via=via
        )
        url = ""
        if created or reissue_links or seat.token_hash is None or seat.token_revoked_at is not None:
            url = join_url(seat_link_issue(seat=seat, actor=actor, via=via), base_url)
        results.append(ImportedSeat(row.name, row.email, row.role, url, created))
    return results

