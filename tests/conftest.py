"""Fixtures only (the helpers they use live in tests/support/): the cast of personas, an
outsider, sockets that are closed after the test, English again after each test."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from django.utils import translation

from forum.models import User
from forum.services.seats import user_upsert
from tests.support.personas import (
    Cast,
    build_cast,
)
from tests.support.sockets import Socket, open_socket


@pytest.fixture(autouse=True)
def back_to_english():
    # A page requested in another language leaves it active in the test's thread
    # (LocaleMiddleware activates it); the next test's messages would come out in it.
    yield
    translation.deactivate()


@pytest.fixture
def cast(db) -> Cast:
    return build_cast()


@pytest.fixture
def outsider(db) -> User:
    return user_upsert(email="otto@example.org", name="Otto Outsider")


@pytest.fixture
async def sockets():
    """Open sockets through this fixture; they and the hubs are closed after the test."""
    from realtime.hub import hubs

    opened: list[Socket] = []

    async def opener(user, slug="test-room", **kwargs):
        sock, connected, code = await open_socket(user, slug, **kwargs)
        opened.append(sock)
        return sock, connected, code

    yield opener
    for sock in opened:
        try:
            await sock.close()
        except (Exception, asyncio.CancelledError):  # noqa: BLE001 - the server closed it already
            pass
    await hubs.shutdown()
    # The worker thread of database_sync_to_async keeps its connection otherwise, and
    # PostgreSQL then refuses to drop the test database at the end of the run.
    from django.db import connections

    await database_sync_to_async(connections.close_all)()
