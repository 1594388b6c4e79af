"""Consensus checks: the tally (pure), the rule at its edges, and the services end to end.

The tally gives every sector that voted the same weight, split between its voters; the
services store ballots apart from who voted and, once a Chatham House check closes, leave
nothing that links the two.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

import pytest
from django.apps import apps
from hypothesis import given, settings
from hypothesis import strategies as st

from forum.errors import ServiceError
from forum.models import Ballot, ConsensusCheck, RoomEvent, RoundTable, Seat, Voter
from forum.services.consensus import ballot_cast, check_close, check_open, voter_key
from forum.services.moderator_actions import seat_remove
from forum.services.rooms import room_set_status
from forum.tally import CONSENSUS, DEFAULT_RULE, NO_CONSENSUS, clean_check, tally
from moderation.audit import audit_verify
from moderation.disclosure import POOLED
from moderation.models import AuditEntry
from realtime.events import MODERATORS, PARTICIPANTS, validate_payload
from tests.support.personas import PERSONAS, build_cast
from tests.support.state import snapshot

SCALE = ["support", "live", "object"]
PROPOSITION = "The secretariat publishes early-warning data for every district each month."
DELEGATES = [name for name, persona in PERSONAS.items() if persona[3] == "delegate"]


def scale_tally(ballots, sectors, rule=None):
    return tally(ballots, sectors, SCALE, rule or DEFAULT_RULE)


def of(sector: str, *options: str) -> list[tuple[str, str]]:
    return [(sector, option) for option in options]


# -- the tally: weights --------------------------------------------------------------------


def test_a_sector_of_ten_voters_and_a_sector_of_one_weigh_the_same():
    result = scale_tally(
        of("government", *["support"] * 10) + of("academia", "object"), ["government", "academia"]
    )
    assert result["weighted"] == {"support": 0.5, "live": 0.0, "object": 0.5}
    assert result["sectors"]["government"]["voters"] == 10
    assert result["sectors"]["academia"]["voters"] == 1
    assert (
        result["sectors"]["government"]["weight"] == result["sectors"]["academia"]["weight"] == 0.5
    )
    assert result["sectors"]["government"]["distribution"] == {
        "support": 10,
        "live": 0,
        "object": 0,
    }
    assert result["voters"] == 11


def test_a_sector_weight_is_split_evenly_between_its_voters():
    result = scale_tally(
        of("government", "support", "live", "live", "object") + of("academia", "support"),
        ["government", "academia"],
    )
    # government: 1/2 split in quarters; academia: 1/2 on support.
    assert result["weighted"] == {"support": 0.625, "live": 0.25, "object": 0.125}


def test_sectors_that_did_not_vote_abstain_and_do_not_dilute_the_others():
    sectors = ["government", "civil-society", "academia"]
    result = scale_tally(of("government", "support", "support"), sectors)
    assert result["weighted"]["support"] == 1.0
    assert result["voting_sectors"] == ["government"]
    assert result["abstaining_sectors"] == ["civil-society", "academia"]
    assert result["sectors"]["academia"] == {
        "voters": 0,
        "weight": 0.0,
        "distribution": {o: 0 for o in SCALE},
    }
    assert result["outcome"] == CONSENSUS


def test_nobody_voting_is_no_consensus():
    result = scale_tally([], ["government", "academia"])
    assert result["outcome"] == NO_CONSENSUS
    assert result["weighted"] == {o: 0.0 for o in SCALE}
    assert result["abstaining_sectors"] == ["government", "academia"]
    assert result["reasons"] == ["Nobody voted."]


def test_a_ballot_of_a_sector_or_option_outside_the_check_is_a_programming_error():
    with pytest.raises(ValueError):
        scale_tally(of("mars", "support"), ["government"])
    with pytest.raises(ValueError):
        scale_tally(of("government", "maybe"), ["government"])


# -- the tally: the consensus rule at its edges --------------------------------------------

# Five sectors, four split evenly between support and object, one all for support:
# weighted support is (4 x 1/2 + 1) / 5 = 3/5, exactly the default threshold.
AT_THRESHOLD = [
    *of("a", "support", "object"), *of("b", "support", "object"), *of("c", "support", "object"),
    *of("d", "support"), *of("e", "object", "support"),
]  # fmt: skip
FIVE = ["a", "b", "c", "d", "e"]


def test_weighted_support_exactly_at_the_threshold_reaches_consensus():
    result = scale_tally(AT_THRESHOLD, FIVE)
    assert result["support"] == 0.6
    assert result["blocking_sectors"] == []
    assert result["outcome"] == CONSENSUS


def test_weighted_support_just_below_the_threshold_does_not():
    # d now has 2 support, 1 object: (4 x 1/2 + 2/3) / 5 = 8/15 < 3/5.
    result = scale_tally([*AT_THRESHOLD, ("d", "support"), ("d", "object")], FIVE)
    assert math.isclose(result["support"], 8 / 15)
    assert result["outcome"] == NO_CONSENSUS
    assert "below the threshold" in result["reasons"][0]


@pytest.mark.parametrize(
    ("supporting", "threshold"),
    # 1 of 10: Fraction(0.1) is above 1/10; 8 of 10: eight floats of 1/10 add up below 0.8.
    [(1, 0.1), (8, 0.8), (9, 0.9)],
)
def test_a_threshold_is_met_exactly_not_in_floating_point(supporting, threshold):
    sectors = [f"s{n}" for n in range(10)]
    ballots = [(s, "yes") for s in sectors[:supporting]] + [(s, "no") for s in sectors[supporting:]]
    rule = {"kind": "threshold", "support": ["yes"], "threshold": threshold}
    result = tally(ballots, sectors, ["yes", "no"], rule)
    assert result["outcome"] == CONSENSUS
    assert result["support"] == threshold


def test_a_sector_split_evenly_on_objection_does_not_object_by_majority():
    result = scale_tally(
        of("government", "object", "support") + of("academia", "support"),
        ["government", "academia"],
    )
    assert result["blocking_sectors"] == []
    assert result["outcome"] == CONSENSUS  # support 3/4


def test_one_sector_objecting_by_majority_blocks_even_above_the_threshold():
    ballots = of("government", "object", "object", "support") + [
        (s, "support") for s in ("b", "c", "d", "e")
    ]
    result = scale_tally(ballots, ["government", "b", "c", "d", "e"])
    assert math.isclose(result["support"], 13 / 15)  # far above 0.6
    assert result["blocking_sectors"] == ["government"]
    assert result["outcome"] == NO_CONSENSUS
    assert any("government" in reason and "object" in reason for reason in result["reasons"])


def test_a_single_voter_sector_that_objects_blocks():
    ballots = (
        of("private-sector", "object")
        + of("government", *["support"] * 10)
        + of("academia", "support")
    )
    result = scale_tally(ballots, ["government", "academia", "private-sector"])
    assert result["blocking_sectors"] == ["private-sector"]
    assert result["outcome"] == NO_CONSENSUS


def test_a_rule_may_let_a_sector_objection_pass():
    rule = {**DEFAULT_RULE, "sector_objection_blocks": False}
    ballots = of("government", "object") + [(s, "support") for s in ("b", "c", "d", "e")]
    result = scale_tally(ballots, ["government", "b", "c", "d", "e"], rule)
    assert result["blocking_sectors"] == ["government"]
    assert result["outcome"] == CONSENSUS


def test_the_majority_rule_decides_for_an_option_holding_more_than_half():
    options = ["a", "b", "c"]
    rule = {"kind": "majority"}
    decided = tally(of("x", "a", "b") + of("y", "a"), ["x", "y"], options, rule)
    assert decided["weighted"]["a"] == 0.75
    assert (decided["outcome"], decided["decided"]) == (CONSENSUS, "a")
    tied = tally(of("x", "a") + of("y", "b"), ["x", "y"], options, rule)
    assert (tied["outcome"], tied["decided"]) == (NO_CONSENSUS, None)


def test_the_result_is_plain_json():
    result = scale_tally(AT_THRESHOLD, FIVE)
    assert json.loads(json.dumps(result)) == result


# -- the tally: properties -----------------------------------------------------------------

SECTORS = ["government", "intergovernmental", "civil-society", "private-sector", "academia"]
ballots_strategy = st.lists(
    st.tuples(st.sampled_from(SECTORS), st.sampled_from(SCALE)), max_size=40
)


@settings(max_examples=200, deadline=None)
@given(ballots=ballots_strategy)
def test_weights_sum_to_one_and_every_voting_sector_carries_the_same(ballots):
    result = scale_tally(ballots, SECTORS)
    if not ballots:
        assert sum(result["weighted"].values()) == 0
        return
    assert math.isclose(sum(result["weighted"].values()), 1.0, rel_tol=1e-12)
    weights = {result["sectors"][s]["weight"] for s in result["voting_sectors"]}
    assert weights == {1 / len(result["voting_sectors"])}
    assert set(result["voting_sectors"]) == {sector for sector, _ in ballots}
    assert set(result["abstaining_sectors"]) == set(SECTORS) - {sector for sector, _ in ballots}


@settings(max_examples=200, deadline=None)
@given(
    ballots=ballots_strategy,
    sector=st.sampled_from(SECTORS),
    times=st.integers(2, 6),
    seed=st.randoms(),
)
def test_duplicating_a_sectors_voters_or_reordering_ballots_changes_nothing(
    ballots, sector, times, seed
):
    base = scale_tally(ballots, SECTORS)
    duplicated = [b for b in ballots if b[0] != sector] + [
        b for b in ballots if b[0] == sector
    ] * times
    seed.shuffle(duplicated)
    other = scale_tally(duplicated, SECTORS)
    assert other["weighted"] == base["weighted"]
    assert (other["outcome"], other["blocking_sectors"], other["support"]) == (
        base["outcome"],
        base["blocking_sectors"],
        base["support"],
    )


@settings(max_examples=200, deadline=None)
@given(ballots=ballots_strategy, threshold=st.sampled_from([0.5, 0.6, 2 / 3, 0.75, 1.0]))
def test_consensus_means_support_reaches_the_threshold_and_no_sector_objects_by_majority(
    ballots, threshold
):
    result = scale_tally(ballots, SECTORS, {**DEFAULT_RULE, "threshold": threshold})
    # The rule restated, on exact fractions: each voting sector 1/S, split between its voters.
    by_sector = {s: [o for t, o in ballots if t == s] for s in SECTORS}
    voting = [s for s in SECTORS if by_sector[s]]
    support = sum(
        (
            Fraction(sum(o in ("support", "live") for o in by_sector[s]), len(by_sector[s]))
            / len(voting)
            for s in voting
        ),
        Fraction(0),
    )
    blocking = [s for s in voting if by_sector[s].count("object") * 2 > len(by_sector[s])]
    assert result["blocking_sectors"] == blocking
    reached = bool(voting) and not blocking and support >= Fraction(repr(threshold))
    assert result["outcome"] == (CONSENSUS if reached else NO_CONSENSUS)


# -- options and rules ---------------------------------------------------------------------


def test_no_options_means_the_consensus_scale_and_its_default_rule():
    options, rule = clean_check()
    assert [o["key"] for o in options] == SCALE
    assert rule == DEFAULT_RULE


def test_custom_options_default_to_the_majority_rule():
    options, rule = clean_check(
        [{"key": "a", "label": " Option  A "}, {"key": "b", "label": "Option B"}]
    )
    assert options == [{"key": "a", "label": "Option A"}, {"key": "b", "label": "Option B"}]
    assert rule == {"kind": "majority"}


BAD_OPTIONS = {
    "not a list": "support, object",
    "one option": [{"key": "a", "label": "A"}],
    "nine options": [{"key": f"o{n}", "label": f"O{n}"} for n in range(9)],
    "a bare string": ["a", "b"],
    "a missing label": [{"key": "a"}, {"key": "b", "label": "B"}],
    "an extra field": [{"key": "a", "label": "A", "weight": 2}, {"key": "b", "label": "B"}],
    "an empty label": [{"key": "a", "label": "  "}, {"key": "b", "label": "B"}],
    "a long label": [{"key": "a", "label": "x" * 201}, {"key": "b", "label": "B"}],
    "an uppercase key": [{"key": "Yes", "label": "Yes"}, {"key": "no", "label": "No"}],
    "a key with spaces": [{"key": "a b", "label": "A"}, {"key": "b", "label": "B"}],
    "a long key": [{"key": "k" * 41, "label": "A"}, {"key": "b", "label": "B"}],
    "a duplicate key": [{"key": "a", "label": "A"}, {"key": "a", "label": "B"}],
    "a numeric key": [{"key": 1, "label": "A"}, {"key": "b", "label": "B"}],
}
TWO = [{"key": "yes", "label": "Yes"}, {"key": "no", "label": "No"}]
BAD_RULES = {
    "not an object": (None, "consensus"),
    "an unknown kind": (None, {"kind": "unanimity"}),
    "an unknown key": (None, {**DEFAULT_RULE, "quorum": 3}),
    "a threshold above 1": (None, {**DEFAULT_RULE, "threshold": 1.5}),
    "a zero threshold": (None, {**DEFAULT_RULE, "threshold": 0}),
    "a boolean threshold": (None, {**DEFAULT_RULE, "threshold": True}),
    "a text threshold": (None, {**DEFAULT_RULE, "threshold": "0.6"}),
    "support naming no option": (None, {**DEFAULT_RULE, "support": ["yes"]}),
    "empty support": (None, {**DEFAULT_RULE, "support": []}),
    "an objection naming no option": (None, {**DEFAULT_RULE, "objection": "veto"}),
    "an objection counting as support": (None, {**DEFAULT_RULE, "objection": "live"}),
    "blocking without an objection": (
        None,
        {**DEFAULT_RULE, "objection": None, "sector_objection_blocks": True},
    ),
    "a threshold rule on custom options it does not name": (
        TWO,
        {"kind": "threshold", "support": ["a"], "threshold": 0.5},
    ),
    "the default rule on custom options": (TWO, DEFAULT_RULE),
    "a majority rule with a threshold": (TWO, {"kind": "majority", "threshold": 0.5}),
}


@pytest.mark.parametrize("options", BAD_OPTIONS.values(), ids=BAD_OPTIONS.keys())
def test_bad_options_are_refused_with_a_clear_error(options):
    with pytest.raises(ServiceError) as refused:
        clean_check(options)
    assert refused.value.code == "invalid_options"
    assert refused.value.extra == {"field": "options"}
    assert refused.value.message


@pytest.mark.parametrize(("options", "rule"), BAD_RULES.values(), ids=BAD_RULES.keys())
def test_bad_rules_are_refused_with_a_clear_error(options, rule):
    with pytest.raises(ServiceError) as refused:
        clean_check(options, rule)
    assert refused.value.code == "invalid_rule"
    assert refused.value.message


# -- the services ----------------------------------------------------------------------------


def state(room: RoundTable) -> dict:
    """Every row a check could touch, for `nothing changed`."""
    return {
        **snapshot(room),
        "checks": list(ConsensusCheck.objects.filter(room=room).order_by("pk").values()),
        "ballots": list(Ballot.objects.filter(consensus_check__room=room).order_by("pk").values()),
        "voters": list(Voter.objects.filter(consensus_check__room=room).order_by("pk").values()),
    }


def open_check(cast, actor: str = "chloe", **kwargs) -> str:
    kwargs.setdefault("proposition", PROPOSITION)
    return check_open(actor_seat_id=cast.seats[actor].pk, **kwargs)


def vote(cast, persona: str, check: str, option: str):
    return ballot_cast(seat_id=cast.seats[persona].pk, check_id=check, option=option)


def close(cast, check: str, actor: str = "chloe") -> dict:
    return check_close(actor_seat_id=cast.seats[actor].pk, check_id=check)


def events(room: RoundTable, prefix: str = "consensus.") -> list[RoomEvent]:
    return list(RoomEvent.objects.filter(room=room, kind__startswith=prefix).order_by("seq"))


def refused(code: str, cast, call, *args, **kwargs) -> ServiceError:
    before = state(cast.room)
    with pytest.raises(ServiceError) as error:
        call(*args, **kwargs)
    assert error.value.code == code, error.value.message
    assert error.value.message
    assert state(cast.room) == before
    return error.value


@pytest.mark.django_db
def test_the_chair_opens_a_check_on_the_current_item_and_the_room_hears_it(cast):
    check_id = open_check(cast)
    check = ConsensusCheck.objects.get(public_id=check_id)
    assert (check.room_id, check.agenda_item_id, check.status) == (
        cast.room.pk,
        cast.room.current_item_id,
        "open",
    )
    assert check.rule == DEFAULT_RULE and [o["key"] for o in check.options] == SCALE
    [event] = events(cast.room)
    assert event.kind == "consensus.opened"
    validate_payload(event.kind, PARTICIPANTS, event.participants)
    validate_payload(event.kind, MODERATORS, event.moderators)
    assert event.participants["check"] == check_id
    assert event.participants["proposition"] == PROPOSITION
    assert event.participants["agenda_item"] == cast.room.current_item.public_id
    assert "author" not in event.participants
    assert (event.moderators["author"], event.moderators["sector"]) == (cast.chloe.public_id, None)
    entry = AuditEntry.objects.filter(room_id=cast.room.pk).order_by("-seq").first()
    assert (entry.action, entry.actor_public_id, entry.target) == (
        "run_checks",
        cast.chloe.public_id,
        check_id,
    )
    assert audit_verify(cast.room).ok


@pytest.mark.django_db
def test_a_moderator_may_run_a_check_with_custom_options(cast):
    options = [{"key": "now", "label": "This year"}, {"key": "later", "label": "Next year"}]
    check_id = open_check(cast, actor="mona", options=options)
    for persona in ("gus", "greta", "cora"):
        vote(cast, persona, check_id, "now")
    vote(cast, "ada", check_id, "later")
    result = close(cast, check_id, actor="mona")
    assert result["weighted"] == {"now": 2 / 3, "later": 1 / 3}
    assert (result["outcome"], result["decided"]) == (CONSENSUS, "now")


@pytest.mark.django_db
def test_the_tally_of_a_room_weighs_each_sector_the_same_whatever_its_head_count(cast):
    check_id = open_check(cast)
    for persona in ("gus", "greta", "gil", "cora", "cyrus", "celia"):
        vote(cast, persona, check_id, "support")
    vote(cast, "pia", check_id, "object")
    result = close(cast, check_id)
    # Three sectors voted (academia abstained; no intergovernmental delegate holds a seat).
    assert result["voting_sectors"] == ["government", "civil-society", "private-sector"]
    assert result["abstaining_sectors"] == ["academia"]
    assert math.isclose(
        result["weighted"]["object"], 1 / 3
    )  # one voter of seven, a third of the weight
    assert result["blocking_sectors"] == ["private-sector"]
    assert result["outcome"] == NO_CONSENSUS
    check = ConsensusCheck.objects.get(public_id=check_id)
    assert (check.status, check.result) == ("closed", result)
    assert check.closed_at is not None
    closed = events(cast.room)[-1]
    assert closed.kind == "consensus.closed"
    assert closed.moderators["result"] == result
    # Academia and the private sector have one delegate each (< k = 3), two in all: too few to
    # pool, so participants read neither. Pia's is the one ballot outside what is shown, so the
    # smallest group shown beside it (government, first of two of three) is left out too: the
    # room's total minus what is shown is never one person's ballot. Her block is not said;
    # the weighted shares and the outcome are the room's.
    shown = closed.participants["result"]
    assert shown["voting_sectors"] == ["civil-society"]
    assert shown["abstaining_sectors"] == []
    assert shown["blocking_sectors"] == []
    assert set(shown["sectors"]) == {"civil-society"}
    assert (shown["weighted"], shown["outcome"], shown["voters"]) == (
        result["weighted"],
        NO_CONSENSUS,
        7,
    )
    assert [e["code"] for e in shown["explanations"]] == ["support_reached", "figures_withheld"]
    assert shown["reasons"][-1] == "Some figures are not shown: they would describe a single voter."
    for name in ("private-sector", "academia", "government", POOLED):
        assert name not in json.dumps(shown)
    validate_payload(closed.kind, PARTICIPANTS, closed.participants)
    validate_payload(closed.kind, MODERATORS, closed.moderators)


@pytest.mark.django_db
def test_a_changed_ballot_replaces_the_earlier_one_and_only_the_last_counts(cast):
    check_id = open_check(cast)
    first = vote(cast, "gus", check_id, "support")
    second = vote(cast, "gus", check_id, "object")
    assert (first.voters, first.changed, second.voters, second.changed) == (1, True, 1, True)
    assert list(
        Ballot.objects.filter(consensus_check__public_id=check_id).values_list("option", flat=True)
    ) == ["object"]
    assert Voter.objects.filter(consensus_check__public_id=check_id).count() == 1
    voted = [e for e in events(cast.room) if e.kind == "consensus.voted"]
    assert [e.participants for e in voted] == [{"check": check_id, "voters": 1}] * 2
    vote(cast, "cora", check_id, "support")
    result = close(cast, check_id)
    assert result["sectors"]["government"]["distribution"] == {"support": 0, "live": 0, "object": 1}
    assert result["voters"] == 2


@pytest.mark.django_db
def test_casting_the_same_choice_again_writes_nothing(cast):
    check_id = open_check(cast)
    vote(cast, "gus", check_id, "live")
    before = state(cast.room)
    again = vote(cast, "gus", check_id, "live")
    assert (again.voters, again.changed) == (1, False)
    assert state(cast.room) == before


@pytest.mark.django_db
def test_the_vote_events_carry_the_number_of_voters_only(cast):
    check_id = open_check(cast)
    for persona, option in (
        ("gus", "support"),
        ("cora", "object"),
        ("gus", "live"),
        ("ada", "support"),
    ):
        vote(cast, persona, check_id, option)
    voted = [e for e in events(cast.room) if e.kind == "consensus.voted"]
    assert [e.participants["voters"] for e in voted] == [1, 2, 2, 3]
    for event in voted:
        assert (
            event.participants
            == event.moderators
            == {"check": check_id, "voters": event.participants["voters"]}
        )


# -- unlinkability -----------------------------------------------------------------------------


def identities(cast) -> list[str]:
    """Every string that would identify a delegate of the cast."""
    out = []
    for persona in DELEGATES:
        seat = Seat.objects.select_related("user", "organization").get(pk=cast.seats[persona].pk)
        out += [seat.public_id, seat.user.email, seat.user.username, str(seat.user)]
        out += [seat.organization.name] if seat.organization_id else []
    return out


def every_stored_row() -> str:
    """Every row of every table of the database, as one text."""
    return "\n".join(repr(row) for model in apps.get_models() for row in model.objects.values())


def voting_round(cast, assignment: dict[str, str]) -> tuple[str, dict[str, str]]:
    """Open a check, vote in the given order, and return (check id, each voter's key)."""
    check_id = open_check(cast)
    for persona, option in assignment.items():
        vote(cast, persona, check_id, option)
    check = ConsensusCheck.objects.get(public_id=check_id)
    keys = {
        persona: voter_key(check, Seat.objects.get(pk=cast.seats[persona].pk))
        for persona in assignment
    }
    return check_id, keys


def stored_ballots(check_id: str) -> list[tuple]:
    return list(Ballot.objects.filter(consensus_check__public_id=check_id).order_by("pk")
                .values_list("sector__slug", "option", "voter_key"))  # fmt: skip


# The same ballots, cast by different people in a different order.
FIRST = {
    "gus": "support",
    "greta": "object",
    "gil": "live",
    "cora": "support",
    "cyrus": "object",
    "ada": "live",
}
SECOND = {
    "ada": "live",
    "cyrus": "support",
    "gil": "support",
    "greta": "live",
    "gus": "object",
    "cora": "object",
}


@pytest.mark.django_db
def test_after_a_chatham_house_check_closes_no_stored_row_links_a_ballot_to_a_voter(cast):
    assert cast.room.is_chatham_house
    check_id, keys = voting_round(cast, FIRST)
    check = ConsensusCheck.objects.get(public_id=check_id)
    secret = check.voter_secret
    # While open, a ballot is linked, by design, so that it can be changed.
    assert {key for *_, key in stored_ballots(check_id)} == set(keys.values())
    highest_before = Ballot.objects.order_by("-pk").values_list("pk", flat=True).first()

    close(cast, check_id)

    check = ConsensusCheck.objects.get(public_id=check_id)
    assert check.voter_secret is None
    ballots = list(Ballot.objects.filter(consensus_check=check).order_by("pk").values())
    assert ballots and all(
        set(row) == {"id", "consensus_check_id", "sector_id", "option", "voter_key"}
        for row in ballots
    )
    assert all(row["voter_key"] is None for row in ballots)
    # Fresh rows, in an order that is a function of their content alone...
    assert all(row["id"] > highest_before for row in ballots)
    assert [(r["sector_id"], r["option"]) for r in ballots] == sorted(
        (r["sector_id"], r["option"]) for r in ballots
    )
    # ...and the voters' list says who voted, never how: a seat and a check, nothing else.
    voters = list(Voter.objects.filter(consensus_check=check).order_by("pk").values())
    assert all(set(row) == {"id", "consensus_check_id", "seat_id"} for row in voters)
    assert {row["seat_id"] for row in voters} == {cast.seats[p].pk for p in FIRST}
    # No row of any table still holds a voter key or the check's secret.
    dump = every_stored_row()
    assert secret not in dump
    assert not [key for key in keys.values() if key in dump]
    # The result is counts per sector, with no identity in it.
    result = json.dumps(check.result)
    assert not [needle for needle in identities(cast) if needle in result]


@pytest.mark.django_db
def test_two_ways_to_cast_the_same_ballots_leave_the_same_stored_ballots_under_chatham_house(cast):
    first, _ = voting_round(cast, FIRST)
    close(cast, first)
    second, _ = voting_round(cast, SECOND)
    close(cast, second)
    # Who chose what differs between the two checks, the stored ballots do not: so they cannot tell.
    assert stored_ballots(first) == stored_ballots(second)
    assert set(
        Voter.objects.filter(consensus_check__public_id=first).values_list("seat_id", flat=True)
    ) == set(
        Voter.objects.filter(consensus_check__public_id=second).values_list("seat_id", flat=True)
    )


@pytest.mark.django_db
def test_in_an_open_room_the_ballots_stay_linked_which_the_same_checks_detect():
    # The positive control: without the Chatham House rule nothing is unlinked, and the
    # checks above see it.
    cast = build_cast(slug="open-room", rule=RoundTable.Rule.OPEN)
    check_id, keys = voting_round(cast, FIRST)
    close(cast, check_id)
    check = ConsensusCheck.objects.get(public_id=check_id)
    assert check.voter_secret is not None
    stored = {key: option for _, option, key in stored_ballots(check_id)}
    assert {persona: stored[key] for persona, key in keys.items()} == FIRST
    assert all(key in every_stored_row() for key in keys.values())


@pytest.mark.django_db
def test_no_event_of_a_check_carries_a_voters_identity_or_choice(cast):
    check_id, keys = voting_round(cast, FIRST)
    close(cast, check_id)
    logged = events(cast.room)
    assert [e.kind for e in logged] == ["consensus.opened"] + ["consensus.voted"] * len(FIRST) + [
        "consensus.closed"
    ]
    needles = identities(cast) + list(keys.values())
    for event in logged:
        for audience in (PARTICIPANTS, MODERATORS):
            text = json.dumps(getattr(event, audience))
            assert not [needle for needle in needles if needle in text], (event.kind, audience)
    # The chair's handle is in the moderators' rendering of open and close (who ran the check).
    assert logged[0].moderators["author"] == logged[-1].moderators["author"] == cast.chloe.public_id
    # Nobody but the chair appears in the audit log for the check.
    assert set(
        AuditEntry.objects.filter(room_id=cast.room.pk).values_list("actor_public_id", flat=True)
    ) == {cast.chloe.public_id}


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_vote_on_a_closed_check_is_refused_and_changes_nothing(cast):
    check_id = open_check(cast)
    vote(cast, "gus", check_id, "support")
    close(cast, check_id)
    refused("check_closed", cast, vote, cast, "gus", check_id, "object")
    refused("check_closed", cast, vote, cast, "cora", check_id, "support")


@pytest.mark.django_db
@pytest.mark.parametrize("option", ["maybe", "", "SUPPORT", None, 1, ["support"]])
def test_a_vote_for_an_unknown_option_is_refused_and_changes_nothing(cast, option):
    check_id = open_check(cast)
    vote(cast, "gus", check_id, "support")
    error = refused("invalid_option", cast, vote, cast, "gus", check_id, option)
    assert "support, live, object" in error.message


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["oscar", "chloe", "mona", "rita"])
def test_only_delegates_vote(cast, persona):
    check_id = open_check(cast)
    error = refused("forbidden", cast, vote, cast, persona, check_id, "support")
    assert error.extra == {"action": "vote"}


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["gus", "rita", "oscar"])
def test_only_the_chair_and_moderators_open_and_close_checks(cast, persona):
    refused("forbidden", cast, open_check, cast, actor=persona)
    check_id = open_check(cast)
    refused("forbidden", cast, close, cast, check_id, actor=persona)


