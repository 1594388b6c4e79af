"""The PDF's fonts: which ones typst may use, and which characters they can show.

typst embeds its own fonts (Libertinus Serif for the text, DejaVu Sans Mono for code); other
scripts come from the system's font folders below when they are there: DejaVu (Greek,
Cyrillic, symbols), Noto (fonts-noto-core: Arabic, Hebrew, Devanagari, Thai, ...; fonts-noto-cjk:
Chinese, Japanese, Korean). Only these folders are read, never every font of the machine, so
what the PDF looks like does not depend on what else someone installed.

PDF/A and PDF/UA forbid a character shown as an empty box, and typst refuses to write such a
file. So the text goes to typst through `shown`: a character no font has becomes U+FFFD (the
replacement character, itself in DejaVu; "?" without it), an invisible one (a control
character, a joiner no font has) goes. The coverage is read from the fonts' own character maps
(the `cmap` table, parsed here: only its ranges are needed, no font library), once per process.
"""

from __future__ import annotations

import functools
import re
import struct
import unicodedata
from pathlib import Path

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/truetype/noto"),
    Path("/usr/share/fonts/opentype/noto"),
)

# The fonts the text asks for, in order; typst falls back to any other loaded font for a
# character these lack. Libertinus is typst's own; the others are the system's when present.
TEXT_FONTS = (
    "Libertinus Serif",
    "Noto Naskh Arabic",
    "Noto Serif CJK SC",
    "DejaVu Serif",
    "DejaVu Sans",
)

# What typst's embedded Libertinus Serif shows at least: printable ASCII, Latin-1, Latin
# Extended-A, dashes, quotes, the bullet, the ellipsis and the euro sign. Text of these alone
# needs no system font, and is typeset without loading any (a quicker start).
_EMBEDDED = [(0x20, 0x7E), (0xA0, 0x17F), (0x2010, 0x2022), (0x2026, 0x2026), (0x20AC, 0x20AC)]
_BEYOND_EMBEDDED = re.compile(
    "[^\n" + "".join(f"\\u{s:04x}-\\u{e:04x}" for s, e in _EMBEDDED) + "]"
)

_FONT_FILES = ("*.ttf", "*.otf", "*.ttc", "*.otc")
_STYLED = re.compile(r"Bold|Italic|Oblique|Light|Thin|Black|Medium|Semi|Extra|Condensed")


def font_dirs() -> list[str]:
    return [str(path) for path in FONT_DIRS if path.is_dir()]


@functools.cache
def typst_fonts(system: bool = True):
    """The fonts typst may use (loaded once per process): its own, and those of FONT_DIRS
    when `system`."""
    import typst

    return typst.Fonts(include_system_fonts=False, font_paths=font_dirs() if system else [])


def needs_system_fonts(text: str) -> bool:
    """Whether `text` (already `shown`) needs more than typst's own fonts."""
    return bool(_BEYOND_EMBEDDED.search(text))


# -- coverage ----------------------------------------------------------------------------------


def _cmap_ranges(data: bytes) -> list[tuple[int, int]]:
    """The code point ranges of a `cmap` table's Unicode subtables: format 4 for the Basic
    Multilingual Plane (few segments), and from format 12 only what lies beyond it (a CJK
    font's format 12 lists tens of thousands of groups, nearly all in the BMP)."""
    (count,) = struct.unpack_from(">H", data, 2)
    subtables = {}
    for i in range(count):
        platform, _encoding, offset = struct.unpack_from(">HHI", data, 4 + 8 * i)
        if platform in (0, 3):
            subtables.setdefault(struct.unpack_from(">H", data, offset)[0], offset)
    ranges = []
    if 4 in subtables:
        offset = subtables[4]
        (segments,) = struct.unpack_from(">H", data, offset + 6)
        segments //= 2
        ends = struct.unpack_from(f">{segments}H", data, offset + 14)
        starts = struct.unpack_from(f">{segments}H", data, offset + 16 + 2 * segments)
        ranges += [(s, e) for s, e in zip(starts, ends, strict=True) if s != 0xFFFF]
    if 12 in subtables:
        offset = subtables[12]
        (groups,) = struct.unpack_from(">I", data, offset + 12)
        first = offset + 16
        low, high = 0, groups  # groups are sorted: find the first that ends beyond the BMP
        if 4 in subtables:
            while low < high:
                middle = (low + high) // 2
                if struct.unpack_from(">I", data, first + 12 * middle + 4)[0] <= 0xFFFF:
                    low = middle + 1
                else:
                    high = middle
        table = memoryview(data)[first + 12 * low : first + 12 * groups]
        ranges += [(start, end) for start, end, _glyph in struct.iter_unpack(">III", table)]
    return ranges


