"""Retention and erasure: once a round table's retention period after adoption has passed,
`purge_identities` leaves no name, e-mail address or organization of its seat holders in the
database, while its minutes, exports, submissions and audit verification stay as they were
and other round tables keep their people. A person may also ask for their own erasure."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.utils import timezone

from forum.errors import ServiceError
from forum.minutes.access import version_document
from forum.minutes.formats.registry import exports
from forum.models import (
    Flag,
    Intervention,
    MinutesVersion,
    Organization,
    RoundTable,
    Seat,
    Sector,
    Submission,
    User,
)
from forum.services.minutes import minutes_adopt, minutes_save
from forum.services.moderator_actions import intervention_reject, seat_reveal
from forum.services.retention import (
    ERASED,
    purge_due_at,
    room_purge_identities,
    room_set_retention,
    rooms_due,
    seat_erase_identity,
)
from forum.services.seats import (
    organization_get_or_create,
    seat_issue_token,
    seat_upsert,
    user_upsert,
)
from forum.services.submissions import submission_advance, submission_create
from moderation.audit import audit_verify
from moderation.models import AuditEntry
from tests.support.minutes import post, run_session
from tests.support.personas import PERSONAS, sign_in

pytestmark = pytest.mark.django_db

FORMATS = ("md", "html", "pdf", "docx", "json", "akn.xml")
SHARED = ("cora", "ada")  # also seated in the other round table


# -- the database, searched the way an auditor would ----------------------------------------


def every_text_in_the_database() -> list[tuple[str, str, str]]:
    """(table, column, value) for every text-like value of every table, Django's own included."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            columns = [c[0] for c in cursor.description]
            for row in cursor.fetchall():
                for column, value in zip(columns, row, strict=True):
                    if isinstance(value, memoryview | bytes):
                        value = bytes(value).decode("utf-8", "ignore")
                    elif isinstance(value, dict | list):
                        value = json.dumps(value, ensure_ascii=False)
                    if isinstance(value, str) and value:
                        found.append((table, column, value))
    return found


def hits(needles: list[str]) -> list[tuple[str, str, str]]:
    lowered = [n.lower() for n in needles]
    return [
        (table, column, needle)
        for table, column, value in every_text_in_the_database()
        for needle in lowered
        if needle in value.lower()
    ]


def identity_of(persona: str) -> list[str]:
    name, org, _sector, _role = PERSONAS[persona]
    return [name, f"{persona}@example.org"] + ([org] if org else [])


# -- a round table that has been through everything ------------------------------------------


@pytest.fixture
def sam(db) -> User:
    return User.objects.create_user(
        username="sam", email="sam@example.org", password="x", is_staff=True
    )


@pytest.fixture
def other(cast):
    """Another round table where Cora and Ada also sit, with Zoe who sits only there."""
    room = RoundTable.objects.create(
        dialogue=cast.room.dialogue, slug="other-room", title="Other round table"
    )
    room.dialogue.sectors.set(Sector.objects.all())
    civil = Sector.objects.get(slug="civil-society")
    for persona in SHARED:
        seat = Seat.objects.get(room=cast.room, user__username=f"{persona}@example.org")
        seat_upsert(
            room=room,
            user=seat.user,
            role="delegate",
            sector=seat.sector,
            organization=seat.organization,
        )
    zoe = user_upsert(email="zoe@example.org", name="Zoe Zephyr")
    org = organization_get_or_create(name="Coalition of Elsewhere", sector=civil)
    seat, _ = seat_upsert(room=room, user=zoe, role="delegate", sector=civil, organization=org)
    seat_issue_token(seat=seat)
    return room


