"""Fuzzing the secretariat and room-page forms (the shared parts are in
tests/support/fuzz.py).

The properties: generated POST data never gives a 500; a refusal is a 4xx that names the
problem and changes nothing. The date and time fields get a property of their own, each
reached with the state in which its value is looked at.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import event, example, given, note
from hypothesis import strategies as st

from forum.models import Seat
from forum.secretariat.room_views import link_fingerprint
from tests.support.fuzz import (
    FRAME_CODES,
    FUZZ,
    SERVICE_CODES,
    World,
    check_refusal,
    rolled_back,
    strings,
    world_snapshot,
)
from tests.support.fuzz import world as world  # a fixture: pytest finds it by its name here


def test_the_documented_codes_were_read():
    assert {
        "invalid_json",
        "invalid_frame",
        "too_large",
        "internal_error",
        "rate_limited",
    } <= FRAME_CODES
    assert {"review_open", "review_closed", "invalid_body", "invalid_convener"} <= FRAME_CODES
    assert {"import_refused", "invalid_email", "sector_full"} <= SERVICE_CODES


NUMBERS_AS_TEXT = [
    "0",
    "-1",
    "1",
    "3",
    "10",
    "1000",
    "1001",
    "10000",
    "10001",
    "-0",
    "+5",
    " 7 ",
    "1e3",
    "1.5",
    "1,000",
    "0x10",
    "\u0663",
    "\uff15",
    "NaN",
    "inf",
    "9" * 30,
    "-" + "9" * 30,
    "",
    " ",
]
DATES_AS_TEXT = [
    "2026-01-01",
    "2026-02-30",
    "1999-12-31",
    "0001-01-01",
    "9999-12-31",
    "10000-01-01",
    "2026-1-1",
    "20260101",
    "2026-W01-1",
    "2026-001",
    "9999-12-31T23:59:59",
    "9999-12-31T23:59:59-12:00",
    "9999-12-31T23:59:59+14:00",
    "0001-01-01T00:00:00+14:00",
    "2999-06-01T12:00",
    "2999-06-01T12:00:00Z",
    "2999-06-01T25:00",
    "2999-06-01 12:00",
    "\u0662\u0660\u0662\u0666-01-01",
    "",
]
form_text = st.one_of(
    strings.filter(lambda s: len(s) < 70_000),
    st.sampled_from(NUMBERS_AS_TEXT),
    st.just(5_000).map(lambda n: "9" * n),
    st.sampled_from(DATES_AS_TEXT),
)
# What goes on the wire: text as its UTF-8 (a lone surrogate gives invalid UTF-8, as a
# broken client would send), or any bytes.
form_bytes = st.one_of(
    form_text.map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.binary(max_size=40),
    st.sampled_from(
        [b"\xed\xa0\x80", b"\xc0\xaf", b"\xff\xfe", b"\xef\xbb\xbf", b"%", b"&=&", b"\x00"]
    ),
)


def as_bytes(value) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")


@st.composite
def form_posts(draw, fields: dict) -> list[tuple[bytes, bytes]]:
    """(name, value) pairs: each field valid, fuzzed, left out or repeated; maybe an extra."""
    pairs = []
    for name, good in fields.items():
        choice = draw(st.sampled_from(["valid"] * 4 + ["fuzz", "fuzz", "omit", "twice"]))
        if choice == "omit":
            continue
        value = draw(good) if choice == "valid" else draw(form_bytes)
        pairs.append((as_bytes(name), as_bytes(value)))
        if choice == "twice":
            pairs.append((as_bytes(name), draw(form_bytes)))
    if draw(st.integers(0, 7)) == 0:
        pairs.append((draw(form_bytes), draw(form_bytes)))
    return pairs


def urlencoded(pairs: list[tuple[bytes, bytes]]) -> bytes:
    return "&".join(f"{quote_from_bytes(k)}={quote_from_bytes(v)}" for k, v in pairs).encode(
        "ascii"
    )


def world_ids(cast) -> dict:
    from forum.models import Committee, Dialogue, FollowUp, Sector, Submission

    room = cast.room
    seats = list(Seat.objects.filter(room=room).order_by("pk"))
    return {
        "seats": [s.public_id for s in seats],
        "links": [link_fingerprint(s) for s in seats],
        "dialogues": list(Dialogue.objects.values_list("slug", flat=True)),
        "committees": list(Committee.objects.values_list("public_id", flat=True)),
        "items": list(room.agenda_items.values_list("public_id", flat=True)),
        "recommendations": list(room.recommendations.values_list("public_id", flat=True)),
        "versions": [str(n) for n in room.minutes_versions.values_list("number", flat=True)],
        "hashes": list(room.minutes_versions.values_list("content_sha256", flat=True)),
        "submissions": list(Submission.objects.values_list("public_id", flat=True)),
        "follow_ups": list(FollowUp.objects.values_list("public_id", flat=True)),
        "sectors": list(Sector.objects.values_list("slug", flat=True)),
    }


def form_specs(ids: dict) -> list[tuple[str, str, dict]]:
    """(who posts, where, {field: strategy of valid values}) for every form of the forms' list."""

    def pick(name: str):
        # An index, not the id: the ids change between examples, the draws must not.
        return st.integers(0, 15).map(lambda i: ids[name][i % len(ids[name])] if ids[name] else "")

    one = st.sampled_from
    words = one(["Regional early warning", "RIGO–CSO dialogue", "Pacific data"])
    slugs = one(["new-dialogue", "new-room", "test-room", "test-dialogue", "a", "x" * 80])
    room = "/rooms/test-room/minutes/"
    secretariat_room = "/secretariat/rooms/test-room/"
    minutes = lambda action, **fields: {"action": st.just(action), **fields}  # noqa: E731
    specs = [
        (
            "staff",
            "/secretariat/",
            {"action": st.just("dialogue"), "slug": slugs, "title": words, "convener": words},
        ),
        (
            "staff",
            "/secretariat/",
            {
                "action": st.just("room"),
                "dialogue": pick("dialogues"),
                "slug": slugs,
                "title": words,
                "rule": one(["open", "chatham-house"]),
                "attribution": one(["", "named", "sector", "anonymous"]),
                "seats_per_sector": one(["0", "5", "10"]),
                "k": one(["1", "3"]),
                "status": one(["scheduled", "live"]),
                "language": one(["en", "fr", "es", "pt"]),
                "agenda": one(["", "One\nTwo", "\n\n"]),
            },
        ),
        ("staff", "/secretariat/", {"action": form_text}),
        ("staff", secretariat_room, {"action": one(["open", "close"])}),
        (
            "staff",
            secretariat_room,
            {
                "action": one(["issue", "resend", "revoke"]),
                "seat": pick("seats"),
                "link": pick("links"),
            },
        ),
        (
            "staff",
            secretariat_room,
            {
                "action": st.just("sector_seats"),
                **{f"seats-{s}": one(["", "0", "5", "7", "1000"]) for s in ids["sectors"]},
            },
        ),
        ("staff", secretariat_room, {"action": form_text}),
        (
            "staff",
            "/secretariat/committees/",
            {
                "name": words,
                "rigo": words,
                "working_languages": one(["en, fr", ""]),
                "address": words,
                "accepts": words,
                "webhook_url": one(
                    ["", "https://x.example.org/hook", "ftp://x", "javascript:alert(1)"]
                ),
                "webhook_secret": one(["", "s3cret"]),
                "clear_webhook_secret": one(["on", ""]),
            },
        ),
        (
            "staff",
            "/secretariat/committees/{committee}/",
            {
                "name": words,
                "rigo": words,
                "working_languages": one(["en, fr", ""]),
                "address": words,
                "accepts": words,
                "webhook_url": one(["", "https://x.example.org/hook"]),
                "webhook_secret": one(["", "s3cret"]),
                "clear_webhook_secret": one(["on", ""]),
            },
        ),
        (
            "staff",
            "/rooms/test-room/submissions/",
            {
                "action": st.just("create"),
                "committee": pick("committees"),
                "recommendations": pick("recommendations"),
                "letter": words,
            },
        ),
        (
            "staff",
            "/rooms/test-room/submissions/",
            {
                "action": st.just("advance"),
                "submission": pick("submissions"),
                "status": one(
                    [
                        "submitted",
                        "received",
                        "under_consideration",
                        "endorsed",
                        "noted",
                        "declined",
                        "draft",
                    ]
                ),
                "date": one(DATES_AS_TEXT),
                "note": words,
            },
        ),
        (
            "staff",
            "/rooms/test-room/submissions/",
            {
                "action": st.just("follow_up"),
                "follow_up": pick("follow_ups"),
                "note": words,
                "status": one(["open", "in_progress", "done", "mandate"]),
                "reference": words,
                "owner": words,
                "due_date": one(DATES_AS_TEXT),
                "update_date": one(DATES_AS_TEXT),
            },
        ),
        ("staff", "/rooms/test-room/submissions/", {"action": form_text}),
    ]
    for who in ("rita", "chloe", "cora", "oscar"):
        specs += [
            (
                who,
                room,
                minutes(
                    "save",
                    **{f"summary:{i}": words for i in ids["items"]},
                    **{f"rec:{r}": words for r in ids["recommendations"]},
                    **{
                        f"audience:{r}": one(["rigos", "un", "csos"])
                        for r in ids["recommendations"]
                    },
                    note=words,
                ),
            ),
            (who, room, minutes("review_open", version=pick("versions"), until=one(DATES_AS_TEXT))),
            (who, room, minutes("review_close", version=pick("versions"))),
            (who, room, minutes("request_adoption", version=pick("versions"))),
            (
                who,
                room,
                minutes("comment", version=pick("versions"), body=words, agenda_item=pick("items")),
            ),
            (who, room, minutes("adopt", version=pick("versions"), content_sha256=pick("hashes"))),
            (who, room, {"action": form_text}),
        ]
    return specs


