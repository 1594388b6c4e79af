"""Property: no figure a participant can read is split by a sector the rule does not show.

Hypothesis builds round tables whose sectors seat a few delegates each, around k (sectors of
one and two included, empty ones too), with `sector` or `anonymous` attribution, and plays
random posts, raised hands, turns given and ended, consensus checks with random ballots, and
moderation (hide, restore, redact, approve, reject, a removed seat, pre-moderation)
on the real application, with the harness of tests/test_leak_property.py. Then it collects
what every delegate, the rapporteur and the observers can reach: every frame of their live
socket, of a `resume` and of a fresh `?after=0` socket (events, presence, acks), their room
page, `parity.json`, and all six exports of the adopted minutes.

The rule, worked out here from the scenario alone: a sector may be named only in a `sector`
room and only while at least k of its delegates hold seats; the pooled group (`~pooled`,
"Other participants") may appear only while it holds at least two seated delegates. So in
all of that material a sector that is not shown appears nowhere: not as a key, not as a
value (a running turn, a voting or blocking sector, an attribution), not by its name in a
label, a reason, a table or an export; and the pooled group appears nowhere while it would
be a single delegate. A removed seat changes the rule from then on: frames are held to the
rule at the start of the run (a sector only ever loses seats here, so what is hidden then
stays hidden; the pool may show if it held two delegates at any point), pages, `parity.json`
and the minutes (read at the end) to the rule at the end.

Controls: the chair's `parity.json` names every seated sector and counts exactly the
published interventions (hidden ones leave the figures), and a participant's names every
sector the rule shows, so the detector cannot pass by seeing nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from hypothesis import event, given, note, settings
from hypothesis import strategies as st

from forum.models import ConsensusCheck, FloorRequest, Intervention, RoomEvent, RoundTable
from tests.support.personas import client_for
from tests.support.scenarios import (
    PROPERTY,
    RUNS_THE_ROOM,
    STEPS,
    Person,
    Run,
    Scenario,
    adopt_minutes,
    build,
    export_formats_for,
    http_material,
    participants,
    pick,
    play,
)

pytestmark = pytest.mark.django_db(transaction=True)

POOLED = "~pooled"  # the product's key of the pooled group (moderation/disclosure.py)
POOLED_NAME = "Other participants"
# The default sectors, as a reader may meet them: slug and English name.
SECTORS = {
    "government": "Government",
    "intergovernmental": "Intergovernmental",
    "civil-society": "Civil society",
    "private-sector": "Private sector",
    "academia": "Academia",
}
SEATED = ("government", "civil-society", "academia")  # the sectors the scenarios seat
# Plain words that name no sector, so a sector's name can only come from the product.
WORDS = (
    "peace early warning women youth mediation border trade climate budget we should fund the data"
).split()

words = st.lists(st.sampled_from(WORDS), min_size=1, max_size=8)
post = st.tuples(st.just("post"), pick, words, st.none(), pick)
hand = st.tuples(
    st.just("hand"), pick, st.sampled_from(["statement", "statement", "point_of_order"])
)
vote = st.tuples(st.just("vote"), pick, st.sampled_from(["support", "live", "object"]))
action = st.one_of(
    post,
    post,
    post,
    hand,
    hand,
    vote,
    vote,
    vote,
    st.tuples(
        st.just("floor"),
        st.sampled_from(["next", "next", "next", "end", "give", "remove"]),
        pick,
        pick,
    ),
    st.tuples(st.just("check_open"), pick),
    st.tuples(st.just("check_close"), pick),
    st.tuples(
        st.just("moderate"),
        st.sampled_from(["hide", "restore", "redact", "approve", "reject"]),
        pick,
        pick,
    ),
    st.tuples(st.just("moderate"), st.just("hide"), pick, pick),
    st.tuples(st.just("seat"), st.just("remove"), pick, pick),
    st.tuples(st.just("room"), st.sampled_from(["premoderation", "no_premoderation"]), pick),
)


@st.composite
def scenarios(draw) -> Scenario:
    size = st.sampled_from([0, 1, 1, 1, 2, 2, 3, 3, 4])  # around k, single-delegate sectors often
    sizes = draw(st.tuples(*[size] * len(SEATED)).map(lambda s: s if sum(s) >= 2 else (2, *s[1:])))
    roles = (
        ["chair"]
        + ["moderator"] * draw(st.integers(0, 1))
        + ["rapporteur"] * draw(st.integers(0, 1))
    )
    roles += ["observer"]
    people = [Person(f"p{i}", f"Person {i}", f"p{i}@disclosure.example", None, None, role, True)
              for i, role in enumerate(roles)]  # fmt: skip
    for sector, size in zip(SEATED, sizes, strict=True):
        for _ in range(size):
            i = len(people)
            people.append(
                Person(
                    f"p{i}",
                    f"Person {i}",
                    f"p{i}@disclosure.example",
                    None,
                    sector,
                    "delegate",
                    True,
                )
            )
    return Scenario(
        rule=RoundTable.Rule.CHATHAM_HOUSE,
        attribution=draw(st.sampled_from(["sector", "anonymous"])),
        k=draw(st.integers(2, 3)),
        people=people,
        actions=draw(st.lists(action, min_size=8, max_size=24)),
    )


# --- the steps this property adds to the leak harness's -----------------------------------


@database_sync_to_async
def _waiting(room_id: int) -> list[str]:
    return list(
        FloorRequest.objects.filter(room_id=room_id, status=FloorRequest.Status.WAITING)
        .order_by("requested_at", "pk")
        .values_list("public_id", flat=True)
    )


@database_sync_to_async
def _open_checks(room_id: int) -> list[str]:
    return list(
        ConsensusCheck.objects.filter(room_id=room_id, status=ConsensusCheck.Status.OPEN)
        .order_by("opened_at", "pk")
        .values_list("public_id", flat=True)
    )


async def _hand(run: Run, ref: str, who: int, kind: str) -> None:
    if delegate := run.person(who, ("delegate",)):
        frame = {"type": "hand", "action": "raise", "kind": kind, "ref": ref}
        await run.ask(delegate, "hand", frame, ("done",), {"ref": ref})


async def _floor(run: Run, ref: str, action: str, which: int, who: int) -> None:
    actor = run.person(who, RUNS_THE_ROOM)
    if actor is None:
        return
    frame = {"type": "floor", "action": action, "ref": ref}
    if action in ("give", "remove"):
        waiting = await _waiting(run.built.room.pk)
        if not waiting:
            return
        frame.update(
            request=waiting[which % len(waiting)], reason="A reason given in neutral words"
        )
    await run.ask(actor, f"floor {action}", frame, ("done",), {"ref": ref})


async def _check_open(run: Run, ref: str, who: int) -> None:
    if actor := run.person(who, RUNS_THE_ROOM):
        frame = {
            "type": "check",
            "action": "open",
            "proposition": "We fund early warning.",
            "ref": ref,
        }
        await run.ask(actor, "check open", frame, ("done",), {"ref": ref})


async def _vote(run: Run, ref: str, who: int, option: str) -> None:
    delegate = run.person(who, ("delegate",))
    checks = await _open_checks(run.built.room.pk)
    if delegate is None or not checks:
        return
    frame = {"type": "vote", "check": checks[-1], "option": option, "ref": ref}
    await run.ask(delegate, "vote", frame, ("done",), {"ref": ref})


async def _check_close(run: Run, ref: str, who: int) -> None:
    actor = run.person(who, RUNS_THE_ROOM)
    checks = await _open_checks(run.built.room.pk)
    if actor is None or not checks:
        return
    frame = {"type": "check", "action": "close", "check": checks[0], "ref": ref}
    await run.ask(actor, "check close", frame, ("done",), {"ref": ref})


DISCLOSURE_STEPS = {
    **STEPS,
    "hand": _hand,
    "floor": _floor,
    "check_open": _check_open,
    "vote": _vote,
    "check_close": _check_close,
}


# --- the rule, from the scenario alone, and the detector --------------------------------------


def rule(scenario: Scenario, removed: set[str]) -> tuple[set[str], bool]:
    """(the sectors a participant may see named, whether the pooled group may show) when the
    seats of `removed` are gone."""
    seated = {slug: 0 for slug in SECTORS}
    for p in scenario.people:
        if p.role == "delegate" and p.key not in removed:
            seated[p.sector] += 1
    shown = (
        {slug for slug, n in seated.items() if n >= scenario.k}
        if scenario.attribution == "sector"
        else set()
    )
    pooled = [n for slug, n in seated.items() if slug not in shown and n]
    # The pool shows with two seated sectors at least (one would be named by elimination) and
    # k delegates (never fewer than two).
    return shown, len(pooled) >= 2 and sum(pooled) >= max(2, scenario.k)


def _json_strings(value, path: str = "") -> Iterator[tuple[str, str]]:
    """(where, text) for every key and string in a JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield path, key
            yield from _json_strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item, path)
    elif isinstance(value, str):
        yield path, value


