"""The secretariat's pages (/secretariat/), through Django's test client: only staff get in,
and through them dialogues, round tables, status, join links, CSV imports, the committee
registry and the audit log, without the admin."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from forum.errors import ServiceError
from forum.models import Committee, Dialogue, RoundTable, Seat, Sector, SectorSeats, User
from forum.services.moderator_actions import seat_mute
from forum.services.rooms import room_set_sector_seats
from moderation.models import AuditEntry
from tests.support.personas import PERSONAS, sign_in
from tests.support.secretariat import csv_upload, page, seat_form

pytestmark = pytest.mark.django_db

ROOM = "/secretariat/rooms/test-room/"
JOIN_URL = re.compile(r"https?://[^\s\"'<>]+/join/([A-Za-z0-9_-]+)/")


@pytest.fixture
def sam(db) -> User:
    return User.objects.create_user(
        username="sam", email="sam@example.org", password="x", is_staff=True
    )


@pytest.fixture
def staff(sam) -> Client:
    client = Client()
    client.force_login(sam)
    return client


@pytest.fixture
def committee(db) -> Committee:
    committee = Committee(
        name="Forum Regional Security Committee",
        rigo="Pacific Islands Forum",
        working_languages="en, fr",
        webhook_url="https://frsc.example.org/hook",
        webhook_secret="s3cret-never-shown",
    )
    committee.full_clean()
    committee.save()
    return committee


def state_snapshot() -> tuple:
    """Everything a secretariat page could change, to prove a refused POST changed nothing."""
    return (
        list(Dialogue.objects.order_by("pk").values_list("slug", "title")),
        list(RoundTable.objects.order_by("pk").values_list("slug", "status")),
        list(Seat.objects.order_by("pk").values_list("pk", "token_hash", "token_revoked_at")),
        list(Committee.objects.order_by("pk").values_list("name", "webhook_url", "webhook_secret")),
        sorted(SectorSeats.objects.values_list("room_id", "sector__slug", "seats")),
        list(AuditEntry.objects.order_by("pk").values_list("room_id", "seq", "action")),
    )


# -- who gets in --------------------------------------------------------------------------


def outsiders(cast) -> dict[str, Client]:
    clients = {"anonymous": Client()}
    for persona in ("chloe", "cora"):  # the chair and a delegate of the room
        clients[persona] = sign_in(Client(), cast.seats[persona])
    return clients


def test_only_the_secretariat_opens_the_pages(cast, committee):
    pages = [
        "/secretariat/",
        ROOM,
        f"{ROOM}audit/",
        "/secretariat/committees/",
        f"/secretariat/committees/{committee.public_id}/",
    ]
    for who, client in outsiders(cast).items():
        for url in pages:
            response = client.get(url)
            assert response.status_code == 403, (who, url)
            assert "Only the secretariat" in page(response)


def test_no_post_of_an_outsider_changes_anything(cast, committee):
    before = state_snapshot()
    posts = [
        ("/secretariat/", {"action": "dialogue", "slug": "d2", "title": "Second dialogue"}),
        (
            "/secretariat/",
            {
                "action": "room",
                "dialogue": "test-dialogue",
                "slug": "r2",
                "title": "R2",
                "rule": "chatham-house",
                "seats_per_sector": 5,
                "k": 3,
                "status": "live",
            },
        ),
        (ROOM, {"action": "close"}),
        (ROOM, seat_form(cast.cora, "issue")),
        (ROOM, seat_form(cast.cora, "revoke")),
        (ROOM, {"action": "import", "file": None}),
        (ROOM, {"action": "sector_seats", "seats-academia": "9", "seats-government": ""}),
        ("/secretariat/committees/", {"name": "X", "rigo": "Y"}),
        (
            f"/secretariat/committees/{committee.public_id}/",
            {
                "name": "Renamed",
                "rigo": "Y",
                "webhook_url": "",
                "clear_webhook_secret": "on",
            },
        ),
    ]
    csv_text = "name,email,organization,sector,role\nNew Person,new@example.org,,,observer\n"
    for who, client in outsiders(cast).items():
        for url, data in posts:
            if data.get("action") == "import":
                data = {"action": "import", "file": csv_upload(csv_text)}
            response = client.post(url, data)
            assert response.status_code == 403, (who, url, data.get("action"))
    assert state_snapshot() == before
    assert Client().post(f"/join/{cast.tokens['cora']}/").status_code == 302  # still valid


def test_forms_need_the_csrf_token(sam, cast):
    client = Client(enforce_csrf_checks=True)
    client.force_login(sam)
    assert client.post(ROOM, {"action": "close"}).status_code == 403
    cast.room.refresh_from_db()
    assert cast.room.status == "live"
    assert 'name="csrfmiddlewaretoken"' in client.get(ROOM).content.decode()


def test_the_audit_page_only_reads(staff, cast):
    assert staff.post(f"{ROOM}audit/").status_code == 405


# -- dialogues and round tables -----------------------------------------------------------


def test_the_secretariat_creates_a_dialogue_and_a_round_table(staff):
    response = staff.post(
        "/secretariat/",
        {
            "action": "dialogue",
            "slug": "rigo-cso",
            "title": "RIGO–CSO dialogue",
            "convener": "OAS",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0].startswith("/secretariat/")
    assert "Dialogue “RIGO–CSO dialogue” created." in page(response)
    assert Dialogue.objects.get(slug="rigo-cso").sectors.count() == 5

    response = staff.post(
        "/secretariat/",
        {
            "action": "room",
            "dialogue": "rigo-cso",
            "slug": "peace-2026",
            "title": "Peace and security",
            "rule": "chatham-house",
            "attribution": "",
            "seats_per_sector": 4,
            "k": 3,
            "status": "scheduled",
            "agenda": "Collaboration\nSelection of CSOs\n",
        },
        follow=True,
    )
    assert response.redirect_chain == [("/secretariat/rooms/peace-2026/", 302)]
    room = RoundTable.objects.get(slug="peace-2026")
    assert (room.attribution, room.status, room.seats_per_sector) == ("sector", "scheduled", 4)
    assert [i.title for i in room.agenda_items.order_by("position")] == [
        "Collaboration",
        "Selection of CSOs",
    ]
    text = page(response)
    assert "Round table “Peace and security” created." in text
    assert "Selection of CSOs" in text

    listing = page(staff.get("/secretariat/"))
    assert "Peace and security" in listing and "0 of 4" in listing


def test_a_round_table_refused_by_the_service_shows_its_code_and_creates_nothing(staff, cast):
    before = state_snapshot()
    response = staff.post(
        "/secretariat/",
        {
            "action": "room",
            "dialogue": "test-dialogue",
            "slug": "open-named",
            "title": "T",
            "rule": "chatham-house",
            "attribution": "named",
            "seats_per_sector": 5,
            "k": 3,
            "status": "live",
        },
    )
    assert response.status_code == 400
    text = page(response)
    assert "invalid_attribution" in text
    assert "Named attribution would break the Chatham House Rule." in text
    assert 'aria-describedby="room-attribution_error"' in text  # the error sits on the field

    response = staff.post(
        "/secretariat/",
        {
            "action": "room",
            "dialogue": "test-dialogue",
            "slug": "test-room",
            "title": "Again",
            "rule": "open",
            "seats_per_sector": 5,
            "k": 3,
            "status": "live",
        },
    )
    assert response.status_code == 400 and "slug_taken" in page(response)
    response = staff.post(
        "/secretariat/", {"action": "dialogue", "slug": "test-dialogue", "title": "X"}
    )
    assert response.status_code == 400 and "slug_taken" in page(response)
    assert state_snapshot() == before


def test_the_secretariat_opens_and_closes_a_round_table(staff, cast):
    response = staff.post(ROOM, {"action": "close"}, follow=True)
    assert "The round table is closed." in page(response)
    cast.room.refresh_from_db()
    assert cast.room.status == "closed"
    assert cast.room.events.filter(kind="room.status_changed").exists()
    staff.post(ROOM, {"action": "open"})
    cast.room.refresh_from_db()
    assert cast.room.status == "live"


def test_the_room_page_lists_agenda_sectors_and_seats(staff, cast):
    text = page(staff.get(ROOM))
    assert "General discussion" in text
    for persona, (name, org, _sector, _role) in PERSONAS.items():
        assert name in text and f"{persona}@example.org" in text
        if org:
            assert org in text
    assert text.count('data-state="active"') == len(PERSONAS)
    for link in (
        "/rooms/test-room/submissions/",
        "/secretariat/rooms/test-room/audit/",
    ):
        assert f'href="{link}"' in text


# -- join links ---------------------------------------------------------------------------


def test_a_new_link_replaces_the_old_one_and_is_shown_once(staff, cast):
    old = cast.tokens["cora"]
    response = staff.post(ROOM, seat_form(cast.cora, "issue"))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    text = page(response)
    new = JOIN_URL.search(text).group(1)
    assert new != old
    assert Client().get(f"/join/{old}/").status_code == 404
    assert Client().post(f"/join/{new}/").status_code == 302
    assert 'data-copy="join-url"' in text and "ui-strings" in text


def test_a_reload_of_the_issue_form_does_not_replace_the_link_just_shown(staff, cast):
    form = seat_form(cast.cora, "issue")
    first = JOIN_URL.search(page(staff.post(ROOM, form))).group(1)
    response = staff.post(ROOM, form)
    assert response.status_code == 409 and "stale_link" in page(response)
    assert Client().post(f"/join/{first}/").status_code == 302


def test_revoking_a_link_stops_it(staff, cast):
    response = staff.post(ROOM, seat_form(cast.gus, "revoke"), follow=True)
    assert "no longer opens the round table" in page(response)
    assert Client().get(f"/join/{cast.tokens['gus']}/").status_code == 404
    assert 'data-state="revoked"' in page(response)


def test_invite_again_issues_a_link_and_queues_the_invitation(staff, cast):
    from forum.models import OutboxMessage

    response = staff.post(ROOM, seat_form(cast.ada, "resend"), follow=True)
    assert "invitation is queued" in page(response)
    assert not JOIN_URL.search(page(response))  # the link goes by e-mail, not on the page
    (message,) = OutboxMessage.objects.filter(seat=cast.ada)
    token = JOIN_URL.search(message.text).group(1)
    assert message.recipient == "ada@example.org" and "no longer works" in message.text
    assert Client().get(f"/join/{token}/").status_code == 200
    assert Client().get(f"/join/{cast.tokens['ada']}/").status_code == 404
    assert 'data-invitation="queued"' in page(response)


def test_a_removed_seat_gets_no_new_link(staff, cast):
    from forum.services.moderator_actions import seat_remove

    seat_remove(
        actor_seat_id=cast.chloe.pk, seat=cast.pia.public_id, reason="Disrupted the session."
    )
    response = staff.post(ROOM, seat_form(cast.pia, "issue"))
    assert response.status_code == 409
    assert not JOIN_URL.search(page(response))


def audited(cast, action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(room_id=cast.room.pk, action=action).order_by("seq"))


def test_issuing_resending_and_revoking_a_link_are_audited_without_the_token(staff, cast):
    token = JOIN_URL.search(page(staff.post(ROOM, seat_form(cast.cora, "issue")))).group(1)
    staff.post(ROOM, seat_form(cast.oscar, "resend"))
    staff.post(ROOM, seat_form(cast.gus, "revoke"))
    issued = audited(cast, "issue_link")
    assert [e.data.pop("resend") for e in issued] == [False, True]
    assert [(e.target, e.actor_role, e.actor_public_id, e.data) for e in issued] == [
        (
            cast.cora.public_id,
            "secretariat",
            "",
            {"role": "delegate", "sector": "civil-society", "via": "secretariat"},
        ),
        (
            cast.oscar.public_id,
            "secretariat",
            "",
            {"role": "observer", "sector": None, "via": "secretariat"},
        ),
    ]
    [revoked] = audited(cast, "revoke_link")
    assert (revoked.target, revoked.data) == (
        cast.gus.public_id,
        {"role": "delegate", "sector": "government", "via": "secretariat"},
    )
    cast.cora.refresh_from_db()
    for entry in AuditEntry.objects.filter(room_id=cast.room.pk):
        stored = f"{entry.target} {entry.reason} {entry.data}"
        assert token not in stored and cast.cora.token_hash not in stored
    text = page(staff.get(f"{ROOM}audit/"))
    assert "Chain intact" in text and "issue_link" in text and "revoke_link" in text
    assert "Cora Civil" not in text


def test_a_refused_link_action_writes_no_audit_entry(staff, cast):
    form = seat_form(cast.cora, "issue")
    staff.post(ROOM, form)
    assert staff.post(ROOM, form).status_code == 409  # stale_link
    assert len(audited(cast, "issue_link")) == 1


# -- seats per sector ---------------------------------------------------------------------


def seats_form(**numbers) -> dict:
    """The sector seats form as the page sends it: every sector's field, empty unless given."""
    data = {"action": "sector_seats"}
    for slug in Sector.objects.values_list("slug", flat=True):
        data[f"seats-{slug}"] = str(numbers.get(slug.replace("-", "_"), ""))
    return data


