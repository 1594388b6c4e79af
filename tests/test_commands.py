"""The management commands: import_participants, create_room, seed_demo."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from forum.models import AgendaItem, Dialogue, Organization, RoundTable, Seat, Sector, User
from forum.services.rooms import dialogue_get_or_create, room_create
from forum.services.seats import organization_get_or_create, seat_upsert
from moderation.attribution import ANONYMOUS_LABEL, attribute
from tests.support.personas import sign_in

pytestmark = pytest.mark.django_db

HEADER = "name,email,organization,sector,role"
BASE = "https://rt.example.org"


@pytest.fixture
def room() -> RoundTable:
    dialogue = dialogue_get_or_create(slug="test-dialogue", title="Test dialogue")
    return room_create(
        dialogue=dialogue, slug="import-room", title="Import round table", seats_per_sector=3
    )


def write(tmp_path: Path, text: str | bytes, name: str = "people.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def csv_text(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def run_import(slug: str, path: Path, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_participants", slug, str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def read_links(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == ["name", "email", "role", "join_url"]
        return list(reader)


def counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "seats": Seat.objects.count(),
        "organizations": Organization.objects.count(),
        "rooms": RoundTable.objects.count(),
        "agenda_items": AgendaItem.objects.count(),
        "dialogues": Dialogue.objects.count(),
        "sectors": Sector.objects.count(),
    }


def follow_join(url: str) -> tuple[int, str, str | None]:
    """Open a printed join link with a fresh client and press its button (the page's POST):
    status, Location, signed-in user id."""
    client = Client()
    response = client.post(urlparse(url).path)
    user_id = (
        client.session.get("_auth_user_id")
        if settings.SESSION_COOKIE_NAME in client.cookies
        else None
    )
    return response.status_code, response.get("Location", ""), user_id


VALID = csv_text(
    "Chloe Chair,chloe@example.org,,,chair",
    "Rita Rapporteur,rita@example.org,,,rapporteur",
    "Oscar Observer,oscar@example.org,,,observer",
    "Gus Gobierno,Gus@Example.org,Ministry of Testing,government,delegate",
    "Cora Civil,cora@example.org,Peace Network of Nowhere,civil-society,DELEGATE",
    '"Núñez, José",jose@example.org,Institute of Fixtures,academia,delegate',
)


# import_participants: a valid file


def test_a_valid_file_creates_users_seats_and_organizations(room, tmp_path):
    out = tmp_path / "links.csv"
    run_import("import-room", write(tmp_path, VALID), "--out", str(out), "--base-url", BASE)
    seats = {
        s.user.email: s
        for s in Seat.objects.filter(room=room).select_related("user", "sector", "organization")
    }
    assert set(seats) == {
        "chloe@example.org",
        "rita@example.org",
        "oscar@example.org",
        "gus@example.org",
        "cora@example.org",
        "jose@example.org",
    }
    assert seats["chloe@example.org"].role == "chair" and seats["chloe@example.org"].sector is None
    assert seats["oscar@example.org"].role == "observer"
    gus = seats["gus@example.org"]
    assert (gus.role, gus.sector.slug, gus.organization.name) == (
        "delegate",
        "government",
        "Ministry of Testing",
    )
    assert seats["cora@example.org"].role == "delegate"
    assert str(seats["jose@example.org"].user) == "Núñez, José"
    assert Organization.objects.get(name="Institute of Fixtures").sector.slug == "academia"
    assert all(s.token_hash for s in seats.values())


def test_a_valid_file_writes_one_join_link_per_row_to_out(room, tmp_path):
    out = tmp_path / "links.csv"
    stdout, stderr = run_import(
        "import-room", write(tmp_path, VALID), "--out", str(out), "--base-url", BASE
    )
    rows = read_links(out)
    assert [r["email"] for r in rows] == [
        "chloe@example.org",
        "rita@example.org",
        "oscar@example.org",
        "gus@example.org",
        "cora@example.org",
        "jose@example.org",
    ]
    assert rows[3]["name"] == "Gus Gobierno" and rows[3]["role"] == "delegate"
    assert rows[5]["name"] == "Núñez, José"
    for row in rows:
        assert re.fullmatch(re.escape(BASE) + r"/join/[A-Za-z0-9_-]{20,}/", row["join_url"]), row
    assert len({r["join_url"] for r in rows}) == len(rows)
    assert "6 participants" in stderr
    assert "join" not in stdout  # the links went to the file, not the terminal


def test_every_printed_join_link_signs_its_own_person_into_the_room(room, tmp_path):
    out = tmp_path / "links.csv"
    run_import("import-room", write(tmp_path, VALID), "--out", str(out), "--base-url", BASE)
    for row in read_links(out):
        status, location, user_id = follow_join(row["join_url"])
        assert status == 302, row
        assert location == "/rooms/import-room/"
        assert user_id == str(User.objects.get(email=row["email"]).pk)


def test_the_links_use_base_url_by_default(room, tmp_path):
    out = tmp_path / "links.csv"
    run_import("import-room", write(tmp_path, VALID), "--out", str(out))
    for row in read_links(out):
        assert row["join_url"].startswith(settings.BASE_URL + "/join/")


def test_without_out_the_rows_go_to_the_commands_stdout(room, tmp_path):
    stdout, _ = run_import("import-room", write(tmp_path, VALID), "--base-url", BASE)
    rows = list(csv.DictReader(io.StringIO(stdout)))
    assert len(rows) == 6
    assert all(r["join_url"].startswith(BASE + "/join/") for r in rows)


def test_a_file_saved_with_a_byte_order_mark_and_crlf_line_ends_is_accepted(room, tmp_path):
    text = "\ufeff" + VALID.replace("\n", "\r\n")
    out = tmp_path / "links.csv"
    run_import("import-room", write(tmp_path, text.encode("utf-8")), "--out", str(out))
    assert len(read_links(out)) == 6
    assert Seat.objects.filter(room=room).count() == 6


def test_header_columns_may_come_in_any_order_and_case(room, tmp_path):
    text = (
        "Role,Sector,Organization,Email,Name\ndelegate,government,Ministry of "
        "Testing,gus@example.org,Gus\n"
    )
    out = tmp_path / "links.csv"
    run_import("import-room", write(tmp_path, text), "--out", str(out))
    seat = Seat.objects.get(room=room, user__email="gus@example.org")
    assert (seat.role, seat.sector.slug, seat.organization.name) == (
        "delegate",
        "government",
        "Ministry of Testing",
    )


# import_participants: invalid files change nothing


BAD_ROWS = [
    # (line, CSV row, words the problem's message must contain)
    (3, "Bad Email,not-an-email,,,observer", ["not-an-email", "valid"]),
    (4, "Mars Delegate,mars@example.org,Red Planet Society,mars,delegate", ["sector", "mars"]),
    (5, "Pres Ident,pres@example.org,,,president", ["role", "president"]),
    (6, "No Sector,nosector@example.org,,,delegate", ["delegate", "sector"]),
    (7, "Good Again,GOOD@example.org,,,observer", ["good@example.org", "line 2"]),
    (8, "Too Few,few@example.org,delegate", ["5 fields", "found 3"]),
    (
        9,
        "Wrong Sector,wrong@example.org,Ministry of Testing,academia,delegate",
        ["Ministry of Testing", "government"],
    ),
    (10, "Too,many,fields,government,delegate,extra", ["5 fields", "found 6"]),
    (11, "Split Org,split@example.org,Shared Forum,civil-society,delegate", []),
    (
        12,
        "Split Org Two,split2@example.org,Shared Forum,academia,delegate",
        ["Shared Forum", "line 11"],
    ),
]


def test_a_file_with_bad_rows_reports_each_with_its_line_and_changes_nothing(room, tmp_path):
    organization_get_or_create(
        name="Ministry of Testing", sector=Sector.objects.get(slug="government")
    )
    before = counts()
    text = csv_text("Good Person,good@example.org,,,observer", *(row for _, row, _ in BAD_ROWS))
    out = tmp_path / "links.csv"
    with pytest.raises(CommandError) as refused:
        run_import("import-room", write(tmp_path, text), "--out", str(out))
    message = str(refused.value)
    assert "nothing was imported" in message
    problems = {}
    for line in message.splitlines():
        found = re.match(r"\s*line (\d+): (.*)", line)
        if found:
            problems.setdefault(int(found[1]), []).append(found[2])
    for line, row, words in BAD_ROWS:
        if not words:
            continue
        assert line in problems, f"line {line} ({row}) not reported:\n{message}"
        text_for_line = " ".join(problems[line])
        for word in words:
            assert word in text_for_line, f"line {line}: {word!r} missing from {text_for_line!r}"
    assert 2 not in problems and 11 not in problems
    assert counts() == before
    assert not out.exists()


def test_blank_lines_are_skipped_but_still_counted_in_line_numbers(room, tmp_path):
    text = HEADER + "\n\nGood,good@example.org,,,observer\n\n\nBad,bad@,,,observer\n"
    with pytest.raises(CommandError, match=r"line 6: email 'bad@'"):
        run_import("import-room", write(tmp_path, text))
    assert User.objects.count() == 0


def test_an_empty_name_is_reported(room, tmp_path):
    with pytest.raises(CommandError, match=r"line 2: name is empty"):
        run_import("import-room", write(tmp_path, csv_text(" ,someone@example.org,,,observer")))


def test_an_over_long_field_is_reported(room, tmp_path):
    text = csv_text(f"{'N' * 201},long@example.org,,,observer")
    with pytest.raises(CommandError, match=r"line 2: name is longer than 200 characters"):
        run_import("import-room", write(tmp_path, text))
    assert User.objects.count() == 0


def test_a_file_that_would_exceed_a_sectors_seats_is_refused_whole(room, tmp_path):
    before = counts()
    text = csv_text(
        "Chloe Chair,chloe@example.org,,,chair",
        "Cora Civil,cora@example.org,,civil-society,delegate",
        *(f"Gov {i},gov{i}@example.org,,government,delegate" for i in range(4)),
    )
    with pytest.raises(CommandError) as refused:
        run_import("import-room", write(tmp_path, text))
    message = str(refused.value)
    assert "'government' would have 4 delegates" in message
    assert "3 seats per sector" in message
    assert "civil-society" not in message
    assert counts() == before


def test_seats_already_taken_count_towards_the_limit(room, tmp_path):
    first = csv_text(*(f"Gov {i},gov{i}@example.org,,government,delegate" for i in range(2)))
    run_import("import-room", write(tmp_path, first, "first.csv"), "--out", str(tmp_path / "a.csv"))
    before = counts()
    second = csv_text(*(f"Gov {i},gov{i}@example.org,,government,delegate" for i in range(2, 4)))
    with pytest.raises(CommandError, match="'government' would have 4 delegates"):
        run_import("import-room", write(tmp_path, second, "second.csv"))
    assert counts() == before


def test_re_importing_a_full_sector_does_not_count_its_delegates_twice(room, tmp_path):
    full = csv_text(*(f"Gov {i},gov{i}@example.org,,government,delegate" for i in range(3)))
    path = write(tmp_path, full)
    run_import("import-room", path, "--out", str(tmp_path / "a.csv"))
    run_import("import-room", path, "--out", str(tmp_path / "b.csv"))
    assert Seat.objects.filter(room=room, sector__slug="government").count() == 3


def test_chairs_and_observers_do_not_take_a_sectors_seats(room, tmp_path):
    text = csv_text(
        *(f"Gov {i},gov{i}@example.org,,government,delegate" for i in range(3)),
        "Gov Observer,govobs@example.org,,government,observer",
    )
    run_import("import-room", write(tmp_path, text), "--out", str(tmp_path / "a.csv"))
    assert Seat.objects.filter(room=room, sector__slug="government").count() == 4


def test_a_wrong_header_is_refused(room, tmp_path):
    text = "name,e-mail,organisation,sector,role\nGus,gus@example.org,,government,delegate\n"
    with pytest.raises(
        CommandError, match=r"line 1: the header must be name,email,organization,sector,role"
    ):
        run_import("import-room", write(tmp_path, text))
    assert User.objects.count() == 0


def test_a_header_with_a_repeated_column_is_refused(room, tmp_path):
    text = (
        "name,email,organization,sector,role,role\n"
        "Gus,gus@example.org,,government,delegate,delegate\n"
    )
    with pytest.raises(CommandError, match=r"line 1: the header must be"):
        run_import("import-room", write(tmp_path, text))


def test_an_empty_file_is_refused(room, tmp_path):
    with pytest.raises(CommandError, match=r"line 1: the file is empty"):
        run_import("import-room", write(tmp_path, ""))


def test_a_header_without_rows_is_refused(room, tmp_path):
    with pytest.raises(CommandError, match="no participants"):
        run_import("import-room", write(tmp_path, HEADER + "\n"))


def test_a_file_that_is_not_utf8_is_refused_with_a_hint(room, tmp_path):
    latin1 = csv_text("José Núñez,jose@example.org,,,observer").encode("latin-1")
    with pytest.raises(CommandError, match="not UTF-8") as refused:
        run_import("import-room", write(tmp_path, latin1))
    assert "CSV UTF-8" in str(refused.value)
    assert User.objects.count() == 0


def test_an_unknown_room_slug_is_refused(room, tmp_path):
    with pytest.raises(CommandError, match="no round table with slug 'no-such-room'"):
        run_import("no-such-room", write(tmp_path, VALID))
    assert User.objects.count() == 0


def test_a_missing_file_is_refused(room, tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        run_import("import-room", tmp_path / "absent.csv")


def test_an_out_file_that_cannot_be_written_is_refused_and_imports_nothing(room, tmp_path):
    # The links exist only in this output: importing without writing them would lose them.
    before = counts()
    out = tmp_path / "no-such-directory" / "links.csv"
    with pytest.raises(CommandError, match="no-such-directory"):
        run_import("import-room", write(tmp_path, VALID), "--out", str(out))
    assert counts() == before


# import_participants: importing again


def test_re_import_keeps_existing_links_and_updates_the_seats(room, tmp_path):
    first_out, second_out = tmp_path / "first.csv", tmp_path / "second.csv"
    run_import("import-room", write(tmp_path, VALID), "--out", str(first_out))
    first = {r["email"]: r["join_url"] for r in read_links(first_out)}
    changed = VALID.replace(
        "Oscar Observer,oscar@example.org,,,observer",
        "Oscar Renamed,oscar@example.org,,,rapporteur",
    )
    _, stderr = run_import(
        "import-room", write(tmp_path, changed, "again.csv"), "--out", str(second_out)
    )
    second = {r["email"]: r["join_url"] for r in read_links(second_out)}
    assert set(second) == set(first)
    assert all(url == "" for url in second.values())
    assert "kept their links" in stderr and "--reissue-links" in stderr
    oscar = Seat.objects.get(room=room, user__email="oscar@example.org")
    assert oscar.role == "rapporteur" and str(oscar.user) == "Oscar Renamed"
    assert Seat.objects.filter(room=room).count() == 6
    for url in first.values():
        assert follow_join(url)[0] == 302


def test_re_import_adds_a_link_only_for_the_new_person(room, tmp_path):
    run_import("import-room", write(tmp_path, VALID), "--out", str(tmp_path / "a.csv"))
    more = VALID + "Greta Government,greta@example.org,Office of Examples,government,delegate\n"
    out = tmp_path / "b.csv"
    run_import("import-room", write(tmp_path, more, "more.csv"), "--out", str(out))
    links = {r["email"]: r["join_url"] for r in read_links(out)}
    assert [e for e, url in links.items() if url] == ["greta@example.org"]
    assert follow_join(links["greta@example.org"])[0] == 302


def test_reissue_links_replaces_every_link_and_the_old_ones_stop_working(room, tmp_path):
    first_out, second_out = tmp_path / "first.csv", tmp_path / "second.csv"
    path = write(tmp_path, VALID)
    run_import("import-room", path, "--out", str(first_out))
    run_import("import-room", path, "--out", str(second_out), "--reissue-links")
    first = {r["email"]: r["join_url"] for r in read_links(first_out)}
    second = {r["email"]: r["join_url"] for r in read_links(second_out)}
    assert set(first) == set(second)
    for email, old_url in first.items():
        assert second[email] and second[email] != old_url
        status, _, user_id = follow_join(old_url)
        assert (status, user_id) == (404, None)
        status, location, user_id = follow_join(second[email])
        assert (status, location) == (302, "/rooms/import-room/")
        assert user_id == str(User.objects.get(email=email).pk)


# create_room


def create_room(*args: str) -> str:
    out = io.StringIO()
    call_command("create_room", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_create_room_defaults_to_chatham_house_with_sector_attribution():
    printed = create_room("budget-talks", "Budget talks")
    room = RoundTable.objects.get(slug="budget-talks")
    assert room.title == "Budget talks"
    assert room.rule == "chatham-house"
    assert room.attribution == "sector"
    assert room.k == 3
    assert room.seats_per_sector == 10
    assert [i.title for i in room.agenda_items.order_by("position")] == ["General discussion"]
    assert room.current_item.title == "General discussion"
    assert {s.slug for s in room.dialogue.sectors.all()} == {
        "government",
        "intergovernmental",
        "civil-society",
        "private-sector",
        "academia",
    }
    assert printed.strip() == f"{settings.BASE_URL}/rooms/budget-talks/"


def test_create_room_with_the_open_rule_gives_named_attribution():
    create_room("public-forum", "Public forum", "--rule", "open")
    room = RoundTable.objects.get(slug="public-forum")
    assert (room.rule, room.attribution) == ("open", "named")


def test_create_room_honours_attribution_k_and_seats_per_sector():
    create_room(
        "small-table",
        "Small table",
        "--attribution",
        "anonymous",
        "--k",
        "5",
        "--seats-per-sector",
        "2",
    )
    room = RoundTable.objects.get(slug="small-table")
    assert (room.rule, room.attribution, room.k, room.seats_per_sector) == (
        "chatham-house",
        "anonymous",
        5,
        2,
    )


def test_create_room_sets_the_language_of_the_minutes():
    create_room("mesa-es", "Mesa redonda", "--language", "es")
    assert RoundTable.objects.get(slug="mesa-es").language == "es"


def test_an_open_room_may_use_sector_attribution():
    create_room("open-sector", "Open by sector", "--rule", "open", "--attribution", "sector")
    assert RoundTable.objects.get(slug="open-sector").attribution == "sector"


def test_create_room_prints_a_url_that_a_seat_holder_can_open(outsider):
    url = create_room("walk-in", "Walk in").strip()
    room = RoundTable.objects.get(slug="walk-in")
    seat_upsert(room=room, user=outsider, role="observer", sector=None, organization=None)
    client = sign_in(Client(), Seat.objects.get(room=room, user=outsider))
    assert client.get(urlparse(url).path).status_code == 200


@pytest.mark.parametrize(
    "args,message",
    [
        (["taken", "Again"], "already exists"),
        (["Bad Slug", "Title"], "not a valid slug"),
        (["bad_slug!", "Title"], "not a valid slug"),
        (["named-ch", "Title", "--attribution", "named"], "Chatham House"),
        (["no-seats", "Title", "--seats-per-sector", "0"], "at least 1"),
        (["neg-seats", "Title", "--seats-per-sector", "-3"], "at least 1"),
        (["zero-k", "Title", "--k", "0"], "at least 1"),
        (["blank-title", "   "], "title may not be empty"),
        (["bad-rule", "Title", "--rule", "secret"], "invalid choice"),
        (["bad-lang", "Title", "--language", "de"], "language of the minutes is one of"),
    ],
    ids=[
        "duplicate",
        "space",
        "underscore",
        "named-under-chatham",
        "no-seats",
        "negative-seats",
        "zero-k",
        "blank-title",
        "unknown-rule",
        "unknown-language",
    ],
)
def test_create_room_refuses_bad_input_with_a_clear_message_and_creates_nothing(args, message):
    create_room("taken", "Taken")
    before = counts()
    with pytest.raises(CommandError, match=message):
        create_room(*args)
    assert counts() == before


def test_a_refused_create_room_leaves_no_dialogue_behind():
    # The first command in a fresh database: nothing at all may be left by a refusal.
    before = counts()
    with pytest.raises(CommandError):
        create_room("Bad Slug", "Title")
    assert counts() == before


# seed_demo


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out, stderr=io.StringIO())
    return out.getvalue()


LINK = re.compile(r"(https?://\S+/join/[A-Za-z0-9_-]+/)")


def test_seed_demo_creates_the_demo_round_table():
    out = seed()
    assert "/secretariat/committees/" in out and "/admin/" not in out
    room = RoundTable.objects.get(slug="demo-roundtable")
    assert room.rule == "chatham-house"
    assert room.attribution == "sector"
    assert room.status == "live"
    assert room.agenda_items.count() >= 3
    assert {s.slug for s in room.dialogue.sectors.all()} == {
        "government",
        "intergovernmental",
        "civil-society",
        "private-sector",
        "academia",
    }
    roles = set(room.seats.values_list("role", flat=True))
    assert {"chair", "rapporteur", "observer", "delegate"} <= roles
    for sector in room.dialogue.sectors.all():
        delegates = room.seats.filter(role="delegate", sector=sector)
        assert delegates.count() >= room.k, f"{sector.slug} has too few delegates"
        for seat in delegates.select_related("room", "sector", "user", "organization"):
            assert seat.organization is not None
            # Enough delegates per sector that nobody falls back to "A participant".
            assert attribute(seat).label.startswith(f"{sector.name} · Delegate ")


def test_seed_demo_is_idempotent_and_prints_the_same_links_twice():
    first = seed()
    after_first = counts()
    second = seed()
    assert counts() == after_first
    links = LINK.findall(first)
    assert len(links) == Seat.objects.filter(room__slug="demo-roundtable").count()
    assert LINK.findall(second) == links
    assert RoundTable.objects.filter(slug="demo-roundtable").count() == 1


def test_every_link_seed_demo_prints_opens_the_demo_room():
    links = LINK.findall(seed())
    assert links
    signed_in = set()
    for url in links:
        status, location, user_id = follow_join(url)
        assert (status, location) == (302, "/rooms/demo-roundtable/"), url
        signed_in.add(user_id)
    assert len(signed_in) == len(links)


def test_seed_demo_links_still_work_after_a_second_run():
    links = LINK.findall(seed())
    seed()
    assert all(follow_join(url)[0] == 302 for url in links)


def test_seed_demo_keeps_a_room_that_already_exists():
    seed()
    room = RoundTable.objects.get(slug="demo-roundtable")
    room.title = "Renamed by the secretariat"
    room.save(update_fields=["title"])
    seed()
    assert RoundTable.objects.get(slug="demo-roundtable").title == "Renamed by the secretariat"


def test_seed_demo_delegates_below_k_would_be_anonymous_so_none_are():
    seed()
    room = RoundTable.objects.get(slug="demo-roundtable")
    labels = [
        attribute(seat).label
        for seat in room.seats.filter(role="delegate").select_related(
            "room", "sector", "user", "organization"
        )
    ]
    assert ANONYMOUS_LABEL not in labels
    assert len(set(labels)) == len(labels)