def _font_ranges(path: Path) -> list[tuple[int, int]]:
    """Every face's character ranges in a font file (a collection holds several faces)."""
    ranges: list[tuple[int, int]] = []
    try:
        with path.open("rb") as file:
            head = file.read(12)
            if head[:4] == b"ttcf":
                (faces,) = struct.unpack_from(">I", head, 8)
                offsets = struct.unpack(f">{faces}I", file.read(4 * faces))
            else:
                offsets = (0,)
            seen = set()  # the faces of a collection often share one map
            for offset in offsets:
                file.seek(offset)
                (tables,) = struct.unpack_from(">H", file.read(12), 4)
                directory = file.read(16 * tables)
                for i in range(tables):
                    tag, _sum, where, length = struct.unpack_from(">4sIII", directory, 16 * i)
                    if tag == b"cmap" and where not in seen:
                        seen.add(where)
                        file.seek(where)
                        ranges += _cmap_ranges(file.read(length))
    except (OSError, struct.error):
        return []  # not a font we can read: typst will not use it either
    return ranges


@functools.cache
def _coverage() -> bytearray:
    """One byte per code point: 1 where some font shows it."""
    ranges = list(_EMBEDDED)
    for folder in font_dirs():
        for pattern in _FONT_FILES:
            for path in sorted(Path(folder).rglob(pattern)):
                if not _STYLED.search(path.stem):  # a family's styles show what its regular does
                    ranges += _font_ranges(path)
    shows = bytearray(0x110000)
    ones = memoryview(b"\x01" * 0x110000)
    for start, end in ranges:
        if end > 0x10FFFF:
            end = 0x10FFFF
        shows[start : end + 1] = ones[: end + 1 - start]
    return shows


def covered(code: int) -> bool:
    if any(start <= code <= end for start, end in _EMBEDDED):
        return True  # no need to read the system's fonts
    return bool(_coverage()[code])


class _Shown(dict):
    """A str.translate table, filled on demand, for characters outside printable ASCII: a
    character some font shows stays; controls, surrogates and private-use characters (which
    PDF/A forbids), and invisible ones no font has, go; the rest becomes the replacement
    character."""

    def __missing__(self, code: int) -> str:
        category = unicodedata.category(chr(code))
        if category in {"Cc", "Cs"}:
            value = chr(code) if chr(code) in "\n\t" else ""
        elif category == "Co":
            value = self.missing
        elif covered(code):
            value = chr(code)
        else:
            value = "" if category in {"Cf", "Mn", "Me"} else self.missing
        self[code] = value
        return value

    @functools.cached_property
    def missing(self) -> str:
        return "\ufffd" if covered(0xFFFD) else "?"


@functools.cache
def _table() -> _Shown:
    return _Shown()


_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e\n]*")


def shown(text: str) -> str:
    """`text` as the PDF can show it (see the module's docstring)."""
    if _PRINTABLE_ASCII.fullmatch(text):
        return text
    return text.translate(_table())


def forget(text: str) -> None:
    """Characters typst could not show after all (a font's map promised a glyph its shaping
    did not give): from now on they are replaced too."""
    table = _table()
    for char in text:
        if not _PRINTABLE_ASCII.fullmatch(char):  # never a letter of every text
            table[ord(char)] = "" if unicodedata.category(char) in {"Cf", "Mn", "Me"} else "?"