def own_seats(cast) -> dict[str, int]:
    return dict(SectorSeats.objects.filter(room=cast.room).values_list("sector__slug", "seats"))


def test_the_room_page_shows_seated_delegates_and_seats_per_sector(staff, cast):
    text = page(staff.get(ROOM))
    assert 'data-seats="civil-society">3 / 5<' in text
    assert 'data-seats="academia">1 / 5<' in text
    assert 'name="seats-civil-society"' in text and 'name="action" value="sector_seats"' in text


def test_the_secretariat_gives_sectors_their_own_number_of_seats(staff, cast):
    response = staff.post(ROOM, seats_form(civil_society=7, academia=2), follow=True)
    assert response.redirect_chain == [("/secretariat/rooms/test-room/#sectors", 302)]
    text = page(response)
    assert "Seats per sector saved." in text
    assert own_seats(cast) == {"civil-society": 7, "academia": 2}
    assert 'data-seats="civil-society">3 / 7<' in text
    assert 'data-seats="government">3 / 5<' in text
    assert 'value="7"' in text  # the form shows the sector's own number
    [entry] = audited(cast, "set_sector_seats")
    assert (entry.actor_role, entry.data) == (
        "secretariat",
        {
            "seats": {
                "civil-society": {"before": None, "after": 7},
                "academia": {"before": None, "after": 2},
            },
            "seats_per_sector": 5,
        },
    )