def everything_happens(cast, sam) -> MinutesVersion:
    """A session with every place a name can end up in, adopted and submitted."""
    run_session(cast)
    # Held because it names people, then rejected: the original stays for the audit.
    held = post(
        cast, "gus", "Ask Cora Civil of the Peace Network of Nowhere, or greta@example.org."
    )
    intervention_reject(
        actor_seat_id=cast.mona.pk, intervention_id=held, reason="It names a participant."
    )
    # A reason that names someone is refused now; one written before that still may.
    Intervention.objects.filter(public_id=held).update(status_reason="It names Greta Government.")
    # A moderator looks behind a pseudonym and writes the name into the audit reason.
    seat_reveal(
        actor_seat_id=cast.mona.pk,
        seat=cast.pia.public_id,
        reason="Pia Private threatened Celia Collective",
    )
    published = Intervention.objects.filter(room=cast.room, status="published").first()
    Flag.objects.create(
        intervention=published, seat=cast.ada, reason="Gil Gabinete said this yesterday"
    )
    # The secretariat changed a seat in the admin; its history names it.
    LogEntry.objects.create(
        user=sam,
        content_type=ContentType.objects.get_for_model(Seat),
        object_id=str(cast.cyrus.pk),
        object_repr=str(cast.cyrus),
        action_flag=CHANGE,
        change_message="",
    )
    item = cast.room.agenda_items.get().public_id
    minutes_save(
        actor_seat_id=cast.rita.pk, summaries={item: "The round table agreed on monthly data."}
    )
    version = minutes_adopt(actor_seat_id=cast.chloe.pk, version=1)
    from forum.models import Committee

    committee = Committee.objects.create(
        name="Forum Regional Security Committee", rigo="Pacific Islands Forum"
    )
    submission = submission_create(
        user=sam,
        room_slug=cast.room.slug,
        committee_id=committee.public_id,
        recommendation_ids=list(cast.room.recommendations.values_list("public_id", flat=True)),
    )
    submission_advance(
        user=sam, submission_id=submission.public_id, status="submitted", note="By e-mail."
    )
    return version


def age(room: RoundTable, days: int) -> None:
    """Move the room's adoption `days` into the past."""
    MinutesVersion.objects.filter(room=room, adopted_at__isnull=False).update(
        adopted_at=timezone.now() - dt.timedelta(days=days)
    )


def rendered(version: MinutesVersion) -> dict[str, bytes]:
    version.refresh_from_db()
    doc = version_document(version)
    out = {}
    for fmt, (render, _type) in exports().items():
        data = render(doc)
        out[fmt] = data if isinstance(data, bytes) else data.encode()
    return out


# -- the acceptance: nothing of the room's people is left, and the record is as it was --------


def test_purge_leaves_no_identity_of_the_room_and_changes_no_record(cast, other, sam):
    version = everything_happens(cast, sam)
    exclusive = [p for p in PERSONAS if p not in SHARED]
    needles = [text for persona in exclusive for text in identity_of(persona)]
    assert len(hits(needles)) > 20  # they are everywhere before

    age(cast.room, 91)
    exports_before = rendered(version)
    assert set(exports_before) == set(FORMATS)
    package_before = bytes(Submission.objects.get().package)
    head = version.audit_head
    assert audit_verify(cast.room, anchor=head).ok
    other_seats = list(
        Seat.objects.filter(room=other).values_list("user__email", "organization__name")
    )

    out = StringIO()
    call_command("purge_identities", stdout=out)
    assert out.getvalue().startswith("test-room (retention ended ")
    assert "erased the identities of 12 seat(s); 10 account(s) deleted, 2 kept" in out.getvalue()

    # Nobody who sat only in this round table is anywhere in the database.
    assert hits(needles) == []
    # Cora and Ada still sit in the other round table: their accounts and organizations stay
    # for it, and only there; nothing of this round table points to them or names them.
    shared = [text for persona in SHARED for text in identity_of(persona)]
    assert {table for table, _column, _needle in hits(shared)} == {
        "forum_user",
        "forum_organization",
    }
    assert not Seat.objects.filter(
        room=cast.room, user__email__in=["cora@example.org", "ada@example.org"]
    ).exists()
    assert (
        list(Seat.objects.filter(room=other).values_list("user__email", "organization__name"))
        == other_seats
    )
    assert audit_verify(other).ok

    # The record is untouched: minutes and every export byte for byte, the package, the log.
    assert rendered(version) == exports_before
    assert bytes(Submission.objects.get().package) == package_before
    report = audit_verify(cast.room, anchor=head)
    assert report.ok and report.anchor_seq == version.audit_seq, report.problem
    last = AuditEntry.objects.filter(room=cast.room).order_by("-seq").first()
    assert (last.action, last.data["seats"], last.data["retention_days"]) == (
        "purge_identities",
        12,
        90,
    )
    # Pseudonyms, sectors and roles stay; every seat is withdrawn and its link gone.
    seats = Seat.objects.filter(room=cast.room)
    assert seats.filter(identity_erased_at__isnull=True).count() == 0
    assert (
        seats.filter(removed_at__isnull=True).count()
        == seats.filter(token_hash__isnull=False).count()
        == 0
    )
    assert Seat.objects.get(pk=cast.cora.pk).pseudonym_number == cast.cora.pseudonym_number
    assert Seat.objects.get(pk=cast.cora.pk).sector.slug == "civil-society"
    assert cast.room.interventions.get(seat=cast.gus, status="rejected").body_md.startswith(
        f"Ask {ERASED} of"
    )


