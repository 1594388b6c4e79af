"""The minutes' wording in each language: who did what (said, asked, replied, raised a point
of order) with each language's article, outcome sentences that say what happened, parity
figures that say "not used" when nobody had the floor, and one numbering of interventions
and recommendations in every format, the package and the cover letter."""

from __future__ import annotations

import io
import json
import uuid

import pytest
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext as _
from docx import Document
from lxml import etree
from pypdf import PdfReader

from forum.minutes.document import minutes_document, outcome_sentence
from forum.minutes.formats.akn import render_akn_minutes
from forum.minutes.formats.docx import render_docx_minutes
from forum.minutes.formats.html import render_html_minutes
from forum.minutes.formats.markdown import render_markdown_minutes
from forum.minutes.formats.pdf import render_pdf_minutes
from forum.minutes.package import package_files
from forum.minutes.phrases import sector_phrase
from forum.models import Committee, Intervention, Recommendation, User
from forum.services.consensus import ballot_cast, check_close, check_open
from forum.services.floor import floor_give_next, hand_raise
from forum.services.interventions import intervention_post
from forum.services.minutes import minutes_adopt, minutes_save
from forum.services.recommendations import recommendation_save
from forum.services.submissions import letter_language, submission_create
from forum.tally import DEFAULT_RULE, tally
from tests.support.minutes import consent_all
from tests.support.personas import build_cast, sign_in

pytestmark = pytest.mark.django_db

Kind = Intervention.Kind
AKN_NS = "http://docs.oasis-open.org/legaldocml/ns/akn/3.0"
LABELS = {"support": "Support", "live": "Can live with it", "object": "Object"}


def post(cast, persona: str, body: str, kind: str = Kind.STATEMENT) -> None:
    intervention_post(seat_id=cast.seats[persona].pk, client_id=uuid.uuid4(), body=body, kind=kind)


@pytest.fixture
def open_cast(db):
    """A Chatham House room by sector with k=1, so that Pia's private sector is named."""
    cast = build_cast(k=1)
    consent_all(cast)
    return cast


def kinds_session(cast) -> None:
    post(cast, "pia", "Markets need rules.")
    post(cast, "cora", "Who pays for the warnings?", Kind.QUESTION)
    post(cast, "gus", "The ministry does.", Kind.REPLY)
    post(cast, "ada", "The speaker list is out of order.", Kind.POINT_OF_ORDER)


SENTENCES = {
    "en": [
        "1.1 A participant from the private sector said:",
        "1.2 A participant from civil society asked:",
        "1.3 A participant from government replied:",
        "1.4 A participant from academia raised a point of order:",
    ],
    "es": [
        "1.1 Un participante del sector privado manifestó:",
        "1.2 Un participante de la sociedad civil preguntó:",
        "1.3 Un participante de un gobierno respondió:",
        "1.4 Un participante del ámbito académico planteó una cuestión de orden:",
    ],
    "fr": [
        "1.1 Un participant du secteur privé a déclaré\u00a0:",
        "1.2 Un participant de la société civile a demandé\u00a0:",
        "1.3 Un participant d'un gouvernement a répondu\u00a0:",
        "1.4 Un participant du monde universitaire a soulevé un point d'ordre\u00a0:",
    ],
    "pt": [
        "1.1 Um participante do setor privado afirmou:",
        "1.2 Um participante da sociedade civil perguntou:",
        "1.3 Um participante de um governo respondeu:",
        "1.4 Um participante do meio acadêmico levantou uma questão de ordem:",
    ],
}


@pytest.mark.parametrize("language", ["en", "es", "fr", "pt"])
def test_attribution_names_the_kind_with_each_languages_article(open_cast, language):
    room = open_cast.room
    room.language = language
    room.save(update_fields=["language"])
    kinds_session(open_cast)
    doc = minutes_document(room)
    ivs = doc["items"][0]["interventions"]
    assert [f"{iv['number']} {iv['sentence']}" for iv in ivs] == SENTENCES[language]
    # the key that references the speaker does not depend on the language
    assert [iv["speaker_key"] for iv in ivs] == [
        "participant-private-sector",
        "participant-civil-society",
        "participant-government",
        "participant-academia",
    ]
    markdown = render_markdown_minutes(doc)
    for sentence in SENTENCES[language]:
        assert " ".join(sentence.split()) in markdown  # Markdown sets user-text spaces plainly


@pytest.mark.parametrize("language", ["en", "es", "fr", "pt"])
def test_a_sectors_phrase_is_the_same_from_its_printed_name(language):
    # A renderer that has only the sector names the minutes print finds the same phrase.
    with translation.override(language):
        for english in ("Government", "Civil society", "Private sector", "Academia"):
            assert sector_phrase(_(english)) == sector_phrase(_(english), english)
        assert sector_phrase("UN agencies") != sector_phrase(_("Academia"))


