"""The leak check before export: a Chatham House room's minutes never name a seat holder.

Both checks refuse with ServiceError "export_leak", naming the place (never the identity);
the refusal is logged without the identity either."""

from __future__ import annotations

import html
import logging
import re

from django.utils.translation import gettext as _

from forum.errors import ServiceError
from forum.minutes.document import content_sha256
from forum.models import RoundTable
from moderation.guard import mentions_in, room_identities, stated_words, unstated

logger = logging.getLogger("forum.minutes")

EXCERPT_CHARS = 30


def _place(rendered: str, start: int, end: int) -> str:
    """Where a match is: its line number and a short excerpt around it."""
    line = rendered.count("\n", 0, start) + 1
    left = max(0, start - EXCERPT_CHARS)
    right = min(len(rendered), end + EXCERPT_CHARS)
    excerpt = " ".join(rendered[left:right].split())
    return (
        f"line {line}: "
        f"\u201c{'…' if left else ''}{excerpt}{'…' if right < len(rendered) else ''}\u201d"
    )


def leak_check(room: RoundTable, rendered: str) -> None:
    """Refuse (ServiceError "export_leak") a Chatham House room's export that names a seat
    holder (name, e-mail or organization); the refusal is logged without the identity."""
    if not room.is_chatham_house:
        return
    found = unstated(rendered, mentions_in(room, rendered), stated_words(room))
    if not found:
        return
    first = found[0]
    logger.warning(
        "minutes export refused: room %s, %d mention(s) of a participant (%s) at line %d",
        room.slug,
        len(found),
        first.kind,
        rendered.count("\n", 0, first.start) + 1,
    )
    raise ServiceError(
        "export_leak",
        _(
            "The export was refused: it names a participant at %(place)s. "
            "Remove the mention (redact the intervention or edit the text) and export again."
        )
        % {"place": _place(rendered, first.start, first.end)},
        kind=first.kind,
        mentions=len(found),
    )


# Values the product makes, never words of the room: random public ids, hashes, MACs and
# keys. Read as text they would match by chance: the leak guard reads punctuation as a soft
# gap (so "L.anz" is caught), and an id such as "Fhhpb13L_Anz" then spells a surname.
MACHINE_KEYS = frozenset(
    {
        "id",
        "agenda_item",
        "consensus_check",
        "follow_up",
        "content_sha256",
        "mac",
        "speaker_key",
        "schema",
        # A written contribution's attachment: its file name in the package and its hash.
        "file",
        "sha256",
    }
)

_ATTRIBUTE = re.compile(r'\s(?:href|title)="([^"]*)"')


def _texts(value, path: tuple = ()):
    """Every string of the document with where it sits: ("items", 1, "summary"), ...

    An intervention's `body_html` is read as its `body_text` (the same text, entities decoded,
    next to it in the document; a tag inside a word cannot split a name there) plus the values
    of the only attributes the sanitiser keeps (moderation/sanitize.py): link targets and titles.
    """
    if isinstance(value, dict):
        for key, item in value.items():
            if key in MACHINE_KEYS and isinstance(item, str):
                continue
            if key == "body_html" and "body_text" in value and isinstance(item, str):
                attributes = " ".join(html.unescape(v) for v in _ATTRIBUTE.findall(item))
                if attributes:
                    yield (*path, key), attributes
                continue
            yield from _texts(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _texts(item, (*path, index))
    elif isinstance(value, str) and value:
        yield path, value


def _where(doc: dict, path: tuple) -> str:
    """A reader's address for a place in the document:
    "agenda item 2 (“Title”), intervention 14, body_text"."""
    if path[:1] == ("items",) and len(path) > 1:
        item = doc["items"][path[1]]
        words = [f"agenda item {item['position']} (“{item['title'][:60]}”)"]
        rest = path[2:]
        if len(rest) >= 2 and isinstance(rest[1], int):
            words.append(f"{rest[0].replace('_', ' ').rstrip('s')} {rest[1] + 1}")
            rest = rest[2:]
        words += [str(part) for part in rest]
        return ", ".join(words)
    return " › ".join(str(part) for part in path)


# (content hash, the room's identities) -> (path, excerpt, kind, count) or None: an adopted
# version is exported in six formats, the verdict is the same for each.
_VERDICTS: dict[tuple, tuple | None] = {}


_VERDICTS_MAX = 64


def leak_check_document(room: RoundTable, doc: dict) -> None:
    """The leak check of every export: each string the document holds (the renderers print
    nothing else identifying: their own words are fixed), checked once per content and
    roster. A refusal (ServiceError "export_leak") names the place in the document."""
    if not room.is_chatham_house:
        return
    stated = stated_words(room)
    key = (content_sha256(doc), room_identities(room), stated)
    if key not in _VERDICTS:
        if len(_VERDICTS) >= _VERDICTS_MAX:
            _VERDICTS.pop(next(iter(_VERDICTS)))
        _VERDICTS[key] = _first_mention(room, doc, stated)
    verdict = _VERDICTS[key]
    if verdict is None:
        return
    path, excerpt, kind, count = verdict
    logger.warning(
        "minutes export refused: room %s, %d mention(s) of a participant (%s) in %s",
        room.slug,
        count,
        kind,
        " ".join(str(p) for p in path if not isinstance(p, str) or p in DOC_KEYS),
    )
    raise ServiceError(
        "export_leak",
        _(
            "The export was refused: it names a participant in %(place)s: %(excerpt)s. "
            "Remove the mention (redact the intervention or edit the text) and export again; "
            "or, if the words matched are not a participant (a common word that is also a "
            "surname), state that on the minutes page, with a reason."
        )
        % {"place": _where(doc, path), "excerpt": excerpt},
        kind=kind,
        mentions=count,
    )


# Keys of the document's shape (safe to log; values are not).
DOC_KEYS = frozenset(
    {
        "header",
        "items",
        "parity",
        "method",
        "place",
        "dialogue",
        "round_table",
        "slug",
        "title",
        "description",
        "summary",
        "summary_html",
        "summary_text",
        "interventions",
        "body_html",
        "body_text",
        "consensus_checks",
        "recommendations",
        "text_md",
        "text_html",
        "proposition",
        "contributions",
    }
)


def _first_mention(
    room: RoundTable, doc: dict, stated: frozenset[str] = frozenset()
) -> tuple | None:
    # One text, strings apart by a blank line (a hard gap: no match runs from one to the next).
    # The convening body (header.convener) is the dialogue's public metadata, set by the
    # secretariat, not words of the room: a body whose staff hold seats still convenes.
    pieces = [(path, text) for path, text in _texts(doc) if path[:2] != ("header", "convener")]
    joined = "\n\n".join(text for _, text in pieces)
    # Words someone who runs the room stated are not a participant (forum/services/holds.py).
    found = unstated(joined, mentions_in(room, joined), stated)
    if not found:
        return None
    first = found[0]
    offset = 0
    for path, text in pieces:
        if offset + len(text) >= first.start:
            start, end = first.start - offset, first.end - offset
            left, right = max(0, start - EXCERPT_CHARS), min(len(text), end + EXCERPT_CHARS)
            excerpt = " ".join(text[left:right].split())
            quoted = f"\u201c{'…' if left else ''}{excerpt}{'…' if right < len(text) else ''}\u201d"
            return path, quoted, first.kind, len(found)
        offset += len(text) + 2
    return (), "", first.kind, len(found)