def post_form(world: World, who: str, path: str, pairs) -> object:
    ids = world_ids(world.cast)
    path = path.format(committee=ids["committees"][0])
    return world.clients[who].post(
        path, data=urlencoded(pairs), content_type="application/x-www-form-urlencoded"
    )


@pytest.mark.django_db
@FUZZ
@given(data=st.data())
def test_any_form_post_is_done_or_refused_with_its_problem_and_nothing_changed(world, data):
    ids = world_ids(world.cast)
    specs = form_specs(ids)
    who, path, fields = specs[data.draw(st.integers(0, len(specs) - 1), label="form")]
    pairs = data.draw(form_posts(fields), label="fields")
    note(f"{who} POST {path} {urlencoded(pairs)[:3000]!r}")
    with rolled_back():
        post_and_check(world, who, path, pairs)


def post_and_check(world: World, who: str, path: str, pairs) -> None:
    before = world_snapshot()
    response = post_form(world, who, path, pairs)
    status = response.status_code
    event(f"{who} {path} {dict(pairs).get(b'action', b'?')[:20]!r}: {status}")
    assert status < 500
    if 400 <= status < 500:
        check_refusal(response)
        assert world_snapshot() == before, "a refused form changed the database"


offsets = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(
    lambda m: dt.timezone(dt.timedelta(minutes=m))
)
date_texts = st.one_of(
    st.sampled_from(DATES_AS_TEXT),
    st.dates().map(dt.date.isoformat),
    st.datetimes().map(dt.datetime.isoformat),
    st.datetimes(timezones=offsets).map(dt.datetime.isoformat),
    st.datetimes(timezones=offsets).map(lambda d: d.isoformat(sep=" ", timespec="minutes")),
    form_text,
)