def test_reveal_answers_that_the_identity_was_erased(cast, sam):
    seat_erase_identity(seat=cast.cyrus, actor=sam)
    identity = seat_reveal(
        actor_seat_id=cast.mona.pk, seat=cast.cyrus.public_id, reason="Checking who it was"
    )
    assert (
        identity["name"] is None and identity["email"] is None and identity["organization"] is None
    )
    assert identity["erased"] and (identity["sector"], identity["role"]) == (
        "civil-society",
        "delegate",
    )
    assert AuditEntry.objects.filter(
        room=cast.room, action="reveal", target=cast.cyrus.public_id
    ).exists()


def test_purge_runs_once_the_period_has_passed_and_never_before(cast, sam):
    everything_happens(cast, sam)
    age(cast.room, 89)
    assert rooms_due() == []
    with pytest.raises(ServiceError) as early:
        room_purge_identities(room=cast.room)
    assert early.value.code == "not_due"
    out = StringIO()
    call_command("purge_identities", stdout=out)
    assert out.getvalue() == "nothing due\n"
    call_command("purge_identities", "test-room", stdout=out)
    assert "retention period of this round table ends on" in out.getvalue()
    assert not Seat.objects.filter(room=cast.room, identity_erased_at__isnull=False).exists()

    age(cast.room, 90)
    assert rooms_due() == [cast.room]
    room_purge_identities(room=cast.room)
    assert rooms_due() == []
    with pytest.raises(ServiceError) as again:
        room_purge_identities(room=cast.room)
    assert again.value.code == "already_purged"


def test_a_dry_run_reports_exactly_what_a_purge_does_and_changes_nothing(cast, sam):
    everything_happens(cast, sam)
    age(cast.room, 100)
    before = every_text_in_the_database()
    entries = AuditEntry.objects.count()
    out = StringIO()
    call_command("purge_identities", "--dry-run", stdout=out)
    assert every_text_in_the_database() == before and AuditEntry.objects.count() == entries
    dry = out.getvalue().replace("would erase", "erased")
    out = StringIO()
    call_command("purge_identities", stdout=out)
    assert out.getvalue() == dry


def test_a_retention_of_zero_keeps_identities(cast, sam):
    everything_happens(cast, sam)
    room_set_retention(room=cast.room, days=0, actor=sam)
    age(cast.room, 10_000)
    assert purge_due_at(cast.room) is None and rooms_due() == []
    out = StringIO()
    call_command("purge_identities", "test-room", stdout=out)
    assert "keeps its identities" in out.getvalue()
    assert hits(identity_of("gus"))


def test_without_adopted_minutes_nothing_is_due(cast):
    run_session(cast)
    assert purge_due_at(cast.room) is None and rooms_due() == []


def test_the_command_refuses_an_unknown_slug(db):
    with pytest.raises(CommandError, match="no round table with the slug 'nowhere'"):
        call_command("purge_identities", "nowhere", stdout=StringIO())


# -- the retention period and erasure on request are the secretariat's, audited -------------


def test_the_retention_period_is_the_secretariats_and_audited(cast, sam):
    assert cast.room.retention_days == 90
    for bad in (-1, 3651, "30", 1.5, True, None):
        with pytest.raises(ServiceError) as refused:
            room_set_retention(room=cast.room, days=bad, actor=sam)
        assert refused.value.code == "invalid_retention"
    with pytest.raises(ServiceError) as forbidden:
        room_set_retention(room=cast.room, days=30, actor=cast.chloe.user)
    assert forbidden.value.code == "forbidden"
    assert not AuditEntry.objects.filter(action="set_retention").exists()
    assert room_set_retention(room=cast.room, days=30, actor=sam) is True
    assert room_set_retention(room=cast.room, days=30, actor=sam) is False
    entry = AuditEntry.objects.get(action="set_retention")
    assert (entry.actor_role, entry.data) == ("secretariat", {"before": 90, "after": 30})
    assert RoundTable.objects.get(pk=cast.room.pk).retention_days == 30


