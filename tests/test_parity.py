"""Parity figures as a projection of the event log (forum/parity.py).

The logs are written with append_event and payloads that match realtime/events.py, so these
tests do not depend on the floor service; one test at the end goes through the real
intervention services to check their payloads are what the projection reads.
"""

from __future__ import annotations

import itertools
import json
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from forum.models import Intervention, RoundTable, Seat
from forum.parity import balance_index, count_words, gini, parity_figures
from forum.services.rooms import dialogue_get_or_create, room_create, room_set_current_item
from moderation.disclosure import POOLED
from realtime.log import append_event

pytestmark = pytest.mark.django_db

SECTORS = ["government", "intergovernmental", "civil-society", "private-sector", "academia"]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def room() -> RoundTable:
    dialogue = dialogue_get_or_create(slug="parity-dialogue", title="Parity dialogue")
    return room_create(
        dialogue=dialogue, slug="parity-room", title="Parity", agenda=["Opening", "Security"]
    )


def items(room: RoundTable) -> list[str]:
    return list(room.agenda_items.order_by("position").values_list("public_id", flat=True))


class Log:
    """Writes events the way the services do: one payload per audience, the moderators'
    with `sector` and `author`."""

    def __init__(self, room: RoundTable):
        self.room = room
        self.ids = (f"r{n}" for n in itertools.count(1))

    def append(self, kind: str, participants: dict | None, moderators: dict | None) -> None:
        with transaction.atomic():
            append_event(self.room, kind, participants=participants, moderators=moderators)

    @staticmethod
    def _attribution(sector: str | None) -> dict:
        return {"label": "Delegate", "sector": None}  # what an anonymous room shows participants

    def _floor(
        self, kind: str, request: str, sector: str | None, speaker: dict | None, **extra
    ) -> None:
        data = {"request": request, "queue": [], "speaker": speaker, **extra}
        self.append(kind, data, {**data, "sector": sector, "author": f"h-{sector}"})

    def give(
        self, sector: str | None, at: datetime, *, limit: int = 180, out_of_order: bool = False
    ) -> str:
        request = next(self.ids)
        speaker = {
            "request": request,
            "kind": "statement",
            "attribution": self._attribution(sector),
            "started_at": at.isoformat(),
            "ends_at": (at + timedelta(seconds=limit)).isoformat(),
            "limit_seconds": limit,
        }
        self._floor("floor.given", request, sector, speaker, out_of_order=out_of_order)
        return request

    def end(self, request: str, sector: str | None, seconds: int, reason: str = "yielded") -> None:
        self._floor("floor.turn_ended", request, sector, None, reason=reason, seconds=seconds)

    def turn(self, sector: str, seconds: int, at: datetime = T0) -> None:
        self.end(self.give(sector, at), sector, seconds)

    def moved(self, sector: str) -> None:
        self._floor("floor.request_moved", next(self.ids), sector, None, position=1)

    def removed(self, sector: str) -> None:
        self._floor(
            "floor.request_removed",
            next(self.ids),
            sector,
            None,
            reason="Off topic, said the chair.",
        )

    def agenda(self, public_id: str) -> None:
        data = {"agenda_item": public_id, "title": "Item"}
        self.append("agenda.current_changed", data, data)

    def intervention(
        self, kind: str, public_id: str, sector: str, item: str, body_html: str
    ) -> None:
        data = {
            "id": public_id,
            "kind": "statement",
            "attribution": self._attribution(sector),
            "body_html": body_html,
            "agenda_item": item,
            "created_at": T0.isoformat(),
            "redaction": None,
        }
        moderators = {**data, "author": f"h-{sector}", "sector": sector}
        if kind == "intervention.held":
            self.append(
                kind,
                None,
                {**moderators, "reason": "Pre-moderation.", "body_md": body_html, "mentions": []},
            )
        else:
            self.append(kind, data, moderators)

    def hidden(self, public_id: str) -> None:
        data = {"id": public_id, "reason": "Hidden by a moderator."}
        self.append("intervention.hidden", data, data)


def seconds(figures: dict, scope: str = "room") -> dict[str, float]:
    return {s: f["speaking_seconds"] for s, f in figures[scope]["sectors"].items()}


# -- the index ------------------------------------------------------------------------


def naive_gini(values: list[float]) -> float:
    n, total = len(values), sum(values)
    if n == 0 or total == 0:
        return 0.0
    return sum(abs(a - b) for a in values for b in values) / (2 * n * total)


def test_gini_matches_its_definition_on_fixed_and_random_lists():
    rng = random.Random(4)
    cases = [[1, 3], [0, 0, 5], [2, 2, 2, 2], [0, 1, 2, 3, 4], [7]]
    cases += [
        [rng.choice([0, rng.randint(1, 600)]) for _ in range(rng.randint(1, 8))] for _ in range(200)
    ]
    for values in cases:
        assert gini(values) == pytest.approx(naive_gini(values), abs=1e-12), values
    assert gini([1, 3]) == pytest.approx(0.25)


