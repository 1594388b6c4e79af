"""The disclosure rule (moderation/disclosure.py) and the projections that go through it.

The cast's room (k = 3, sector attribution) seats three government and three civil society
delegates, one academia delegate (Ada) and one private sector delegate (Pia): government and
civil society may be named; academia and the private sector are pooled as "Other
participants" (two delegates, so the pool shows); the chair and moderators see every sector.
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client
from django.utils import timezone

from forum.minutes.document import minutes_document
from forum.models import RoomEvent, RoundTable, Seat, Sector
from forum.services.consensus import ballot_cast, check_close, check_open
from forum.services.floor import floor_give_next, hand_raise
from forum.services.interventions import intervention_post
from forum.services.minutes import minutes_adopt, minutes_comment, minutes_review_open, minutes_save
from forum.services.moderator_actions import intervention_approve, intervention_hide, seat_remove
from forum.services.seats import seat_upsert, user_upsert
from forum.tally import CONSENSUS_SCALE, DEFAULT_RULE, disclose_result, tally
from moderation.disclosure import FULL, POOLED, Disclosure, Reader, disclosure, pool_rule
from tests.support.personas import sign_in
from tests.support.sockets import latest_presence

pytestmark = pytest.mark.django_db

SCALE = [option["key"] for option in CONSENSUS_SCALE]


def reload(room: RoundTable) -> RoundTable:
    return RoundTable.objects.get(pk=room.pk)


def set_attribution(room: RoundTable, attribution: str) -> RoundTable:
    RoundTable.objects.filter(pk=room.pk).update(attribution=attribution)
    return reload(room)


def as_reader(seat: Seat) -> Client:
    return sign_in(Client(), seat)


def parity_for(seat: Seat) -> dict:
    return as_reader(seat).get(f"/rooms/{seat.room.slug}/parity.json").json()


def consent_all(room: RoundTable) -> None:
    Seat.objects.filter(room=room).update(consented_at=timezone.now())


def post(seat: Seat, body: str):
    return intervention_post(seat_id=seat.pk, client_id=uuid.uuid4(), body=body)


def seat_more(cast, sector_slug: str, count: int) -> list[Seat]:
    sector = Sector.objects.get(slug=sector_slug)
    seats = []
    for n in range(count):
        user = user_upsert(email=f"{sector_slug}-{n}@example.org", name=f"Extra Delegate {n}")
        seats.append(
            seat_upsert(
                room=cast.room, user=user, role="delegate", sector=sector, organization=None
            )[0]
        )
    return seats


# -- the rule ---------------------------------------------------------------------------------


def test_a_sector_is_shown_from_k_seated_delegates_and_the_others_are_pooled(cast):
    seat_more(cast, "academia", 1)  # the pool: two sectors, k = 3 delegates
    rule = disclosure(cast.room, Reader.PARTICIPANTS)
    assert rule.shown == {"government", "civil-society"}
    assert (rule.pooled_seats, rule.pool_visible) == (3, True)
    assert [
        rule.key(s) for s in ("government", "academia", "private-sector", "intergovernmental", None)
    ] == [
        "government",
        POOLED,
        POOLED,
        POOLED,
        None,
    ]
    assert rule.groups(["government", "civil-society", "academia", "private-sector"]) == [
        ("government", ["government"]),
        ("civil-society", ["civil-society"]),
        (POOLED, ["academia", "private-sector"]),
    ]
    # Records follow the same rule; the chair and moderators see everything.
    assert disclosure(cast.room, Reader.RECORD) == rule
    assert disclosure(cast.room, Reader.MODERATORS) == FULL


def test_a_pool_of_a_single_delegate_shows_nothing(cast):
    seat_remove(
        actor_seat_id=cast.chloe.pk, seat=cast.pia.public_id, reason="Left the round table."
    )
    rule = disclosure(cast.room, Reader.PARTICIPANTS)
    assert (rule.pooled_seats, rule.pool_visible) == (1, False)
    assert rule.key("academia") is None
    assert rule.counts({"government": 2, "academia": 1}) == {"government": 2}
    assert rule.groups(["government", "academia"]) == [("government", ["government"])]


def test_an_anonymous_room_shows_no_sector_and_a_named_room_every_sector(cast):
    anonymous = disclosure(set_attribution(cast.room, "anonymous"), Reader.RECORD)
    assert (anonymous.shown, anonymous.pooled_seats) == (frozenset(), 8)
    assert anonymous.key("government") == POOLED
    named = reload(cast.room)
    named.rule, named.attribution = RoundTable.Rule.OPEN, RoundTable.Attribution.NAMED
    assert disclosure(named, Reader.PARTICIPANTS) == FULL


def test_a_pseudonym_of_a_sector_no_longer_shown_reads_a_participant():
    rule = Disclosure(frozenset({"government"}), 2)
    pseudonym = {
        "label": "Academia · Delegate 1",
        "sector": "academia",
        "kind": "pseudonym",
        "number": 1,
    }
    assert rule.attribution(pseudonym) == {
        "label": "A participant",
        "sector": None,
        "kind": "anonymous",
    }
    kept = [
        {**pseudonym, "sector": "government", "label": "Government · Delegate 1"},
        {"label": "Chair", "sector": None, "kind": "function", "function": "chair"},
        {"label": "A participant", "sector": None, "kind": "anonymous"},
    ]
    assert [rule.attribution(a) for a in kept] == kept
    assert FULL.attribution(pseudonym) == pseudonym


# -- parity.json, the running turn --------------------------------------------------------------


def test_a_delegate_holding_the_floor_alone_in_their_sector_is_not_named_by_the_running_turn(cast):
    seat_more(cast, "academia", 1)  # the pool: two sectors, k = 3 delegates
    hand_raise(seat_id=cast.ada.pk)
    floor_give_next(actor_seat_id=cast.chloe.pk)
    for_cora = parity_for(cast.cora)
    assert for_cora["running"]["sector"] == POOLED
    assert [s["slug"] for s in for_cora["sectors"]] == ["government", "civil-society", POOLED]
    assert for_cora["room"]["sectors"][POOLED]["turns"] == 1
    assert "academia" not in json.dumps(for_cora)
    # Shares are of what is shown: they still add up to the whole.
    assert sum(f["speaking_share"] for f in for_cora["room"]["sectors"].values()) == pytest.approx(
        1.0
    )
    for_chair = parity_for(cast.chloe)
    assert for_chair["running"]["sector"] == "academia"
    assert for_chair["room"]["sectors"]["academia"]["turns"] == 1

    # Without Pia, the pool would be academia alone: nothing is shown for it at all.
    seat_remove(
        actor_seat_id=cast.chloe.pk, seat=cast.pia.public_id, reason="Left the round table."
    )
    alone = parity_for(cast.cora)
    assert alone["running"]["sector"] is None
    assert [s["slug"] for s in alone["sectors"]] == ["government", "civil-society"]
    assert POOLED not in json.dumps(alone) and "academia" not in json.dumps(alone)


def test_an_anonymous_rooms_parity_json_pools_every_delegate_for_participants(cast):
    consent_all(cast.room)
    post(cast.gus, "One two three.")
    post(cast.ada, "Four five.")
    set_attribution(cast.room, "anonymous")
    for seat in (cast.cora, cast.rita, cast.oscar):
        figures = parity_for(seat)
        assert set(figures["room"]["sectors"]) == {POOLED}
        assert (
            figures["room"]["sectors"][POOLED]["interventions"],
            figures["room"]["sectors"][POOLED]["words"],
        ) == (2, 5)
    assert {"government", "academia"} <= set(parity_for(cast.mona)["room"]["sectors"])


# -- a sector crossing k -----------------------------------------------------------------------


def test_a_sector_crossing_k_is_shown_from_then_on_and_an_adopted_version_never_changes(cast):
    consent_all(cast.room)
    post(cast.ada, "Universities hold the data.")
    version = minutes_save(actor_seat_id=cast.rita.pk)
    minutes_adopt(actor_seat_id=cast.chloe.pk, version=version.number)
    reader = as_reader(cast.cora)
    adopted = reader.get(f"/rooms/{cast.room.slug}/minutes.md").content
    assert b"Academia" not in adopted

    seat_more(cast, "academia", 2)  # academia now seats three delegates
    figures = parity_for(cast.cora)
    assert figures["room"]["sectors"]["academia"]["interventions"] == 1
    assert POOLED not in figures["room"]["sectors"]  # the private sector alone: a pool of one
    # What was adopted stays as it was adopted, byte for byte; a new version shows academia.
    assert reader.get(f"/rooms/{cast.room.slug}/minutes.md").content == adopted
    doc = minutes_document(cast.room)
    assert [s["slug"] for s in doc["header"]["attendance"]["sectors"]] == [
        "government",
        "civil-society",
        "academia",
    ]

    # And the other way: government falls below k when a seat is removed.
    hand_raise(seat_id=cast.greta.pk)
    seat_remove(
        actor_seat_id=cast.chloe.pk, seat=cast.gus.public_id, reason="Left the round table."
    )
    assert "government" not in parity_for(cast.cora)["room"]["sectors"]
    hand_raise(seat_id=cast.cora.pk)
    raised = (
        RoomEvent.objects.filter(room=cast.room, kind="floor.hand_raised").order_by("-seq").first()
    )
    labels = {entry["attribution"]["label"] for entry in raised.participants["queue"]}
    assert "A participant" in labels  # Greta's hand, raised as "Government · Delegate 2"
    assert not any(label.startswith("Government") for label in labels)
    assert any(
        e["attribution"]["label"].startswith("Government") for e in raised.moderators["queue"]
    )


def test_a_held_post_approved_after_its_sector_fell_below_k_is_published_as_a_participant(cast):
    consent_all(cast.room)
    RoundTable.objects.filter(pk=cast.room.pk).update(premoderation=True)
    held = post(cast.cora, "Funding must reach women mediators.")
    assert held.held_reason
    seat_remove(
        actor_seat_id=cast.chloe.pk, seat=cast.cyrus.public_id, reason="Left the round table."
    )
    intervention_approve(actor_seat_id=cast.mona.pk, intervention_id=held.intervention_id)
    published = (
        RoomEvent.objects.filter(room=cast.room, kind="intervention.posted")
        .order_by("-seq")
        .first()
    )
    assert published.participants["attribution"] == {
        "label": "A participant",
        "sector": None,
        "kind": "anonymous",
    }
    assert published.moderators["attribution"]["sector"] == "civil-society"


def test_review_comments_follow_the_rule_as_it_stands(cast):
    consent_all(cast.room)
    version = minutes_save(actor_seat_id=cast.rita.pk)
    minutes_review_open(actor_seat_id=cast.rita.pk, version=version.number)
    minutes_comment(seat_id=cast.cora.pk, version=version.number, body="Add the funding point.")
    page = f"/rooms/{cast.room.slug}/minutes/?version={version.number}"
    assert "Civil society · Delegate" in as_reader(cast.gus).get(page).content.decode()
    seat_remove(
        actor_seat_id=cast.chloe.pk, seat=cast.cyrus.public_id, reason="Left the round table."
    )
    shown = as_reader(cast.gus).get(page).content.decode()
    assert "Civil society · Delegate" not in shown and "A participant" in shown
    assert "Civil society · Delegate" in as_reader(cast.chloe).get(page).content.decode()


# -- consensus results -------------------------------------------------------------------------


def test_a_result_pools_the_sectors_not_shown_and_keeps_the_weighing():
    result = tally(
        [
            ("government", "support"),
            ("government", "support"),
            ("academia", "object"),
            ("private-sector", "support"),
        ],
        ["government", "academia", "private-sector", "intergovernmental"],
        SCALE,
        DEFAULT_RULE,
    )
    shown = disclose_result(result, Disclosure(frozenset({"government"}), 2))
    assert shown["sectors"] == {
        "government": {
            "voters": 2,
            "weight": 1 / 3,
            "distribution": {"support": 2, "live": 0, "object": 0},
        },
        POOLED: {
            "voters": 2,
            "weight": 2 / 3,
            "distribution": {"support": 1, "live": 0, "object": 1},
        },
    }
    assert (shown["voting_sectors"], shown["abstaining_sectors"]) == (["government", POOLED], [])
    assert shown["blocking_sectors"] == [POOLED]  # academia objects by majority
    assert (shown["weighted"], shown["outcome"], shown["voters"]) == (
        result["weighted"],
        result["outcome"],
        4,
    )
    assert (
        shown["reasons"][-1]
        == "A majority of the voters of at least one sector among the other participants object."
    )
    assert disclose_result(result, FULL) is result


def test_a_pool_of_one_is_left_out_of_a_result_even_when_its_block_decided_it():
    lets_pass = tally(
        [("government", "support"), ("academia", "object")],
        ["government", "academia"],
        SCALE,
        {**DEFAULT_RULE, "threshold": 0.5, "sector_objection_blocks": False},
    )
    alone = Disclosure(frozenset({"government"}), 1)
    shown = disclose_result(lets_pass, alone)
    # One ballot outside what is shown: government's alone would tell it by subtraction.
    assert shown["sectors"] == {} and shown["voting_sectors"] == shown["abstaining_sectors"] == []
    assert shown["blocking_sectors"] == [] and "academia" not in json.dumps(shown)
    assert [e["code"] for e in shown["explanations"]] == ["support_reached", "figures_withheld"]
    # Support reached and yet no consensus: one voter's block; nothing says who, or from where.
    blocked = tally(
        [("government", "support"), ("academia", "object")],
        ["government", "academia"],
        SCALE,
        {**DEFAULT_RULE, "threshold": 0.5},
    )
    shown = disclose_result(blocked, alone)
    assert shown["outcome"] == "no consensus"
    assert [e["code"] for e in shown["explanations"]] == ["support_reached", "figures_withheld"]
    assert (
        shown["blocking_sectors"] == []
        and POOLED not in json.dumps(shown)
        and "academia" not in json.dumps(shown)
    )
    assert shown["reasons"][-1] == "Some figures are not shown: they would describe a single voter."


def test_a_group_of_one_voter_shows_nothing_whether_a_shown_sector_or_the_pool():
    rule = Disclosure(frozenset({"government", "civil-society"}), 4)
    ballots = [
        ("government", "object"),  # government's only voter
        ("civil-society", "support"),
        ("civil-society", "support"),
        ("civil-society", "live"),
        ("academia", "support"),
        ("private-sector", "support"),
    ]
    sectors = ["government", "civil-society", "academia", "private-sector", "intergovernmental"]
    shown = disclose_result(tally(ballots, sectors, SCALE, DEFAULT_RULE), rule)
    # Government's one ballot is left out, and the pool's two with it (else the total minus
    # what is shown would be that one ballot); nor is anyone listed as abstaining.
    assert set(shown["sectors"]) == {"civil-society"}
    assert shown["sectors"]["civil-society"]["distribution"] == {
        "support": 2,
        "live": 1,
        "object": 0,
    }
    assert (shown["voting_sectors"], shown["abstaining_sectors"], shown["blocking_sectors"]) == (
        ["civil-society"],
        [],
        [],
    )
    assert not any(e["code"].startswith("sectors_") for e in shown["explanations"])
    assert shown["explanations"][-1] == {"code": "figures_withheld"}
    assert "government" not in json.dumps(shown)
    # A pool that is one voter among its seats: the same, and the smallest shown group goes with it.
    pooled_one = [b for b in ballots if b[0] != "private-sector"] + [("government", "support")]
    shown = disclose_result(tally(pooled_one, sectors, SCALE, DEFAULT_RULE), rule)
    assert set(shown["sectors"]) == {"civil-society"}
    # Two voters or more in every group: everything as before, abstaining sectors too.
    full = ballots + [("government", "object"), ("private-sector", "live")]
    shown = disclose_result(tally(full, sectors, SCALE, DEFAULT_RULE), rule)
    assert set(shown["sectors"]) == {"government", "civil-society", POOLED}
    assert shown["blocking_sectors"] == ["government"]
    assert "figures_withheld" not in json.dumps(shown)


def test_a_lone_voter_in_the_whole_check_is_split_by_nothing():
    result = tally([("academia", "object")], ["government", "academia"], SCALE, DEFAULT_RULE)
    shown = disclose_result(result, Disclosure(frozenset({"government"}), 3))
    assert (
        shown["sectors"] == {}
        and shown["abstaining_sectors"] == []
        and shown["blocking_sectors"] == []
    )
    assert shown["voters"] == 1 and shown["outcome"] == "no consensus"


def test_the_minutes_and_the_closed_event_leave_a_lone_voters_figures_out(cast):
    consent_all(cast.room)
    seat_more(cast, "academia", 1)  # the pool (academia 2, private sector 1) may show
    check = check_open(actor_seat_id=cast.chloe.pk, proposition="Fund early warning.")
    for seat, option in ((cast.gus, "support"), (cast.greta, "support"), (cast.pia, "object")):
        ballot_cast(seat_id=seat.pk, check_id=check, option=option)
    check_close(actor_seat_id=cast.chloe.pk, check_id=check)
    closed = RoomEvent.objects.get(room=cast.room, kind="consensus.closed")
    assert closed.participants["result"]["sectors"] == {}  # Pia alone voted in the pool
    assert "private-sector" not in json.dumps(closed.participants) and POOLED not in json.dumps(
        closed.participants
    )
    assert (
        closed.moderators["result"]["sectors"]["private-sector"]["voters"] == 1
    )  # the chair's full view
    version = minutes_save(actor_seat_id=cast.rita.pk)
    minutes_adopt(actor_seat_id=cast.chloe.pk, version=version.number)
    reader = as_reader(cast.cora)
    doc = reader.get(f"/rooms/{cast.room.slug}/minutes.json").json()
    [row] = doc["items"][0]["consensus_checks"]
    assert (
        row["sectors"] == [] and row["blocking_sectors"] == [] and row["abstaining_sectors"] == []
    )
    assert row["reasons"][-1] == "Some figures are not shown: they would describe a single voter."
    for fmt in ("md", "html", "akn.xml"):
        text = reader.get(f"/rooms/{cast.room.slug}/minutes.{fmt}").content.decode()
        assert "single voter" in text, fmt


# -- the minutes -------------------------------------------------------------------------------


def test_an_anonymous_rooms_minutes_split_nothing_by_sector(cast):
    consent_all(cast.room)
    room = set_attribution(cast.room, "anonymous")
    post(cast.gus, "We fund early warning.")
    check = check_open(actor_seat_id=cast.chloe.pk, proposition="Fund early warning.")
    for seat, option in ((cast.gus, "support"), (cast.cora, "support"), (cast.ada, "object")):
        ballot_cast(seat_id=seat.pk, check_id=check, option=option)
    check_close(actor_seat_id=cast.chloe.pk, check_id=check)
    version = minutes_save(actor_seat_id=cast.rita.pk)
    minutes_adopt(actor_seat_id=cast.chloe.pk, version=version.number)
    reader = as_reader(cast.ada)
    doc = reader.get(f"/rooms/{room.slug}/minutes.json").json()
    assert [s["slug"] for s in doc["header"]["attendance"]["sectors"]] == [POOLED]
    assert [s["slug"] for s in doc["items"][0]["consensus_checks"][0]["sectors"]] == [POOLED]
    assert [s["slug"] for s in doc["parity"]["sectors"]] == [POOLED]
    assert "No figure in these minutes is split by sector" in json.dumps(doc["method"])
    for fmt in ("md", "html", "akn.xml", "json"):
        text = reader.get(f"/rooms/{room.slug}/minutes.{fmt}").content.decode()
        for name in (
            "Government",
            "government",
            "Civil society",
            "civil-society",
            "Academia",
            "academia",
        ):
            assert name not in text, (fmt, name)
        assert "Other participants" in text, fmt


def test_hidden_interventions_leave_the_minutes_figures(cast):
    consent_all(cast.room)
    kept = post(cast.gus, "Early warning works.")
    hidden = post(cast.greta, "This one is taken down later.")
    intervention_hide(
        actor_seat_id=cast.mona.pk,
        intervention_id=hidden.intervention_id,
        reason="A claim to check.",
    )
    doc = minutes_document(cast.room)
    government = doc["parity"]["room"]["sectors"]["government"]
    assert (government["interventions"], government["words"]) == (1, 3)
    assert [i["id"] for i in doc["items"][0]["interventions"]] == [kept.intervention_id]
    assert "hidden by a moderator are not counted" in json.dumps(doc["method"])


# -- presence ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_presence_pools_a_sector_once_a_removal_takes_it_below_k(cast, sockets):
    from channels.db import database_sync_to_async

    cora, _, _ = await sockets(cast.cora.user)
    chloe, _, _ = await sockets(cast.chloe.user)
    for persona in ("gus", "greta"):
        sock, _, _ = await sockets(getattr(cast, persona).user)
        await sock.recv_type("welcome")
    before = await latest_presence(cora, lambda f: f["sectors"].get("government") == 2)
    assert POOLED not in before["sectors"]
    # Gil (not connected) leaves: government seats two delegates, below k = 3. The hub hears
    # of it, reads the rule again, and pools government from then on; the chair still sees it.
    await database_sync_to_async(seat_remove)(
        actor_seat_id=cast.chloe.pk,
        seat=cast.gil.public_id,
        reason="Left the round table.",
    )
    after = await latest_presence(cora, lambda f: POOLED in f["sectors"])
    assert after["sectors"] == {POOLED: 2, "civil-society": 1} and after["total"] == 4
    full = await latest_presence(chloe, lambda f: f["sectors"].get("government") == 2)
    assert full["sectors"] == {"civil-society": 1, "government": 2}


# -- the pool: at least two seated sectors and k delegates, else nothing ------------------------


def test_with_no_pooled_sector_there_is_no_pool():
    rule = pool_rule({"government": 3, "civil-society": 4}, {"government", "civil-society"}, k=3)
    assert (rule.shown, rule.pooled_seats, rule.pool_visible) == (
        {"government", "civil-society"},
        0,
        False,
    )
    assert rule.groups(["government", "civil-society", "academia"]) == [
        ("government", ["government"]),
        ("civil-society", ["civil-society"]),
    ]


def test_a_pool_of_one_sector_shows_nothing_whatever_its_size():
    # Academia alone as "Other participants" would be academia by elimination.
    for seated, k in (({"government": 5, "academia": 2}, 2), ({"academia": 5}, 3)):
        rule = pool_rule(
            seated, {slug for slug, n in seated.items() if n >= k and slug != "academia"}, k=k
        )
        assert (rule.pooled_sectors, rule.pool_visible) == (1, False)
        assert rule.key("academia") is None
        assert POOLED not in dict(rule.groups(list(seated)))


def test_two_pooled_sectors_show_from_k_delegates():
    seated = {"government": 4, "civil-society": 3, "academia": 1, "private-sector": 1}
    below = pool_rule(seated, {"government", "civil-society"}, k=3)
    assert (below.pooled_seats, below.pooled_sectors, below.pool_visible) == (2, 2, False)
    assert below.counts({"government": 4, "academia": 1, "private-sector": 1}) == {"government": 4}
    at_k = pool_rule({**seated, "academia": 2}, {"government", "civil-society"}, k=3)
    assert (at_k.pooled_seats, at_k.pool_visible) == (3, True)
    assert at_k.groups(list(seated)) == [
        ("government", ["government"]),
        ("civil-society", ["civil-society"]),
        (POOLED, ["academia", "private-sector"]),
    ]
    # A k of 1 or 2 still needs two delegates: a pool of one is a person.
    assert not pool_rule({"academia": 1, "private-sector": 0}, set(), k=1).pool_visible
    assert pool_rule({"academia": 1, "private-sector": 1}, set(), k=1).pool_visible


def test_the_cast_shows_nothing_for_its_two_lone_delegates(cast):
    rule = disclosure(cast.room, Reader.PARTICIPANTS)
    assert rule.shown == {"government", "civil-society"}
    assert (rule.pooled_seats, rule.pooled_sectors, rule.pool_visible) == (2, 2, False)
    seat_more(cast, "academia", 1)  # three delegates in two sectors: the pool shows
    assert disclosure(cast.room, Reader.PARTICIPANTS).pool_visible
