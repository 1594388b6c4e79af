"""Migrations forward and back on a test database, with the migration executor: rows written
before a migration get what the product means for them, and a rollback either works or says
plainly why it cannot."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.exceptions import IrreversibleError
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

LATEST_FORUM = ("forum", "0009_moderated_text")


def executor() -> MigrationExecutor:
    ex = MigrationExecutor(connection)
    ex.loader.build_graph()
    return ex


def migrate(*targets: tuple[str, str | None]):
    ex = executor()
    ex.migrate(list(targets))
    return executor().loader.project_state(list(targets)).apps


@pytest.fixture
def back_to_latest():
    yield
    ex = executor()
    ex.migrate(ex.loader.graph.leaf_nodes())


def test_rooms_made_before_retention_get_the_default_period(back_to_latest, settings):
    settings.RETENTION_DAYS = 90
    apps = migrate(("forum", "0006_roundtable_language"))
    Dialogue = apps.get_model("forum", "Dialogue")
    RoundTable = apps.get_model("forum", "RoundTable")
    dialogue = Dialogue.objects.create(slug="old-dialogue", title="Old dialogue")
    RoundTable.objects.create(dialogue=dialogue, slug="old-room", title="Old room")
    apps = migrate(("forum", "0007_retention"))
    assert apps.get_model("forum", "RoundTable").objects.get(slug="old-room").retention_days == 90


def test_the_held_text_migration_rolls_back_and_forward_again(back_to_latest):
    apps = migrate(LATEST_FORUM)
    dialogue = apps.get_model("forum", "Dialogue").objects.create(slug="d", title="D")
    room = apps.get_model("forum", "RoundTable").objects.create(
        dialogue=dialogue, slug="r", title="R"
    )
    apps.get_model("forum", "HeldText").objects.create(
        room=room, kind="comment", text_md="Names someone."
    )
    migrate(("forum", "0008_seat_link_generation"))
    tables = connection.introspection.table_names()
    assert "forum_heldtext" not in tables
    apps = migrate(LATEST_FORUM)
    assert "forum_heldtext" in connection.introspection.table_names()
    assert apps.get_model("forum", "HeldText").objects.count() == 0


def test_the_keyed_audit_migration_refuses_to_go_back_and_says_why(back_to_latest):
    with pytest.raises(IrreversibleError, match="keyed MAC"):
        migrate(("moderation", "0001_initial"))
    assert ("moderation", "0002_keyed_audit") in executor().loader.applied_migrations
