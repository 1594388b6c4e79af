"""Seats per sector and accreditation: seat_upsert, the CSV import and the admin keep them.

Seats per sector are equal (RoundTable.seats_per_sector) unless the secretariat gives a
sector its own number (SectorSeats). Observers, the chair, moderators and the rapporteur
sit outside the quotas. A round table that requires accreditation seats only delegates of
accredited organizations. Every refusal changes nothing.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import Client

from forum.errors import ServiceError
from forum.models import Organization, RoundTable, Seat, Sector, SectorSeats, User
from forum.services.participants import participants_import
from forum.services.rooms import dialogue_get_or_create, room_create
from forum.services.seat_rules import sector_seat_limit, sector_seat_limits
from forum.services.seats import organization_get_or_create, seat_upsert, user_upsert
from tests.support.forms import errors_of, form_values

pytestmark = pytest.mark.django_db

APPLIED = Organization.Accreditation.APPLIED
ACCREDITED = Organization.Accreditation.ACCREDITED
SUSPENDED = Organization.Accreditation.SUSPENDED
HEADER = "name,email,organization,sector,role"


@pytest.fixture
def room() -> RoundTable:
    dialogue = dialogue_get_or_create(slug="test-dialogue", title="Test dialogue")
    return room_create(
        dialogue=dialogue, slug="quota-room", title="Quota round table", seats_per_sector=3
    )


def sector(slug: str) -> Sector:
    return Sector.objects.get(slug=slug)


@transaction.atomic
def seat(room, email, role="delegate", sector_slug=None, org=None):
    """A person's seat, created with its user in one transaction (a refusal leaves neither)."""
    user = user_upsert(email=email, name=email.split("@")[0].title())
    return seat_upsert(
        room=room,
        user=user,
        role=role,
        sector=sector(sector_slug) if sector_slug else None,
        organization=org,
    )[0]


def snapshot() -> dict:
    return {
        "seats": sorted(
            Seat.objects.values_list("room_id", "user_id", "role", "sector_id", "organization_id")
        ),
        "organizations": sorted(
            Organization.objects.values_list("name", "sector_id", "accreditation")
        ),
        "users": User.objects.count(),
        "sector_seats": sorted(SectorSeats.objects.values_list("room_id", "sector_id", "seats")),
    }


def refused(code: str, fn, *args, **kwargs) -> ServiceError:
    before = snapshot()
    with pytest.raises(ServiceError) as caught:
        fn(*args, **kwargs)
    assert caught.value.code == code, caught.value.message
    assert snapshot() == before
    return caught.value


