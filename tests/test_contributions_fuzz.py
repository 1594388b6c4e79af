"""Fuzzing the written contributions' forms: the secretariat's window and a delegate's
contribution. Generated POST data never gives a 500; a refusal is a 4xx that names its
problem (a documented code and a sentence) and changes nothing."""

from __future__ import annotations

import pytest
from django.test import Client
from hypothesis import example, given, note
from hypothesis import strategies as st

from tests.support.contributions import consent, first_item, open_window, secretariat
from tests.support.fuzz import FUZZ, check_refusal, rolled_back, world_snapshot
from tests.support.personas import build_cast, client_for

DATES = st.one_of(
    st.sampled_from(["", "soon", "2031-02-30T10:00", "9999-12-31T23:59:59-12:00", "0001-01-01"]),
    st.datetimes().map(lambda d: d.isoformat(timespec="minutes")),
    st.text(max_size=40),
)
TEXT = st.text(max_size=300)


@pytest.fixture
def room(db):
    cast = build_cast(status="scheduled")
    consent(cast, "cora")
    open_window(cast)
    staff = Client()
    staff.force_login(secretariat())
    # Signed in once, before any snapshot: a sign-in stamps the account's last login.
    cast.delegate = client_for(cast.cora)
    return cast, staff


def check(response, before) -> None:
    assert response.status_code < 500
    if 400 <= response.status_code < 500:
        check_refusal(response)
        assert world_snapshot() == before, "a refused form changed the database"


@pytest.mark.django_db
@FUZZ
@given(
    opens=DATES,
    closes=DATES,
    limit=st.one_of(st.sampled_from(["", "0", "1", "50001", "-3", "2.5"]), TEXT),
    which=st.sampled_from(["room", "item", "other"]),
    action=st.sampled_from(["set", "remove", "", "x"]),
)
@example(opens="", closes="9999-12-31T23:59:59-12:00", limit="", which="room", action="set")
def test_any_window_form_is_saved_or_refused_with_its_problem(
    room, opens, closes, limit, which, action
):
    cast, staff = room
    item = {"room": "", "item": first_item(cast), "other": "no-such-item"}[which]
    form = {"agenda_item": item, "opens_at": opens, "closes_at": closes, "word_limit": limit}
    note(repr({**form, "action": action}))
    with rolled_back():
        before = world_snapshot()
        response = staff.post(
            f"/secretariat/rooms/{cast.room.slug}/contributions/", {**form, "action": action}
        )
        check(response, before)


@pytest.mark.django_db
@FUZZ
@given(item=st.one_of(st.just("first"), TEXT), body=TEXT, summary=TEXT)
def test_any_contribution_form_is_taken_or_refused_with_its_problem(room, item, body, summary):
    cast, _staff = room
    item = first_item(cast) if item == "first" else item
    note(repr((item, body, summary)))
    with rolled_back():
        before = world_snapshot()
        response = cast.delegate.post(
            f"/rooms/{cast.room.slug}/contributions/",
            {"agenda_item": item, "body": body, "summary": summary},
        )
        check(response, before)
