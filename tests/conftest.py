"""Fixtures (the helpers they use live in tests/support/): the cast of personas, an outsider,
sockets that are closed after the test, English again after each test; and the order in which
`make test`'s workers take the modules."""

from __future__ import annotations

import asyncio
import os

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

# Under pytest-xdist (`make test` runs `-n 2 --dist loadfile --no-loadscope-reorder`) each
# worker takes a whole module at a time, in the order the modules first appear. The modules
# that start real processes (Daphne clusters, a live server and Chromium) take minutes each:
# handed out first, they run side by side and the many short modules fill in around them,
# instead of one of them starting last on its own. Within a module the order stays as collected
# (pytest-django's: plain tests, then transactional ones, then those without a database).
HEAVY_MARKS = ("multiprocess", "browser")


def module_weight(items: list[pytest.Item]) -> tuple[int, int]:
    """Sort key of one module's items: those with real processes first, then bigger ones."""
    for rank, mark in enumerate(HEAVY_MARKS):
        if any(item.get_closest_marker(mark) for item in items):
            return rank, -len(items)
    return len(HEAVY_MARKS), -len(items)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return  # one process: the collected order (nothing to balance)
    modules: dict[str, list[pytest.Item]] = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::", 1)[0], []).append(item)
    weight = {path: module_weight(group) for path, group in modules.items()}
    items.sort(key=lambda item: weight[item.nodeid.split("::", 1)[0]])  # stable


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