@pytest.mark.parametrize("sectors", [1, 2, 5, 9])
def test_balance_edges(sectors):
    assert balance_index([0.0] * sectors) == 1.0  # nobody spoke
    assert balance_index([42.0] * sectors) == pytest.approx(1.0)  # all equal
    one = [0.0] * (sectors - 1) + [300.0]  # one sector spoke all the time
    assert balance_index(one) == pytest.approx(1 - (sectors - 1) / sectors)
    assert balance_index(one) == pytest.approx(1 / sectors)


def test_words_are_counted_from_the_html_without_tags_or_entities():
    assert count_words("<p>Hello <strong>world</strong>, again</p><p>&amp; more</p>") == 4
    assert count_words("<p>one</p><p>two</p>") == 2  # a tag separates words
    assert count_words('<p>Núñez &mdash; <a href="https://x.example/a-b-c">José</a></p>') == 2
    assert count_words("") == 0


# -- the projection -------------------------------------------------------------------


def test_an_empty_log_gives_zeros_a_balance_of_one_and_json(room):
    figures = parity_figures(room, now=T0)
    assert [s["slug"] for s in figures["sectors"]] == SECTORS
    assert figures["seq"] == 0 and figures["running"] is None
    assert [i["agenda_item"] for i in figures["items"]] == items(room)
    assert [i["current"] for i in figures["items"]] == [True, False]
    assert figures["room"]["balance"] == 1.0
    assert all(i["balance"] == 1.0 for i in figures["items"])
    zero = {
        "turns": 0,
        "speaking_seconds": 0.0,
        "speaking_share": 0.0,
        "interventions": 0,
        "words": 0,
        "overrides": 0,
    }
    assert figures["room"]["sectors"] == {s: zero for s in SECTORS}
    assert figures["room"]["overrides"] == {"total": 0, "out_of_order": 0, "moved": 0, "removed": 0}
    assert json.loads(json.dumps(figures)) == figures


def test_equal_time_for_every_sector_balances_to_one(room):
    log = Log(room)
    for sector in SECTORS:
        log.turn(sector, 60)
    figures = parity_figures(room, now=T0)
    assert seconds(figures) == {s: 60.0 for s in SECTORS}
    assert {s: f["turns"] for s, f in figures["room"]["sectors"].items()} == {s: 1 for s in SECTORS}
    assert {f["speaking_share"] for f in figures["room"]["sectors"].values()} == {0.2}
    assert figures["room"]["balance"] == 1.0


def test_one_sector_speaking_all_the_time_gives_one_over_the_number_of_sectors(room):
    log = Log(room)
    log.turn("government", 100)
    log.turn("government", 80)
    figures = parity_figures(room, now=T0)
    assert figures["room"]["sectors"]["government"]["turns"] == 2
    assert figures["room"]["sectors"]["government"]["speaking_seconds"] == 180.0
    # Five sectors, one spoke: Gini (5-1)/5, balance 1/5. Silent sectors count.
    assert figures["room"]["balance"] == pytest.approx(0.2)
    two = Log(room)
    two.turn("academia", 180)
    assert parity_figures(room, now=T0)["room"]["balance"] == pytest.approx(
        1 - naive_gini([180, 0, 0, 0, 180])
    )


def test_figures_are_kept_per_agenda_item(room):
    first, second = items(room)
    log = Log(room)
    log.turn("government", 120)
    late = log.give("civil-society", T0)
    log.agenda(second)
    log.end(late, "civil-society", 30)  # given in the first item: its time stays there
    log.turn("academia", 50)
    log.turn("academia", 10)
    figures = parity_figures(room, now=T0)
    one, two = figures["items"]
    assert (one["agenda_item"], two["agenda_item"]) == (first, second)
    assert (one["current"], two["current"]) == (False, True)
    assert {
        s: f["speaking_seconds"] for s, f in one["sectors"].items() if f["speaking_seconds"]
    } == {
        "government": 120.0,
        "civil-society": 30.0,
    }
    assert {s: f["turns"] for s, f in two["sectors"].items() if f["turns"]} == {"academia": 2}
    assert two["sectors"]["academia"]["speaking_seconds"] == 60.0
    assert two["balance"] == pytest.approx(0.2)
    assert one["balance"] == pytest.approx(1 - naive_gini([120, 0, 30, 0, 0]))
    assert seconds(figures) == {
        "government": 120.0,
        "intergovernmental": 0.0,
        "civil-society": 30.0,
        "private-sector": 0.0,
        "academia": 60.0,
    }
    assert figures["room"]["balance"] == pytest.approx(
        1 - naive_gini([120, 0, 30, 0, 60]), abs=1e-4
    )
    # `upto` gives the figures as they stood: before the agenda moved on.
    before = parity_figures(room, now=T0, upto=3)
    assert [i["current"] for i in before["items"]] == [True, False]
    assert before["running"]["sector"] == "civil-society"