def test_an_empty_field_gives_the_sector_the_round_tables_number_again(staff, cast):
    staff.post(ROOM, seats_form(civil_society=7, academia=2))
    response = staff.post(ROOM, seats_form(academia=2), follow=True)
    assert "Seats per sector saved." in page(response)
    assert own_seats(cast) == {"academia": 2}
    assert 'data-seats="civil-society">3 / 5<' in page(response)
    last = audited(cast, "set_sector_seats")[-1]
    assert last.data["seats"] == {"civil-society": {"before": 7, "after": None}}

    response = staff.post(ROOM, seats_form(academia=2), follow=True)
    assert "nothing changed" in page(response)
    assert len(audited(cast, "set_sector_seats")) == 2  # nothing changed, nothing audited


def test_fewer_seats_than_seated_delegates_are_refused_and_nothing_changes(staff, cast):
    staff.post(ROOM, seats_form(civil_society=4))
    before = state_snapshot()
    # Academia's 9 is fine, civil society's 2 is not: neither is saved.
    response = staff.post(ROOM, seats_form(civil_society=2, academia=9))
    assert response.status_code == 409
    text = page(response)
    assert "seats_below_held" in text
    assert "Sector 'civil-society' has 3 seated delegates" in text
    field = "sector-seats-seats-civil-society"
    assert f'aria-describedby="{field}_helptext {field}_error"' in text  # on the field
    assert state_snapshot() == before
    assert own_seats(cast) == {"civil-society": 4}


