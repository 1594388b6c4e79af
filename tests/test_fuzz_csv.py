"""Fuzzing the CSV participant import (the shared parts are in
tests/support/fuzz.py).

The properties: generated files never crash the service, the command or the upload page; a
file is imported whole or refused whole with line-numbered problems, and a refused import
changes nothing. What an import stores must also fit PostgreSQL (no NUL, no text longer than
its column), so that the SQLite pass finds what would be a 500 there.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.apps import apps as django_apps
from hypothesis import event, example, given, note, settings
from hypothesis import strategies as st

from forum.models import Seat
from tests.support.fuzz import FUZZ, NASTY, World, check_refusal, rolled_back, world_snapshot
from tests.support.fuzz import world as world  # a fixture: pytest finds it by its name here

HEADER = ["name", "email", "organization", "sector", "role"]
ROLES = ["chair", "moderator", "rapporteur", "delegate", "observer"]
SECTORS = ["government", "intergovernmental", "civil-society", "private-sector", "academia"]
ORGANIZATIONS = {
    "Ministry of Testing": "government",
    "Peace Network of Nowhere": "civil-society",
    "New Institute": "academia",
    "Fresh Chamber": "private-sector",
    "UN Office": "intergovernmental",
}
cell_text = st.one_of(
    st.text(max_size=20),
    st.lists(
        st.sampled_from([c for c in NASTY if not ("\ud800" <= c[0] <= "\udfff")])
        | st.text(max_size=3),
        max_size=6,
    ).map("".join),
    st.sampled_from([("x", 199), ("x", 200), ("x", 201), ("é", 200), ("x", 140_000)]).map(
        lambda p: p[0] * p[1]
    ),
    st.sampled_from(
        [
            ",",
            '"',
            '""',
            '"a,b"',
            "\r",
            "\n",
            "\r\n",
            "a\x00b",
            "\x00",
            " ",
            "DELEGATE",
            " Delegate ",
        ]
    ),
)
emails = st.one_of(
    st.integers(0, 40).map(lambda i: f"person{i}@example.org"),
    st.sampled_from(
        [
            "cora@example.org",
            "CORA@Example.org",
            "new@例え.jp",
            "ünï@exämple.org",
            "a@b",
            "no-at-sign",
            "x" * 64 + "@example.org",
            "a@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 60 + ".org",
            "p\x00@example.org",
            " spaced@example.org ",
            'quote"@example.org',
        ]
    ),
    st.integers(150, 200).map(lambda n: "e" * (n - 12) + "@example.org"),
    st.emails().filter(lambda e: len(e) <= 254),
)


@st.composite
def csv_rows(draw) -> list[list[str]]:
    rows = []
    for _ in range(draw(st.integers(0, 8))):
        org = draw(st.sampled_from([""] + sorted(ORGANIZATIONS)))
        sector = ORGANIZATIONS.get(org) or draw(st.sampled_from([""] + SECTORS))
        row = [
            draw(st.sampled_from(["Ana Example", "Zoë Ñandú", "Bo"])),
            draw(emails),
            org,
            sector,
            draw(st.sampled_from(ROLES)),
        ]
        for i in range(len(row)):
            if draw(st.integers(0, 5)) == 0:
                row[i] = draw(cell_text)
        shape = draw(st.integers(0, 15))
        if shape == 0:
            row = row[: draw(st.integers(0, 4))]
        elif shape == 1:
            row += [draw(cell_text)]
        rows.append(row)
    return rows


@st.composite
def csv_files(draw) -> bytes:
    """A participants file as a secretariat might upload it, often broken."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=300))
    header = list(HEADER)
    change = draw(st.integers(0, 9))
    if change == 0:
        header = draw(st.permutations(HEADER))
    elif change == 1:
        header = [f" {h.upper()} " for h in header]
    elif change == 2:
        header = header[:-1]
    elif change == 3:
        header = header + ["notes"]
    elif change == 4:
        header = [draw(cell_text) for _ in range(5)]
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        lineterminator=draw(st.sampled_from(["\r\n", "\n", "\r"])),
        quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])),
    )
    rows = draw(csv_rows())
    order = [HEADER.index(h) if h in HEADER else i for i, h in enumerate(header)]
    writer.writerow(header)
    for row in rows:
        if len(row) == 5 and sorted(order) == list(range(5)):
            row = [row[i] for i in order]
        writer.writerow(row)
        if draw(st.integers(0, 9)) == 0:
            buffer.write(
                draw(st.sampled_from(["\n", "\r\n", ",,,,\n", '"unterminated\n', "   \n"]))
            )
    text = buffer.getvalue()
    if draw(st.integers(0, 7)) == 0:
        text = text[: draw(st.integers(0, len(text)))]
    encoding = draw(
        st.sampled_from(
            ["utf-8"] * 6 + ["utf-8-sig", "utf-16", "latin-1", "cp1252", "utf-8-bom-twice"]
        )
    )
    if encoding == "utf-8-bom-twice":
        return b"\xef\xbb\xbf\xef\xbb\xbf" + text.encode("utf-8")
    return text.encode(encoding, "replace")


@pytest.fixture
def import_room(cast):
    from forum.services.rooms import room_create

    return room_create(
        dialogue=cast.room.dialogue, slug="import-room", title="Import", seats_per_sector=8
    )


LINE_PROBLEM = re.compile(r"^line (\d+): \S")


def check_problems(problems: list[str], data: bytes) -> None:
    """One line-numbered sentence per problem (a file with a header and nothing else has
    no line to name)."""
    assert problems
    if problems == ["the file has a header but no participants"]:
        return
    lines = data.count(b"\n") + data.count(b"\r") + 2
    for problem in problems:
        match = LINE_PROBLEM.match(problem)
        assert match, f"a problem without its line number: {problem!r}"
        assert 1 <= int(match.group(1)) <= lines, problem


