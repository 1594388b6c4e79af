"""The shared parts of the fuzz tests: hypothesis-generated input against
the room websocket (test_fuzz_frames), the secretariat and room-page forms (test_fuzz_forms)
and the CSV participant import (test_fuzz_csv).

Here: the error codes docs/protocol.md documents, the settings every property runs with, the
values the fuzzers draw from, and what the form and import properties both need (an example
rolled back, every row of the product's tables, the `world` fixture, the check of a refusal).

FUZZ_EXAMPLES sets the examples per property (200 by default, about a minute for the three
modules). The inputs the fuzzers found failing are kept as fixed examples: tests of their own
at the end of test_fuzz_frames, `@example`s on the form and import properties.
"""

from __future__ import annotations

import json
import math
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from forum.models import User

DOCS = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"

# FUZZ_EXAMPLES=1000 for a longer hunt (about four minutes).
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
    print_blob=True,
)


def documented_codes() -> tuple[set[str], set[str]]:
    """(the codes of the error table, the codes the commands and services return), from
    docs/protocol.md: the frames and pages may only ever carry these."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("### Error codes", 1)[1].split("\n## ", 1)[0]
    table, _, services = section.partition("Codes returned by management commands and services")
    frame_codes = set()
    for line in table.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            frame_codes.update(re.findall(r"`([a-z_]+)`", first_cell))
    return frame_codes, set(re.findall(r"`([a-z_]+)`", services))


FRAME_CODES, SERVICE_CODES = documented_codes()
ALL_CODES = FRAME_CODES | SERVICE_CODES


# --- values --------------------------------------------------------------------------------

NASTY = [
    "\x00",
    "\ud800",
    "\udfff",
    "\ud83d",
    "\u202e",
    "\u200f",
    "\u202d",
    "\u0301",
    "\u0336",
    "\ufeff",
    "\U0001f600",
    "\U0001f1fa\U0001f1f3",
    "\u2028",
    "\u2029",
    "\r",
    "\n",
    "\r\n",
    "\t",
    "\x7f",
    "\x1b",
    "\ufffe",
    "\uffff",
    "\U0010ffff",
    "\u00e9",
    "e\u0301",
    "\u0000\u0000",
    "'",
    '"',
    "\\",
    "<script>",
    "%s",
    "{0}",
]
# (character, count): built on drawing, so that hypothesis's reprs stay small.
LONG = [
    ("x", 64),
    ("x", 65),
    ("x", 200),
    ("x", 201),
    ("x", 1_000),
    ("x", 4_001),
    ("x", 10_000),
    ("x", 10_001),
    ("\U0001f600", 2_600),
    ("\u00e9", 33_000),
    ("x", 66_000),
    ("\u202e", 5_000),
    ("\x00", 20_000),
]
long_strings = st.sampled_from(LONG).map(lambda pair: pair[0] * pair[1])
INTEGERS = [
    0,
    1,
    -1,
    5,
    29,
    30,
    1_440,
    1_441,
    3_600,
    3_601,
    2**31 - 1,
    2**31,
    2**53 + 1,
    2**63 - 1,
    2**63,
    -(2**63),
    -(2**63) - 1,
    2**64,
    -(2**64),
    10**100,
]
FLOATS = [1e308, -1e308, -0.0, 0.0, 5e-324, math.nan, math.inf, -math.inf, 1.5, 1.0, 2.0**64, 1e-7]


class Deep:
    """A placeholder for `depth` nested lists (or objects), spliced in after encoding: the
    test's own json.dumps would hit the recursion limit first."""

    def __init__(self, depth: int, kind: str):
        self.depth, self.kind = depth, kind

    def text(self) -> str:
        if self.kind == "list":
            return "[" * self.depth + "]" * self.depth
        return '{"a":' * self.depth + "1" + "}" * self.depth

    def __repr__(self) -> str:
        return f"Deep({self.depth}, {self.kind!r})"


strings = st.one_of(
    st.text(max_size=30),
    st.lists(st.sampled_from(NASTY) | st.text(max_size=3), max_size=8).map("".join),
    long_strings,
    st.sampled_from(
        ["", " ", "chatham-house", "open", "statement", "point_of_order", "rigos", "support"]
    ),
    st.uuids().map(str),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(INTEGERS),
    st.integers(),
    st.sampled_from(FLOATS),
    st.floats(allow_nan=True, allow_infinity=True),
    strings,
)
deep = st.builds(
    Deep,
    st.sampled_from([2, 50, 200, 900, 1_000, 5_000, 20_000]),
    st.sampled_from(["list", "dict"]),
)
values = st.one_of(
    st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(strings, inner, max_size=4),
        max_leaves=8,
    ),
    deep,
)


