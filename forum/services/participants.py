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
from django.utils.translation import gettext as _

from forum.errors import ServiceError
from forum.models import Organization, RoundTable, Seat, User
from moderation.sanitize import plain_input

from .csv_input import csv_dialect, find_sector, sector_lookup
from .seat_rules import (
    PERSON_ROLES,
    QUOTA_ROLES,
    describe_limit,
    is_accredited,
    quota_seats,
    sector_seat_limits,
    staff_addresses,
)
from .seats import (
    join_url,
    organization_get_or_create,
    seat_link_issue,
    seat_save,
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


def _line(line: int, problem: str) -> str:
    return _("line %(line)s: %(problem)s") % {"line": line, "problem": problem}


def parse_participants(text: str, room: RoundTable) -> list[ParticipantRow]:
    """Parse and validate the whole file; raise ImportRefused listing every problem, in the
    active language. Comma, semicolon or tab separated (csv_input.csv_dialect); a sector by
    its slug or by its name in any interface language."""
    problems: list[str] = []
    columns = ",".join(COLUMNS)
    reader = csv.reader(io.StringIO(text), csv_dialect(text))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportRefused(
            [_line(1, _("the file is empty; expected the header %(header)s") % {"header": columns})]
        ) from None
    except csv.Error as exc:
        raise ImportRefused([_line(1, str(exc))]) from None
    header = [h.strip().lower() for h in header]
    if sorted(header) != sorted(COLUMNS) or len(header) != len(COLUMNS):
        raise ImportRefused(
            [
                _line(
                    1,
                    _(
                        "the header must be %(header)s, its columns separated by "
                        "commas, semicolons or tabs "
                        "(got %(got)s)"
                    )
                    % {"header": columns, "got": ",".join(header)},
                )
            ]
        )
    index = {name: header.index(name) for name in COLUMNS}

    sectors = {s.slug: s for s in room.dialogue.sectors.all()}
    lookup = sector_lookup(list(sectors.values()))
    known_orgs = {o.name.lower(): o for o in Organization.objects.select_related("sector")}
    staff = staff_addresses()
    # Seats a moderator removed (or whose identity was erased): withdrawn for good, so an
    # import never hands them a new link nor changes them.
    withdrawn = set(
        Seat.objects.filter(room=room, removed_at__isnull=False).values_list(
            "user__username", flat=True
        )
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
                problems.append(
                    _line(line, _("too many rows (at most %(max)s per file)") % {"max": MAX_ROWS})
                )
                break
            if len(record) != len(COLUMNS):
                problems.append(
                    _line(
                        line,
                        _("expected %(expected)s fields, found %(found)s")
                        % {"expected": len(COLUMNS), "found": len(record)},
                    )
                )
                continue
            # plain_input: no control characters (PostgreSQL refuses NUL), as typed text elsewhere.
            values = {name: " ".join(plain_input(record[i]).split()) for name, i in index.items()}
            row_problems = []
            for name, value in values.items():
                if len(value) > MAX_FIELD:
                    row_problems.append(
                        _("%(column)s is longer than %(max)s characters")
                        % {"column": name, "max": MAX_FIELD}
                    )
            name, email = values["name"], values["email"].lower()
            org, role = values["organization"], values["role"].lower()
            found = find_sector(lookup, values["sector"])
            sector = found.slug if found else values["sector"].lower()
            if not name:
                row_problems.append(_("name is empty"))
            try:
                validate_email(email)
            except ValidationError:
                row_problems.append(
                    _("email %(email)s is not a valid address") % {"email": repr(values["email"])}
                )
            else:
                if len(email) > MAX_EMAIL:
                    row_problems.append(
                        _("email is longer than %(max)s characters") % {"max": MAX_EMAIL}
                    )
            if email in staff:
                row_problems.append(
                    _(
                        "email %(email)s belongs to a staff account, and a seat never "
                        "carries staff rights: "
                        "give this person's seat another e-mail address (a seat "
                        "identity of its own)"
                    )
                    % {"email": email}
                )
            if email in withdrawn:
                row_problems.append(
                    _(
                        "the seat of %(email)s in this round table was removed by a "
                        "moderator; a removed "
                        "seat gets no new link: take the line out"
                    )
                    % {"email": email}
                )
            if email in seen_emails:
                row_problems.append(
                    _("email %(email)s already appears on line %(line)s")
                    % {"email": email, "line": seen_emails[email]}
                )
            else:
                seen_emails[email] = line
            if role not in PERSON_ROLES:
                row_problems.append(
                    _("role %(role)s is not one of %(roles)s")
                    % {"role": repr(values["role"]), "roles": ", ".join(PERSON_ROLES)}
                )
            if sector and sector not in sectors:
                row_problems.append(
                    _(
                        "sector %(sector)s is not one of %(sectors)s (a short name or "
                        "a sector's name)"
                    )
                    % {"sector": repr(values["sector"]), "sectors": ", ".join(sectors)}
                )
            if role in QUOTA_ROLES and not sector:
                row_problems.append(_("a delegate needs a sector"))
            if org and not sector:
                row_problems.append(_("an organization needs a sector"))
            if org and sector in sectors:
                existing = known_orgs.get(org.lower())
                if existing is not None and existing.sector.slug != sector:
                    row_problems.append(
                        _("organization %(org)s belongs to sector %(sector)s, not %(other)s")
                        % {
                            "org": repr(existing.name),
                            "sector": repr(existing.sector.slug),
                            "other": repr(sector),
                        }
                    )
                earlier = org_sector_in_file.setdefault(org.lower(), (sector, line))
                if earlier[0] != sector:
                    row_problems.append(
                        _("organization %(org)s is in sector %(sector)s on line %(line)s")
                        % {"org": repr(org), "sector": repr(earlier[0]), "line": earlier[1]}
                    )
            if room.require_accreditation and role in QUOTA_ROLES:
                row_problems.extend(_accreditation_problems(org, known_orgs))
            for problem in row_problems:
                problems.append(_line(line, problem))
            if not row_problems:
                rows.append(ParticipantRow(line, name, email, org, sector, role))
    except csv.Error as exc:
        problems.append(_line(reader.line_num, str(exc)))

    if not problems:
        problems.extend(_quota_problems(rows, room))
    if problems:
        raise ImportRefused(problems)
    if not rows:
        raise ImportRefused([_("the file has a header but no participants")])
    return rows


def _accreditation_problems(org: str, known_orgs: dict[str, Organization]) -> list[str]:
    """Why a delegate row cannot have a seat in a room that requires accreditation."""
    if not org:
        return [
            _(
                "this round table seats only delegates of accredited organizations; "
                "the organization is empty"
            )
        ]
    existing = known_orgs.get(org.lower())
    if existing is None:
        return [
            _(
                "organization %(org)s is not known; this round table seats only "
                "delegates of accredited "
                "organizations, and an import cannot accredit one (the secretariat "
                "does, in the admin)"
            )
            % {"org": repr(org)}
        ]
    if not is_accredited(existing):
        return [
            _(
                "organization %(org)s is %(state)s, not accredited; "
                "this round table seats only delegates of accredited organizations"
            )
            % {"org": repr(existing.name), "state": existing.get_accreditation_display().lower()}
        ]
    return []


def _quota_problems(rows: list[ParticipantRow], room: RoundTable) -> list[str]:
    """Seats per sector after the import: existing seats not in the file plus the file's."""
    in_file = {row.email for row in rows}
    after = Counter(
        sector
        for sector, username in quota_seats(room).values_list("sector__slug", "user__username")
        if username not in in_file
    )
    after.update(row.sector for row in rows if row.role in QUOTA_ROLES)
    limits = sector_seat_limits(room)
    problems = []
    for sector, count in sorted(after.items()):
        limit = limits.get(sector, room.seats_per_sector)
        if count > limit:
            problems.append(
                _(
                    "sector %(sector)s would have %(count)s delegates; this round "
                    "table has %(limit)s"
                )
                % {
                    "sector": repr(sector),
                    "count": count,
                    "limit": describe_limit(room, sector, limit),
                }
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
                name=row.organization,
                sector=sector,
                accreditation=Organization.Accreditation.APPLIED,
            )
            if row.organization
            else None
        )
        seat, created = seat_save(
            room=room,
            user=user,
            role=row.role,
            sector=sector,
            organization=org,
            actor=actor,
            via=via,
        )
        url = ""
        if created or reissue_links or seat.token_hash is None or seat.token_revoked_at is not None:
            url = join_url(seat_link_issue(seat=seat, actor=actor, via=via), base_url)
        results.append(ImportedSeat(row.name, row.email, row.role, url, created))
    return results
