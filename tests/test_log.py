"""The event log: gapless seq under concurrent writers, publish only after commit."""

import threading
import uuid

import pytest
from django.db import connection, transaction
from django.utils import timezone

from forum.models import RoomEvent, RoundTable, Seat
from forum.services.interventions import intervention_post
from realtime import log
from realtime.events import KINDS, PayloadError


@pytest.fixture
def published(monkeypatch):
    """Capture what goes to the channel layer instead of sending it."""
    sent = []
    monkeypatch.setattr(
        log, "publish", lambda room_id, event: sent.append((room_id, event.seq, event.kind))
    )
    return sent


@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_from_many_threads_get_one_gapless_sequence(cast, published):
    Seat.objects.filter(room=cast.room).update(consented_at=timezone.now())
    posters = [cast.cora, cast.gus, cast.ada, cast.pia]
    results, errors = [], []

    def run(seat):
        try:
            for i in range(25):
                results.append(
                    intervention_post(seat_id=seat.pk, client_id=uuid.uuid4(), body=f"{i}").seq
                )
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(seat,)) for seat in posters]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(results) == list(range(1, 101))
    assert list(RoomEvent.objects.filter(room=cast.room).values_list("seq", flat=True)) == list(
        range(1, 101)
    )
    assert RoundTable.objects.get(pk=cast.room.pk).last_seq == 100
    assert sorted(seq for _, seq, _ in published) == list(range(1, 101))


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_is_neither_logged_nor_published(cast, published):
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            log.append_event(
                cast.room,
                "room.status_changed",
                participants={"status": "live"},
                moderators={"status": "live"},
            )
            raise RuntimeError("the service failed after appending")
    assert RoomEvent.objects.count() == 0
    assert RoundTable.objects.get(pk=cast.room.pk).last_seq == 0
    assert published == []


@pytest.mark.django_db(transaction=True)
def test_events_are_published_after_commit_in_order(cast, published):
    with transaction.atomic():
        log.append_event(
            cast.room,
            "room.status_changed",
            participants={"status": "closed"},
            moderators={"status": "closed"},
        )
        assert published == []  # not before commit
    assert published == [(cast.room.pk, 1, "room.status_changed")]


@pytest.mark.django_db(transaction=True)
def test_append_outside_a_transaction_is_refused(cast):
    with pytest.raises(RuntimeError):
        log.append_event(
            cast.room,
            "room.status_changed",
            participants={"status": "live"},
            moderators={"status": "live"},
        )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "kind, participants, moderators",
    [
        ("room.exploded", {}, {}),
        ("room.status_changed", {}, {"status": "live"}),
        ("room.status_changed", {"status": 3}, {"status": "live"}),
        (
            "seat.consented",
            {"attribution": {"label": "x", "sector": None}, "at": "t"},
            {"attribution": {"label": "x", "sector": None}, "at": "t"},
        ),
        ("seat.consented", None, None),
    ],
)
def test_undeclared_kinds_and_payloads_off_schema_are_refused(cast, kind, participants, moderators):
    with pytest.raises(PayloadError), transaction.atomic():
        log.append_event(cast.room, kind, participants=participants, moderators=moderators)
    assert RoomEvent.objects.count() == 0


def test_every_declared_kind_is_documented_in_the_protocol():
    from pathlib import Path

    protocol = (Path(__file__).resolve().parent.parent / "docs" / "protocol.md").read_text()
    for name in KINDS:
        assert f"`{name}`" in protocol, f"{name} is missing from docs/protocol.md"


def test_every_error_code_raised_in_code_is_documented_in_the_protocol():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    protocol = (root / "docs" / "protocol.md").read_text()
    codes = set()
    for path in [
        *root.glob("realtime/*.py"),
        *root.glob("forum/services/*.py"),
        root / "forum" / "errors.py",
    ]:
        text = path.read_text()
        codes.update(re.findall(r'(?:FrameError|ServiceError|send_error)\(\s*"([a-z_]+)"', text))
        codes.update(re.findall(r'super\(\).__init__\("([a-z_]+)"', text))
    assert {
        "invalid_json",
        "invalid_frame",
        "unknown_type",
        "too_large",
        "consent_required",
    } <= codes
    missing = sorted(code for code in codes if f"`{code}`" not in protocol)
    assert missing == [], f"error codes missing from docs/protocol.md: {missing}"