def test_an_empty_field_is_refused_when_the_round_tables_number_is_below_the_seated(staff, cast):
    staff.post(ROOM, seats_form(government=3))
    RoundTable.objects.filter(pk=cast.room.pk).update(seats_per_sector=2)
    before = state_snapshot()
    response = staff.post(ROOM, seats_form())
    assert response.status_code == 409 and "seats_below_held" in page(response)
    assert "Sector 'government' has 3 seated delegates" in page(response)
    assert state_snapshot() == before


@pytest.mark.parametrize("value", ["-1", "1001", "two", "2.5"])
def test_a_number_of_seats_out_of_bounds_is_refused(staff, cast, value):
    before = state_snapshot()
    data = seats_form()
    data["seats-academia"] = value
    response = staff.post(ROOM, data)
    assert response.status_code == 400
    assert "invalid_seats" in page(response)
    assert state_snapshot() == before


def test_only_the_secretariat_sets_seats_per_sector(cast):
    academia = Sector.objects.get(slug="academia")
    with pytest.raises(ServiceError) as caught:
        room_set_sector_seats(room=cast.room, seats={academia.pk: 3}, actor=cast.chloe.user)
    assert caught.value.code == "forbidden"
    assert own_seats(cast) == {}


def test_a_sector_outside_the_dialogue_is_refused(sam, cast):
    other = Sector.objects.create(slug="media", name="Media", position=9)
    with pytest.raises(ServiceError) as caught:
        room_set_sector_seats(room=cast.room, seats={other.pk: 3}, actor=sam)
    assert caught.value.code == "invalid_sector"
    assert own_seats(cast) == {}


