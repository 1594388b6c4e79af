"""Typed text is stored without control characters (PostgreSQL refuses NUL) and with LF line
breaks, on every way in: the service, the websocket frame, the minutes form."""

from __future__ import annotations

import json
import uuid

import pytest

from forum.models import Intervention
from forum.services.interventions import intervention_post
from moderation.sanitize import plain_input
from realtime.frames import parse_frame
from tests.support.minutes import consent_all

pytestmark = pytest.mark.django_db


def test_control_characters_and_lone_surrogates_are_dropped():
    assert plain_input("a\x00b\x07c\r\nd\re\tf\ud800g\x7f") == "abc\nd\ne\tfg"


def test_a_post_with_nul_is_stored_without_it(cast):
    consent_all(cast)
    intervention_post(seat_id=cast.cora.pk, client_id=uuid.uuid4(), body="nul\x00 bell\x07 end")
    row = Intervention.objects.get()
    assert row.body_md == "nul bell end" and "\x00" not in row.body_html


def test_a_body_of_nothing_but_control_characters_is_empty(cast):
    from forum.errors import ServiceError

    consent_all(cast)
    with pytest.raises(ServiceError) as refused:
        intervention_post(seat_id=cast.cora.pk, client_id=uuid.uuid4(), body="\x00\x01\x02")
    assert refused.value.code == "invalid_frame"


def test_frames_carry_text_without_control_characters():
    text = json.dumps({"type": "post", "client_id": str(uuid.uuid4()), "body": "a\x00b"})
    frame = parse_frame(text)
    assert frame.fields["body"] == "ab"
