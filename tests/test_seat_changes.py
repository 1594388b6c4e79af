"""Seats and links change through one audited service (forum/services/seats.py: seat_save,
seat_link_issue, seat_link_revoke) on every path, and never attach to a staff account."""

from __future__ import annotations

import io
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from forum.errors import ServiceError
from forum.models import Seat, User
from forum.services.moderator_actions import seat_remove
from forum.services.participants import ImportRefused, participants_import
from forum.services.seats import seat_link_issue, seat_save, user_upsert
from moderation.audit import audit_verify
from moderation.models import AuditEntry
from tests.support.forms import errors_of, form_values
from tests.support.secretariat import csv_upload, page, seat_form

pytestmark = pytest.mark.django_db

ROOM = "/secretariat/rooms/test-room/"
HEADER = "name,email,organization,sector,role\n"
CORA = "Cora Civil,cora@example.org,Peace Network of Nowhere,civil-society,delegate\n"
NADIA = "Nadia Nueva,nadia@example.org,Peace Network of Nowhere,civil-society,delegate\n"


@pytest.fixture
def sam(db) -> User:
    return User.objects.create_user(
        username="sam", email="sam@example.org", password="a-long-staff-password", is_staff=True
    )


@pytest.fixture
def root(db) -> User:
    """A superuser whose username is their address, as `createsuperuser` often makes them."""
    return User.objects.create_superuser(
        "root@example.org", "root@example.org", "pw-for-tests-only"
    )


@pytest.fixture
def staff(sam) -> Client:
    client = Client()
    client.force_login(sam)
    return client


@pytest.fixture
def admin(root) -> Client:
    client = Client()
    client.force_login(root)
    return client


def snapshot() -> tuple:
    return (
        list(User.objects.order_by("pk").values_list("pk", "username", "is_staff")),
        list(
            Seat.objects.order_by("pk").values_list(
                "pk", "user_id", "role", "token_hash", "link_generation"
            )
        ),
        list(AuditEntry.objects.order_by("pk").values_list("pk")),
    )


# -- a seat never attaches to a staff account ----------------------------------------------


@pytest.mark.parametrize("address", ["sam@example.org", "SAM@example.org", "root@example.org"])
def test_a_staff_address_gets_no_seat_account(cast, sam, root, address):
    with pytest.raises(ServiceError) as refused:
        user_upsert(email=address, name="Someone")
    assert refused.value.code == "staff_account"
    assert "another e-mail address" in refused.value.message


def test_an_import_refuses_staff_addresses_with_their_line_numbers_and_changes_nothing(
    cast, sam, root
):
    before = snapshot()
    text = (
        HEADER
        + NADIA
        + "Sam Staff,sam@example.org,,,observer\n"
        + "Root,Root@Example.org,,,chair\n"
    )
    with pytest.raises(ImportRefused) as refused:
        participants_import(room=cast.room, text=text, actor=sam, via="csv_import")
    assert [p.split(":")[0] for p in refused.value.problems] == ["line 3", "line 4"]
    assert "sam@example.org belongs to a staff account" in refused.value.problems[0]
    assert "another e-mail address" in refused.value.problems[0]
    assert snapshot() == before