def groups_of_one(where: str, value) -> list[str]:
    """Every consensus figure in a JSON value that is one voter's: a group (a sector or the
    pool) with `voters` 1 and its `distribution`, which would be that person's ballot."""
    found = []
    if isinstance(value, dict):
        if value.get("voters") == 1 and "distribution" in value:
            found.append(f"{where}: a group of one voter: {value}")
        for key, item in value.items():
            found += groups_of_one(f"{where}.{key}", item)
    elif isinstance(value, list):
        for item in value:
            found += groups_of_one(where, item)
    return found


def _mentions(text: str, slug: str) -> bool:
    """`text` names sector `slug`: its slug, or its name in any case ("from academia")."""
    lowered = text.lower()
    return slug in lowered or SECTORS[slug].lower() in lowered


def _around(text: str, needle: str) -> str:
    at = max(0, text.lower().find(needle.lower()))
    return repr(text[max(0, at - 80) : at + 80])


def split_by_hidden(
    where: str, texts: list[tuple[str, str]], shown: set[str], pool: bool
) -> list[str]:
    """What in `texts` names a sector outside `shown`, or the pooled group when it may not show."""
    found = []
    for path, text in texts:
        for slug in sorted(set(SECTORS) - shown):
            if _mentions(text, slug):
                name = slug if slug in text.lower() else SECTORS[slug]
                found.append(f"{where}{path}: names {slug} (not shown): {_around(text, name)}")
        for needle in (POOLED, POOLED_NAME):
            if not pool and needle in text:
                found.append(f"{where}{path}: a pooled group of one: {_around(text, needle)}")
    return found


