"""Random round tables played through every path (for the property tests): who sits where,
what they do, and every material a reader can get."""

from __future__ import annotations

import asyncio
import json
import os
import unicodedata
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from channels.db import database_sync_to_async
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from forum.models import Intervention, RoundTable, Seat, Sector
from forum.services.minutes import minutes_adopt, minutes_save
from forum.services.rooms import dialogue_get_or_create, room_create
from forum.services.seats import (
    organization_get_or_create,
    seat_issue_token,
    seat_upsert,
    user_upsert,
)
from realtime.hub import hubs
from tests.support.personas import client_for
from tests.support.sockets import open_socket

# An example takes about half a second: shrinking a failure can take minutes, so it is
# opt-in (LEAK_PROPERTY_SHRINK=1); the unshrunk example is printed with its people either way.
SHRINK = os.environ.get("LEAK_PROPERTY_SHRINK") == "1"


PROPERTY = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    phases=[phase for phase in Phase if SHRINK or phase is not Phase.shrink],
)


# Every minutes format (docs/protocol.md): the test adopts the minutes before collecting, so
# participants receive each of them; pdf and docx are read as text by
# `_export_text`.
EXPORT_FORMATS = ("md", "html", "json", "akn.xml", "pdf", "docx")


WAIT = 10.0  # seconds: generous, only ever waited for a frame that must come


WITHHELD = "(name withheld by the moderator)"


