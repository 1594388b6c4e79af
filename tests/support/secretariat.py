"""The secretariat's pages through the test client."""

from __future__ import annotations

from html import unescape

from django.core.files.uploadedfile import SimpleUploadedFile

from forum.models import Seat
from forum.secretariat.room_views import link_fingerprint


def page(response) -> str:
    return unescape(response.content.decode())


def csv_upload(text: str, name: str = "people.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def seat_form(seat: Seat, action: str) -> dict:
    seat.refresh_from_db()
    return {"action": action, "seat": seat.public_id, "link": link_fingerprint(seat)}