SCRIPT_DATA = re.compile(r'<script[^>]*type="application/json"[^>]*>.*?</script>', re.S)
OPTION = re.compile(r"<option\b.*?</option>", re.S)


def page_text(html: str) -> str:
    """The room page without what is configuration rather than a figure: the dialogue's list
    of sector names for the script, the script's words, and the recommendation audiences of
    the rapporteur's form ("The private sector", "Civil society organizations")."""
    return OPTION.sub("", SCRIPT_DATA.sub("", html))


def frame_texts(text: str) -> list[tuple[str, str]]:
    frame = json.loads(text)
    if frame.get("type") == "welcome":
        frame.pop("you", None)  # the reader's own seat: their own sector, not a figure
    return list(_json_strings(frame))


def parity_json(user, slug: str) -> dict:
    return client_for(user, slug).get(f"/rooms/{slug}/parity.json").json()


def removals(run: Run) -> list[str]:
    """The people whose seats were removed, in the order of the log."""
    by_handle = {handle: key for key, handle in run.built.handles.items()}
    handles = RoomEvent.objects.filter(room=run.built.room, kind="seat.removed").order_by("seq")
    return [by_handle[data["seat"]] for data in handles.values_list("moderators", flat=True)]


def leaks(run: Run, scenario: Scenario, key: str, formats: tuple[str, ...]) -> list[str]:
    order = removals(run)
    rules = [rule(scenario, set(order[:n])) for n in range(len(order) + 1)]
    # Frames came at any point of the run: a sector hidden at its start stays hidden (sectors
    # only lose seats here), and the pool may show while it held two delegates at some point.
    start, any_pool = rules[0][0], any(pool for _, pool in rules)
    end, end_pool = rules[-1]
    found = []
    for t in run.taps:
        if t.who == key:
            for text in t.texts:
                found += split_by_hidden(f"ws {t.label} ", frame_texts(text), start, any_pool)
                found += groups_of_one(f"ws {t.label}", json.loads(text))
    user = run.built.users[key]
    for where, material in http_material(user, run.built.room.slug, formats):
        head, _, body = material.partition("\n\n")  # status and headers, then the body
        if not head.startswith("200"):
            continue
        if where == "page":
            found += split_by_hidden(where, [("", page_text(body))], end, end_pool)
        elif where == "export json":
            found += split_by_hidden(where, list(_json_strings(json.loads(body))), end, end_pool)
            found += groups_of_one(where, json.loads(body))
        else:
            found += split_by_hidden(where, [("", material)], end, end_pool)
    if key not in run.removed:
        figures = parity_json(user, run.built.room.slug)
        found += split_by_hidden("parity.json", list(_json_strings(figures)), end, end_pool)
        listed = {s["slug"] for s in figures["sectors"]}
        assert listed == end | ({POOLED} if end_pool else set()), (listed, end, end_pool)
    return found