def test_numbers_are_the_same_in_every_format(open_cast):
    cast = open_cast
    kinds_session(cast)
    for text in ("Publish data **monthly**.", "Fund early warning."):
        recommendation_save(
            actor_seat_id=cast.rita.pk, text=text, audience=Recommendation.Audience.RIGOS
        )
    doc = minutes_document(cast.room)
    item = doc["items"][0]
    assert [iv["number"] for iv in item["interventions"]] == ["1.1", "1.2", "1.3", "1.4"]
    assert [rec["number"] for rec in item["recommendations"]] == ["1", "2"]

    markdown = render_markdown_minutes(doc)
    assert "1.3 A participant from government replied:" in markdown
    assert "2. Fund early warning." in markdown and "1. Publish data **monthly**." in markdown
    page = render_html_minutes(doc)
    assert "1.4 A participant from academia raised a point of order:" in page
    assert '<li value="2">' in page
    pdf = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(render_pdf_minutes(doc))).pages)
    assert "1.2 A participant from civil society asked:" in pdf and "2." in pdf
    docx = "\n".join(p.text for p in Document(io.BytesIO(render_docx_minutes(doc))).paragraphs)
    assert "1.1 A participant from the private sector said:" in docx
    assert "2. Fund early warning." in docx
    # the AKN keys a sector's speaker by its slug, in any language
    tree = etree.fromstring(render_akn_minutes(doc))
    persons = set(tree.xpath("//a:TLCPerson/@eId", namespaces={"a": AKN_NS}))
    assert "participant-private-sector" in persons
    ns = {"a": AKN_NS}
    speeches = tree.xpath(
        "//a:*[self::a:speech or self::a:question or self::a:answer]", namespaces=ns
    )
    numbers = sorted(s.xpath("string(a:num)", namespaces=ns) for s in speeches)
    assert numbers == ["1.1", "1.2", "1.3", "1.4"]
    recs = tree.xpath("//a:p[@class='recommendation']", namespaces=ns)
    assert ["".join(r.itertext())[:3] for r in recs] == ["1. ", "2. "]


def test_the_cover_letter_and_recommendations_json_repeat_the_minutes_numbers(open_cast):
    cast = open_cast
    kinds_session(cast)
    for text in ("Publish data **monthly**.", "Fund *early* warning:\n\n1. sirens\n2. radio"):
        recommendation_save(
            actor_seat_id=cast.rita.pk, text=text, audience=Recommendation.Audience.RIGOS
        )
    minutes_save(actor_seat_id=cast.rita.pk, summaries={})
    minutes_adopt(actor_seat_id=cast.chloe.pk, version=1)
    sam = User.objects.create_user(
        username="sam", email="sam@example.org", password="x", is_staff=True
    )
    committee = Committee.objects.create(
        name="Security Committee", rigo="Forum", working_languages="fr, en"
    )
    second = list(
        cast.room.recommendations.order_by("created_at").values_list("public_id", flat=True)
    )[1]
    submission = submission_create(
        user=sam,
        room_slug=cast.room.slug,
        committee_id=committee.public_id,
        recommendation_ids=[second],
    )
    letter = submission.cover_letter
    # in the committee's first working language, the recommendation under its minutes number
    assert "Recommandations soumises" in letter and "Mesdames et Messieurs" in letter
    assert "(en ligne)" in letter  # the place's default word, in the letter's language
    assert "\n2. Fund early warning:" in letter and "\n1. Publish" not in letter
    # Markdown rendered as plain text: the list keeps its numbers, no markup survives
    assert "*" not in letter and "1. sirens" in letter and "2. radio" in letter
    files = package_files(submission)
    recs = json.loads(files["recommendations.json"])["recommendations"]
    assert [rec["number"] for rec in recs] == ["2"]
    # and the delegates' outcomes page gives each recommendation the same number
    page = sign_in(Client(), cast.gus).get(f"/rooms/{cast.room.slug}/outcomes/").content.decode()
    assert "Recommendation 1 · General discussion" in page
    assert "Recommendation 2 · General discussion" in page


@pytest.mark.parametrize(
    ("languages", "room_language", "expected"),
    [
        ("es, en", "en", "es"),
        ("pt", "fr", "pt"),
        ("", "fr", "fr"),
        ("ar, de", "es", "es"),
        ("", "", "en"),
    ],
)
def test_the_letter_is_in_the_committees_working_language(
    open_cast, languages, room_language, expected
):
    room = open_cast.room
    room.language = room_language
    committee = Committee(name="C", rigo="R", working_languages=languages)
    assert letter_language(committee, room) == expected


@pytest.mark.parametrize("language", ["en", "es", "fr", "pt"])
def test_every_letter_template_renders_in_its_language(open_cast, language):
    cast = open_cast
    kinds_session(cast)
    recommendation_save(
        actor_seat_id=cast.rita.pk, text="Act **now**.", audience=Recommendation.Audience.UN
    )
    minutes_save(actor_seat_id=cast.rita.pk, summaries={})
    minutes_adopt(actor_seat_id=cast.chloe.pk, version=1)
    sam = User.objects.create_user(
        username="sam", email="sam@example.org", password="x", is_staff=True
    )
    committee = Committee.objects.create(name="C", rigo="R", working_languages=language)
    rec = cast.room.recommendations.get().public_id
    letter = submission_create(
        user=sam,
        room_slug=cast.room.slug,
        committee_id=committee.public_id,
        recommendation_ids=[rec],
    ).cover_letter
    greeting = {
        "en": "Yours faithfully",
        "es": "Atentamente",
        "fr": "Le secrétariat",
        "pt": "Atenciosamente",
    }
    assert greeting[language] in letter and "1. Act now." in letter and "**" not in letter
    with translation.override(language):
        rule = str(cast.room.Rule(cast.room.rule).label)
    assert rule in letter  # the rule named in the letter's language, not the minutes'