def csv_text(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


# -- per-sector numbers ---------------------------------------------------------------


def test_a_sectors_own_number_replaces_the_equal_one_for_that_sector_only(room):
    SectorSeats.objects.create(room=room, sector=sector("government"), seats=1)
    SectorSeats.objects.create(room=room, sector=sector("academia"), seats=5)
    assert sector_seat_limit(room, sector("government")) == 1
    assert sector_seat_limit(room, sector("civil-society")) == 3
    assert sector_seat_limits(room) == {
        "government": 1,
        "intergovernmental": 3,
        "civil-society": 3,
        "private-sector": 3,
        "academia": 5,
    }
    seat(room, "gus@example.org", sector_slug="government")
    error = refused("sector_full", seat, room, "greta@example.org", sector_slug="government")
    assert "'government' already has its 1 seats" in error.message
    assert error.extra == {"field": "sector", "limit": 1}
    for n in range(5):  # more than seats_per_sector, within academia's own number
        seat(room, f"ada{n}@example.org", sector_slug="academia")
    refused("sector_full", seat, room, "ada5@example.org", sector_slug="academia")
    for n in range(3):
        seat(room, f"cora{n}@example.org", sector_slug="civil-society")
    refused("sector_full", seat, room, "cora3@example.org", sector_slug="civil-society")


def test_observers_and_the_roles_that_run_the_room_sit_outside_the_quotas(room):
    SectorSeats.objects.create(room=room, sector=sector("private-sector"), seats=0)
    refused("sector_full", seat, room, "pia@example.org", sector_slug="private-sector")
    seat(room, "otto@example.org", role="observer", sector_slug="private-sector")
    for n, role in enumerate(["chair", "moderator", "rapporteur", "observer", "observer"]):
        seat(room, f"p{n}@example.org", role=role)
    assert Seat.objects.filter(room=room).count() == 6


def test_an_existing_delegate_keeps_their_seat_when_updated_in_a_full_sector(room):
    SectorSeats.objects.create(room=room, sector=sector("government"), seats=1)
    gus = seat(room, "gus@example.org", sector_slug="government")
    again = seat(room, "gus@example.org", sector_slug="government")
    assert again.pk == gus.pk and again.pseudonym_number == gus.pseudonym_number == 1


def test_the_import_checks_each_sectors_own_number(room, tmp_path):
    SectorSeats.objects.create(room=room, sector=sector("government"), seats=2)
    SectorSeats.objects.create(room=room, sector=sector("academia"), seats=4)
    text = csv_text(
        *(f"Gov {i},gov{i}@example.org,,government,delegate" for i in range(3)),
        *(f"Ada {i},ada{i}@example.org,,academia,delegate" for i in range(4)),
        *(f"Cora {i},cora{i}@example.org,,civil-society,delegate" for i in range(4)),
        "Otto Observer,otto@example.org,,government,observer",
    )
    path = tmp_path / "people.csv"
    path.write_text(text, encoding="utf-8")
    before = snapshot()
    with pytest.raises(CommandError) as caught:
        call_command(
            "import_participants",
            "quota-room",
            str(path),
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    message = str(caught.value)
    assert (
        "sector 'government' would have 3 delegates; this round table has 2 seats for "
        "sector 'government'"
    ) in message
    assert (
        "sector 'civil-society' would have 4 delegates; this round table has 3 seats per sector"
        in message
    )
    assert "academia" not in message  # four fit its own number of four
    assert snapshot() == before
    ok = csv_text(
        *(f"Gov {i},gov{i}@example.org,,government,delegate" for i in range(2)),
        *(f"Ada {i},ada{i}@example.org,,academia,delegate" for i in range(4)),
        "Otto Observer,otto@example.org,,government,observer",
    )
    results = participants_import(room=room, actor=None, via="import_participants", text=ok)
    assert len(results) == 7
    assert Seat.objects.filter(room=room, sector__slug="academia", role="delegate").count() == 4


# -- accreditation --------------------------------------------------------------------


@pytest.fixture
def strict(room) -> RoundTable:
    room.require_accreditation = True
    room.save(update_fields=["require_accreditation"])
    return room


@pytest.fixture
def orgs(room) -> dict[str, Organization]:
    gov = sector("government")
    return {
        status: Organization.objects.create(
            name=f"{status.title()} Ministry", sector=gov, accreditation=status
        )
        for status in (APPLIED, ACCREDITED, SUSPENDED)
    }


def test_a_round_table_that_requires_accreditation_seats_only_accredited_delegates(strict, orgs):
    seat(strict, "ok@example.org", sector_slug="government", org=orgs[ACCREDITED])
    for status in (APPLIED, SUSPENDED):
        error = refused(
            "not_accredited",
            seat,
            strict,
            f"{status}@example.org",
            sector_slug="government",
            org=orgs[status],
        )
        assert (
            f"{status}, not accredited" in error.message and error.extra["field"] == "organization"
        )
    refused("not_accredited", seat, strict, "none@example.org", sector_slug="government")
    # Observers sit outside: their organization's status does not matter.
    seat(
        strict,
        "watcher@example.org",
        role="observer",
        sector_slug="government",
        org=orgs[SUSPENDED],
    )


def test_accreditation_is_read_fresh_and_only_where_required(room, orgs):
    stale = Organization.objects.get(pk=orgs[ACCREDITED].pk)
    Organization.objects.filter(pk=stale.pk).update(accreditation=SUSPENDED)
    seat(room, "a@example.org", sector_slug="government", org=orgs[APPLIED])  # not required here
    room.require_accreditation = True
    room.save(update_fields=["require_accreditation"])
    refused("not_accredited", seat, room, "b@example.org", sector_slug="government", org=stale)


def test_the_import_reports_every_delegate_line_that_accreditation_refuses(strict, orgs):
    text = csv_text(
        "Ok,ok@example.org,Accredited Ministry,government,delegate",
        "New,new@example.org,Brand New Network,civil-society,delegate",
        "Applied,applied@example.org,applied ministry,government,delegate",
        "Suspended,suspended@example.org,Suspended Ministry,government,delegate",
        "Nobody,nobody@example.org,,academia,delegate",
        "Watcher,watcher@example.org,Another New Network,civil-society,observer",
    )
    before = snapshot()
    with pytest.raises(ServiceError) as caught:
        participants_import(room=strict, actor=None, via="import_participants", text=text)
    problems = caught.value.problems
    assert [p.split(":")[0] for p in problems] == ["line 3", "line 4", "line 5", "line 6"]
    assert "organization 'Brand New Network' is not known" in problems[0]
    assert "an import cannot accredit one" in problems[0]
    assert "'Applied Ministry' is applied, not accredited" in problems[1]
    assert "'Suspended Ministry' is suspended, not accredited" in problems[2]
    assert "the organization is empty" in problems[3]
    assert snapshot() == before


def test_an_import_never_accredits_the_organizations_it_creates(room, strict, orgs):
    dialogue = room.dialogue
    open_room = room_create(dialogue=dialogue, slug="open-room", title="Open", seats_per_sector=3)
    participants_import(
        room=open_room,
        actor=None,
        via="import_participants",
        text=csv_text(
            "New,new@example.org,Brand New Network,civil-society,delegate",
            "Old,old@example.org,Suspended Ministry,government,delegate",
        ),
    )
    assert Organization.objects.get(name="Brand New Network").accreditation == APPLIED
    assert Organization.objects.get(name="Suspended Ministry").accreditation == SUSPENDED
    # ...so a room that requires accreditation does not take its delegates on the way back.
    with pytest.raises(ServiceError) as caught:
        participants_import(
            room=strict,
            actor=None,
            via="import_participants",
            text=csv_text("New,new@example.org,Brand New Network,civil-society,delegate"),
        )
    assert "'Brand New Network' is applied, not accredited" in caught.value.problems[0]
    Organization.objects.filter(name="Brand New Network").update(accreditation=ACCREDITED)
    participants_import(
        room=strict,
        actor=None,
        via="import_participants",
        text=csv_text("New,new@example.org,Brand New Network,civil-society,delegate"),
    )
    assert Seat.objects.filter(room=strict, user__email="new@example.org", role="delegate").exists()


def test_organization_get_or_create_keeps_an_existing_status(orgs):
    again = organization_get_or_create(
        name="suspended ministry", sector=sector("government"), accreditation=ACCREDITED
    )
    assert again.pk == orgs[SUSPENDED].pk and again.accreditation == SUSPENDED


# -- the admin ------------------------------------------------------------------------


def add_inline_row(data: dict, prefix: str, **fields) -> None:
    index = int(data[f"{prefix}-TOTAL_FORMS"])
    data[f"{prefix}-TOTAL_FORMS"] = str(index + 1)
    data[f"{prefix}-{index}-id"] = ""
    for key, value in fields.items():
        data[f"{prefix}-{index}-{key}"] = str(value)


@pytest.fixture
def admin_client(db) -> Client:
    client = Client()
    client.force_login(
        User.objects.create_superuser("sec@example.org", "sec@example.org", "pw-for-tests-only")
    )
    return client


def room_url(room) -> str:
    return f"/admin/forum/roundtable/{room.pk}/change/"


def test_the_round_table_page_has_the_seats_per_sector_inline(cast, admin_client):
    data = form_values(admin_client, room_url(cast.room))
    assert data["sector_seats-TOTAL_FORMS"] == "0"
    add_inline_row(data, "sector_seats", sector=sector("academia").pk, seats=2)
    add_inline_row(data, "sector_seats", sector=sector("government").pk, seats=4)
    assert errors_of(admin_client.post(room_url(cast.room), data)) == ""
    assert sector_seat_limits(cast.room) == {
        "government": 4,
        "intergovernmental": 5,
        "civil-society": 5,
        "private-sector": 5,
        "academia": 2,
    }


def test_the_admin_refuses_fewer_seats_than_a_sector_has_delegates(cast, admin_client):
    # The cast seats three government delegates.
    data = form_values(admin_client, room_url(cast.room))
    add_inline_row(data, "sector_seats", sector=sector("government").pk, seats=2)
    before = snapshot()
    page = errors_of(admin_client.post(room_url(cast.room), data))
    assert (
        "Sector &#x27;government&#x27; has 3 seated delegates; it cannot have fewer than 3 seats."
        in page
    )
    assert snapshot() == before

    # Lowering the equal number below a sector without its own number.
    data = form_values(admin_client, room_url(cast.room))
    data["seats_per_sector"] = "2"
    page = errors_of(admin_client.post(room_url(cast.room), data))
    assert (
        "Sector &#x27;government&#x27; has 3 seated delegates, more than the 2 seats per sector"
        in page
    )
    assert "Sector &#x27;civil-society&#x27; has 3 seated delegates" in page
    assert RoundTable.objects.get(pk=cast.room.pk).seats_per_sector == 5

    # ...which is fine once those sectors keep their own numbers.
    add_inline_row(data, "sector_seats", sector=sector("government").pk, seats=3)
    add_inline_row(data, "sector_seats", sector=sector("civil-society").pk, seats=3)
    assert errors_of(admin_client.post(room_url(cast.room), data)) == ""
    assert RoundTable.objects.get(pk=cast.room.pk).seats_per_sector == 2
    assert sector_seat_limits(cast.room)["government"] == 3

    # Deleting a sector's own number would put it back under the equal 2.
    data = form_values(admin_client, room_url(cast.room))
    row = next(
        k[: -len("-sector")]
        for k, v in data.items()
        if k.endswith("-sector") and v == str(sector("government").pk)
    )
    data[f"{row}-DELETE"] = "on"
    before = snapshot()
    page = errors_of(admin_client.post(room_url(cast.room), data))
    assert "more than the 2 seats per sector" in page
    assert snapshot() == before


def test_the_admin_refuses_a_sector_outside_the_dialogue_and_a_sector_twice(cast, admin_client):
    stray = Sector.objects.create(slug="media", name="Media", position=9)
    data = form_values(admin_client, room_url(cast.room))
    twice = dict(data)
    add_inline_row(data, "sector_seats", sector=stray.pk, seats=2)
    before = snapshot()
    page = errors_of(admin_client.post(room_url(cast.room), data))
    assert "Sector &#x27;media&#x27; does not take part in this dialogue." in page
    add_inline_row(twice, "sector_seats", sector=sector("academia").pk, seats=2)
    add_inline_row(twice, "sector_seats", sector=sector("academia").pk, seats=3)
    page = errors_of(admin_client.post(room_url(cast.room), twice))
    assert "Please correct the duplicate data for sector" in page
    assert snapshot() == before


def seat_url(seat) -> str:
    return f"/admin/forum/seat/{seat.pk}/change/"


def test_the_admin_refuses_to_move_a_seat_into_a_full_sector(cast, admin_client):
    SectorSeats.objects.create(room=cast.room, sector=sector("academia"), seats=1)  # Ada holds it
    data = form_values(admin_client, seat_url(cast.cora))
    assert "room" not in data and "user" not in data  # a seat stays in its room, with its person
    data["sector"], data["organization"] = str(sector("academia").pk), ""
    before = snapshot()
    page = errors_of(admin_client.post(seat_url(cast.cora), data))
    assert "Sector &#x27;academia&#x27; already has its 1 seats." in page
    assert snapshot() == before

    # Into a sector with room: saved, with a pseudonym number drawn in the new sector.
    data["sector"] = str(sector("intergovernmental").pk)
    assert errors_of(admin_client.post(seat_url(cast.cora), data)) == ""
    moved = Seat.objects.get(pk=cast.cora.pk)
    assert moved.sector.slug == "intergovernmental" and moved.pseudonym_number is not None
    # A delegate turned observer leaves the quota; the sector's seat is free again.
    data = form_values(admin_client, seat_url(cast.ada))
    data["role"] = "observer"
    assert errors_of(admin_client.post(seat_url(cast.ada), data)) == ""
    seat(cast.room, "ada2@example.org", sector_slug="academia")


def test_the_admin_refuses_a_delegate_of_an_organization_that_is_not_accredited(cast, admin_client):
    RoundTable.objects.filter(pk=cast.room.pk).update(require_accreditation=True)
    suspended = Organization.objects.create(
        name="Suspended Office", sector=sector("government"), accreditation=SUSPENDED
    )
    data = form_values(admin_client, seat_url(cast.gus))
    data["organization"] = str(suspended.pk)
    before = snapshot()
    page = errors_of(admin_client.post(seat_url(cast.gus), data))
    assert "&#x27;Suspended Office&#x27; is suspended, not accredited" in page
    assert snapshot() == before
    # An observer of that organization is fine.
    data = form_values(admin_client, seat_url(cast.oscar))
    data["sector"], data["organization"] = str(sector("government").pk), str(suspended.pk)
    assert errors_of(admin_client.post(seat_url(cast.oscar), data)) == ""


def test_adding_a_seat_in_the_admin_keeps_the_quota(cast, admin_client):
    SectorSeats.objects.create(
        room=cast.room, sector=sector("private-sector"), seats=1
    )  # Pia holds it
    newcomer = user_upsert(email="pat@example.org", name="Pat")
    data = form_values(admin_client, "/admin/forum/seat/add/")
    data.update(
        room=str(cast.room.pk),
        user=str(newcomer.pk),
        role="delegate",
        sector=str(sector("private-sector").pk),
    )
    before = snapshot()
    page = errors_of(admin_client.post("/admin/forum/seat/add/", data))
    assert "already has its 1 seats" in page
    assert snapshot() == before
    data["sector"] = str(sector("intergovernmental").pk)
    assert errors_of(admin_client.post("/admin/forum/seat/add/", data)) == ""
    added = Seat.objects.get(room=cast.room, user=newcomer)
    assert added.sector.slug == "intergovernmental" and added.pseudonym_number is not None


def test_the_admin_refuses_to_require_accreditation_over_seated_delegates_of_others(
    cast, admin_client
):
    Organization.objects.filter(name="Chamber of Mocks").update(accreditation=APPLIED)
    data = form_values(admin_client, room_url(cast.room))
    data["require_accreditation"] = "on"
    page = errors_of(admin_client.post(room_url(cast.room), data))
    assert (
        "1 seated delegate would break this rule (organizations not accredited: Chamber of Mocks)"
        in page
    )
    assert RoundTable.objects.get(pk=cast.room.pk).require_accreditation is False
    Organization.objects.filter(name="Chamber of Mocks").update(accreditation=ACCREDITED)
    assert errors_of(admin_client.post(room_url(cast.room), data)) == ""
    assert RoundTable.objects.get(pk=cast.room.pk).require_accreditation is True


def test_the_admin_refuses_to_suspend_an_organization_with_seated_delegates_where_it_matters(
    cast, admin_client
):
    org = Organization.objects.get(name="Ministry of Testing")  # Gus and Gil
    url = f"/admin/forum/organization/{org.pk}/change/"
    data = form_values(admin_client, url)
    data["accreditation"] = SUSPENDED
    assert errors_of(admin_client.post(url, data)) == ""  # the room does not require it
    Organization.objects.filter(pk=org.pk).update(accreditation=ACCREDITED)
    RoundTable.objects.filter(pk=cast.room.pk).update(require_accreditation=True)
    page = errors_of(admin_client.post(url, data))
    assert (
        "2 delegates of &#x27;Ministry of Testing&#x27; hold seats in round tables "
        "that require accreditation (test-room)"
    ) in page
    assert Organization.objects.get(pk=org.pk).accreditation == ACCREDITED
    # Nor may it move to another sector than its delegates' seats.
    data = form_values(admin_client, url)
    data["sector"] = str(sector("academia").pk)
    assert "must be in its own sector" in errors_of(admin_client.post(url, data))
    assert Organization.objects.get(pk=org.pk).sector.slug == "government"


# -- two imports at once --------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_writers_cannot_both_take_a_sectors_last_seat():
    """seat_upsert reads the quota under the room lock: of two delegates seated at the same
    moment into a sector's last seat, one gets it and the other gets sector_full."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.db import close_old_connections

    # On SQLite the IMMEDIATE transactions serialise the writers; on PostgreSQL (the second
    # pass of `make test`) it is the room row lock that must do it.
    dialogue = dialogue_get_or_create(slug="race-dialogue", title="Race")
    rooms = [
        room_create(dialogue=dialogue, slug=f"race-{n}", title="Race", seats_per_sector=3)
        for n in range(5)
    ]
    people = [user_upsert(email=f"racer{n}@example.org", name=f"Racer {n}") for n in range(2)]
    government = sector("government")

    for room in rooms:
        SectorSeats.objects.create(room=room, sector=government, seats=1)
        barrier = threading.Barrier(2, timeout=10)

        def take(user, room=room, barrier=barrier):
            try:
                barrier.wait()
                return seat_upsert(
                    room=room, user=user, role="delegate", sector=government, organization=None
                )[0].pk
            except ServiceError as exc:
                return exc.code
            finally:
                close_old_connections()

        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(take, people, timeout=30))
        assert sorted(map(type, results), key=str) == [int, str] and "sector_full" in results, (
            results
        )
        assert Seat.objects.filter(room=room, sector=government, role="delegate").count() == 1
