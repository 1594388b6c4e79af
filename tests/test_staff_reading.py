"""The secretariat gets in: its sign-in page, the way to the first staff account, and reading
any round table (pages, every export, the socket) without a seat, audited, taking no part."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from forum.minutes.document import minutes_document
from forum.models import User
from forum.services.minutes import minutes_save
from moderation.models import AuditEntry
from tests.support.personas import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def sam(db) -> User:
    """Sam of the secretariat: a staff account, no seat anywhere."""
    return User.objects.create_user(
        "sam@example.org", "sam@example.org", "a long passphrase 42", is_staff=True
    )


def staff_openings(room) -> list[dict]:
    return list(
        AuditEntry.objects.filter(room=room, action="staff_open").values_list("data", flat=True)
    )


def test_the_403_of_a_room_links_the_sign_in_page_back_to_it(cast):
    response = Client().get("/rooms/test-room/")
    assert response.status_code == 403
    page = response.content.decode()
    assert 'href="/sign-in/?next=/rooms/test-room/"' in page
    assert "/admin/login" not in page


def test_the_secretariat_403_links_the_sign_in_page(db):
    response = Client().get("/secretariat/")
    assert response.status_code == 403
    assert 'href="/sign-in/?next=/secretariat/"' in response.content.decode()


def test_the_admin_login_sends_staff_to_the_product_sign_in(db):
    response = Client().get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"] == "/sign-in/?next=/admin/"


def test_staff_read_any_room_and_the_opening_is_audited(cast, sam):
    client = client_for(sam)
    response = client.get("/rooms/test-room/")
    assert response.status_code == 200
    assert staff_openings(cast.room) == [{"staff": "sam@example.org", "what": "/rooms/test-room/"}]


def test_staff_read_every_export_even_a_draft_and_each_is_audited(cast, sam):
    minutes_save(actor_seat_id=cast.rita.pk, summaries={}, note="first")
    client = client_for(sam)
    for fmt in ("md", "html", "pdf", "docx", "json", "akn.xml"):
        assert client.get(f"/rooms/test-room/minutes.{fmt}").status_code == 200, fmt
    assert client.get("/rooms/test-room/minutes.json?version=live").status_code == 200
    assert client.get("/rooms/test-room/minutes/").status_code == 200
    whats = [entry["what"] for entry in staff_openings(cast.room)]
    assert "/rooms/test-room/minutes.pdf" in whats and "/rooms/test-room/minutes/" in whats
    assert len(whats) == 8


def test_staff_cannot_act_in_a_room(cast, sam):
    minutes_save(actor_seat_id=cast.rita.pk, summaries={}, note="first")
    client = client_for(sam)
    response = client.post("/rooms/test-room/minutes/", {"action": "adopt", "version": "1"})
    assert response.status_code == 403
    assert not cast.room.minutes_versions.filter(adopted_at__isnull=False).exists()
    assert client.post("/rooms/test-room/preview", {"body": "hi"}).status_code in (403, 405)


def test_a_staff_reader_counts_in_no_attendance(cast, sam):
    client_for(sam).get("/rooms/test-room/")
    attendance = minutes_document(cast.room)["header"]["attendance"]
    assert attendance["present"] == 0 and attendance["observers"] == 1


def test_a_delegate_of_another_room_still_gets_403(cast, outsider):
    assert client_for(outsider).get("/rooms/test-room/").status_code == 403


def test_create_staff_makes_an_account_that_signs_in_on_the_product_page(db):
    out = io.StringIO()
    call_command(
        "create_staff",
        "Sec@Example.org",
        "--password-from-stdin",
        stdin=io.StringIO("a long passphrase 42\n"),
        stdout=out,
    )
    user = User.objects.get(email="sec@example.org")
    assert user.is_staff and not user.is_superuser and user.check_password("a long passphrase 42")
    client = Client()
    response = client.post(
        "/sign-in/", {"username": "sec@example.org", "password": "a long passphrase 42"}
    )
    assert response.status_code == 302 and response["Location"] == "/secretariat/"
    assert client.get("/secretariat/").status_code == 200
    assert "/sign-in/" in out.getvalue()


def test_create_staff_refuses_a_bad_address_a_short_password_and_a_seat_holder(cast):
    with pytest.raises(CommandError, match="not a valid e-mail address"):
        call_command(
            "create_staff",
            "nobody",
            "--password-from-stdin",
            stdin=io.StringIO("a long passphrase 42\n"),
        )
    with pytest.raises(CommandError, match="too short"):
        call_command(
            "create_staff", "x@example.org", "--password-from-stdin", stdin=io.StringIO("short\n")
        )
    with pytest.raises(CommandError, match="holds a seat"):
        call_command(
            "create_staff",
            "gus@example.org",
            "--password-from-stdin",
            stdin=io.StringIO("a long passphrase 42\n"),
        )
    assert not User.objects.filter(is_staff=True).exists()


def test_create_staff_again_sets_a_new_password(db):
    call_command(
        "create_staff",
        "sec@example.org",
        "--password-from-stdin",
        stdin=io.StringIO("a long passphrase 42\n"),
        stdout=io.StringIO(),
    )
    call_command(
        "create_staff",
        "sec@example.org",
        "--password-from-stdin",
        stdin=io.StringIO("another passphrase 43\n"),
        stdout=io.StringIO(),
    )
    assert User.objects.get(email="sec@example.org").check_password("another passphrase 43")
    assert json.dumps(True)