def check_storable(before: dict) -> None:
    """What an import wrote would also fit in PostgreSQL, which the suite runs on too:
    no NUL character, no text longer than its column."""
    for label in ("forum.User", "forum.Organization", "forum.Seat"):
        model = django_apps.get_model(label)
        for row in model.objects.values():
            for field in model._meta.concrete_fields:
                value = row.get(field.attname)
                if isinstance(value, str):
                    assert "\x00" not in value, f"{label}.{field.name} holds a NUL: {value!r}"
                    if field.max_length:
                        assert len(value) <= field.max_length, (
                            f"{label}.{field.name} holds {len(value)} characters, more "
                            f"than its {field.max_length}"
                        )


# Found by the fuzzers: an e-mail address longer than the 150 characters of the username it
# becomes, and a NUL in a name or an organization; PostgreSQL refuses both (a 500).
LONG_EMAIL_CSV = (
    b"name,email,organization,sector,role\r\nAna Example,"
    + b"e" * 139
    + b"@example.org,,,observer\r\n"
)
NUL_CSV = (
    b"name,email,organization,sector,role\r\n"
    b"Ana\x00Example,ana@example.org,Fresh\x00Chamber,private-sector,delegate\r\n"
)


def decoded(data: bytes) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


@pytest.mark.django_db
@FUZZ
@given(data=csv_files(), reissue=st.booleans())
@example(data=LONG_EMAIL_CSV, reissue=False)
@example(data=NUL_CSV, reissue=False)
def test_the_import_service_imports_all_rows_or_refuses_with_line_numbers_and_changes_nothing(
    import_room, data, reissue
):
    note(f"file: {data[:3000]!r}")
    text = decoded(data)
    if text is None:
        return  # the command and the page refuse it before the service (see below)
    with rolled_back():
        import_and_check(import_room, data, text, reissue)


def import_and_check(import_room, data: bytes, text: str, reissue: bool) -> None:
    from forum.services.participants import ImportRefused, participants_import

    before = world_snapshot()
    try:
        results = participants_import(
            room=import_room,
            actor=None,
            via="import_participants",
            text=text,
            reissue_links=reissue,
        )
    except ImportRefused as exc:
        event("refused")
        check_problems(exc.problems, data)
        assert world_snapshot() == before, "a refused import changed the database"
        return
    event(f"imported {len(results)}")
    check_storable(before)
    emails = {r.email.lower() for r in results}
    seated = set(Seat.objects.filter(room=import_room).values_list("user__email", flat=True))
    assert emails <= seated


@pytest.mark.django_db
@settings(FUZZ, max_examples=max(FUZZ.max_examples // 2, 1))
@given(data=csv_files(), reissue=st.booleans())
@example(data=LONG_EMAIL_CSV, reissue=False)
@example(data=NUL_CSV, reissue=False)
def test_the_import_command_imports_or_refuses_with_line_numbers_and_never_crashes(
    import_room, data, reissue, tmp_path_factory
):
    note(f"file: {data[:3000]!r}")
    folder = tmp_path_factory.mktemp("csv")
    path, out = folder / "people.csv", folder / "links.csv"
    path.write_bytes(data)
    with rolled_back():
        command_and_check(import_room, data, reissue, path, out)


def command_and_check(import_room, data: bytes, reissue: bool, path, out) -> None:
    from django.core.management import CommandError, call_command

    before = world_snapshot()
    args = ["import_participants", import_room.slug, str(path), "--out", str(out)]
    try:
        call_command(
            *args,
            *(["--reissue-links"] if reissue else []),
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    except CommandError as exc:
        message = str(exc)
        event("refused")
        assert world_snapshot() == before, "a refused import changed the database"
        if "nothing was imported; fix these rows" in message:
            # The command prints one problem per line, indented (str.splitlines would also
            # split at the separators a cell may hold).
            check_problems(message.split(":\n  ", 1)[1].split("\n  "), data)
        else:
            assert "not UTF-8" in message, message
        return
    event("imported")
    check_storable(before)
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows[0] == ["name", "email", "role", "join_url"]


@pytest.mark.django_db
@settings(FUZZ, max_examples=max(FUZZ.max_examples // 2, 1))
@given(
    data=csv_files(),
    reissue=st.booleans(),
    name=st.sampled_from(["people.csv", "people.txt", "", "x" * 300]),
)
@example(data=LONG_EMAIL_CSV, reissue=False, name="people.csv")
@example(data=NUL_CSV, reissue=False, name="people.csv")
def test_the_import_upload_imports_or_refuses_with_line_numbers_and_changes_nothing(
    world, import_room, data, reissue, name
):
    note(f"file: {data[:3000]!r}")
    with rolled_back():
        upload_and_check(world, import_room, data, reissue, name)


def upload_and_check(world: World, import_room, data: bytes, reissue: bool, name: str) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    before = world_snapshot()
    form = {
        "action": "import",
        "file": SimpleUploadedFile(name or "f", data, content_type="text/csv"),
    }
    if reissue:
        form["reissue_links"] = "on"
    response = world.staff.post(f"/secretariat/rooms/{import_room.slug}/", form)
    event(str(response.status_code))
    assert response.status_code in (200, 400), response.status_code
    if response.status_code == 400:
        check_refusal(response)
        assert response.context["problem"]["code"] == "import_refused"
        assert world_snapshot() == before, "a refused import changed the database"
        errors = response.context["import_form"].errors.get("file", [])
        if data and decoded(data) is not None and errors:
            check_problems(list(errors), data)
        return
    check_storable(before)