@pytest.mark.django_db
def test_a_removed_delegate_may_not_vote(cast):
    check_id = open_check(cast)
    seat_remove(
        actor_seat_id=cast.mona.pk, seat=cast.gus.public_id, reason="Disrupted the session."
    )
    refused("forbidden", cast, vote, cast, "gus", check_id, "support")


@pytest.mark.django_db
def test_an_unknown_check_or_one_of_another_room_is_not_found(cast):
    other = build_cast(slug="other-room")
    elsewhere = open_check(other)
    for check_id in ("nope", elsewhere, None, 42):
        refused("not_found", cast, vote, cast, "gus", check_id, "support")
        refused("not_found", cast, close, cast, check_id)


@pytest.mark.django_db
def test_closing_a_closed_check_is_refused_and_changes_nothing(cast):
    check_id = open_check(cast)
    close(cast, check_id)
    refused("check_closed", cast, close, cast, check_id)


@pytest.mark.django_db
@pytest.mark.parametrize("options", BAD_OPTIONS.values(), ids=BAD_OPTIONS.keys())
def test_opening_with_bad_options_is_refused_and_changes_nothing(cast, options):
    refused("invalid_options", cast, open_check, cast, options=options)


@pytest.mark.django_db
def test_opening_with_a_bad_rule_is_refused_and_changes_nothing(cast):
    refused("invalid_rule", cast, open_check, cast, rule={**DEFAULT_RULE, "threshold": 2})
    refused("invalid_rule", cast, open_check, cast, options=TWO, rule=DEFAULT_RULE)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("proposition", "code"),
    [("", "invalid_proposition"), ("   ", "invalid_proposition"), (None, "invalid_proposition"),
     ("x" * 2001, "too_large"), ("Gustavo Gobierno's plan is adopted.", "names_participant"),
     ("The Chamber of Mocks funds the network.", "names_participant")],
)  # fmt: skip
def test_opening_on_a_bad_proposition_is_refused_and_changes_nothing(cast, proposition, code):
    refused(code, cast, open_check, cast, proposition=proposition)


@pytest.mark.django_db
def test_checks_need_a_live_room_to_open_and_to_vote_but_close_after_it_closes(cast):
    check_id = open_check(cast)
    vote(cast, "gus", check_id, "support")
    room_set_status(room=cast.room, status=RoundTable.Status.CLOSED)
    refused("room_closed", cast, open_check, cast)
    refused("room_closed", cast, vote, cast, "cora", check_id, "support")
    assert close(cast, check_id)["outcome"] == CONSENSUS


@pytest.mark.django_db
def test_a_check_is_not_opened_before_the_room_opens():
    cast = build_cast(slug="scheduled-room", status=RoundTable.Status.SCHEDULED)
    refused("room_not_open", cast, open_check, cast)
