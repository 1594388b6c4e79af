"""A participants CSV as secretariats save it: the bytes decoded, the separator found, and
sectors recognised by slug or by their name in any interface language.

Spreadsheets in Spanish, French and Portuguese save "CSV" with semicolons; Excel's "CSV UTF-8"
starts with a byte order mark; tab-separated files come from copy and paste. All are read the
same. Other encodings are refused with a message that says how to save the file.
"""

from __future__ import annotations

import csv
import unicodedata

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from forum.errors import ServiceError
from forum.minutes.phrases import sector_name
from forum.models import Sector

DELIMITERS = ",;\t"
SAMPLE = 64 * 1024


def decode_csv(data: bytes) -> str:
    """UTF-8 text, with or without a byte order mark; otherwise refused with `not_utf8` and a
    message (in the active language) that says how to save the file."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ServiceError(
            "not_utf8",
            _(
                "The file is UTF-16 text, not UTF-8. Save it as “CSV UTF-8” (comma or "
                "semicolon separated) and try again."
            ),
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ServiceError(
            "not_utf8",
            _(
                "The file is not UTF-8 text (byte %(n)s): it was probably saved in a regional "
                "encoding such as Windows-1252. Save it as “CSV UTF-8” and try again."
            )
            % {"n": exc.start},
        ) from None


def csv_dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    """The file's dialect: comma, semicolon or tab, found by csv.Sniffer on the first lines;
    when the sniffer cannot tell, the separator the header line holds most of (else comma)."""
    sample = text[:SAMPLE]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=DELIMITERS)
        if dialect.delimiter in DELIMITERS:
            return dialect
    except csv.Error:
        pass
    header = sample.split("\n", 1)[0]
    counts = {sep: header.count(sep) for sep in DELIMITERS}
    best = max(DELIMITERS, key=lambda sep: counts[sep])

    class Fallback(csv.excel):
        delimiter = best if counts[best] else ","

    return Fallback


def _key(text: str) -> str:
    # "Sociedad civil", "sociedad  civil" and "SOCIEDAD CIVIL" are one name; accents count.
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def sector_lookup(sectors: list[Sector]) -> dict[str, Sector]:
    """Every way a CSV may name a sector: its slug, its stored name, and its name as each
    interface language shows it (en, es, fr, pt), all compared case-insensitively."""
    lookup: dict[str, Sector] = {}
    for sector in sectors:
        lookup[_key(sector.slug)] = sector
        lookup.setdefault(_key(sector.name), sector)
        for code, _name in settings.LANGUAGES:
            with translation.override(code):
                lookup.setdefault(_key(sector_name(sector.name)), sector)
    return lookup


def find_sector(lookup: dict[str, Sector], value: str) -> Sector | None:
    return lookup.get(_key(value)) if value.strip() else None