# -- CSV import ---------------------------------------------------------------------------

GOOD_CSV = (
    "name,email,organization,sector,role\n"
    "Nadia Nueva,nadia@example.org,Coastal Peace Network,civil-society,delegate\n"
    "Omar Observa,omar@example.org,,,observer\n"
)


def test_a_csv_with_a_bad_row_shows_its_line_and_imports_nothing(staff, cast):
    before = state_snapshot()
    users = User.objects.count()
    bad = GOOD_CSV + "Bad Row,not-an-email,,academia,delegate\n"
    response = staff.post(ROOM, {"action": "import", "file": csv_upload(bad)})
    assert response.status_code == 400
    text = page(response)
    assert "import_refused" in text
    assert "line 4: email 'not-an-email' is not a valid address" in text
    assert 'aria-describedby="import-file_helptext import-file_error"' in text
    assert state_snapshot() == before and User.objects.count() == users


def test_a_file_that_is_not_utf8_is_refused(staff, cast):
    upload = SimpleUploadedFile("x.csv", "name\nJosé".encode("latin-1"), content_type="text/csv")
    response = staff.post(ROOM, {"action": "import", "file": upload})
    assert response.status_code == 400 and "not UTF-8" in page(response)


def test_a_good_csv_creates_seats_and_shows_their_links_once(staff, cast):
    response = staff.post(ROOM, {"action": "import", "file": csv_upload(GOOD_CSV)})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    text = page(response)
    tokens = JOIN_URL.findall(text)
    assert len(set(tokens)) == 2
    seats = Seat.objects.filter(
        room=cast.room, user__email__in=["nadia@example.org", "omar@example.org"]
    )
    assert {s.role for s in seats} == {"delegate", "observer"}
    for token in set(tokens):
        assert Client().post(f"/join/{token}/").status_code == 302
    # The CSV download carries the same links, in this response only.
    href = re.search(r'download="test-room-join-links.csv" href="([^"]+)"', text).group(1)
    csv_text = unquote(href.split(",", 1)[1]).lstrip("\ufeff")
    assert csv_text.splitlines()[0] == "name,email,role,join_url"
    assert all(token in csv_text for token in tokens)
    assert "Nadia Nueva" in text and "2 participants imported" in text


def test_a_reimport_keeps_the_links_already_sent(staff, cast):
    staff.post(ROOM, {"action": "import", "file": csv_upload(GOOD_CSV)})
    response = staff.post(ROOM, {"action": "import", "file": csv_upload(GOOD_CSV)})
    text = page(response)
    assert not JOIN_URL.search(text)
    assert "kept it" in text


# -- committees ---------------------------------------------------------------------------