def test_each_intervention_counts_once_with_its_published_words(room):
    first, second = items(room)
    log = Log(room)
    log.intervention(
        "intervention.posted", "i1", "government", first, "<p>Early warning works.</p>"
    )
    log.intervention(
        "intervention.posted", "i1", "government", first, "<p>Early warning works.</p>"
    )
    # Held, then approved: published (and counted) once, when approved.
    log.intervention(
        "intervention.held", "i2", "civil-society", first, "<p>Held for review here</p>"
    )
    held = parity_figures(room, now=T0)["room"]["sectors"]["civil-society"]
    assert (held["interventions"], held["words"]) == (0, 0)
    log.intervention(
        "intervention.posted", "i2", "civil-society", first, "<p>Held for review here</p>"
    )
    log.intervention(
        "intervention.posted", "i2", "civil-society", first, "<p>Held for review here</p>"
    )
    # Held and never published (rejected): never counted.
    log.intervention("intervention.held", "i3", "academia", first, "<p>Not published</p>")
    log.append("intervention.rejected", None, {"id": "i3", "reason": "Names a participant."})
    # Published, then hidden and restored: counted once, as readers can read it again.
    log.intervention("intervention.posted", "i4", "government", second, "<p>Two words</p>")
    log.hidden("i4")
    log.intervention("intervention.restored", "i4", "government", second, "<p>Two words</p>")
    # Published, then hidden for good: readers cannot read it, and it no longer counts.
    log.intervention("intervention.posted", "i5", "academia", second, "<p>Taken down later</p>")
    assert parity_figures(room, now=T0)["room"]["sectors"]["academia"]["interventions"] == 1
    log.hidden("i5")
    figures = parity_figures(room, now=T0)
    room_figures = figures["room"]["sectors"]
    assert (room_figures["government"]["interventions"], room_figures["government"]["words"]) == (
        2,
        5,
    )
    assert (
        room_figures["civil-society"]["interventions"],
        room_figures["civil-society"]["words"],
    ) == (1, 4)
    assert (room_figures["academia"]["interventions"], room_figures["academia"]["words"]) == (0, 0)
    one, two = figures["items"]
    # An intervention belongs to the item its payload names, whatever is current.
    assert one["sectors"]["government"]["interventions"] == 1
    assert two["sectors"]["government"]["interventions"] == 1
    assert figures["room"]["balance"] == 1.0  # nobody had the floor


def test_a_running_turn_counts_up_to_now_and_never_past_its_limit(room):
    log = Log(room)
    request = log.give("private-sector", T0, limit=180)
    at = lambda s: T0 + timedelta(seconds=s)  # noqa: E731
    figures = parity_figures(room, now=at(30.5))
    assert figures["room"]["sectors"]["private-sector"]["speaking_seconds"] == 30.5
    assert figures["items"][0]["sectors"]["private-sector"]["speaking_seconds"] == 30.5
    assert figures["room"]["sectors"]["private-sector"]["turns"] == 1
    assert figures["running"] == {
        "sector": "private-sector",
        "agenda_item": items(room)[0],
        "started_at": T0.isoformat(),
        "elapsed_seconds": 30.5,
    }
    assert (
        parity_figures(room, now=at(-5))["room"]["sectors"]["private-sector"]["speaking_seconds"]
        == 0.0
    )
    assert (
        parity_figures(room, now=at(900))["room"]["sectors"]["private-sector"]["speaking_seconds"]
        == 180.0
    )
    log.end(request, "private-sector", 45)
    for now in (at(30), at(900)):
        ended = parity_figures(room, now=now)
        assert ended["running"] is None
        assert ended["room"]["sectors"]["private-sector"]["speaking_seconds"] == 45.0


def test_a_turn_given_over_a_running_one_ends_it_at_the_new_start(room):
    log = Log(room)
    log.give("government", T0)
    log.give("academia", T0 + timedelta(seconds=20), out_of_order=True)
    figures = parity_figures(room, now=T0 + timedelta(seconds=50))
    assert seconds(figures)["government"] == 20.0
    assert seconds(figures)["academia"] == 30.0