def encode(value, ensure_ascii: bool) -> str:
    """JSON text for `value`, Deep placeholders spliced in. A lone surrogate reaches a real
    server only escaped (a text frame is UTF-8), so then the escaped form is used."""
    deeps: list[Deep] = []

    def default(obj):
        if isinstance(obj, Deep):
            deeps.append(obj)
            return f"@@deep{len(deeps) - 1}@@"
        raise TypeError(obj)

    text = json.dumps(value, ensure_ascii=ensure_ascii, default=default)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        deeps.clear()
        text = json.dumps(value, ensure_ascii=True, default=default)
    for i, d in enumerate(deeps):
        text = text.replace(f'"@@deep{i}@@"', d.text(), 1)
    return text


def strict_json(text: str) -> dict:
    """Parse a frame the server sent as a browser would: UTF-8 on the wire, no NaN/Infinity."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise AssertionError(
            f"the server sent a frame that is not UTF-8 (a lone surrogate): {text[:300]!r}"
        ) from exc

    def refuse(constant):
        raise AssertionError(f"the server sent {constant}, which is not JSON: {text[:300]!r}")

    frame = json.loads(text, parse_constant=refuse)
    assert isinstance(frame, dict) and isinstance(frame.get("type"), str), text[:300]
    return frame


# --- the database, for the forms and the import --------------------------------------------


@contextmanager
def rolled_back():
    """Each example starts from the fixture's state, so that a failure shrinks to the input
    that causes it rather than to whatever an earlier example left behind."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def world_snapshot() -> dict:
    """Every row of the product's own tables (forum, moderation): a refused form changes none."""
    out = {}
    for label in ("forum", "moderation"):
        for model in django_apps.get_app_config(label).get_models():
            out[model._meta.label] = list(model.objects.order_by("pk").values())
    return out


@dataclass(repr=False)
class World:
    cast: object
    staff: Client
    clients: dict

    def __repr__(self) -> str:  # hypothesis prints it with every failing example
        return f"World({self.cast.room.slug})"


@pytest.fixture
def world(cast) -> World:
    """A round table after a session: adopted minutes, a second version under review, a
    committee and a draft submission with its follow-up; the people who post forms."""
    from forum.models import Committee
    from forum.services.minutes import minutes_adopt, minutes_review_open, minutes_save
    from forum.services.submissions import submission_create
    from tests.support.minutes import run_session

    sam = User.objects.create_user(
        username="sam", email="sam@example.org", password="x", is_staff=True
    )
    run_session(cast)
    item = cast.room.agenda_items.get().public_id
    minutes_save(
        actor_seat_id=cast.rita.pk, summaries={item: "The round table agreed on monthly data."}
    )
    minutes_adopt(actor_seat_id=cast.chloe.pk, version=1)
    minutes_save(
        actor_seat_id=cast.rita.pk, summaries={item: "The round table agreed on monthly open data."}
    )
    minutes_review_open(actor_seat_id=cast.rita.pk, version=2)
    committee = Committee(
        name="Forum Regional Security Committee",
        rigo="Pacific Islands Forum",
        webhook_url="https://frsc.example.org/hook",
        webhook_secret="s3cret",
    )
    committee.full_clean()
    committee.save()
    submission_create(
        user=sam,
        room_slug=cast.room.slug,
        committee_id=committee.public_id,
        recommendation_ids=list(cast.room.recommendations.values_list("public_id", flat=True)),
    )
    from tests.support.personas import sign_in

    clients = {"staff": Client()}
    clients["staff"].force_login(sam)
    for who in ("chloe", "rita", "cora", "oscar"):
        clients[who] = sign_in(Client(), cast.seats[who])
    return World(cast, clients["staff"], clients)


def check_refusal(response) -> None:
    """A refusal names its problem: a documented code and a sentence, on the page."""
    context = response.context
    assert context is not None, (
        f"a {response.status_code} without a page: {response.content[:300]!r}"
    )
    problem = context.get("problem") or {
        "code": context.get("code"),
        "message": context.get("message"),
    }
    assert problem.get("code") in ALL_CODES, f"refused without a documented code: {problem}"
    assert problem.get("message"), f"refused without a sentence: {problem}"
