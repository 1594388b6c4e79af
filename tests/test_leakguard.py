"""moderation.leakguard: finding a seat holder's name, e-mail or organization in a text."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import FrozenInstanceError

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moderation.leakguard import (
    EMAIL,
    NAME,
    ORGANIZATION,
    Identity,
    IdentityMatcher,
    Mention,
    find_mentions,
)

FATOU = Identity(
    "Fatoumata Diallo-Sané",
    "f.diallo@wanep.example",
    "West Africa Network for Peacebuilding (WANEP)",
)
MAY = Identity(
    "May Rose Long",
    "may.long@example.org",
    "Cooperative for Assistance and Relief Everywhere (CARE)",
)
LUIS = Identity("Luis Almagro", "lalmagro@oas.example", "Organization of American States (OAS)")
ADA = Identity("Ada Tan", "coordination@ada.example", "Association for Development in Africa (ADA)")
WEI = Identity("Wei Wu", "wei.wu@example.cn", None)
OYSTEIN = Identity("Øystein Ødegård", "oystein@example.no", "The Carter Center")
JURGEN = Identity("Jürgen Großmann", "jg@example.de", "ECOWAS Commission")
LUKASZ = Identity("Łukasz Wałęsa", "lw@example.pl", None)
YILDIZ = Identity("Yıldız Aydın", "ya@example.tr", None)
DJORDJE = Identity("Đorđe Đukić", "dd@example.rs", None)
CHARLES = Identity("Charles de Gaulle", "cdg@example.fr", None)
WANG = Identity("王伟", "wangwei@example.cn", "中国和平研究所")
ANA = Identity("Ana Paz", "ana@example.co", None)
AMARA = Identity("Amara Grant", "amara@example.org", None)
CARLA = Identity("Carla Mesa", "carla@example.es", None)
CAPS_FIRST = Identity("DIALLO Fatoumata", "fd@example.sn", None)
COMMA = Identity("Diallo-Sané, Fatoumata", "fd@example.sn", None)
UN_WOMEN = Identity("Grace Mbeki", "gm@example.org", "UN Women")
GRETA = Identity("Greta Government", "greta@example.org", "Office of Examples")
NOBODY = Identity("", "", None)

CASES = [
    # -- case, accents, spacing ---------------------------------------------------------------
    (
        "full name as written",
        FATOU,
        "Fatoumata Diallo-Sané a pris la parole.",
        [("Fatoumata Diallo-Sané", NAME)],
    ),
    (
        "lower case without accents",
        FATOU,
        "so fatoumata diallo-sane said",
        [("fatoumata diallo-sane", NAME)],
    ),
    (
        "upper case with runs of spaces",
        FATOU,
        "FATOUMATA   DIALLO   SANE",
        [("FATOUMATA   DIALLO   SANE", NAME)],
    ),
    ("space instead of hyphen", FATOU, "Fatoumata Diallo Sané.", [("Fatoumata Diallo Sané", NAME)]),
    ("words glued together", FATOU, "FatoumataDialloSane", [("FatoumataDialloSane", NAME)]),
    (
        "line break and en dash",
        FATOU,
        "Fatoumata,\nDiallo–Sané",
        [("Fatoumata,\nDiallo–Sané", NAME)],
    ),
    (
        "a decomposed accent is part of the mention",
        FATOU,
        "Diallo-Sane\u0301 agreed",
        [("Diallo-Sane\u0301", NAME)],
    ),
    ("zero-width space inside", FATOU, "ask Dia\u200bllo", [("Dia\u200bllo", NAME)]),
    (
        "soft hyphens inside",
        FATOU,
        "Fatou\u00admata Dial\u00adlo",
        [("Fatou\u00admata Dial\u00adlo", NAME)],
    ),
    ("full-width letters", FATOU, "ＤＩＡＬＬＯ said", [("ＤＩＡＬＬＯ", NAME)]),
    ("Cyrillic look-alike letters", FATOU, "DI\u0410LL\u041e said", [("DI\u0410LL\u041e", NAME)]),
    ("an HTML entity", FATOU, "&#68;iallo said", [("&#68;iallo", NAME)]),
    ("letters then digits", FATOU, "Diallo2024", [("Diallo", NAME)]),
    ("a case change glues words", FATOU, "seeDiallo's note", [("Diallo", NAME)]),
    # -- Markdown ------------------------------------------------------------------------------
    ("bold given name", FATOU, "**Fatoumata** Diallo", [("**Fatoumata** Diallo", NAME)]),
    ("bold family name", FATOU, "Fatoumata **Diallo**", [("Fatoumata **Diallo**", NAME)]),
    ("a bold word alone", FATOU, "ask **Diallo**", [("Diallo", NAME)]),
    ("emphasis inside a word", FATOU, "Fatou**mata** Diallo", [("Fatou**mata** Diallo", NAME)]),
    ("inline code", FATOU, "ask `Diallo`", [("Diallo", NAME)]),
    ("link text", FATOU, "[WANEP](http://peace.example/about) said", [("WANEP", ORGANIZATION)]),
    (
        "a link inside a word",
        FATOU,
        "[Fatou](http://x.example)mata Diallo",
        [("[Fatou](http://x.example)mata Diallo", NAME)],
    ),
    (
        "mailto link",
        FATOU,
        "[write](mailto:f.diallo@wanep.example)",
        [("f.diallo@wanep.example", EMAIL)],
    ),
    # -- family names and initials -------------------------------------------------------------
    ("family name alone", FATOU, "as Diallo said", [("Diallo", NAME)]),
    ("family name with a title", FATOU, "Mme DIALLO a dit", [("DIALLO", NAME)]),
    ("initial and compound family name", FATOU, "F. Diallo-Sané", [("F. Diallo-Sané", NAME)]),
    ("initial and one part of the family name", FATOU, "F Diallo", [("F Diallo", NAME)]),
    ("family name first", FATOU, "DIALLO-SANÉ Fatoumata", [("DIALLO-SANÉ Fatoumata", NAME)]),
    ("particle kept with the family name", CHARLES, "as de Gaulle said", [("de Gaulle", NAME)]),
    ("initial, particle and family name", CHARLES, "C. de Gaulle", [("C. de Gaulle", NAME)]),
    ("short family name after an initial", WEI, "W. Wu disagreed", [("W. Wu", NAME)]),
    (
        "display name with the family name in caps",
        CAPS_FIRST,
        "Fatoumata Diallo",
        [("Fatoumata Diallo", NAME)],
    ),
    ("display name with a comma", COMMA, "F. Diallo-Sané", [("F. Diallo-Sané", NAME)]),
    ("o with stroke and a with ring", OYSTEIN, "Oystein Odegard", [("Oystein Odegard", NAME)]),
    ("a with ring spelled aa", OYSTEIN, "ODEGAARD", [("ODEGAARD", NAME)]),
    ("umlaut and sharp s spelled out", JURGEN, "Juergen Grossmann", [("Juergen Grossmann", NAME)]),
    ("sharp s in capitals", JURGEN, "GROSSMANN", [("GROSSMANN", NAME)]),
    ("l with stroke", LUKASZ, "Lukasz Walesa", [("Lukasz Walesa", NAME)]),
    ("dotless i", YILDIZ, "YILDIZ AYDIN", [("YILDIZ AYDIN", NAME)]),
    ("d with stroke", DJORDJE, "Dukic", [("Dukic", NAME)]),
    ("a Chinese name in running text", WANG, "我同意王伟的意见", [("王伟", NAME)]),
    ("common words in a full name", MAY, "May Rose Long spoke", [("May Rose Long", NAME)]),
    ("common-word family name in the full name", AMARA, "Amara Grant", [("Amara Grant", NAME)]),
    # -- organizations -------------------------------------------------------------------------
    (
        "organization without its acronym",
        FATOU,
        "West Africa Network for Peacebuilding",
        [("West Africa Network for Peacebuilding", ORGANIZATION)],
    ),
    (
        "organization with its acronym",
        FATOU,
        "WEST AFRICA NETWORK FOR PEACEBUILDING (WANEP)",
        [("WEST AFRICA NETWORK FOR PEACEBUILDING (WANEP)", ORGANIZATION)],
    ),
    ("acronym in lower case", FATOU, "the wanep report", [("wanep", ORGANIZATION)]),
    ("dotted acronym", FATOU, "W.A.N.E.P. said", [("W.A.N.E.P", ORGANIZATION)]),
    ("acronym with a possessive", FATOU, "WANEP's view", [("WANEP", ORGANIZATION)]),
    ("acronym in a URL", FATOU, "see https://wanep.example", [("wanep", ORGANIZATION)]),
    ("three-letter acronym", LUIS, "the OAS mission", [("OAS", ORGANIZATION)]),
    ("all-caps word of the name", JURGEN, "ecowas staff", [("ecowas", ORGANIZATION)]),
    (
        "leading article dropped",
        OYSTEIN,
        "the Carter Center's",
        [("the Carter Center", ORGANIZATION)],
    ),
    ("without the article", OYSTEIN, "Carter Center", [("Carter Center", ORGANIZATION)]),
    ("organization in Chinese", WANG, "中国和平研究所的报告", [("中国和平研究所", ORGANIZATION)]),
    ("two-letter word in a full name", UN_WOMEN, "UN Women", [("UN Women", ORGANIZATION)]),
    # -- e-mail addresses ----------------------------------------------------------------------
    (
        "e-mail address",
        FATOU,
        "write to f.diallo@wanep.example today",
        [("f.diallo@wanep.example", EMAIL)],
    ),
    (
        "e-mail address in capitals",
        FATOU,
        "F.Diallo@WANEP.Example",
        [("F.Diallo@WANEP.Example", EMAIL)],
    ),
    (
        "at and dot",
        FATOU,
        "f.diallo at wanep dot example",
        [("f.diallo at wanep dot example", EMAIL)],
    ),
    (
        "[at] and [dot]",
        FATOU,
        "f.diallo [at] wanep [dot] example.",
        [("f.diallo [at] wanep [dot] example", EMAIL)],
    ),
    ("(at)", FATOU, "f.diallo(at)wanep.example", [("f.diallo(at)wanep.example", EMAIL)]),
    (
        "arroba and punto",
        FATOU,
        "f.diallo arroba wanep punto example",
        [("f.diallo arroba wanep punto example", EMAIL)],
    ),
    (
        "an address whose local part is no name",
        LUIS,
        "lalmagro@oas.example",
        [("lalmagro@oas.example", EMAIL)],
    ),
    # -- what does not count -------------------------------------------------------------------
    ("given name alone", FATOU, "Fatoumata will speak", []),
    ("given name with another family name", FATOU, "Fatoumata Sow", []),
    ("part of the family name that is a common word", FATOU, "a sane proposal", []),
    ("family name inside a longer word", FATOU, "Dialloway", []),
    ("initial glued to the family name", FATOU, "FDiallo", []),
    ("whitespace splitting a word", FATOU, "Dial lo", []),
    ("part of an organization's name", FATOU, "West Africa", []),
    ("another part of an organization's name", FATOU, "Network for Peacebuilding", []),
    ("local part of an e-mail address", LUIS, "lalmagro wrote", []),
    ("another local part", ADA, "coordination matters", []),
    ("acronym inside a word", ADA, "Canada", []),
    ("acronym at the start of a word", ADA, "Adamawa", []),
    ("three-letter acronym inside a word", LUIS, "an oasis", []),
    ("short names inside words", ADA, "Canada and Tanzania", []),
    ("acronym that is a common word", MAY, "we care about it", []),
    ("the same in capitals", MAY, "CARE said", []),
    ("common-word names out of order", MAY, "it may long remain", []),
    ("common-word family name", MAY, "a rose garden", []),
    ("initial and common-word family name", MAY, "M. Long", []),
    ("family name that is a verb", AMARA, "we grant the request", []),
    ("family name that is a Spanish word", ANA, "paz y justicia", []),
    ("another Spanish word", CARLA, "la mesa redonda", []),
    ("short family name alone", WEI, "Wu said", []),
    ("short family name inside a word", WEI, "Wuhan", []),
    ("same given name, another family", WEI, "Wei Zhang", []),
    ("first name of a particle name", CHARLES, "Charles spoke", []),
    ("one character of a Chinese name", WANG, "王先生", []),
    ("two-letter word of an organization", UN_WOMEN, "un accord", []),
    ("family name that is a word of the product", GRETA, "The government and civil society", []),
    ("an empty identity", NOBODY, "anything at all", []),
]


def found(text: str, identities) -> list[tuple[str, str]]:
    return [(text[m.start : m.end], m.kind) for m in find_mentions(text, identities)]


@pytest.mark.parametrize(
    ("identity", "text", "expected"),
    [pytest.param(i, t, e, id=name) for name, i, t, e in CASES],
)
def test_mentions_and_their_offsets(identity, text, expected):
    assert found(text, [identity]) == expected


def test_the_table_has_enough_cases_both_ways():
    assert sum(1 for *_, e in CASES if e) >= 40
    assert sum(1 for *_, e in CASES if not e) >= 25


def test_a_room_reports_every_mention_in_order():
    room = [FATOU, MAY, LUIS, ADA, WEI, OYSTEIN, JURGEN]
    text = (
        "I agree with **W. Wu** and the OAS; Ms DIALLO (f.diallo [at] wanep [dot] example) "
        "disagreed, as did the Carter Center and May Rose Long. Canada may long remain."
    )
    assert found(text, room) == [
        ("W. Wu", NAME),
        ("OAS", ORGANIZATION),
        ("DIALLO", NAME),
        ("f.diallo [at] wanep [dot] example", EMAIL),
        ("the Carter Center", ORGANIZATION),
        ("May Rose Long", NAME),
    ]


def test_a_mention_inside_a_longer_one_is_reported_once():
    # f.diallo is "F. Diallo", wanep is the acronym: both inside the address.
    assert found("f.diallo@wanep.example", [FATOU]) == [("f.diallo@wanep.example", EMAIL)]


def test_one_matcher_serves_many_texts_like_find_mentions():
    matcher = IdentityMatcher([FATOU, LUIS])
    for text in ("Diallo", "the OAS", "nothing here", "", "F. Diallo and L. Almagro"):
        assert matcher.find(text) == find_mentions(text, [FATOU, LUIS])
    assert matcher.find("F. Diallo and L. Almagro") == [
        Mention(NAME, 0, 9),
        Mention(NAME, 14, 24),
    ]


def test_identities_and_mentions_are_frozen_and_hashable():
    assert len({FATOU, Identity(*vars(FATOU).values())}) == 1
    with pytest.raises(FrozenInstanceError):
        FATOU.name = "someone else"  # type: ignore[misc]
    assert hash(Mention(NAME, 1, 2)) == hash(Mention(NAME, 1, 2))


def test_an_empty_room_finds_nothing():
    assert IdentityMatcher([]).find("Fatoumata Diallo-Sané") == []


# --- a room of 200 seat holders and a long text (a smoke test, no clock) ---------------------

SYLLABLES = "ka lo mi nu pe ra si tu vo ze bi da fo gu ho ji ke ly mo ny".split()
FILLER = (
    "the peace process in the region requires that we **consider** the views of women and "
    "youth, l'accord de paix, [a link](http://example.org/a) & more; 2024 — réunion, "
    "we may long remain at the table, at dot com, care and hope."
).split()


def invented(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(syllables))


def big_room(rng: random.Random) -> list[Identity]:
    return [
        Identity(
            f"{invented(rng, 3).title()} {invented(rng, 3).title()}",
            f"{invented(rng, 2)}.{invented(rng, 3)}@{invented(rng, 3)}.example",
            f"{invented(rng, 3).title()} Institute for {invented(rng, 4).title()}",
        )
        for _ in range(200)
    ]


def test_a_room_of_200_seat_holders_and_a_10000_character_text():
    rng = random.Random(20260509)
    room = big_room(rng)
    matcher = IdentityMatcher(room)
    inserted = [
        (room[3].name, NAME),
        (room[77].email.replace("@", " [at] "), EMAIL),
        (room[150].organization, ORGANIZATION),
        (room[199].name.split()[-1].upper(), NAME),
    ]
    pieces: list[str] = []
    expected = []
    for i in range(1800):
        if i % 400 == 200:
            text, kind = inserted[i // 400]
            expected.append((text, kind))
        else:
            text = rng.choice(FILLER)
        pieces.append(text)
    text = " ".join(pieces)
    assert len(text) >= 10_000
    assert [(text[m.start : m.end], m.kind) for m in matcher.find(text)] == expected


# --- properties ------------------------------------------------------------------------------

# Letters whose case mappings and accent stripping are stable under the matcher's folding.
LETTERS = (
    "abcdefghijklmnopqrstuvwxyz"
    "áàâäãåāăąçćčďđéèêëēėęěğíìîïīįıĺľłñńňóòôöõøōőœŕřśšşșťţțúùûüūůűųýÿźżžßæþð"
    "αβγδεζηθικλμνξοπρστυφχψωάέήίόύώς"
    "абвгдежзийклмнопрстуфхцчшщъыьэюяё"
)
SEPARATORS = [" ", "  ", "\t", "\n", "-", " - ", "_", ".", ". ", "**", "** **", "\u00a0", "",
              "\u200b", "/", " — ", ", "]  # fmt: skip
INVISIBLE = ["\u200b", "\u00ad", "\u2060", "\ufeff"]
word = st.text(alphabet=LETTERS, min_size=2, max_size=10)
surroundings = st.text(max_size=40)


def strip_accents(s: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", s) if not unicodedata.combining(ch))


def full_width(s: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in s)


@st.composite
def disguise_word(draw, w: str) -> str:
    case = draw(st.sampled_from(["keep", "upper", "lower", "title", "random"]))
    if case == "random":
        flips = draw(st.lists(st.booleans(), min_size=len(w), max_size=len(w)))
        w = "".join(ch.upper() if flip else ch for ch, flip in zip(w, flips, strict=True))
    elif case != "keep":
        w = getattr(w, case)()
    if draw(st.booleans()):
        w = strip_accents(w)
    if draw(st.booleans()):
        w = full_width(w)
    if len(w) > 1 and draw(st.booleans()):  # never at the edges: the mention starts at a letter
        at = draw(st.integers(1, len(w) - 1))
        w = w[:at] + draw(st.sampled_from(INVISIBLE)) + w[at:]
    return w


@st.composite
def disguise(draw, words: list[str]) -> str:
    out = draw(disguise_word(words[0]))
    for w in words[1:]:
        out += draw(st.sampled_from(SEPARATORS)) + draw(disguise_word(w))
    return out


def covered(mentions: list[Mention], start: int, end: int, kind: str) -> bool:
    return any(m.start <= start and m.end >= end and m.kind == kind for m in mentions)


def as_identity(kind: str, words: list[str]) -> Identity:
    shown = " ".join(words)
    return Identity(shown, "", None) if kind == NAME else Identity("", "", shown)


@pytest.mark.parametrize("kind", [NAME, ORGANIZATION])
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(words=st.lists(word, min_size=2, max_size=4), data=st.data())
def test_a_disguised_full_name_is_found_anywhere(kind, words, data):
    """Any full name or organization name, in any case, with or without accents, split by
    any spacing or glued, with invisible characters inside, in any surroundings."""
    shown = data.draw(disguise(words))
    before, after = data.draw(surroundings), data.draw(surroundings)
    text = f"{before} {shown} {after}"
    start = len(before) + 1
    mentions = find_mentions(text, [as_identity(kind, words)])
    assert covered(mentions, start, start + len(shown), kind), (text, mentions)


label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)


@settings(max_examples=100, deadline=None)
@given(
    local=st.lists(label, min_size=1, max_size=2),
    domain=st.lists(label, min_size=2, max_size=3),
    at=st.sampled_from(["@", " at ", " [at] ", "(at)", " AT ", " arroba ", " @ "]),
    dot=st.sampled_from([".", " dot ", " [dot] ", "(dot)", " punto ", " . "]),
    spell_local_dots=st.booleans(),
    upper=st.booleans(),
    before=surroundings,
    after=surroundings,
)
def test_an_obfuscated_email_address_is_found(
    local, domain, at, dot, spell_local_dots, upper, before, after
):
    identity = Identity("", ".".join(local) + "@" + ".".join(domain), None)
    shown = (dot if spell_local_dots else ".").join(local) + at + dot.join(domain)
    shown = shown.strip()
    if upper:
        shown = shown.upper()
    text = f"{before} {shown} {after}"
    start = len(before) + 1
    mentions = find_mentions(text, [identity])
    assert covered(mentions, start, start + len(shown), EMAIL), (text, mentions)


# The identity uses letters that fold into a..m, the text only letters that fold elsewhere:
# nothing the text says can spell any of the identity's words.
IDENTITY_LETTERS = "abcdefghijklmáàâäçéèêëíîïæđłаек"
TEXT_ALPHABET = st.one_of(
    st.sampled_from("nopqrstuvwxyzñóöøúüýžşßбгджзлпфцчшщыэюя中文字0123456789"),
    st.sampled_from(" \n\t.,;:!?-*_[]()&@#'\"/\u200b\u00ad🙂"),
)
identity_word = st.text(alphabet=IDENTITY_LETTERS, min_size=1, max_size=8)


@settings(max_examples=150, deadline=None)
@given(
    name=st.lists(identity_word, min_size=1, max_size=3),
    org=st.lists(identity_word, min_size=1, max_size=4),
    local=identity_word,
    domain=st.lists(identity_word, min_size=2, max_size=2),
    text=st.text(alphabet=TEXT_ALPHABET, max_size=300),
)
def test_nothing_is_found_in_a_text_without_the_identity_words(name, org, local, domain, text):
    identity = Identity(
        " ".join(name).title(), f"{local}@{'.'.join(domain)}", " ".join(org).upper()
    )
    assert find_mentions(text, [identity]) == []


# -- the ASCII fast path of folding agrees with folding one character at a time ---------------

FOLD_ALPHABET = (
    "abcxyzABCXYZ0189 \t\n\r\x0b\x0c\x1c\x1f\x00\x07\x0e\x1b\x7f!\"#&'()*+,-./:;<=>?@[\\]^_`{|}~"
    "éÉñçøæß\u0301\u0345\u00ad\u200b\u3000中文한국\U0001f600αβКк\u02bc"
)


@settings(max_examples=400, deadline=None)
@given(text=st.text(alphabet=FOLD_ALPHABET, max_size=80), data=st.data())
def test_fast_folding_agrees_with_folding_each_character(text, data):
    from moderation.leakguard import _fold, _fold_each

    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=6, unique=True)))
    replacements = [
        (a, b, data.draw(st.text(alphabet=FOLD_ALPHABET, max_size=3)))
        for a, b in zip(cuts[::2], cuts[1::2], strict=False)
    ]
    assert _fold(text, replacements) == _fold_each(text, replacements)