def test_a_person_is_erased_at_their_request_in_one_room_only(cast, other, sam):
    run_session(cast)
    cora = cast.cora.user
    with pytest.raises(ServiceError) as named:
        seat_erase_identity(seat=cast.cora, actor=sam, reason="Asked by Cora Civil")
    assert named.value.code == "names_participant"
    with pytest.raises(ServiceError) as forbidden:
        seat_erase_identity(seat=cast.cora, actor=cast.chloe.user)
    assert forbidden.value.code == "forbidden"
    assert not AuditEntry.objects.filter(action="erase_identity").exists()

    done = seat_erase_identity(seat=cast.cora, actor=sam, reason="Request received on 3 March")
    assert (done.seats, done.people_deleted, done.people_kept) == (1, 0, 1)
    seat = Seat.objects.get(pk=cast.cora.pk)
    assert seat.identity_erased_at and seat.organization is None and seat.user != cora
    assert str(seat.user) == ERASED and not seat.user.is_active
    assert Seat.objects.get(room=other, user=cora).organization.name == "Peace Network of Nowhere"
    entry = AuditEntry.objects.get(action="erase_identity")
    assert (entry.target, entry.reason, entry.data["sector"]) == (
        cast.cora.public_id,
        "Request received on 3 March",
        "civil-society",
    )
    with pytest.raises(ServiceError) as again:
        seat_erase_identity(seat=cast.cora, actor=sam)
    assert again.value.code == "already_erased"
    # Her join link no longer opens anything, and she is no longer in this round table.
    assert Client().get(f"/join/{cast.tokens['cora']}/").status_code == 404
    assert audit_verify(cast.room).ok


def test_an_account_only_seated_in_the_erased_room_is_deleted_with_its_organization(cast, sam):
    pia = cast.pia.user
    done = seat_erase_identity(seat=cast.pia, actor=sam)
    assert (done.people_deleted, done.organizations_deleted) == (1, 1)
    assert not User.objects.filter(pk=pia.pk).exists()
    assert not Organization.objects.filter(name="Chamber of Mocks").exists()
    # An organization another seat still names stays: Gil keeps the Ministry of Testing.
    seat_erase_identity(seat=cast.gus, actor=sam)
    assert Organization.objects.filter(name="Ministry of Testing").exists()


# -- the secretariat's room page ----------------------------------------------------------------

ROOM_PAGE = "/secretariat/rooms/test-room/"


@pytest.fixture
def staff(sam) -> Client:
    client = Client()
    client.force_login(sam)
    return client


def test_the_room_page_sets_the_retention_period(cast, staff):
    page = staff.get(ROOM_PAGE).content.decode()
    assert 'id="retention"' in page and 'name="retention_days"' in page and 'value="90"' in page
    assert (
        "The minutes are not adopted yet; identities will be erased 90 days after their adoption."
        in page
    )
    response = staff.post(ROOM_PAGE, {"action": "retention", "retention_days": "30"})
    assert response.status_code == 302 and response["Location"].endswith("#retention")
    assert RoundTable.objects.get(pk=cast.room.pk).retention_days == 30
    assert AuditEntry.objects.get(action="set_retention").data == {"before": 90, "after": 30}
    for bad in ("-1", "4000", "soon", ""):
        refused = staff.post(ROOM_PAGE, {"action": "retention", "retention_days": bad})
        assert (
            refused.status_code == 400
            and "<code>invalid_retention</code>" in refused.content.decode()
        ), bad
    assert RoundTable.objects.get(pk=cast.room.pk).retention_days == 30
    assert AuditEntry.objects.filter(action="set_retention").count() == 1


def test_the_room_page_says_when_identities_go(cast, sam, staff):
    everything_happens(cast, sam)
    age(cast.room, 10)
    due = (timezone.now() + dt.timedelta(days=80)).date().isoformat()
    assert f"the identities will be erased on {due}." in staff.get(ROOM_PAGE).content.decode()
    age(cast.room, 95)
    room_purge_identities(room=cast.room)
    page = staff.get(ROOM_PAGE).content.decode()
    assert f"were erased on {timezone.now().date().isoformat()}." in page
    assert "No seat holds an identity any more." in page
    assert page.count('data-state="erased"') == len(PERSONAS)