@pytest.mark.django_db
@FUZZ
@given(field=st.sampled_from(["until", "date", "due_date", "update_date"]), value=date_texts)
@example(field="until", value="9999-12-31T23:59:59-12:00")  # a 500: OverflowError on saving
def test_any_date_or_time_in_a_form_is_taken_or_refused(world, field, value):
    """The date fields, each reached with the state that lets its value be looked at:
    the review's end (version 2 out of review), a status step's date (a submitted
    submission whose last step is old), a follow-up's due and update dates."""
    from forum.models import FollowUp, Submission, SubmissionStep
    from forum.services.minutes import minutes_review_close

    note(f"{field}={value!r}")
    with rolled_back():
        if field == "until":
            minutes_review_close(actor_seat_id=world.cast.rita.pk, version=2)
            who, path, form = (
                "rita",
                "/rooms/test-room/minutes/",
                {"action": "review_open", "version": "2"},
            )
        elif field == "date":
            submission = Submission.objects.get()
            Submission.objects.filter(pk=submission.pk).update(status="submitted")
            SubmissionStep.objects.filter(submission=submission).update(date=dt.date(2000, 1, 1))
            who, path = "staff", "/rooms/test-room/submissions/"
            form = {"action": "advance", "submission": submission.public_id, "status": "received"}
        else:
            who, path = "staff", "/rooms/test-room/submissions/"
            form = {
                "action": "follow_up",
                "follow_up": FollowUp.objects.first().public_id,
                "note": "Tabled.",
            }
        pairs = [(as_bytes(k), as_bytes(v)) for k, v in {**form, field: value}.items()]
        post_and_check(world, who, path, pairs)