def nfkc_fold(s: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", s).casefold())


def strip_accents(s: str) -> str:
    decomposed = unicodedata.normalize("NFKD", s)
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", kept)


SECTORS = ("government", "civil-society", "academia")


pick = st.integers(0, 10_000)  # an index into whatever exists when the action runs


@dataclass
class Person:
    key: str
    name: str
    email: str
    org: str | None
    sector: str | None
    role: str
    consents_at_once: bool


@dataclass
class Scenario:
    rule: str
    attribution: str
    k: int
    people: list[Person]
    actions: list[tuple]


def org_sector(name: str) -> str:
    # A function of the name: an organization seen in an earlier example keeps its sector.
    return SECTORS[zlib.crc32(nfkc_fold(name).encode()) % len(SECTORS)]


def disguise(value: str, kind: str, how: int) -> str:
    """`value` as a delegate might type it: another case, no accents, other spacing."""
    if kind == "email":
        local, _, domain = value.rpartition("@")
        options = [value, value.upper(), f"<{value}>", f"{local} at {domain.replace('.', ' dot ')}",
                   f"{local} [at] {domain}"]  # fmt: skip
    else:
        options = [value, value.upper(), value.lower(), strip_accents(value),
                   value.replace(" ", "  "), value.replace(" ", "\n"), value.replace(" ", "\u00a0"),
                   f"**{value}**", value.replace(" ", "")]  # fmt: skip
    return options[how % len(options)]


@dataclass
class Built:
    room: RoundTable
    people: dict[str, Person]
    users: dict[str, object]
    handles: dict[str, str]  # person key -> the seat's opaque public_id
    tokens: list[str]
    ids: set[str]  # users', seats' and organizations' primary keys, as strings


def build(scenario: Scenario) -> Built:
    dialogue = dialogue_get_or_create(slug="leak-property", title="Leak property dialogue")
    room = room_create(
        dialogue=dialogue,
        slug=f"leak-{uuid.uuid4().hex[:12]}",
        title="Leak property round table",
        rule=scenario.rule,
        attribution=scenario.attribution,
        k=scenario.k,
        seats_per_sector=10,
    )
    sectors = {s.slug: s for s in Sector.objects.all()}
    built = Built(room, {p.key: p for p in scenario.people}, {}, {}, [], set())
    for p in scenario.people:
        user = user_upsert(email=p.email, name=p.name)
        org = None
        if p.org:
            org = organization_get_or_create(name=p.org, sector=sectors[org_sector(p.org)])
        seat, _ = seat_upsert(
            room=room,
            user=user,
            role=p.role,
            sector=sectors[p.sector] if p.sector else None,
            organization=org,
        )
        built.tokens.append(seat_issue_token(seat=seat))
        built.users[p.key] = user
        built.handles[p.key] = seat.public_id
        built.ids |= {str(user.pk), str(seat.pk)} | ({str(org.pk)} if org else set())
    return built


class Tap:
    """A socket on the real application that keeps every frame it receives, as sent."""

    def __init__(self, who: str, label: str, comm):
        self.who, self.label, self.comm = who, label, comm
        self.texts: list[str] = []
        self.closed = False
        self.seq = 0  # the highest seq received

    async def next(self, timeout: float, what: str = "a frame") -> dict | None:
        try:
            message = await self.comm.receive_output(timeout)
        except TimeoutError:
            raise AssertionError(
                f"{self.who} ({self.label}) got no {what}; last frames: {self.texts[-3:]}"
            ) from None
        if message["type"] == "websocket.close":
            self.closed = True
            return None
        self.texts.append(message["text"])
        frame = json.loads(message["text"])
        if frame["type"] == "event":
            self.seq = max(self.seq, frame["seq"])
        return frame

    async def until(self, match, what: str) -> dict | None:
        """Read (and keep) frames until one matches; None if the server closed the socket."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while not self.closed:
            frame = await self.next(max(0.01, deadline - loop.time()), what)
            if frame is not None and match(frame):
                return frame
        return None

    async def catch_up(self, seq: int, what: str) -> None:
        """Read until this socket has had every event up to `seq`."""
        if self.seq < seq:
            assert await self.until(lambda f: self.seq >= seq, what) is not None, f"{what}: closed"

    async def send(self, frame: dict | str) -> None:
        await self.comm.send_to(text_data=frame if isinstance(frame, str) else json.dumps(frame))

    async def ask(self, frame: dict | str, answers: tuple[str, ...], corr: dict) -> dict | None:
        """Send `frame`, return the answer of one of `answers` types (or an error) carrying
        the correlation fields `corr`."""
        await self.send(frame)

        def match(f: dict) -> bool:
            return f["type"] in (*answers, "error") and all(f.get(k) == v for k, v in corr.items())

        return await self.until(match, str(frame)[:80])

    def drain(self) -> None:
        """Keep whatever has already arrived, without waiting (a timeout would cancel the app)."""
        while not self.closed and not self.comm.output_queue.empty():
            message = self.comm.output_queue.get_nowait()
            if message["type"] == "websocket.close":
                self.closed = True
            else:
                self.texts.append(message["text"])

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                await self.comm.disconnect()
            except (Exception, asyncio.CancelledError):  # noqa: BLE001 - already gone
                pass


async def tap(who: str, label: str, user, slug: str, after: int | None = None) -> Tap:
    sock, connected, _ = await open_socket(user, slug, after=after)
    assert connected
    t = Tap(who, label, sock.comm)
    welcome = await t.until(lambda f: f["type"] in ("welcome", "error"), "welcome")
    assert welcome is not None and (welcome["type"] == "welcome" or t.label == "replay"), welcome
    return t


@dataclass
class Posted:
    id: str
    author: str
    named: bool  # it names a seat holder
    clean: str  # the text with the mention taken out: what the moderator's edit publishes


@dataclass
class Run:
    built: Built
    people: list[Person]
    live: dict[str, Tap] = field(default_factory=dict)  # person key -> their first socket
    taps: list[Tap] = field(default_factory=list)  # every socket opened
    posted: list[Posted] = field(default_factory=list)
    removed: set[str] = field(default_factory=set)
    revealed: list[tuple[str, dict]] = field(default_factory=list)
    unheld: list[str] = field(default_factory=list)  # texts naming someone that were published
    outcomes: set[str] = field(default_factory=set)  # for --hypothesis-show-statistics
    last_seq: int = 0

    def person(self, i: int, roles: tuple[str, ...] = ()) -> Person | None:
        """The i-th person (of `roles`, if any has one), or None once their seat is removed."""
        chosen = [p for p in self.people if p.role in roles] or self.people
        p = chosen[i % len(chosen)]
        return None if p.key in self.removed else p

    async def ask(self, who: Person, label: str, frame, answers=(), corr=None) -> dict | None:
        answer = await self.live[who.key].ask(frame, answers, corr or {})
        if answer is None:
            self.outcomes.add(f"{label}: socket closed")
        else:
            detail = answer.get("code") or ("held" if answer.get("held") else "")
            self.outcomes.add(f"{label}: {answer['type']} {detail}".rstrip())
        return answer

    def mention(self, author: Person, m: tuple, tokens: list[str], at: int) -> tuple[str, str]:
        """`tokens` with another seat holder's name, e-mail or organization put in at `at`, in
        disguise; and the same text with the moderator's placeholder instead."""
        others = [p for p in self.people if p.key != author.key]
        target = others[m[0] % len(others)]
        what = m[1] if (m[1] != "org" or target.org) else "name"
        value = {"name": target.name, "email": target.email, "org": target.org}[what]
        shown = disguise(value, "email" if what == "email" else "name", m[2])
        at %= len(tokens) + 1
        return (
            " ".join([*tokens[:at], shown, *tokens[at:]]),
            " ".join([*tokens[:at], WITHHELD, *tokens[at:]]),
        )


_lookup = database_sync_to_async(
    lambda room_id, user, client_id: (
        Intervention.objects.filter(room_id=room_id, seat__user=user, client_id=client_id)
        .values_list("public_id", flat=True)
        .first()
    )
)


_statuses = database_sync_to_async(
    lambda room_id: dict(
        Intervention.objects.filter(room_id=room_id).values_list("public_id", "status")
    )
)


_last_seq = database_sync_to_async(
    lambda room_id: RoundTable.objects.filter(pk=room_id).values_list("last_seq", flat=True).get()
)


REASON = "A reason given in neutral words"


RUNS_THE_ROOM = ("chair", "moderator")


async def play(scenario: Scenario, built: Built, steps: dict | None = None) -> Run:
    """Play `scenario` on the real application; `steps` maps an action's name to the
    coroutine that plays it (this module's STEPS unless another property brings its own)."""
    steps = steps or STEPS
    run = Run(built, scenario.people)
    room = built.room
    try:
        for p in run.people:
            run.live[p.key] = await tap(p.key, "live", built.users[p.key], room.slug)
        run.taps += run.live.values()
        for p in run.people:
            # Observers accept the rule before their stream starts (their live socket, open
            # since before, then replays what it missed); a delegate may wait, or never.
            if p.consents_at_once or (p.role == "observer" and room.is_chatham_house):
                await run.ask(p, "consent", {"type": "consent", "rule": room.rule}, ("consented",))
        for n, act in enumerate(scenario.actions):
            await steps[act[0]](run, f"r{n}", *act[1:])
        await _collect_the_rest(run)
    finally:
        for t in run.taps:
            await t.close()
        await hubs.shutdown()
    return run


async def _post(run: Run, ref: str, who: int, tokens: list[str], m: tuple | None, at: int) -> None:
    if author := run.person(who):
        body, clean = run.mention(author, m, tokens, at) if m else (" ".join(tokens),) * 2
        await _post_body(run, author, m, body, clean)


async def _post_too_large(run: Run, ref: str, who: int, m: tuple) -> None:
    # Naming someone too: the refusal must not quote the body.
    if author := run.person(who):
        await _post_body(run, author, m, *run.mention(author, m, ["x" * 10_001], 0))


async def _post_body(run: Run, author: Person, m: tuple | None, body: str, clean: str) -> None:
    cid = str(uuid.uuid4())
    label = f"post{' too large' if len(body) > 10_000 else ''}{' naming someone' if m else ''}"
    frame = {"type": "post", "client_id": cid, "body": body}
    answer = await run.ask(author, label, frame, ("ack",), {"client_id": cid})
    assert answer is not None, f"no answer to a post by {author.role}"
    if answer["type"] == "ack":
        assert len(body) <= 10_000, answer
        room = run.built.room
        public_id = await _lookup(room.pk, run.built.users[author.key], cid)
        run.posted.append(Posted(public_id, author.key, bool(m), clean))
        if m and room.attribution != RoundTable.Attribution.NAMED and not answer.get("held"):
            run.unheld.append(body)


async def _consent(run: Run, ref: str, who: int) -> None:
    if person := run.person(who):
        frame = {"type": "consent", "rule": run.built.room.rule}
        await run.ask(person, "consent", frame, ("consented",))


async def _flag(run: Run, ref: str, who: int, which: int, m: tuple | None) -> None:
    person = run.person(who)
    if person is None or not run.posted:
        return
    target = run.posted[which % len(run.posted)]
    # A reason naming someone reaches the moderators only.
    reason = run.mention(person, m, ["please", "review"], 1)[0] if m else REASON
    frame = {"type": "flag", "id": target.id, "reason": reason, "ref": ref}
    await run.ask(person, "flag", frame, ("flagged",), {"ref": ref})


# Which interventions each moderation action applies to.
APPLIES_TO = {"approve": "held", "reject": "held", "hide": "published", "redact": "published",
              "restore": "hidden", "redact_edit": "held"}  # fmt: skip


async def _moderate(run: Run, ref: str, action: str, which: int, who: int) -> None:
    actor = run.person(who, RUNS_THE_ROOM)
    if actor is None or not run.posted:
        return
    # Mostly aim at an intervention the action applies to; else at any (and get a refusal).
    statuses = await _statuses(run.built.room.pk)
    fitting = [p for p in run.posted if statuses[p.id] == APPLIES_TO[action]] if which % 4 else []
    target = (fitting or run.posted)[which % len(fitting or run.posted)]
    if action == "approve" and target.named:
        # Approving publishes the text as written: a moderator's deliberate decision, outside
        # the property. The moderator edits the name out instead.
        action = "redact_edit"
    frame = {"type": "moderate", "action": action, "id": target.id, "ref": ref}
    if action in ("reject", "hide", "redact"):
        frame["reason"] = REASON
    if action == "redact_edit":
        frame.update(action="redact", reason=REASON, body=target.clean)
    await run.ask(actor, f"moderate {action}", frame, ("done",), {"ref": ref})


async def _seat(run: Run, ref: str, action: str, whom: int, who: int) -> None:
    actor = run.person(who, RUNS_THE_ROOM)
    if actor is None:
        return
    target = run.people[whom % len(run.people)]
    frame = {"type": "seat", "action": action, "seat": run.built.handles[target.key], "ref": ref}
    if action == "mute":
        frame["minutes"] = 1 + who % 10
    if action in ("reveal", "remove"):
        frame["reason"] = REASON
    answer = await run.ask(actor, f"seat {action}", frame, ("done", "revealed"), {"ref": ref})
    assert answer is not None, frame
    if answer["type"] == "revealed":
        run.revealed.append((target.key, answer["identity"]))
    if action == "remove" and answer["type"] == "done":
        run.removed.add(target.key)


ROOM_FRAMES = {
    "premoderation": {"action": "premoderation", "on": True},
    "no_premoderation": {"action": "premoderation", "on": False},
    "slow": {"action": "slow_mode", "seconds": 30},
    "no_slow": {"action": "slow_mode", "seconds": 0},
}


async def _room(run: Run, ref: str, name: str, who: int) -> None:
    if actor := run.person(who, RUNS_THE_ROOM):
        frame = {"type": "room", "ref": ref, **ROOM_FRAMES.get(name, {"action": name})}
        await run.ask(actor, f"room {name}", frame, ("done",), {"ref": ref})


async def _bad(run: Run, ref: str, name: str, who: int) -> None:
    """A frame that must be refused, with no identity in the refusal."""
    person = run.person(who)
    if person is None:
        return
    cid = str(uuid.uuid4())
    frame, corr = {
        "moderate_unknown": ({"type": "moderate", "action": "approve", "id": "no-such-id"}, True),
        "flag_unknown": ({"type": "flag", "id": "no-such-id", "reason": REASON}, True),
        "seat_unknown": ({"type": "seat", "action": "reveal", "seat": "x", "reason": REASON}, True),
        "invalid_json": ("{not json", False),
        "unknown_type": ({"type": "dance"}, True),
        "empty_post": ({"type": "post", "client_id": cid, "body": "  "}, False),
        "bad_consent": ({"type": "consent", "rule": "no-such-rule"}, False),
    }[name]  # fmt: skip
    if corr:
        frame = {**frame, "ref": ref}
    corr = {"ref": ref} if corr else {"client_id": cid} if name == "empty_post" else {}
    answer = await run.ask(person, f"bad {name}", frame, (), corr)
    assert answer is not None and answer["type"] == "error", answer


STEPS = {
    "post": _post, "post_too_large": _post_too_large, "consent": _consent, "flag": _flag,
    "moderate": _moderate, "seat": _seat, "room": _room, "bad": _bad,
}  # fmt: skip


async def _collect_the_rest(run: Run) -> None:
    """Everything still on its way, the same log replayed by `resume` and by `?after=0`."""
    room = run.built.room
    run.last_seq = last = await _last_seq(room.pk)
    for t in run.live.values():
        if t.who in run.removed:
            await t.until(lambda f: False, "the close of a removed seat")
        else:
            await t.catch_up(last, "live events")
    for p in participants(run.people):
        t = run.live[p.key]
        if p.key not in run.removed:
            mark, t.seq = len(t.texts), 0
            await t.send({"type": "resume", "after": 0})
            await t.catch_up(last, "resumed events")
            seqs = {f["seq"] for f in map(json.loads, t.texts[mark:]) if f["type"] == "event"}
            assert seqs >= set(range(1, last + 1)), "resume replays the whole log"
        replay = await tap(p.key, "replay", run.built.users[p.key], room.slug, after=0)
        run.taps.append(replay)
        if p.key in run.removed:
            await replay.until(lambda f: False, "the close of a removed seat's new socket")
        else:
            await replay.catch_up(last, "replayed events")
    await asyncio.sleep(0.1)  # presence frames are debounced: let the last ones arrive
    for t in run.taps:
        t.drain()


def _export_text(fmt: str, content: bytes) -> str:
    """An export as text: the PDF through pypdf's extractor (its streams are compressed),
    the DOCX through python-docx (body, tables, footer, document properties: its raw XML
    is full of id attributes that mean nothing), text formats as they are."""
    import io

    if fmt == "pdf" and content[:5] == b"%PDF-":
        from pypdf import PdfReader

        return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    if fmt == "docx" and content[:2] == b"PK":
        from docx import Document

        document = Document(io.BytesIO(content))
        core = document.core_properties
        texts = [p.text for p in document.paragraphs]
        texts += [
            cell.text for table in document.tables for row in table.rows for cell in row.cells
        ]
        texts += [p.text for section in document.sections for p in section.footer.paragraphs]
        texts += [
            core.title or "",
            core.subject or "",
            core.author or "",
            core.keywords or "",
            core.comments or "",
            core.last_modified_by or "",
        ]
        return "\n".join(texts)
    return content.decode("utf-8", "replace")


def adopt_minutes(run: Run) -> None:
    """The chair saves and adopts the minutes, so every participant gets all six exports."""
    chair = next(p for p in run.built.people.values() if p.role == "chair")
    seat = Seat.objects.get(public_id=run.built.handles[chair.key])
    version = minutes_save(actor_seat_id=seat.pk, note="for the leak property")
    minutes_adopt(actor_seat_id=seat.pk, version=version.number)


def http_material(
    user, slug: str, formats: tuple[str, ...] = EXPORT_FORMATS
) -> Iterator[tuple[str, str]]:
    """The room page and the minutes exports, as this user gets them (headers included:
    an export's file name is something a participant receives too)."""
    client = client_for(user, slug)
    paths = [("page", "", f"/rooms/{slug}/")]
    paths += [(f"export {fmt}", fmt, f"/rooms/{slug}/minutes.{fmt}") for fmt in formats]
    for where, fmt, path in paths:
        response = client.get(path)
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        body = _export_text(fmt, response.content)
        yield where, f"{response.status_code}\n{headers}\n\n{body}"


def export_formats_for(run: Run, key: str, seen: set) -> tuple[str, ...]:
    """Adopted minutes are the same file for every seat holder who may read them: the first
    reader of an example gets all six formats checked, the others the text ones (the PDF and
    DOCX renderings cost the most and say what the Markdown says); a removed seat is always
    asked for all six (its refusals must be clean too)."""
    if key in run.removed:
        return EXPORT_FORMATS
    if "all" not in seen:
        seen.add("all")
        return EXPORT_FORMATS
    return ("md", "json")


def participants(people: list[Person]) -> list[Person]:
    return [p for p in people if p.role not in RUNS_THE_ROOM]
