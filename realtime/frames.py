"""Parsing and validating client frames. Nothing here touches state.

A refused frame raises FrameError with a stable code (docs/protocol.md); the consumer
turns it into an `error` frame and the socket stays open.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from moderation.sanitize import plain_input


class FrameError(Exception):
    def __init__(self, code: str, message: str, **extra: Any):
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = {k: v for k, v in extra.items() if v is not None}


@dataclass(frozen=True)
class ClientFrame:
    type: str
    fields: dict[str, Any]
    # The client's own spelling of its id: uuid.UUID() reads several (upper case, braces,
    # a URN), and the client matches the answer by the string it sent.
    client_id: str | None = None


def _uuid(value: Any) -> uuid.UUID:
    if not isinstance(value, str):
        raise ValueError
    return uuid.UUID(value)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError
    return plain_input(value)


def _short(limit: int):
    def parse(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError
        value = plain_input(value)
        if not value.strip() or len(value) > limit:
            raise ValueError
        return value

    return parse


def _one_of(*choices: str):
    def parse(value: Any) -> str:
        if value not in choices:
            raise ValueError
        return value

    return parse


def _language(value: Any) -> str:
    if value not in {code for code, _name in settings.INTERVENTION_LANGUAGES}:
        raise ValueError
    return value


def _list(value: Any) -> list:
    if not isinstance(value, list) or len(value) > 20:
        raise ValueError
    return value


def _dict(value: Any) -> dict:
    if not isinstance(value, dict) or len(value) > 20:
        raise ValueError
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError
    return value


def _seq(value: Any) -> int:
    # bool is an int in Python; `true` is not a sequence number.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError
    return value


_ID = (_short(64), True, gettext_noop("the opaque id of an intervention in this room"))
_SEAT = (_short(64), True, gettext_noop("the opaque handle of a seat in this room"))
_REASON = (_text, False, gettext_noop("a reason in words"))
_REF = (_short(64), False, gettext_noop("any string up to 64 characters, echoed in the answer"))
_NOT_A_PARTICIPANT = (
    _text,
    False,
    gettext_noop("why what the guard found is not a participant (audited)"),
)

# type -> {field: (parser, required, description)}
FRAME_FIELDS: dict[str, dict[str, tuple]] = {
    "post": {
        "client_id": (_uuid, True, gettext_noop("a UUID chosen by the client")),
        "body": (_text, True, gettext_noop("Markdown text")),
        "kind": (_text, False, gettext_noop("statement, question, reply or point_of_order")),
        "lang": (
            _language,
            False,
            gettext_noop("the language it is written in: en, es, fr, pt, ar, zh or ru"),
        ),
    },
    "consent": {"rule": (_text, True, gettext_noop("the room's rule, e.g. chatham-house"))},
    "resume": {
        "after": (_seq, True, gettext_noop("the last sequence number the client holds, 0 or more"))
    },
    "ping": {},
    "flag": {
        "id": _ID,
        "reason": (_text, True, gettext_noop("why the moderators should look at it")),
        "ref": _REF,
    },
    "moderate": {
        "action": (
            _one_of("approve", "reject", "hide", "restore", "redact"),
            True,
            gettext_noop("approve, reject, hide, restore or redact"),
        ),
        "id": _ID,
        "reason": _REASON,
        "body": (_text, False, gettext_noop("the redacted version, in Markdown")),
        "not_a_participant": _NOT_A_PARTICIPANT,
        "ref": _REF,
    },
    "seat": {
        "action": (
            _one_of("mute", "unmute", "remove", "reveal", "presence"),
            True,
            gettext_noop("mute, unmute, remove, reveal or presence"),
        ),
        "seat": _SEAT,
        "presence": (_one_of("in_room", "online"), False, gettext_noop("in_room or online")),
        "minutes": (_seq, False, gettext_noop("whole minutes, 1 to 1440")),
        "reason": _REASON,
        "ref": _REF,
    },
    "hand": {
        "action": (_one_of("raise", "lower"), True, gettext_noop("raise or lower")),
        "kind": (
            _one_of("statement", "reply", "point_of_order"),
            False,
            gettext_noop("statement, reply or point_of_order"),
        ),
        # The chair or a moderator raising a hand for a delegate in the meeting room.
        "seat": (
            _short(64),
            False,
            gettext_noop("the opaque handle of a delegate's seat in this room"),
        ),
        "ref": _REF,
    },
    "floor": {
        "action": (
            _one_of("next", "give", "move", "remove", "end", "mode", "spoke"),
            True,
            gettext_noop("next, give, move, remove, end, mode or spoke"),
        ),
        "seat": (
            _short(64),
            False,
            gettext_noop("the opaque handle of a delegate's seat in this room"),
        ),
        "note": (
            _text,
            False,
            gettext_noop("a short note of what was said, 1 to 1,000 characters"),
        ),
        "not_a_participant": _NOT_A_PARTICIPANT,
        "request": (_short(64), False, gettext_noop("the opaque id of a floor request")),
        "position": (_seq, False, gettext_noop("a 1-based position in the queue")),
        "reason": _REASON,
        "floor_mode": (_one_of("open", "queued"), False, gettext_noop("open or queued")),
        "turn_seconds": (_seq, False, gettext_noop("whole seconds, 30 to 3600")),
        "expected_speaker": (
            _text,
            False,
            gettext_noop('the request id of the speaker you saw, or "" for nobody'),
        ),
        "ref": _REF,
    },
    "check": {
        "action": (_one_of("open", "close"), True, gettext_noop("open or close")),
        "proposition": (_text, False, gettext_noop("the proposition, in words")),
        "options": (_list, False, gettext_noop('a list of {"key", "label"} objects')),
        "rule": (_dict, False, gettext_noop("the consensus rule, an object")),
        "check": (_short(64), False, gettext_noop("the opaque id of a consensus check")),
        "ref": _REF,
    },
    "vote": {
        "check": (_short(64), True, gettext_noop("the opaque id of a consensus check")),
        "option": (_short(40), True, gettext_noop("the key of one of the check's options")),
        "ref": _REF,
    },
    "recommendation": {
        "action": (_one_of("save", "delete"), True, gettext_noop("save or delete")),
        "id": (_short(64), False, gettext_noop("the opaque id of a recommendation")),
        "text": (_text, False, gettext_noop("the recommendation, in Markdown")),
        "audience": (_short(40), False, gettext_noop("rigos, csos, un, states or private-sector")),
        "agenda_item": (_short(64), False, gettext_noop("the opaque id of an agenda item")),
        "check": (_short(64), False, gettext_noop("the opaque id of a closed consensus check")),
        "not_a_participant": _NOT_A_PARTICIPANT,
        "ref": _REF,
    },
    "agenda": {
        "action": (
            _one_of("set", "add", "rename", "move"),
            True,
            gettext_noop("set, add, rename or move"),
        ),
        "item": (_short(64), False, gettext_noop("the opaque id of an agenda item")),
        "title": (_text, False, gettext_noop("the item's title, 1 to 300 characters")),
        "position": (_seq, False, gettext_noop("a 1-based position in the agenda")),
        "not_a_participant": _NOT_A_PARTICIPANT,
        "ref": _REF,
    },
    "room": {
        "action": (
            _one_of("premoderation", "slow_mode", "lock", "unlock", "close", "reopen"),
            True,
            gettext_noop("premoderation, slow_mode, lock, unlock, close or reopen"),
        ),
        "on": (_bool, False, gettext_noop("true or false (premoderation)")),
        "seconds": (_seq, False, gettext_noop("whole seconds, 0 (off) to 3600 (slow_mode)")),
        "ref": _REF,
    },
}


def parse_frame(text: str) -> ClientFrame:
    limit = settings.ROUNDTABLES["MAX_FRAME_BYTES"]
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise FrameError(
            "too_large",
            _("The frame is %(size)s bytes; the limit is %(limit)s.")
            % {"size": size, "limit": limit},
            field="frame",
            limit=limit,
        )
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError):
        # RecursionError: nested deeper than the parser goes; a bad frame, not a failure.
        raise FrameError("invalid_json", _("The frame is not valid JSON.")) from None
    if not isinstance(raw, dict):
        raise FrameError("invalid_frame", _("A frame must be a JSON object."))
    client_id = raw.get("client_id") if isinstance(raw.get("client_id"), str) else None
    ref = raw.get("ref") if isinstance(raw.get("ref"), str) and len(raw["ref"]) <= 64 else None
    frame_type = raw.get("type")
    if not isinstance(frame_type, str):
        raise FrameError(
            "invalid_frame",
            _('The frame has no "type".'),
            field="type",
            client_id=client_id,
            ref=ref,
        )
    spec = FRAME_FIELDS.get(frame_type)
    if spec is None:
        raise FrameError(
            "unknown_type",
            _("Unknown frame type %(type)s.") % {"type": repr(frame_type[:40])},
            client_id=client_id,
            ref=ref,
        )
    fields: dict[str, Any] = {}
    for name, (parser, required, description) in spec.items():
        if name not in raw:
            if required:
                raise FrameError(
                    "invalid_frame",
                    _('"%(name)s" is missing: %(description)s.')
                    % {"name": name, "description": _(description)},
                    field=name,
                    client_id=client_id,
                    ref=ref,
                )
            continue
        try:
            fields[name] = parser(raw[name])
        except ValueError:
            raise FrameError(
                "invalid_frame",
                _('"%(name)s" must be %(description)s.')
                % {"name": name, "description": _(description)},
                field=name,
                client_id=client_id,
                ref=ref,
            ) from None
    unknown = sorted(set(raw) - set(spec) - {"type"})
    if unknown:
        raise FrameError(
            "invalid_frame",
            _("Unexpected field %(name)s.") % {"name": repr(unknown[0][:40])},
            field=unknown[0][:40],
            client_id=client_id,
            ref=ref,
        )
    return ClientFrame(frame_type, fields, client_id)


def correlation(text: str) -> dict[str, str]:
    """The `client_id` and `ref` of a frame, for an answer that refuses it before it is
    parsed (the per-socket frame rate): empty when the frame is too large or does not parse
    as an object, and only string values as parse_frame would echo them."""
    if len(text.encode("utf-8", "surrogatepass")) > settings.ROUNDTABLES["MAX_FRAME_BYTES"]:
        return {}
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    if not isinstance(raw, dict):
        return {}
    echo = {}
    if isinstance(raw.get("client_id"), str):
        echo["client_id"] = raw["client_id"]
    if isinstance(raw.get("ref"), str) and len(raw["ref"]) <= 64:
        echo["ref"] = raw["ref"]
    return echo


def parse_after(query_string: bytes) -> int | None:
    """The `after` of `/ws/rooms/<slug>/?after=N`, or None when absent."""
    from urllib.parse import parse_qs

    try:
        values = parse_qs(query_string.decode("latin1"), strict_parsing=False).get("after")
    except ValueError:
        values = None
    if not values:
        return None
    value = values[-1]
    # ASCII digits only: str.isdigit() also takes "²" and "٣", which int() refuses or reads.
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise FrameError(
            "invalid_frame", _("?after= must be a sequence number (0 or more)."), field="after"
        )
    return int(value)