def test_the_secretariat_adds_a_committee(staff, db):
    response = staff.post(
        "/secretariat/committees/",
        {
            "name": "ECOSOCC",
            "rigo": "African Union",
            "working_languages": "en, fr, pt, ar",
            "webhook_url": "https://ecosocc.example.org/in",
            "webhook_secret": "topsecret-value",
        },
        follow=True,
    )
    text = page(response)
    assert "Committee “ECOSOCC” added to the registry." in text
    committee = Committee.objects.get(name="ECOSOCC")
    assert committee.webhook_secret == "topsecret-value"
    assert "topsecret-value" not in text
    assert "set" in text


def test_a_webhook_without_a_secret_is_refused_on_the_field(staff, db):
    response = staff.post(
        "/secretariat/committees/",
        {
            "name": "PSC",
            "rigo": "African Union",
            "webhook_url": "https://psc.example.org/hook",
        },
    )
    assert response.status_code == 400
    text = page(response)
    assert "invalid_committee" in text
    assert "A webhook needs a shared secret to sign its POSTs." in text
    assert (
        'aria-describedby="committee-webhook_secret_helptext committee-webhook_secret_error"'
        in text
    )
    assert not Committee.objects.exists()

    response = staff.post(
        "/secretariat/committees/", {"name": "PSC", "rigo": "AU", "webhook_url": "ftp://x.org/"}
    )
    assert response.status_code == 400 and not Committee.objects.exists()


def test_editing_a_committee_never_shows_its_secret(staff, committee):
    url = f"/secretariat/committees/{committee.public_id}/"
    text = page(staff.get(url))
    assert "s3cret-never-shown" not in text
    assert "Forum Regional Security Committee" in text
    assert "s3cret-never-shown" not in page(staff.get("/secretariat/committees/"))

    # Empty keeps the secret; a refused change shows no secret either.
    data = {
        "name": "FRSC",
        "rigo": "Pacific Islands Forum",
        "webhook_url": "https://frsc.example.org/v2",
    }
    staff.post(url, data)
    committee.refresh_from_db()
    assert (committee.name, committee.webhook_secret) == ("FRSC", "s3cret-never-shown")

    response = staff.post(url, {**data, "clear_webhook_secret": "on", "webhook_secret": ""})
    assert response.status_code == 400
    text = page(response)
    assert "A webhook needs a shared secret" in text and "s3cret-never-shown" not in text
    committee.refresh_from_db()
    assert committee.webhook_secret == "s3cret-never-shown"

    response = staff.post(url, {**data, "webhook_url": "", "clear_webhook_secret": "on"})
    assert response.status_code == 302
    committee.refresh_from_db()
    assert committee.webhook_secret == "" and committee.webhook_url == ""


def test_two_committees_of_one_rigo_have_different_names(staff, committee):
    response = staff.post(
        "/secretariat/committees/",
        {
            "name": committee.name,
            "rigo": committee.rigo,
        },
    )
    assert response.status_code == 400
    assert Committee.objects.count() == 1


# -- audit ---------------------------------------------------------------------------------


def test_the_audit_page_lists_entries_and_verifies_the_chain(staff, cast):
    seat_mute(
        actor_seat_id=cast.chloe.pk, seat=cast.cora.public_id, minutes=5, reason="Off topic again."
    )
    response = staff.get(f"{ROOM}audit/")
    assert response.status_code == 200
    text = page(response)
    assert "Chain intact" in text
    assert "Off topic again." in text
    assert "Cora Civil" not in text  # actors and targets by role and opaque handle only


@pytest.mark.parametrize("language", ["es", "fr", "pt"])
def test_the_pages_render_in_every_language(sam, cast, committee, language):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(sam)
    for url in (
        "/secretariat/",
        ROOM,
        f"{ROOM}audit/",
        "/secretariat/committees/",
        f"/secretariat/committees/{committee.public_id}/",
    ):
        assert client.get(url).status_code == 200, url
    response = client.post(ROOM, {"action": "import", "file": csv_upload(GOOD_CSV)})
    assert response.status_code == 200 and len(set(JOIN_URL.findall(page(response)))) == 2