def test_the_import_command_refuses_a_staff_address_with_its_line(cast, root, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(HEADER + "Root,root@example.org,,,observer\n", encoding="utf-8")
    before = snapshot()
    with pytest.raises(CommandError) as refused:
        call_command(
            "import_participants",
            "test-room",
            str(path),
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert "line 2: email root@example.org belongs to a staff account" in str(refused.value)
    assert snapshot() == before


def test_the_secretariat_import_form_refuses_a_staff_address_with_its_line(cast, staff, sam):
    before = snapshot()
    response = staff.post(
        ROOM, {"action": "import", "file": csv_upload(HEADER + "Sam,sam@example.org,,,observer\n")}
    )
    assert response.status_code == 400
    assert "line 2: email sam@example.org belongs to a staff account" in page(response)
    assert snapshot() == before


def test_the_admin_seat_form_refuses_a_staff_account(cast, admin, sam):
    before = snapshot()
    data = {
        "room": cast.room.pk,
        "user": sam.pk,
        "role": "observer",
        "sector": "",
        "organization": "",
    }
    text = errors_of(admin.post("/admin/forum/seat/add/", data))
    assert "sam is a staff account, and a seat never carries staff rights" in text.replace(
        "&#x27;", "'"
    )
    assert snapshot() == before


def test_the_admin_does_not_make_a_seat_holder_staff(cast, admin):
    url = f"/admin/forum/user/{cast.cora.user_id}/change/"
    data = form_values(admin, url)
    data["is_staff"] = "on"
    text = errors_of(admin.post(url, data))
    assert "holds seats (test-room)" in text
    assert not User.objects.get(pk=cast.cora.user_id).is_staff


def test_the_admin_deletes_no_seat_and_no_seat_holders_account(cast, admin):
    assert admin.get(f"/admin/forum/seat/{cast.cora.pk}/delete/").status_code == 403
    assert admin.get(f"/admin/forum/user/{cast.cora.user_id}/delete/").status_code == 403
    assert Seat.objects.filter(pk=cast.cora.pk).exists()


def test_the_admin_edits_only_who_sits_where_and_how(cast, admin):
    data = form_values(admin, f"/admin/forum/seat/{cast.cora.pk}/change/")
    assert {"role", "sector", "organization"} <= set(data)
    for field in (
        "removed_at",
        "muted_until",
        "token_revoked_at",
        "link_generation",
        "consented_at",
    ):
        assert field not in data


# -- every link and seat change, on every path, writes one audit entry ---------------------


def entries_since(room, seq: int) -> list[tuple]:
    """(action, target, via, extra data) of the room's audit entries after `seq`."""
    out = []
    for entry in AuditEntry.objects.filter(room_id=room.pk, seq__gt=seq).order_by("seq"):
        data = dict(entry.data)
        via = data.pop("via", None)
        data.pop("role", None)
        data.pop("sector", None)
        out.append((entry.action, entry.target, via, data))
    return out


def last_seq(room) -> int:
    return (
        AuditEntry.objects.filter(room_id=room.pk)
        .order_by("-seq")
        .values_list("seq", flat=True)
        .first()
        or 0
    )


def new_seat(room, email: str) -> Seat:
    return Seat.objects.get(room=room, user__email=email)


def run_import(path: str, room, text: str, sam, tmp_path, reissue: bool = False) -> None:
    """The CSV through the secretariat's page or through the command."""
    if path == "csv_import":
        client = Client()
        client.force_login(sam)
        data = {"action": "import", "file": csv_upload(text)}
        if reissue:
            data["reissue_links"] = "on"
        assert client.post(ROOM, data).status_code == 200
    else:
        csv_path = tmp_path / f"{uuid.uuid4().hex}.csv"
        csv_path.write_text(text, encoding="utf-8")
        args = ["--reissue-links"] if reissue else []
        call_command(
            "import_participants",
            room.slug,
            str(csv_path),
            *args,
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )


@pytest.mark.parametrize("action", ["issue", "resend", "revoke"])
def test_each_link_action_of_the_secretariat_page_writes_one_entry(cast, staff, action):
    mark = last_seq(cast.room)
    assert staff.post(ROOM, seat_form(cast.cora, action)).status_code in (200, 302)
    expected = {
        "issue": ("issue_link", {"resend": False}),
        "resend": ("issue_link", {"resend": True}),
        "revoke": ("revoke_link", {}),
    }[action]
    assert entries_since(cast.room, mark) == [
        (expected[0], cast.cora.public_id, "secretariat", expected[1])
    ]


@pytest.mark.parametrize("path", ["csv_import", "import_participants"])
def test_each_import_path_writes_one_entry_per_seat_and_link_change(cast, sam, tmp_path, path):
    room = cast.room
    mark = last_seq(room)
    run_import(path, room, HEADER + NADIA, sam, tmp_path)  # a new seat, with its new link
    nadia = new_seat(room, "nadia@example.org")
    assert entries_since(room, mark) == [
        ("seat_add", nadia.public_id, path, {}),
        ("issue_link", nadia.public_id, path, {"resend": False}),
    ]

    mark = last_seq(room)
    run_import(path, room, HEADER + NADIA, sam, tmp_path)  # the same again: nothing changes
    assert entries_since(room, mark) == []

    mark = last_seq(room)
    run_import(path, room, HEADER + NADIA.replace(",delegate", ",observer"), sam, tmp_path)
    assert entries_since(room, mark) == [
        (
            "seat_change",
            nadia.public_id,
            path,
            {"changed": ["role"], "before": {"role": "delegate", "sector": "civil-society"}},
        ),
    ]

    mark = last_seq(room)
    run_import(path, room, HEADER + CORA, sam, tmp_path, reissue=True)  # the CSV re-issue
    assert entries_since(room, mark) == [
        ("issue_link", cast.cora.public_id, path, {"resend": False})
    ]


def test_each_admin_path_writes_one_entry(cast, admin):
    room = cast.room
    person = user_upsert(email="nadia@example.org", name="Nadia Nueva")
    mark = last_seq(room)
    data = {
        "room": room.pk,
        "user": person.pk,
        "role": "observer",
        "sector": "",
        "organization": "",
    }
    assert errors_of(admin.post("/admin/forum/seat/add/", data)) == ""
    nadia = new_seat(room, "nadia@example.org")
    assert entries_since(room, mark) == [("seat_add", nadia.public_id, "admin", {})]

    mark = last_seq(room)
    url = f"/admin/forum/seat/{cast.oscar.pk}/change/"
    values = form_values(admin, url)
    values["role"] = "rapporteur"
    assert errors_of(admin.post(url, values)) == ""
    assert entries_since(room, mark) == [
        (
            "seat_change",
            cast.oscar.public_id,
            "admin",
            {"changed": ["role"], "before": {"role": "observer", "sector": None}},
        ),
    ]

    mark = last_seq(room)
    admin.post("/admin/forum/seat/", {"action": "issue_links", "_selected_action": [cast.gus.pk]})
    admin.post("/admin/forum/seat/", {"action": "revoke_links", "_selected_action": [cast.gus.pk]})
    assert entries_since(room, mark) == [
        ("issue_link", cast.gus.public_id, "admin", {"resend": False}),
        ("revoke_link", cast.gus.public_id, "admin", {}),
    ]


def test_a_moderators_removal_writes_one_entry(cast):
    mark = last_seq(cast.room)
    seat_remove(
        actor_seat_id=cast.chloe.pk, seat=cast.pia.public_id, reason="Disrupted the session."
    )
    [(action, target, _via, _data)] = entries_since(cast.room, mark)
    assert (action, target) == ("remove_seat", cast.pia.public_id)


def test_the_audit_entries_of_seat_changes_name_no_one_and_keep_the_chain(cast, sam, tmp_path):
    run_import("csv_import", cast.room, HEADER + NADIA, sam, tmp_path)
    token = seat_link_issue(seat=cast.cora, actor=sam)
    stored = " ".join(
        f"{e.target} {e.reason} {e.data}" for e in AuditEntry.objects.filter(room_id=cast.room.pk)
    )
    cast.cora.refresh_from_db()
    for secret in ("Nadia", "nadia@example.org", "Peace Network", token, cast.cora.token_hash):
        assert secret not in stored
    assert audit_verify(cast.room).ok


def test_only_the_secretariat_changes_seats_and_links(cast):
    for actor in (cast.chloe.user, None):
        with pytest.raises(ServiceError) as refused:
            seat_link_issue(seat=cast.cora, actor=actor, via="secretariat")
        assert refused.value.code == "forbidden"
        with pytest.raises(ServiceError):
            seat_save(
                room=cast.room,
                user=cast.cora.user,
                role="observer",
                sector=None,
                organization=None,
                actor=actor,
                via="admin",
            )
    assert Seat.objects.get(pk=cast.cora.pk).role == "delegate"


# -- a removed seat gets no new link -----------------------------------------------------------


@pytest.mark.parametrize("path", ["csv_import", "import_participants"])
@pytest.mark.parametrize("reissue", [False, True])
def test_an_import_gives_no_link_to_a_seat_a_moderator_removed(cast, sam, tmp_path, path, reissue):
    seat_remove(
        actor_seat_id=cast.chloe.pk, seat=cast.cora.public_id, reason="Disrupted the session."
    )
    before = snapshot()
    text = HEADER + NADIA + CORA
    with pytest.raises(ImportRefused) as refused:
        participants_import(room=cast.room, text=text, actor=sam, via=path, reissue_links=reissue)
    assert [p.split(":")[0] for p in refused.value.problems] == ["line 3"]
    assert (
        "cora@example.org" in refused.value.problems[0] and "removed" in refused.value.problems[0]
    )
    assert snapshot() == before
    cora = Seat.objects.get(pk=cast.cora.pk)
    assert cora.removed_at is not None and cora.token_revoked_at is not None


def test_the_import_command_refuses_a_removed_seat_with_its_line(cast, tmp_path):
    seat_remove(
        actor_seat_id=cast.chloe.pk, seat=cast.cora.public_id, reason="Disrupted the session."
    )
    path = tmp_path / "people.csv"
    path.write_text(HEADER + CORA, encoding="utf-8")
    before = snapshot()
    with pytest.raises(CommandError, match="line 2: "):
        call_command(
            "import_participants",
            "test-room",
            str(path),
            "--reissue-links",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert snapshot() == before


def test_no_path_issues_a_link_for_a_removed_seat(cast, sam):
    seat_remove(
        actor_seat_id=cast.chloe.pk, seat=cast.cora.public_id, reason="Disrupted the session."
    )
    cora = Seat.objects.get(pk=cast.cora.pk)
    before = snapshot()
    with pytest.raises(ServiceError) as refused:
        seat_link_issue(seat=cora, actor=sam, via="secretariat")
    assert refused.value.code == "seat_removed"
    assert snapshot() == before