def test_the_room_page_erases_a_persons_identity_at_their_request(cast, staff):
    page = staff.get(ROOM_PAGE).content.decode()
    assert f'<option value="{cast.gus.public_id}">Gustavo Gobierno &lt;gus@example.org&gt;' in page
    form = {"action": "erase_identity", "seat": cast.gus.public_id, "reason": "Request of 3 March"}
    unconfirmed = staff.post(ROOM_PAGE, form)
    assert (
        unconfirmed.status_code == 400
        and "<code>invalid_form</code>" in unconfirmed.content.decode()
    )
    named = staff.post(ROOM_PAGE, {**form, "confirm": "on", "reason": "Gustavo Gobierno asked"})
    assert named.status_code == 400 and "<code>names_participant</code>" in named.content.decode()
    unknown = staff.post(ROOM_PAGE, {**form, "confirm": "on", "seat": "nobody"})
    assert unknown.status_code == 400
    assert not Seat.objects.filter(identity_erased_at__isnull=False).exists()
    assert not AuditEntry.objects.filter(action="erase_identity").exists()

    done = staff.post(ROOM_PAGE, {**form, "confirm": "on"})
    assert done.status_code == 302
    assert Seat.objects.get(pk=cast.gus.pk).identity_erased_at is not None
    entry = AuditEntry.objects.get(action="erase_identity")
    assert (entry.target, entry.reason) == (cast.gus.public_id, "Request of 3 March")
    page = staff.get(ROOM_PAGE).content.decode()
    assert "Gustavo Gobierno" not in page and "gus@example.org" not in page
    assert page.count('data-state="erased"') == 1
    assert f'<option value="{cast.gus.public_id}"' not in page


def test_only_the_secretariat_sets_retention_and_erases(cast):
    chair = sign_in(Client(), cast.chloe)
    for form in (
        {"action": "retention", "retention_days": "0"},
        {"action": "erase_identity", "seat": cast.gus.public_id, "confirm": "on"},
    ):
        assert chair.post(ROOM_PAGE, form).status_code == 403
    assert RoundTable.objects.get(pk=cast.room.pk).retention_days == 90
    assert not Seat.objects.filter(identity_erased_at__isnull=False).exists()


def test_the_audit_pages_mark_a_reason_erased_with_the_identity_it_named(cast, staff):
    seat_reveal(
        actor_seat_id=cast.mona.pk, seat=cast.pia.public_id, reason="Pia Private threatened someone"
    )
    seat_reveal(
        actor_seat_id=cast.mona.pk, seat=cast.gus.public_id, reason="A routine check of a seat"
    )
    seat_erase_identity(seat=cast.pia, actor=User.objects.get(username="sam"))
    chair = sign_in(Client(), cast.chloe)
    for client, url in (
        (staff, "/secretariat/rooms/test-room/audit/"),
        (chair, "/rooms/test-room/audit/"),
    ):
        page = client.get(url).content.decode()
        assert "Pia Private" not in page and "A routine check of a seat" in page, url
        assert page.count("(erased with the identity it named)") == 1, url
        assert "Chain intact" in page, url


def test_an_erased_delegate_leaves_the_floor_of_a_live_round_table(cast, sam):
    from forum.models import FloorRequest
    from forum.services.floor import hand_raise

    hand_raise(seat_id=cast.cora.pk)
    hand_raise(seat_id=cast.ada.pk)
    seat_erase_identity(seat=cast.cora, actor=sam)
    statuses = dict(FloorRequest.objects.values_list("seat_id", "status"))
    assert statuses == {cast.cora.pk: "removed", cast.ada.pk: "waiting"}
    assert audit_verify(cast.room).ok


def test_erasure_scrubs_draft_cover_letters_and_follow_up_texts_but_not_a_submitted_letter(
    cast, sam
):
    from forum.models import Committee, FollowUp

    everything_happens(cast, sam)
    submitted = Submission.objects.get()
    letter_before = submitted.cover_letter
    # A follow-up's text is the recommendation as adopted; in an open forum it may name people.
    FollowUp.objects.filter(submission=submitted).update(
        text_md="Cora Civil of the Peace Network of Nowhere follows it."
    )
    committee = Committee.objects.create(
        name="OAS General Assembly", rigo="Organization of American States"
    )
    draft = submission_create(
        user=sam,
        room_slug=cast.room.slug,
        committee_id=committee.public_id,
        recommendation_ids=list(cast.room.recommendations.values_list("public_id", flat=True)),
        letter="Dear committee, Cora Civil (cora@example.org) will present this in person.",
    )
    FollowUp.objects.filter(submission=draft).update(text_md="Ask Cora Civil.")
    assert FollowUp.objects.filter(submission=draft).exists()

    seat_erase_identity(seat=cast.cora, actor=sam, reason="")

    draft.refresh_from_db()
    assert draft.cover_letter == f"Dear committee, {ERASED} ({ERASED}) will present this in person."
    texts = list(FollowUp.objects.values_list("text_md", flat=True))
    assert texts and not any("Cora" in text or "Peace Network" in text for text in texts)
    assert f"{ERASED} of the {ERASED} follows it." in texts
    submitted.refresh_from_db()
    assert submitted.cover_letter == letter_before  # the record a committee holds stays
    assert hits(identity_of("cora")) == []
