"""What one person reads is in their language, even when someone else caused it.

A moderator's notice reaches the muted delegate in the delegate's language; a check's
reasons are stored as codes, worded for each reader and in the minutes' language; a
speaker's label is worded for the reader from its parts, while the stored label stays
English (the minutes word speakers from the parts too).
"""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone, translation

from forum.minutes.document import minutes_document
from forum.models import Seat
from forum.services.consensus import ballot_cast, check_close, check_open
from forum.tally import DEFAULT_RULE, explain, tally
from moderation.attribution import attribute, in_reader_language

SCALE = ["support", "live", "object"]
PROPOSITION = "The secretariat publishes early-warning data for every district each month."


# -- notices raised by someone else ------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_mute_notice_reaches_each_delegate_in_their_own_language(cast, sockets):
    await database_sync_to_async(Seat.objects.filter(room=cast.room).update)(
        consented_at=timezone.now()
    )
    chair, ok, _ = await sockets(cast.chloe.user, language="en")
    assert ok
    gus, ok, _ = await sockets(cast.gus.user, language="es-ES,es;q=0.9")
    assert ok
    cora, ok, _ = await sockets(cast.cora.user, language="fr")
    assert ok
    welcome = await gus.recv_type("welcome")
    # The welcome words the reader's own label in their language too.
    assert welcome["you"]["attribution"].startswith("Gobierno · Delegado ")
    for sock in (chair, cora):
        await sock.recv_type("welcome")

    for persona in ("gus", "cora"):
        seat = cast.seats[persona].public_id
        await chair.send(
            {"type": "seat", "action": "mute", "seat": seat, "minutes": 5, "reason": "Off topic."}
        )
        assert (await chair.recv_type("done"))["action"] == "mute"
    es = await gus.recv_type("notice")
    fr = await cora.recv_type("notice")
    assert (es["code"], es["minutes"]) == (fr["code"], fr["minutes"]) == ("muted", 5)
    assert es["message"] == "Un moderador le ha silenciado durante 5 minutos."
    assert fr["message"] == "Un modérateur vous a rendu muet pour 5 minutes."

    await chair.send({"type": "seat", "action": "unmute", "seat": cast.gus.public_id})
    await chair.recv_type("done")
    assert (await gus.recv_type("notice"))["message"] == "Puede volver a intervenir."
    # The moderator's own confirmation stays in the moderator's language.
    await chair.send(
        {
            "type": "seat",
            "action": "mute",
            "seat": cast.gus.public_id,
            "minutes": 1,
            "reason": "x" * 5,
        }
    )
    await chair.recv_type("done")
    assert (await gus.recv_type("notice"))[
        "message"
    ] == "Un moderador le ha silenciado durante 1 minuto."


# -- a check's reasons -------------------------------------------------------------------


def test_reasons_are_codes_with_the_english_sentences_beside_them():
    ballots = [("government", "support"), ("academia", "object")]
    result = tally(ballots, ["government", "academia"], SCALE, DEFAULT_RULE)
    assert result["explanations"] == [
        {"code": "support_short", "support": 0.5, "threshold": 0.6},
        {"code": "sectors_block", "sectors": ["academia"]},
    ]
    assert result["reasons"] == [
        "Weighted support is 50%, below the threshold of 60%.",
        "A majority of the voters of academia object.",
    ]
    # The English sentences do not follow whoever closed the check.
    with translation.override("es"):
        assert (
            tally(ballots, ["government", "academia"], SCALE, DEFAULT_RULE)["reasons"]
            == result["reasons"]
        )
        worded = [explain(e, {"academia": "Academia"}) for e in result["explanations"]]
    assert worded == [
        "El apoyo ponderado es del 50%, por debajo del umbral del 60%.",
        "La mayoría de los votantes de Academia se opone.",
    ]


def test_every_code_has_a_sentence_in_every_language():
    results = [
        tally([], ["government"], SCALE, DEFAULT_RULE),
        tally([("government", "support")], ["government"], SCALE, {"kind": "majority"}),
        tally(
            [("government", "support"), ("academia", "object")],
            ["government", "academia"],
            SCALE,
            {"kind": "majority"},
        ),
        tally(
            [("government", "support"), ("academia", "support"), ("civil-society", "object")],
            ["government", "academia", "civil-society"],
            SCALE,
            {**DEFAULT_RULE, "sector_objection_blocks": False},
        ),
    ]
    codes = {e["code"] for result in results for e in result["explanations"]}
    assert codes == {"nobody_voted", "majority", "no_majority", "support_reached", "sectors_object"}
    for language in ("es", "fr", "pt"):
        with translation.override(language):
            for result in results:
                for explanation, english in zip(
                    result["explanations"], result["reasons"], strict=True
                ):
                    assert explain(explanation) != english, (language, explanation)


@pytest.mark.django_db
def test_the_minutes_word_a_checks_reasons_in_the_round_tables_language(cast):
    Seat.objects.filter(room=cast.room).update(consented_at=timezone.now())
    check = check_open(actor_seat_id=cast.chloe.pk, proposition=PROPOSITION)
    # Government seats three delegates (k = 3): the minutes may name it, in their language.
    # (Two voters a sector: the figures of a group of one voter are not shown.)
    for seat, option in (
        (cast.gus, "object"),
        (cast.greta, "object"),
        (cast.cora, "support"),
        (cast.cyrus, "support"),
    ):
        ballot_cast(seat_id=seat.pk, check_id=check, option=option)
    check_close(actor_seat_id=cast.chloe.pk, check_id=check)
    cast.room.language = "es"
    cast.room.save(update_fields=["language"])
    doc = minutes_document(cast.room)
    (item,) = [i for i in doc["items"] if i["consensus_checks"]]
    assert item["consensus_checks"][0]["reasons"] == [
        "El apoyo ponderado es del 50%, por debajo del umbral del 60%.",
        "La mayoría de los votantes de Gobierno se opone.",
    ]


# -- who spoke -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_label_is_stored_in_english_and_read_in_the_readers_language(cast):
    pseudonym = attribute(cast.cora).as_payload()
    number = cast.cora.pseudonym_number
    assert pseudonym == {"label": f"Civil society · Delegate {number}", "sector": "civil-society",
                         "kind": "pseudonym", "number": number}  # fmt: skip
    chair = attribute(cast.chloe).as_payload()
    assert chair == {"label": "Chair", "sector": None, "kind": "function", "function": "chair"}
    names = {"civil-society": "Société civile"}
    with translation.override("fr"):
        assert in_reader_language(pseudonym, names) == f"Société civile · Délégué {number}"
        assert in_reader_language(chair, names) == "Présidence"
        assert (
            in_reader_language(
                {"label": "A participant", "sector": None, "kind": "anonymous"}, names
            )
            == "Un participant"
        )
        # A name is a name; an old payload without parts is shown as it was stored.
        assert (
            in_reader_language({"label": "Ana Pérez (OAS)", "sector": None, "kind": "named"}, names)
            == "Ana Pérez (OAS)"
        )
        assert in_reader_language({"label": "Chair", "sector": None}, names) == "Chair"
