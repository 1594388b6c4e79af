"""moderation.attribution.attribute: how a seat is named to the rest of its room."""

from __future__ import annotations

import re

import pytest

from forum.models import Seat, Sector
from forum.services.rooms import dialogue_get_or_create, room_create
from forum.services.seats import seat_revoke_token, seat_upsert, user_upsert
from moderation.attribution import ANONYMOUS_LABEL, attribute
from tests.support.personas import build_cast

pytestmark = pytest.mark.django_db

PSEUDONYM = re.compile(r"^(?P<sector>.+) · Delegate (?P<number>\d+)$")


def fresh(seat: Seat) -> Seat:
    return Seat.objects.select_related("room", "user", "sector", "organization").get(pk=seat.pk)


# named (open forum)


def test_named_attribution_shows_name_and_organization():
    cast = build_cast("open-room", rule="open")
    assert cast.room.attribution == "named"
    assert attribute(cast.gus).label == "Gustavo Gobierno (Ministry of Testing)"
    assert attribute(cast.gus).sector == "government"
    assert attribute(cast.cora).label == "Cora Civil (Peace Network of Nowhere)"


def test_named_attribution_without_an_organization_shows_the_name_alone():
    cast = build_cast("open-room", rule="open")
    assert attribute(cast.chloe).label == "Chloe Chairwoman"


# sector (the default under the Chatham House Rule)


def test_sector_attribution_shows_a_per_room_pseudonym_when_k_delegates_are_seated(cast):
    assert cast.room.attribution == "sector" and cast.room.k == 3
    label = attribute(cast.gus)
    match = PSEUDONYM.match(label.label)
    assert match, label
    assert match["sector"] == "Government"
    assert int(match["number"]) == cast.gus.pseudonym_number
    assert label.sector == "government"
    assert attribute(cast.cyrus).label.startswith("Civil society · Delegate ")


def test_sector_label_falls_back_to_anonymous_below_k(cast):
    # academia and private-sector have a single delegate each: a sector label would name them.
    assert attribute(cast.ada).label == ANONYMOUS_LABEL
    assert attribute(cast.ada).sector is None
    assert attribute(cast.pia).label == ANONYMOUS_LABEL


def test_sector_label_falls_back_to_anonymous_when_k_is_above_the_seated_count():
    cast = build_cast("strict-room", k=4)
    assert attribute(cast.gus).label == ANONYMOUS_LABEL
    assert attribute(cast.cora).label == ANONYMOUS_LABEL


def test_a_revoked_seat_no_longer_counts_towards_k(cast):
    assert PSEUDONYM.match(attribute(fresh(cast.gus)).label)
    seat_revoke_token(seat=cast.greta)
    assert attribute(fresh(cast.gus)).label == ANONYMOUS_LABEL


def test_chair_rapporteur_and_observer_speak_by_their_function_in_a_sector_room(cast):
    assert attribute(cast.chloe).label == "Chair"
    assert attribute(cast.rita).label == "Rapporteur"
    assert attribute(cast.oscar).label == "Observer"
    assert attribute(cast.chloe).sector is None


def test_a_moderator_speaks_as_moderator(cast):
    user = user_upsert(email="mona@example.org", name="Mona Moderator")
    seat, _ = seat_upsert(
        room=cast.room, user=user, role="moderator", sector=None, organization=None
    )
    assert attribute(fresh(seat)).label == "Moderator"


# anonymous


def test_anonymous_attribution_is_always_a_participant():
    cast = build_cast("anonymous-room", attribution="anonymous")
    for persona in ("gus", "greta", "cora", "ada", "pia"):
        label = attribute(cast.seats[persona])
        assert label.label == ANONYMOUS_LABEL
        assert label.sector is None


def test_chair_and_rapporteur_speak_by_function_in_an_anonymous_room():
    cast = build_cast("anonymous-room", attribution="anonymous")
    assert attribute(cast.chloe).label == "Chair"
    assert attribute(cast.rita).label == "Rapporteur"


# pseudonym numbers