@database_sync_to_async
def _published_by_delegates(room_id: int) -> int:
    return Intervention.objects.filter(
        room_id=room_id, status=Intervention.Status.PUBLISHED, seat__role="delegate"
    ).count()


# About 1.5 s an example: 25 of them keep the suite's time in bounds; LEAK_PROPERTY_SHRINK=1
# shrinks a failure, as for the leak property.
@settings(PROPERTY, max_examples=25)
@given(scenario=scenarios())
def test_no_figure_a_participant_reads_is_split_by_a_sector_the_rule_does_not_show(scenario):
    built = build(scenario)
    note(f"room {built.room.slug}: {scenario.attribution}, k={scenario.k}")
    note("seated: " + ", ".join(f"{p.key} {p.sector}" for p in scenario.people if p.sector))
    run = async_to_sync(play)(scenario, built, DISCLOSURE_STEPS)
    start, start_pool = rule(scenario, set())
    event(
        f"{scenario.attribution}: {len(start)} sectors shown, pool "
        f"{'shown' if start_pool else 'hidden'}"
    )
    for outcome in run.outcomes:
        event(outcome)
    adopt_minutes(run)

    # The chair sees every seated sector, and the figures count what readers can read now.
    chair = next(p for p in scenario.people if p.role == "chair")
    full = parity_json(run.built.users[chair.key], built.room.slug)
    seated = {
        p.sector for p in scenario.people if p.role == "delegate" and p.key not in run.removed
    }
    assert seated <= {s["slug"] for s in full["sectors"]}
    counted = sum(f["interventions"] for f in full["room"]["sectors"].values())
    assert counted == async_to_sync(_published_by_delegates)(built.room.pk), (
        "hidden posts leave the figures"
    )

    seen: set = set()
    for p in participants(scenario.people):
        found = leaks(run, scenario, p.key, export_formats_for(run, p.key, seen))
        assert not found, f"{p.role} {p.key} ({p.sector}) received:\n" + "\n".join(found[:10])


def test_the_rule_pools_only_two_sectors_and_k_delegates():
    def scenario(k: int, attribution: str, **sizes: int) -> Scenario:
        people = [Person(f"p{i}", "P", "p@x", None, sector, "delegate", True)
                  for i, (sector, n) in enumerate(sizes.items()) for _ in range(n)]  # fmt: skip
        return Scenario(RoundTable.Rule.CHATHAM_HOUSE, attribution, k, people, [])

    # One pooled sector, whatever its size, would be named by elimination.
    assert rule(scenario(3, "sector", government=3, academia=2), set()) == ({"government"}, False)
    assert rule(scenario(3, "anonymous", academia=4), set()) == (set(), False)
    # Two pooled sectors: from k delegates between them.
    assert (
        rule(scenario(3, "sector", government=3, academia=1, **{"civil-society": 1}), set())[1]
        is False
    )
    assert (
        rule(scenario(3, "sector", government=3, academia=2, **{"civil-society": 1}), set())[1]
        is True
    )
    assert rule(scenario(2, "anonymous", academia=1, **{"civil-society": 1}), set()) == (
        set(),
        True,
    )
    assert groups_of_one(
        "x", {"sectors": {"~pooled": {"voters": 1, "distribution": {"object": 1}}}}
    )
    assert not groups_of_one(
        "x", {"sectors": {"~pooled": {"voters": 2, "distribution": {"object": 1}}}, "voters": 1}
    )


def test_the_detector_finds_a_hidden_sector_and_a_pool_of_one():
    shown = {"government"}
    assert split_by_hidden("x", [("", "A participant from academia said:")], shown, True)
    assert split_by_hidden("x", [(".sectors", "civil-society")], shown, True)
    assert split_by_hidden("x", [(".running.sector", POOLED)], shown, False)
    assert split_by_hidden("x", [("", "| Other participants | 2 |")], shown, False)
    assert not split_by_hidden(
        "x", [("", "A participant from government said:"), ("", POOLED)], shown, True
    )
    page = (
        '<script id="sector-names" type="application/json">{"academia": '
        '"Academia"}</script><option>Civil society organizations</option><p>Hi</p>'
    )
    assert page_text(page) == "<p>Hi</p>"
    welcome = json.dumps({"type": "welcome", "you": {"sector": "academia"}, "room": "x"})
    assert not split_by_hidden("ws", frame_texts(welcome), set(), False)
