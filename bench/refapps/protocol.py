"""The slice of the product's websocket protocol the load client needs (docs/protocol.md):
`welcome` on connect, `ack` with the seq of a `post`, and `event` frames shaped and encoded
as realtime/log.py encodes them, with a payload of the product's size and fields.

Also what both reference apps share: the product's GC setting (forum/asgi.py), so that the
comparison is between fan-out designs, not garbage-collector settings; and an HTTP answer
for the benchmark's `GET /healthz`.
"""

from __future__ import annotations

import gc
import html
import json
import os
import uuid
from datetime import UTC, datetime

ROOM = "bench-reference"


def apply_product_gc_setting() -> None:
    gc.set_threshold(int(os.environ.get("GC_THRESHOLD0", "100000")), 10, 10)
    gc.freeze()


def encode(frame: dict) -> str:
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


def welcome(last_seq: int) -> dict:
    return {
        "type": "welcome",
        "room": ROOM,
        "last_seq": last_seq,
        "you": {
            "role": "delegate",
            "attribution": "Bench Delegate (Bench organization)",
            "sector": "government",
            "rule": "open",
            "consented": True,
        },
    }


def parse_post(text: str | None) -> tuple[str, str] | None:
    """(client_id, body) of a `post` frame, or None for anything else."""
    try:
        frame = json.loads(text or "")
        if frame.get("type") == "post":
            return str(frame["client_id"]), str(frame["body"])
    except (ValueError, KeyError, AttributeError):
        pass
    return None


def ack(client_id: str, seq: int) -> dict:
    return {"type": "ack", "client_id": client_id, "seq": seq}


def error(message: str) -> dict:
    return {"type": "error", "code": "invalid_frame", "message": message}


def posted_data(body: str) -> dict:
    """An `intervention.posted` payload like the product's in an open (named) room."""
    return {
        "id": uuid.uuid4().hex[:12],
        "kind": "statement",
        "attribution": {
            "label": "Bench Delegate (Bench organization)",
            "sector": "government",
            "kind": "named",
        },
        "body_html": f"<p>{html.escape(body, quote=False)}</p>",
        "agenda_item": "general00000",
        "created_at": datetime.now(UTC).isoformat(),
        "redaction": None,
    }


def event(seq: int, data: dict) -> dict:
    return {"type": "event", "seq": seq, "kind": "intervention.posted", "data": data}


async def http_app(scope, receive, send) -> None:
    """200 for any request: the benchmark only asks `GET /healthz` before it starts."""
    if scope["type"] != "http":
        return
    body = b'{"status":"ok"}'
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
