"""Written contributions for tests: real PDF and DOCX files, a window, a published one."""

from __future__ import annotations

import datetime as dt
import io

from django.utils import timezone

from forum.models import User
from forum.services.contribution_windows import contribution_window_set
from forum.services.contributions import contribution_publish, contribution_submit
from forum.services.seats import seat_consent

PAPER = (
    "Early warning works when **district councils** receive alerts within the hour.\n\n"
    "We propose a shared alert network, funded jointly, reviewed every year."
)
SUMMARY = "A shared alert network for district councils."


def secretariat() -> User:
    user, _ = User.objects.get_or_create(
        username="sam-contributions", defaults={"is_staff": True, "email": "sam@example.org"}
    )
    return user


def open_window(cast, *, days: int = 7, word_limit: int | None = None, item: str | None = None):
    return contribution_window_set(
        room=cast.room,
        actor=secretariat(),
        agenda_item=item,
        closes_at=timezone.now() + dt.timedelta(days=days),
        word_limit=word_limit,
    )


def first_item(cast) -> str:
    return cast.room.agenda_items.order_by("position").first().public_id


def pdf_bytes(pages: list[str], author: str = "") -> bytes:
    """A real PDF (typst, the pages given as data), one page per string."""
    import json

    import typst

    source = (
        b"#let data = json(bytes(sys.inputs.data))\n"
        b"#set document(author: data.author)\n"
        b"#for (i, text) in data.pages.enumerate() { if i > 0 { pagebreak() }; text }\n"
    )
    data = json.dumps({"pages": pages, "author": author})
    return typst.compile(source, format="pdf", sys_inputs={"data": data})


def docx_bytes(paragraphs: list[str], author: str = "Secretariat template") -> bytes:
    """A real DOCX (python-docx)."""
    import docx

    document = docx.Document()
    document.core_properties.author = author
    document.core_properties.last_modified_by = ""
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def consent(cast, *personas: str) -> None:
    for persona in personas:
        seat_consent(seat_id=cast.seats[persona].pk, rule=cast.room.rule)


def published_contribution(cast, persona: str = "cora", **kwargs):
    """A contribution sent by `persona` and published by the moderator."""
    consent(cast, persona)
    sent = contribution_submit(
        seat_id=cast.seats[persona].pk,
        agenda_item=kwargs.pop("item", None) or first_item(cast),
        body=kwargs.pop("body", PAPER),
        summary=kwargs.pop("summary", SUMMARY),
        **kwargs,
    )
    return contribution_publish(actor_seat_id=cast.mona.pk, contribution_id=sent.public_id)