def test_overrides_are_counted_per_item_and_per_sector(room):
    first, second = items(room)
    log = Log(room)
    log.turn("government", 10)
    log.end(log.give("civil-society", T0, out_of_order=True), "civil-society", 10)
    log.moved("academia")
    log.agenda(second)
    log.removed("government")
    log.removed("government")
    figures = parity_figures(room, now=T0)
    one, two = figures["items"]
    assert one["overrides"] == {"total": 2, "out_of_order": 1, "moved": 1, "removed": 0}
    assert two["overrides"] == {"total": 2, "out_of_order": 0, "moved": 0, "removed": 2}
    assert figures["room"]["overrides"] == {"total": 4, "out_of_order": 1, "moved": 1, "removed": 2}
    assert {s: f["overrides"] for s, f in figures["room"]["sectors"].items() if f["overrides"]} == {
        "civil-society": 1,
        "academia": 1,
        "government": 2,
    }
    assert one["sectors"]["government"]["overrides"] == 0
    assert one["sectors"]["government"]["turns"] == 1  # an ordinary turn is no override


def test_the_projection_reads_the_moderators_payload_not_the_participants(room):
    room.attribution = RoundTable.Attribution.ANONYMOUS
    room.save(update_fields=["attribution"])
    Log(room).turn("academia", 90)  # participants' speaker attribution carries no sector
    assert parity_figures(room, now=T0)["room"]["sectors"]["academia"]["speaking_seconds"] == 90.0


# -- through the real services --------------------------------------------------------


def test_the_intervention_services_payloads_feed_the_figures(cast):
    from forum.services.interventions import intervention_post
    from forum.services.moderator_actions import intervention_approve, intervention_hide

    Seat.objects.filter(room=cast.room).update(consented_at=timezone.now())
    first = intervention_post(
        seat_id=cast.gus.pk,
        client_id=uuid.uuid4(),
        body="Early warning works in *three* districts.",
    )
    intervention_post(seat_id=cast.gus.pk, client_id=uuid.uuid4(), body="Agreed.")
    RoundTable.objects.filter(pk=cast.room.pk).update(premoderation=True)
    held = intervention_post(
        seat_id=cast.cora.pk, client_id=uuid.uuid4(), body="Funding must reach women mediators."
    )
    assert held.held_reason
    assert parity_figures(cast.room)["room"]["sectors"]["civil-society"]["interventions"] == 0
    intervention_approve(actor_seat_id=cast.mona.pk, intervention_id=held.intervention_id)
    before = parity_figures(cast.room)["room"]["sectors"]["government"]
    assert (before["interventions"], before["words"]) == (2, 6 + 1)
    intervention_hide(
        actor_seat_id=cast.mona.pk,
        intervention_id=first.intervention_id,
        reason="Checking a claim here.",
    )
    figures = parity_figures(cast.room)
    # The hidden post leaves the figures: one intervention of one word is what readers can read.
    assert figures["room"]["sectors"]["government"]["interventions"] == 1
    assert figures["room"]["sectors"]["government"]["words"] == 1
    assert figures["room"]["sectors"]["civil-society"]["interventions"] == 1
    assert figures["room"]["sectors"]["civil-society"]["words"] == 5
    assert Intervention.objects.filter(room=cast.room, status="published").count() == 2

    room_set_current_item(room=cast.room, item=cast.room.agenda_items.get())
    assert parity_figures(cast.room)["items"][0]["sectors"]["government"]["interventions"] == 1


def test_the_room_page_gets_the_figures_as_json_and_outsiders_get_a_json_refusal(cast, outsider):
    from django.test import Client

    from forum.models import RoundTable
    from tests.support.personas import sign_in

    delegate = sign_in(Client(), cast.cora)
    response = delegate.get(f"/rooms/{cast.room.slug}/parity.json")
    assert response.status_code == 200
    data = response.json()
    assert {s["slug"] for s in data["sectors"]} >= {"government", "civil-society"}
    assert data["room"]["balance"] == 1.0  # nobody has spoken yet

    stranger = Client()
    stranger.force_login(outsider)
    refused = stranger.get(f"/rooms/{cast.room.slug}/parity.json")
    assert (refused.status_code, refused.json()["error"]) == (403, "forbidden")

    # In an anonymous room per-sector figures would point at the speaker's sector: participants
    # get every delegate's figures in one pooled group, the chair and moderators every sector.
    RoundTable.objects.filter(pk=cast.room.pk).update(attribution="anonymous")
    pooled = delegate.get(f"/rooms/{cast.room.slug}/parity.json").json()
    assert [s["slug"] for s in pooled["sectors"]] == [POOLED]
    assert set(pooled["room"]["sectors"]) == {POOLED}
    chair = sign_in(Client(), cast.chloe)
    full = chair.get(f"/rooms/{cast.room.slug}/parity.json").json()
    assert {s["slug"] for s in full["sectors"]} >= {"government", "civil-society", "academia"}
