"""The leak guard's matcher: where does a text name a seat holder of the room?

Pure (no database, no Django): the caller builds one `Identity` per seat holder, keeps one
`IdentityMatcher` per room, and `find(text)` returns the mentions with offsets into the
original text, so a moderator tool can highlight or redact them.

How it matches. The text is folded into a string of letters and digits (casefolded, accents
dropped, a few letters transliterated, look-alike Cyrillic/Greek letters mapped to Latin,
zero-width characters and soft hyphens removed, HTML entities decoded). Each folded position
keeps its original offsets and the kind of gap before it: none (inside a word), soft
(punctuation, Markdown emphasis, emoji, a lower->upper case change, letter<->digit, CJK: may
or may not be a word boundary) or hard (whitespace: always one). A term (a name, an acronym,
an e-mail address) is a sequence of folded words; it matches where its letters appear in order,
starting and ending on a boundary, with hard gaps only between its words: words may be glued
together ("DialloSane") or split by anything, but whitespace may not split a word. All terms of
a room share one trie, walked from every word start of the text: one pass, no regex alternation.

What counts (see `_name_terms`, `_org_terms`, `_email_pattern`): a person's full name, the
given names with the family name in either order, the family name alone when distinctive
(>= 4 letters and not a common word), initials + family name; an organization's full name (with
or without its parenthesised acronym, without a leading article), its acronyms (in parentheses,
or all-caps words of >= 3 letters) as whole words or dotted; an e-mail address, also written
"name at domain dot org" and the like. Given names alone and an e-mail's local part alone do not.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from .namewords import ARTICLES as _ARTICLES
from .namewords import COMMON as _COMMON
from .namewords import PARTICLES as _PARTICLES
from .namewords import SUFFIXES as _SUFFIXES
from .namewords import TITLES as _TITLES

NAME, EMAIL, ORGANIZATION = "name", "email", "organization"
# One span, several kinds (an e-mail that is also a name...): report the most specific.
_RANK = {EMAIL: 0, NAME: 1, ORGANIZATION: 2}


@dataclass(frozen=True)
class Identity:
    name: str  # the seat holder's display name, e.g. "Fatoumata Diallo-Sané"
    email: str  # e.g. "f.diallo@wanep.example"
    organization: str | None  # e.g. "West Africa Network for Peacebuilding (WANEP)"


@dataclass(frozen=True)
class Mention:
    kind: str  # "name", "email" or "organization"
    start: int  # offsets in the original text: text[start:end] is what was matched
    end: int


# --- Folding --------------------------------------------------------------------------------

_NONE, _SOFT, _HARD, _MARK = 0, 1, 2, -1  # gap strengths; _MARK: a combining mark

# After casefolding and dropping marks. Latin letters NFKD leaves alone, a few letters of West
# African orthographies, and Cyrillic/Greek letters that look Latin (an evasion otherwise).
_TRANSLIT = {
    "ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "ı": "i", "þ": "th",
    "ħ": "h", "ŧ": "t", "ə": "e", "ɛ": "e", "ɔ": "o", "ɓ": "b", "ɗ": "d", "ƴ": "y", "ƙ": "k",
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s", "һ": "h",
    "ԁ": "d", "ӏ": "l", "ԛ": "q", "ԝ": "w",
    "α": "a", "β": "b", "ε": "e", "ζ": "z", "η": "h", "ι": "i", "κ": "k", "μ": "m",
    "ν": "n", "ο": "o", "ρ": "p", "τ": "t", "υ": "y", "χ": "x",
}  # fmt: skip
_INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0")  # Hangul fillers: letters that show nothing
_APOSTROPHES = frozenset("\u02bb\u02bc\u02bd")  # modifier-letter apostrophes: punctuation here


def _is_cjk(cp: int) -> bool:
    # Scripts written without spaces: every character is its own word.
    return (
        0x1100 <= cp <= 0x11FF
        or 0x2E80 <= cp <= 0x9FFF
        or 0xA960 <= cp <= 0xA97F
        or 0xAC00 <= cp <= 0xD7FF
        or 0xF900 <= cp <= 0xFAFF
        or 0x20000 <= cp <= 0x3FFFF
    )


def _char_class(x: str) -> str:
    if _is_cjk(ord(x)):
        return "c"
    if not x.isalpha():
        return "d"
    return "u" if x.isupper() else "l" if x.islower() else "o"


@lru_cache(maxsize=16384)
def _fold_char(c: str) -> tuple:
    """One character of text, folded: (letters, class) items, gap strengths and _MARKs."""
    items: list = []
    for x in unicodedata.normalize("NFKD", c):
        cat = unicodedata.category(x)
        if x == "\u0345":
            # The Greek iota subscript is the one mark that case-folds to a letter: capitals
            # write "ᾳ" as "ΑΙ". Read it as the iota it stands for.
            items.append(("i", "l"))
        elif cat[0] == "M":
            items.append(_MARK)
        elif cat == "Cf" or x in _INVISIBLE or (cat == "Cc" and not x.isspace()):
            continue  # zero-width characters, soft hyphens, bidi controls: not even a gap
        elif x.isspace() or cat[0] == "Z":
            items.append(_HARD)
        elif x in _APOSTROPHES or not x.isalnum():
            items.append(_SOFT)
        else:
            folded = "".join(
                _TRANSLIT.get(z, z)
                for z in unicodedata.normalize("NFKD", x.casefold())
                if unicodedata.category(z)[0] != "M"
            )
            folded = "".join(z for z in folded if z.isalnum())
            items.append((folded, _char_class(x)) if folded else _SOFT)
    return tuple(items)


@dataclass(slots=True)
class _Folded:
    text: str  # letters and digits only
    starts: list[int]  # original offsets of text[k]
    ends: list[int]
    gaps: list[int]  # gaps[k]: the gap before text[k]; gaps[len(text)] is the end of text


class _Folder:
    """Builds a _Folded one unit (a character at its original offsets) at a time."""

    __slots__ = ("chars", "starts", "ends", "gaps", "pending", "prev")

    def __init__(self):
        self.chars: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.gaps: list[int] = []
        self.pending, self.prev = _HARD, ""

    def unit(self, start: int, end: int, c: str) -> None:
        for item in _fold_char(c):
            if item.__class__ is int:
                if item == _MARK:
                    if self.pending == _NONE and self.ends:
                        self.ends[-1] = end  # an accent belongs to the letter before it
                elif item > self.pending:
                    self.pending = item
                continue
            letters, cls = item
            gap, prev = self.pending, self.prev
            if gap == _NONE and (
                cls == "c"
                or prev == "c"
                or (prev == "l" and cls == "u")
                or ((prev == "d") != (cls == "d"))
            ):
                gap = _SOFT
            for k, ch in enumerate(letters):
                self.chars.append(ch)
                self.starts.append(start)
                self.ends.append(end)
                self.gaps.append(gap if k == 0 else _NONE)
            self.pending, self.prev = _NONE, cls

    def plain(self, text: str, start: int, end: int) -> None:
        """text[start:end] read as itself: ASCII by runs, anything else a character at a time.
        Agrees with `unit` applied to each character (tests/test_leakguard.py checks it)."""
        chars, starts, ends, gaps = self.chars, self.starts, self.ends, self.gaps
        for m in _ASCII_SPANS.finditer(text, start, end):
            kind = m.lastindex
            if kind == 1:  # ASCII letters and digits
                i, j = m.span()
                run = m.group()
                first = run[0]
                cls = "d" if first <= "9" else "l" if first >= "a" else "u"
                gap, prev = self.pending, self.prev
                if gap == _NONE and (
                    prev == "c" or (prev == "l" and cls == "u") or ((prev == "d") != (cls == "d"))
                ):
                    gap = _SOFT
                chars.append(run.lower())
                starts.extend(range(i, j))
                ends.extend(range(i + 1, j + 1))
                gaps.append(gap)
                if j - i > 1:
                    inner = [_NONE] * (j - i - 1)
                    if not (
                        run.isdigit() or (run.isalpha() and (run[1:].islower() or run.isupper()))
                    ):
                        for shift in _ASCII_SHIFT.finditer(run, 1):
                            inner[shift.start() - 1] = _SOFT  # camelCase, letter<->digit
                    gaps.extend(inner)
                last = run[-1]
                self.pending, self.prev = _NONE, "d" if last <= "9" else "l" if last >= "a" else "u"
            elif kind == 2:
                self.pending = _HARD
            elif kind == 3:
                if self.pending < _SOFT:
                    self.pending = _SOFT
            elif kind == 5:
                self.unit(m.start(), m.end(), m.group())
            # kind 4: ASCII control characters, skipped as `unit` skips them

    def folded(self) -> _Folded:
        self.gaps.append(_HARD)
        return _Folded("".join(self.chars), self.starts, self.ends, self.gaps)


# ASCII words; ASCII whitespace (str.isspace: a hard gap); ASCII punctuation (soft); ASCII
# controls (nothing); any other single character (the general path).
_ASCII_SPANS = re.compile(
    r"([A-Za-z0-9]+)|([\t-\r\x1c-\x1f ]+)|([!-/:-@\[-`{-~]+)|([\x00-\x08\x0e-\x1b\x7f]+)|(.)", re.S
)
_ASCII_SHIFT = re.compile(r"(?<=[a-z])[A-Z]|(?<=[A-Za-z])[0-9]|(?<=[0-9])[A-Za-z]")


def _fold(text: str, replacements: Iterable[tuple[int, int, str]] = ()) -> _Folded:
    """Fold `text`; each (start, end, s) of `replacements` (sorted) reads text[start:end] as s."""
    folder = _Folder()
    pos = 0
    for start, end, s in replacements:
        folder.plain(text, pos, start)
        for ch in s:
            folder.unit(start, end, ch)
        pos = end
    folder.plain(text, pos, len(text))
    return folder.folded()


def _fold_each(text: str, replacements: Iterable[tuple[int, int, str]] = ()) -> _Folded:
    """`_fold` one character at a time: the definition the fast path must agree with (tests)."""
    folder = _Folder()
    pos = 0
    for start, end, s in replacements:
        for i in range(pos, start):
            folder.unit(i, i + 1, text[i])
        for ch in s:
            folder.unit(start, end, ch)
        pos = end
    for i in range(pos, len(text)):
        folder.unit(i, i + 1, text[i])
    return folder.folded()


def _words(s: str) -> list[str]:
    """The folded words of `s`, split at every gap (soft ones included)."""
    f = _fold(s)
    words: list[str] = []
    for k, ch in enumerate(f.text):
        if f.gaps[k] or not words:
            words.append(ch)
        else:
            words[-1] += ch
    return words


_ENTITY = r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"
# The destination of an inline Markdown link, "](url "title")": readers do not see it.
_LINK_DEST = r"\]\([^()\s]*(?:\([^()\s]*\)[^()\s]*)*(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)"
_ENTITY_RE = re.compile(_ENTITY)
_RENDERED_RE = re.compile(f"{_ENTITY}|{_LINK_DEST}")


def _replacements(text: str, pattern: re.Pattern) -> list[tuple[int, int, str]]:
    out = []
    for m in pattern.finditer(text):
        s = m.group()
        if s[0] == "]":
            out.append((m.start(), m.end(), "]"))
        elif (decoded := html.unescape(s)) != s:
            out.append((m.start(), m.end(), decoded))
    return out


_HYPHENS_RE = re.compile(r"[-\u2010-\u2015\u2212]")
_NICK_RE = re.compile(r"\(([^()]*)\)|\"([^\"]*)\"|\u201c([^\u201d]*)\u201d")
_BRACKETS_RE = re.compile(r"\(([^()]*)\)|\[([^\[\]]*)\]")
_RUN_RE = re.compile(r"[^\W_]+")
_UMLAUTS = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "å": "aa", "Å": "Aa"}
)


def _letters(s: str) -> int:
    return sum(ch.isalpha() for ch in s)


def _distinctive(words: list[str]) -> bool:
    """Can this word (or these glued words) name someone on its own?"""
    joined = "".join(words)
    return _letters(joined) >= 4 and joined not in _COMMON


def _sayable(words: list[str]) -> bool:
    """Is this a family name that names someone after an initial or a given name?"""
    joined = "".join(words)
    return _letters(joined) >= 2 and joined not in _COMMON


def _acronym_ok(word: str) -> bool:
    return len(word) >= 3 and word not in _COMMON


def _bare(chunk: str) -> str:
    return chunk.casefold().strip(".,")


def _spellings(s: str) -> tuple[str, ...]:
    """`s`, `s` with German/Nordic umlauts spelled out (Müller, Mueller), and `s` without
    Greek iota subscripts (often left out in typing)."""
    s = unicodedata.normalize("NFC", s)
    no_iota = unicodedata.normalize("NFC", unicodedata.normalize("NFD", s).replace("\u0345", ""))
    return tuple(dict.fromkeys((s, s.translate(_UMLAUTS), no_iota)))


# --- Terms of an identity ---------------------------------------------------------------------

# Trie patterns are folded letters and these: a word break (any gap, or none: glued words), a
# word break that needs a gap ("F Diallo", not "FDiallo": that is an e-mail's local part), an
# "@" and a "." (any gap, or "at"/"dot" spelled out), and the end of a pattern.
_BREAK, _GAP, _AT, _DOT, _END = " ", "\x03", "\x01", "\x02", ""


def _join(words: list[str]) -> str:
    return _BREAK.join(words)


def _strip_affixes(chunks: list[str]) -> list[str]:
    chunks = list(chunks)
    while len(chunks) > 1 and _bare(chunks[0]) in _TITLES:
        chunks.pop(0)
    while len(chunks) > 1 and _bare(chunks[-1]) in _SUFFIXES:
        chunks.pop()
    return chunks


def _is_caps(chunk: str) -> bool:
    letters = [ch for ch in chunk if ch.isalpha()]
    return len(letters) >= 2 and all(ch.isupper() for ch in letters)


def _split_name(name: str) -> tuple[list[str], list[str]]:
    """(given, family) chunks of a display name: "Fatoumata DIALLO", "Diallo, Fatoumata",
    "Charles de Gaulle" (family "de Gaulle"), else the last chunk is the family name."""
    if name.count(",") == 1:
        left, right = (part.split() for part in name.split(","))
        if left and right and not all(_bare(c) in _SUFFIXES for c in right):
            return _strip_affixes(right), _strip_affixes(left)
        name = " ".join(left)
    chunks = _strip_affixes(name.split())
    if not chunks:
        return [], []
    caps = [i for i, c in enumerate(chunks) if _is_caps(c)]
    initials_first = caps == [0] and _letters(chunks[0]) <= 2  # "JP Dupont"
    if caps and len(caps) < len(chunks) and not initials_first:
        return [c for i, c in enumerate(chunks) if i not in caps], [chunks[i] for i in caps]
    k = len(chunks) - 1
    while k > 1 and _bare(chunks[k - 1]) in _PARTICLES:
        k -= 1
    return chunks[:k], chunks[k:]


def _flat(chunks: Iterable[str]) -> list[str]:
    return [w for c in chunks for w in _words(c)]


def _name_terms(name: str) -> Iterator[str]:
    nicknames = [a or b or c for a, b, c in _NICK_RE.findall(name)]
    name = " ".join(_NICK_RE.sub(" ", name).split())
    full = _flat(name.replace(",", " ").split())
    if len(full) >= 2 or _distinctive(full):
        yield _join(full)  # as displayed, titles included
    given_chunks, family_chunks = _split_name(name)
    given = [w for w in (_words(c) for c in given_chunks) if w]
    family = _flat(family_chunks)
    if not family:
        return
    core_chunks = [c for c in family_chunks if _bare(c) not in _PARTICLES] or family_chunks
    core = _flat(core_chunks)
    parts = [_words(p) for c in core_chunks for p in _HYPHENS_RE.split(c)]
    if _distinctive(core):
        yield _join(family)  # "de Gaulle"
    for surname in [core, *parts]:
        if _distinctive(surname):
            yield _join(surname)  # "Diallo-Sané", "Diallo", "Gaulle"
    all_given = [w for chunk in given for w in chunk]
    firsts = [_join(words) + _BREAK for words in [*map(_words, nicknames), *given[1:]] if words]
    if given:
        firsts += [_join(all_given) + _BREAK, _join(given[0]) + _BREAK]
        firsts += [given[0][0][0] + _GAP, _join([w[0] for w in all_given]) + _GAP]
    for surname in [family, core, *parts]:
        if not surname or not _sayable(surname):
            continue  # "M. Rose", "May Long": too ordinary
        for first in firsts:
            yield first + _join(surname)  # "Fatoumata Diallo", "F. Diallo-Sané", "FB Diallo"
        if given:
            yield _join(surname + all_given)  # "DIALLO Fatoumata"
            yield _join(surname + given[0])


def _org_terms(org: str) -> Iterator[list[str]]:
    org = " ".join(org.split())
    bracketed = [a or b for a, b in _BRACKETS_RE.findall(org)]
    short = _words(_BRACKETS_RE.sub(" ", org))
    for words in (_words(org), short):
        if len(words) >= 2 or (words and _acronym_ok(words[0])):
            yield words
    if len(short) >= 3 and short[0] in _ARTICLES:
        yield short[1:]  # "The Carter Center" -> "Carter Center"
    acronyms: list[str] = []
    for content in bracketed:
        words = _words(content)
        if len(words) >= 2:
            yield words  # an alias: "(Red Cross)"
        if not any(ch.isspace() for ch in content.strip()):
            acronyms += words  # "(WANEP)", "(CEDEAO-ECOWAS)"
    if any(ch.islower() for ch in org):  # in an all-caps name every word is in caps
        for run in _RUN_RE.findall(org):
            if run.isupper() and _letters(run) >= 3:
                acronyms += _words(run)
    for acronym in acronyms:
        if _acronym_ok(acronym):
            yield list(acronym)  # letter by letter: "WANEP", "W.A.N.E.P.", "w a n e p"


def _email_pattern(email: str) -> str | None:
    """The trie pattern of an address: labels joined by _DOT, local part and domain by _AT;
    both connectors match any gap, "@"/"." or "at"/"dot" spelled out."""
    local, at, domain = email.strip().rpartition("@")

    def labels(part: str) -> str:
        return _DOT.join(" ".join(w) for w in map(_words, part.split(".")) if w)

    local, domain = labels(local), labels(domain)
    if not at or not local or not domain:
        return None
    return f"{local}{_AT}{domain}"


def _patterns(identity: Identity) -> set[tuple[str, str]]:
    """The trie patterns of one identity, with their kinds."""
    out = {
        (pattern, NAME)
        for spelling in _spellings(identity.name or "")
        for pattern in _name_terms(spelling)
    }
    out |= {
        (_join(words), ORGANIZATION)
        for spelling in _spellings(identity.organization or "")
        for words in _org_terms(spelling)
    }
    if pattern := _email_pattern(identity.email or ""):
        out.add((pattern, EMAIL))
    return out


# --- Matching --------------------------------------------------------------------------------


def _trie(words: Iterable[str]) -> dict:
    root: dict = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[_END] = True
    return root


_CONNECTORS = {_AT: _trie(["at", "arroba"]), _DOT: _trie(["dot", "punto", "ponto", "point"])}

# A walk state: (trie node, where to go after a spelled-out connector or None, what may come
# before the next letter: _IN_WORD no hard gap, _AT_BREAK anything, _NEED_GAP a soft or hard gap).
_State = tuple[dict, "dict | None", int]
_IN_WORD, _AT_BREAK, _NEED_GAP = 0, 1, 2


def _closure(states: list[_State]) -> list[_State]:
    """`states` plus every state reachable without reading a letter (breaks, connectors)."""
    out: list[_State] = []
    seen: set[tuple[int, int, int]] = set()
    stack = list(states)
    while stack:
        state = stack.pop()
        node, cont, before = state
        key = (id(node), id(cont), before)
        if key in seen:
            continue
        seen.add(key)
        out.append(state)
        if cont is not None:
            if _END in node:
                stack.append((cont, None, _AT_BREAK))
            continue
        if (nxt := node.get(_BREAK)) is not None:
            stack.append((nxt, None, _AT_BREAK))
        if (nxt := node.get(_GAP)) is not None:
            stack.append((nxt, None, _NEED_GAP))
        for sym in (_AT, _DOT):
            if (nxt := node.get(sym)) is not None:
                stack.append((nxt, None, _AT_BREAK))
                stack.append((_CONNECTORS[sym], nxt, _AT_BREAK))
    return out


class IdentityMatcher:
    """Every term of every identity of a room in one trie; build once per room."""

    def __init__(self, identities: Iterable[Identity]):
        self._root: dict = {}
        for identity in identities:
            for pattern, kind in _patterns(identity):
                node = self._root
                for ch in pattern:
                    node = node.setdefault(ch, {})
                current = node.get(_END)
                if current is None or _RANK[kind] < _RANK[current]:
                    node[_END] = kind

    def find(self, text: str) -> list[Mention]:
        """All mentions in `text`, sorted by start; a mention inside a longer one is left out
        ("F. Diallo" inside "f.diallo@wanep.example")."""
        if not self._root or not text:
            return []
        views = [_replacements(text, _ENTITY_RE) if "&" in text else []]
        if "](" in text:  # also as rendered: link text without its destination
            views.append(_replacements(text, _RENDERED_RE))
        found: dict[tuple[int, int], str] = {}
        for replacements in views:
            folded = _fold(text, replacements)
            for p, q, kind in self._scan(folded):
                span = _tidy(text, folded.starts[p], folded.ends[q - 1])
                if span not in found or _RANK[kind] < _RANK[found[span]]:
                    found[span] = kind
        mentions = []
        reach = -1
        for start, end in sorted(found, key=lambda span: (span[0], -span[1])):
            if end > reach:
                mentions.append(Mention(found[start, end], start, end))
                reach = end
        return mentions

    def _scan(self, f: _Folded) -> Iterator[tuple[int, int, str]]:
        text, gaps, root = f.text, f.gaps, self._root
        n = len(text)
        for p in range(n):
            if not gaps[p] or (node := root.get(text[p])) is None:
                continue
            states: list[_State] = [(node, None, _IN_WORD)]
            q = p + 1
            while states:
                gap = gaps[q]
                if gap:
                    for node, cont, _ in states:
                        if cont is None and _END in node:
                            yield p, q, node[_END]
                if q == n:
                    break
                ch = text[q]
                states = [
                    (nxt, cont, _IN_WORD)
                    for node, cont, before in _closure(states)
                    if (gap != _HARD or before != _IN_WORD)
                    and (gap != _NONE or before != _NEED_GAP)
                    and (nxt := node.get(ch)) is not None
                ]
                q += 1


def _tidy(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a span to the Markdown brackets and emphasis it opens or closes ("**Fatoumata**
    Diallo", "... (WANEP)"), so that redacting it leaves balanced markup."""
    for opener, closer in (("(", ")"), ("[", "]")):
        span = text[start:end]
        if span.count(opener) > span.count(closer) and text[end : end + 1] == closer:
            end += 1
        elif span.count(closer) > span.count(opener) and text[start - 1 : start] == opener:
            start -= 1
    for marker in "*_~`":
        if len(re.findall(re.escape(marker) + "+", text[start:end])) % 2:
            if text[start - 1 : start] == marker:
                while start and text[start - 1] == marker:
                    start -= 1
            else:
                while end < len(text) and text[end] == marker:
                    end += 1
    return start, end


def find_mentions(text: str, identities: Iterable[Identity]) -> list[Mention]:
    """`IdentityMatcher(identities).find(text)`, for one-off checks."""
    return IdentityMatcher(identities).find(text)