def ballots(per_sector: dict[str, list[str]]) -> list[tuple[str, str]]:
    return [(sector, option) for sector, options in per_sector.items() for option in options]


def test_a_third_objecting_in_every_sector_is_not_called_consensus():
    sectors = ["government", "civil-society", "academia"]
    result = tally(
        ballots({s: ["support", "live", "object"] for s in sectors}),
        sectors,
        list(LABELS),
        DEFAULT_RULE,
    )
    # The rule carries it (2/3 support, no sector's majority objects) ...
    assert result["outcome"] == "consensus" and result["blocking_sectors"] == []
    # ... but the minutes say what happened, not "consensus".
    with translation.override("en"):
        sentence = outcome_sentence("closed", DEFAULT_RULE, result, LABELS)
    assert sentence == (
        "Carried with objections, not by consensus: weighted support 66.7%, "
        "33.3% of the weight objects."
    )
    assert not sentence.startswith("Consensus")


@pytest.mark.parametrize(
    ("per_sector", "expected"),
    [
        (
            {
                "government": ["object", "object"],
                "civil-society": ["support"],
                "academia": ["support"],
            },
            "No consensus: a majority of one sector objects.",
        ),
        (
            {"government": ["object"], "civil-society": ["object"], "academia": ["support"]},
            "No consensus: a majority of 2 sectors object.",
        ),
        (
            {"government": ["support"], "civil-society": ["support"], "academia": ["live"]},
            "Consensus: weighted support 100%, no objection.",
        ),
        (
            {
                "government": ["object", "support"],
                "civil-society": ["object", "live"],
                "academia": ["object"],
            },
            "No consensus: a majority of one sector objects.",
        ),
    ],
)
def test_outcome_sentences_say_what_happened(per_sector, expected):
    sectors = list(per_sector)
    result = tally(ballots(per_sector), sectors, list(LABELS), DEFAULT_RULE)
    with translation.override("en"):
        assert outcome_sentence("closed", DEFAULT_RULE, result, LABELS) == expected


def test_outcome_sentences_in_spanish_and_for_open_checks():
    result = tally(
        ballots({"government": ["object"], "academia": ["support"]}),
        ["government", "academia"],
        list(LABELS),
        DEFAULT_RULE,
    )
    with translation.override("es"):
        assert outcome_sentence("closed", DEFAULT_RULE, result, LABELS) == (
            "Sin consenso: la mayoría de un sector se opone."
        )
        assert outcome_sentence("open", DEFAULT_RULE, {}, LABELS) == "Todavía abierta."


def test_the_minutes_print_the_outcome_sentence(open_cast):
    cast = open_cast
    check = check_open(actor_seat_id=cast.chloe.pk, proposition="Publish monthly.")
    # a third of government and of civil society object, no sector's majority does
    for persona, option in (
        ("gus", "support"),
        ("greta", "live"),
        ("gil", "object"),
        ("cora", "support"),
        ("cyrus", "live"),
        ("celia", "object"),
    ):
        ballot_cast(seat_id=cast.seats[persona].pk, check_id=check, option=option)
    check_close(actor_seat_id=cast.chloe.pk, check_id=check)
    doc = minutes_document(cast.room)
    [found] = doc["items"][0]["consensus_checks"]
    assert found["outcome"] == "consensus"  # the rule's key stays as the tally gives it
    assert found["outcome_sentence"].startswith("Carried with objections, not by consensus")
    markdown = render_markdown_minutes(doc)
    assert "Carried with objections, not by consensus" in markdown
    assert "Outcome: **Consensus" not in markdown and "**consensus**" not in markdown


def test_parity_says_not_used_when_nobody_had_the_floor(open_cast):
    doc = minutes_document(open_cast.room)
    assert doc["parity"]["room"]["balance"] is None
    markdown = render_markdown_minutes(doc)
    assert "Balance index: not used (nobody had the floor)" in markdown
    assert "1.00" not in markdown.split("## Parity figures")[1]
    pdf = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(render_pdf_minutes(doc))).pages)
    assert "not used" in pdf


def test_parity_gives_the_balance_once_someone_had_the_floor(open_cast):
    hand_raise(seat_id=open_cast.ada.pk)
    floor_give_next(actor_seat_id=open_cast.chloe.pk)
    doc = minutes_document(open_cast.room)
    room = doc["parity"]["room"]
    assert room["sectors"]["academia"]["turns"] == 1
    assert isinstance(room["balance"], float)
    markdown = render_markdown_minutes(doc)
    assert "Balance index: not used" not in markdown
    assert f"Balance index: {room['balance']:.2f}" in markdown