def test_a_pseudonym_number_is_stable_for_a_seat(cast):
    first = attribute(cast.cora).label
    assert attribute(fresh(cast.cora)).label == first
    # Updating the seat (same sector) keeps the number.
    seat, created = seat_upsert(
        room=cast.room,
        user=cast.cora.user,
        role="delegate",
        sector=cast.cora.sector,
        organization=cast.cora.organization,
    )
    assert not created
    assert attribute(fresh(seat)).label == first


def test_two_delegates_of_the_same_sector_get_different_numbers(cast):
    labels = {attribute(cast.seats[p]).label for p in ("gus", "greta", "gil")}
    assert len(labels) == 3
    numbers = {cast.seats[p].pseudonym_number for p in ("gus", "greta", "gil")}
    assert numbers <= set(range(1, cast.room.seats_per_sector + 1))


def test_pseudonym_numbers_are_drawn_per_room_not_derived_from_ids():
    """The same three people in ten rooms: numbers drawn independently in each room.

    Derived from user ids or arrival order, every room would give the same numbers, and a
    label would link one person across rooms. Drawn at random from five, the chance that
    ten rooms agree on all three is (1/60)**9.
    """
    dialogue = dialogue_get_or_create(slug="test-dialogue", title="Test dialogue")
    government = Sector.objects.get(slug="government")
    users = [user_upsert(email=f"d{i}@example.org", name=f"Delegate {i}") for i in range(3)]
    per_room = []
    for r in range(10):
        room = room_create(
            dialogue=dialogue, slug=f"room-{r}", title=f"Room {r}", seats_per_sector=5
        )
        seats = [
            seat_upsert(
                room=room, user=user, role="delegate", sector=government, organization=None
            )[0]
            for user in users
        ]
        numbers = []
        for seat in seats:
            label = attribute(fresh(seat)).label
            match = PSEUDONYM.match(label)
            assert match, label
            number = int(match["number"])
            assert 1 <= number <= room.seats_per_sector
            numbers.append(number)
        assert len(set(numbers)) == 3
        per_room.append(tuple(numbers))
    assert len(set(per_room)) > 1, f"every room gave the same numbers: {per_room}"


def test_a_label_carries_no_database_ids(cast):
    for persona in ("gus", "greta", "gil", "cora", "cyrus", "celia"):
        seat = cast.seats[persona]
        payload = attribute(seat).as_payload()
        # The parts beside the label (for each reader's wording) say nothing the label does not.
        assert set(payload) == {"label", "sector", "kind", "number"}
        assert payload["kind"] == "pseudonym"
        number = int(PSEUDONYM.match(payload["label"])["number"])
        assert number == seat.pseudonym_number == payload["number"]
        assert number <= cast.room.seats_per_sector


def test_changing_sector_draws_a_new_number_in_the_new_sector(cast):
    academia = Sector.objects.get(slug="academia")
    seat, _ = seat_upsert(
        room=cast.room, user=cast.gus.user, role="delegate", sector=academia, organization=None
    )
    taken = set(
        Seat.objects.filter(room=cast.room, sector=academia)
        .exclude(pk=seat.pk)
        .values_list("pseudonym_number", flat=True)
    )
    assert seat.pseudonym_number not in taken


def test_pseudonym_numbers_derive_from_the_room_secret_and_handle_not_from_ids(cast):
    from forum.services.seats import _draw_pseudonym_number

    seat = cast.cora
    again = _draw_pseudonym_number(cast.room, seat.sector, seat)
    assert again == _draw_pseudonym_number(cast.room, seat.sector, seat)  # deterministic
    # Another room secret (every room has its own) gives, over many seats, other numbers.
    numbers = {}
    for secret in ("a" * 64, "b" * 64, "c" * 64, "d" * 64):
        cast.room.secret = secret
        numbers[secret] = tuple(
            _draw_pseudonym_number(cast.room, s.sector, s)
            for s in (cast.cora, cast.cyrus, cast.celia)
        )
    assert len(set(numbers.values())) > 1
