"""The participants CSV as secretariats save it: separators, byte order marks, encodings,
sectors by their names in any interface language, problems in the reader's language, and
the template to download."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from forum.models import RoundTable, Seat, User
from forum.services.csv_input import csv_dialect, decode_csv
from forum.services.participants import ImportRefused, parse_participants
from forum.services.rooms import dialogue_get_or_create, room_create

pytestmark = pytest.mark.django_db

HEADER = ("name", "email", "organization", "sector", "role")
ROWS = (
    ("Ana Pereira", "ana@example.org", "Rede de Paz", "Sociedad civil", "delegate"),
    ("Jean Dupont", "jean@example.org", "Ministère des Tests", "Gouvernement", "delegate"),
    ("Maria Silva", "maria@example.org", "Instituto de Exemplos", "academia", "delegate"),
    ("Chen Wei", "chen@example.org", "Chamber of Mocks", "PRIVATE SECTOR", "delegate"),
)


@pytest.fixture
def room(db) -> RoundTable:
    return room_create(
        dialogue=dialogue_get_or_create(slug="d", title="D"), slug="csv-room", title="CSV room"
    )


@pytest.fixture
def sam(db) -> User:
    return User.objects.create_user(
        "sam@example.org", "sam@example.org", "a long passphrase 42", is_staff=True
    )


def table(delimiter: str, rows=ROWS) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue()


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_comma_semicolon_and_tab_files_read_the_same(room, delimiter):
    rows = parse_participants(table(delimiter), room)
    assert [(r.email, r.sector) for r in rows] == [
        ("ana@example.org", "civil-society"),
        ("jean@example.org", "government"),
        ("maria@example.org", "academia"),
        ("chen@example.org", "private-sector"),
    ]


def test_a_semicolon_file_whose_cells_hold_commas_is_still_semicolon(room):
    text = table(
        ";",
        [("Pereira, Ana", "ana@example.org", "Rede de Paz, Brasil", "civil-society", "delegate")],
    )
    assert csv_dialect(text).delimiter == ";"
    assert parse_participants(text, room)[0].name == "Pereira, Ana"


def test_a_one_row_file_the_sniffer_cannot_judge_falls_back_on_the_header(room):
    text = "name;email;organization;sector;role\n"
    assert csv_dialect(text).delimiter == ";"


def test_utf8_with_and_without_bom_decode_the_same():
    text = table(";")
    assert (
        decode_csv(text.encode("utf-8"))
        == decode_csv(b"\xef\xbb\xbf" + text.encode("utf-8"))
        == text
    )


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ("José Núñez".encode("cp1252"), "Windows-1252"),
        ("José".encode("utf-16"), "UTF-16"),
    ],
)
def test_other_encodings_are_refused_with_how_to_save_the_file(data, words):
    from forum.errors import ServiceError

    with pytest.raises(ServiceError) as refused:
        decode_csv(data)
    assert (
        refused.value.code == "not_utf8"
        and words in refused.value.message
        and "CSV UTF-8" in refused.value.message
    )


def test_the_command_imports_a_semicolon_file_with_a_bom_and_sector_names(room, tmp_path):
    path = tmp_path / "excel-es.csv"
    path.write_bytes(b"\xef\xbb\xbf" + table(";").encode("utf-8"))
    call_command(
        "import_participants",
        "csv-room",
        str(path),
        "--out",
        str(tmp_path / "links.csv"),
        stderr=io.StringIO(),
    )
    assert Seat.objects.filter(
        room=room, sector__slug="civil-society", user__email="ana@example.org"
    ).exists()
    assert Seat.objects.filter(room=room).count() == 4


def test_the_commands_problems_are_in_its_language(room, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(table(";", [("", "not-an-email", "", "Nowhere", "delegate")]), encoding="utf-8")
    with pytest.raises(CommandError) as refused:
        call_command(
            "import_participants", "csv-room", str(path), "--language", "es", stderr=io.StringIO()
        )
    message = str(refused.value)
    assert "no se importó nada" in message and "línea 2: el nombre está vacío" in message
    assert "el sector 'Nowhere' no es uno de" in message
    with pytest.raises(CommandError) as english:
        call_command("import_participants", "csv-room", str(path), stderr=io.StringIO())
    assert "line 2: name is empty" in str(english.value)
    assert User.objects.count() == 0


def test_the_command_refuses_cp1252_in_french(room, tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(table(";").encode("cp1252", errors="replace"))
    with pytest.raises(CommandError) as refused:
        call_command(
            "import_participants", "csv-room", str(path), "--language", "fr", stderr=io.StringIO()
        )
    assert "n'est pas du texte UTF-8" in str(refused.value)


def test_the_upload_page_reads_a_semicolon_file_and_speaks_the_readers_language(room, sam):
    client = Client()
    client.force_login(sam)
    client.cookies["django_language"] = "pt"
    bad = io.BytesIO(
        table(";", [("Ana", "ana@example.org", "", "Nowhere", "delegate")]).encode("utf-8")
    )
    bad.name = "bad.csv"
    response = client.post(
        "/secretariat/rooms/csv-room/", {"action": "import", "file": bad}, HTTP_ACCEPT_LANGUAGE="pt"
    )
    assert response.status_code == 400
    assert "linha 2: o setor" in response.content.decode()
    latin = io.BytesIO("José;x".encode("cp1252"))
    latin.name = "latin.csv"
    response = client.post(
        "/secretariat/rooms/csv-room/",
        {"action": "import", "file": latin},
        HTTP_ACCEPT_LANGUAGE="pt",
    )
    assert response.status_code == 400 and "não é texto UTF-8" in response.content.decode()
    good = io.BytesIO(b"\xef\xbb\xbf" + table(";").encode("utf-8"))
    good.name = "good.csv"
    response = client.post("/secretariat/rooms/csv-room/", {"action": "import", "file": good})
    assert response.status_code == 200
    assert Seat.objects.filter(room=room).count() == 4


def test_the_template_has_the_header_and_two_rows_that_import(room, sam, tmp_path):
    client = Client()
    client.force_login(sam)
    page = client.get("/secretariat/rooms/csv-room/").content.decode()
    assert 'href="/secretariat/rooms/csv-room/participants-template.csv"' in page
    response = client.get("/secretariat/rooms/csv-room/participants-template.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    data = response.content
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == list(HEADER) and len(rows) == 3
    assert len(parse_participants(data.decode("utf-8-sig"), room)) == 2
    assert Client().get("/secretariat/rooms/csv-room/participants-template.csv").status_code == 403


def test_a_refused_file_lists_every_problem_with_its_line(room):
    with pytest.raises(ImportRefused) as refused:
        parse_participants(
            table(
                "\t", [("", "x", "", "", "chair"), ("B", "b@example.org", "", "Mars", "delegate")]
            ),
            room,
        )
    assert [p.split(":")[0] for p in refused.value.problems] == ["line 2", "line 2", "line 3"]
