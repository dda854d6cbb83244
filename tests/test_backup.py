import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.db import connection, models, transaction
from django.utils import timezone

from recommendations.models import (
    Assessment,
    Comment,
    EvidenceItem,
    Following,
    Membership,
    Organization,
    Preferences,
    Recommendation,
    Report,
    Responsibility,
    SentMail,
    Snapshot,
    Status,
)
from recommendations.publishing.document import build_document
from recommendations.publishing.snapshots import publish_snapshot

from .conftest import (
    FIXTURES,
    allow_publishing,
    as_the_owner,
    make_assessment,
    make_organization,
    make_user,
)

pytestmark = pytest.mark.django_db(transaction=True)


def live_document() -> dict:
    report = Report.objects.get()
    user = get_user_model().objects.get(username="ngo")
    document = build_document(report, report.recommendations.all(), generated_by=user)
    del document["generated_at"]
    return document


def exact_moments() -> list:
    """Every stored timestamp of what a backup must keep, in a stable order."""
    return [
        *Assessment.objects.order_by("pk").values_list("created_at", flat=True),
        *Comment.objects.order_by("pk").values_list("created_at", flat=True),
        *Snapshot.objects.order_by("pk").values_list("published_at", flat=True),
        *Recommendation.history.order_by("history_id").values_list("history_date", flat=True),
    ]


def test_backup_then_restore_into_an_empty_database_gives_identical_exports(tmp_path):
    call_command("loaddata", *FIXTURES, verbosity=0)
    ngo = make_user("ngo", make_organization("NGO"), first_name="Ånund")
    government = make_user("gov", make_organization("Ministry", kind="GOVERNMENT"))
    for number in (1, 2, 3):
        r = Recommendation.objects.get(number=number)
        first = make_assessment(r, ngo, status=Status.NO_PROGRESS, rationale="“Første” vurdering")
        make_assessment(r, ngo, status=Status.IN_PROGRESS, based_on=first)
        with transaction.atomic():  # citations are written with their assessment, never later
            make_assessment(r, government, status=Status.IMPLEMENTED).cited_evidence.set(
                r.evidence_items.all()[:2]
            )
        Comment.objects.create(
            recommendation=r, organization=ngo.membership.organization, author=ngo, body="Kommentar"
        )
    edited = Recommendation.objects.get(number=4)
    edited.short_title = "Edited by a coordinator"
    edited.save()
    snapshot = publish_snapshot(
        Report.objects.get(), published_by=allow_publishing(ngo), title="Før"
    )
    before = live_document()
    counts = (Assessment.objects.count(), Comment.objects.count(), EvidenceItem.objects.count())
    history = Recommendation.history.count()
    moments = exact_moments()
    assert any(moment.microsecond % 1000 for moment in moments)  # finer than milliseconds

    backup = tmp_path / "backup.json"
    call_command("backup_data", str(backup), verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    assert not Report.objects.exists() and not get_user_model().objects.exists()

    with as_the_owner():  # as in production (SECURITY.md, "Database roles")
        call_command("restore_data", str(backup), verbosity=0)
    assert live_document() == before
    assert (
        Assessment.objects.count(),
        Comment.objects.count(),
        EvidenceItem.objects.count(),
    ) == counts
    assert Recommendation.history.count() == history
    assert exact_moments() == moments  # to the microsecond: times order the history
    restored = Snapshot.objects.get()
    assert (restored.content, restored.content_sha256) == (
        snapshot.content,
        snapshot.content_sha256,
    )
    assert not restored.problems()
    assert get_user_model().objects.get(username="ngo").check_password("a-long-test-password")


def test_restore_refuses_a_database_that_holds_data_and_writes_nothing(tmp_path):
    call_command("loaddata", *FIXTURES, verbosity=0)
    backup = tmp_path / "backup.json"
    call_command("backup_data", str(backup), verbosity=0)
    with pytest.raises(CommandError, match="already holds tracker data"):
        call_command("restore_data", str(backup))
    assert Report.objects.count() == 1


def test_restore_refuses_a_broken_backup_and_writes_nothing(tmp_path):
    call_command("loaddata", *FIXTURES, verbosity=0)
    backup = tmp_path / "backup.json"
    call_command("backup_data", str(backup), verbosity=0)
    data = json.loads(backup.read_text())
    item = next(row for row in data if row["model"] == "recommendations.evidenceitem")
    item["fields"]["quote"] = item["fields"]["quote"].replace("a", "æ", 1)
    backup.write_text(json.dumps(data))
    call_command("flush", interactive=False, verbosity=0)
    with pytest.raises(CommandError, match="could not restore"):
        call_command("restore_data", str(backup))
    assert not Report.objects.exists()
    assert not EvidenceItem.objects.exists()
    with pytest.raises(CommandError, match="is not a file"):
        call_command("restore_data", str(tmp_path / "missing.json"))


# --- every table, exactly -------------------------------------------------------------------

# What a backup leaves out, as the README says: recreated by migrate (content types,
# permissions), not worth keeping (sessions, log-in throttling), or never to be restored (the
# data versions).
NOT_BACKED_UP_APPS = {"contenttypes", "sessions", "axes"}
NOT_BACKED_UP_MODELS = {"auth.permission", "recommendations.dataversion"}


def every_table() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table a backup covers, many-to-many and audit tables included, as
    stored (ids too); a permission or content type by its natural key, since `migrate` numbers
    those."""
    natural_keys: dict[type[models.Model], dict[int, tuple]] = {
        model: {row.pk: row.natural_key() for row in model.objects.all()}
        for model in (Permission, ContentType)
    }
    tables = {}
    for model in apps.get_models(include_auto_created=True):
        options = model._meta
        if options.app_label in NOT_BACKED_UP_APPS or options.label_lower in NOT_BACKED_UP_MODELS:
            continue
        if not options.managed or options.proxy:
            continue
        rows = list(model._base_manager.order_by("pk").values())
        for field in options.concrete_fields:
            if field.related_model in natural_keys:
                for row in rows:
                    row[field.attname] = natural_keys[field.related_model].get(row[field.attname])
        tables[options.label] = rows
    return tables


def id_sequences() -> list[tuple]:
    """Where each table's ids stand: the next id each table would hand out."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT sequencename, last_value FROM pg_sequences "
                "WHERE schemaname = current_schema() ORDER BY sequencename"
            )
        else:
            cursor.execute("SELECT name, seq FROM sqlite_sequence ORDER BY name")
        return cursor.fetchall()


def fill_with_demo_data() -> None:
    """The fixtures and the demo data, plus what the demo leaves empty: a deleted user (whose
    membership stays in the audit trail), preferences, following, sent mail, a coordinator's
    edit, a snapshot, an admin log entry and a permission given to a user directly."""
    call_command("loaddata", *FIXTURES, verbosity=0)
    call_command("load_demo_data", allow_without_debug=True, stdout=StringIO())
    User = get_user_model()
    gone = make_user("gone.user", Organization.objects.get(short_name="Demo ATN"))
    Membership.objects.get(user=gone).delete()
    gone.delete()
    coordinator = User.objects.get(username="coordinator")
    reviewer = User.objects.get(username="ngo.reviewer")
    Preferences.objects.create(user=reviewer, language="nb", digest_emails=False)
    Preferences.objects.create(user=coordinator, reminder_emails=False)
    recommendation = Recommendation.objects.get(report__slug="norway-2024", number=3)
    Following.objects.create(user=reviewer, recommendation=recommendation, following=True)
    SentMail.objects.create(
        user=reviewer, kind=SentMail.Kind.DIGEST, key="2026-11", subject="Digest", covers_until=None
    )
    recommendation.short_title = "Edited by a coordinator"
    recommendation._history_user = coordinator
    recommendation.save()
    responsibility = Responsibility.objects.get(recommendation__number=1)
    responsibility.supporting.clear()
    publish_snapshot(Report.objects.get(slug="norway-2024"), published_by=coordinator, title="Demo")
    LogEntry.objects.log_actions(
        coordinator.pk, [recommendation], CHANGE, change_message="Edited", single_object=True
    )
    reviewer.user_permissions.add(Permission.objects.get(codename="view_snapshot"))


def backup_and_empty(tmp_path: Path) -> Path:
    backup = tmp_path / "backup.json"
    call_command("backup_data", str(backup), verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    assert not Report.objects.exists() and not get_user_model().objects.exists()
    return backup


def restore(backup: Path) -> None:
    with as_the_owner():  # as in production (SECURITY.md, "Database roles")
        call_command("restore_data", str(backup), verbosity=0)


def add_new_rows() -> None:
    """Rows written after a restore get ids of their own: the sequences follow the restored
    rows (a collision would raise IntegrityError)."""
    organization = make_organization("After the restore")
    user = make_user("after.restore", organization)
    recommendation = Recommendation.objects.get(report__slug="norway-2024", number=5)
    with transaction.atomic():
        assessment = make_assessment(recommendation, user, status=Status.IN_PROGRESS)
        assessment.cited_evidence.set(recommendation.evidence_items.all()[:1])
    Preferences.objects.create(user=user, language="en")
    recommendation.short_title = "Edited after the restore"
    recommendation.save()
    Responsibility.objects.get(recommendation__number=1).supporting.add(
        Organization.objects.get(short_name="Demo MoL")
    )


def test_round_trip_of_the_demo_data_reproduces_every_table(tmp_path):
    fill_with_demo_data()
    before = every_table()
    for label in (
        "recommendations.HistoricalResponsibility_supporting",
        "recommendations.Responsibility_supporting",
        "recommendations.Assessment_cited_evidence",
        "recommendations.HistoricalMembership",
        "recommendations.HistoricalLineage",
        "recommendations.Preferences",
        "recommendations.Following",
        "recommendations.SentMail",
        "recommendations.Snapshot",
        "admin.LogEntry",
        "auth.User_groups",
        "auth.User_user_permissions",
        "auth.Group_permissions",
    ):
        assert before[label], f"the demo data leaves {label} empty"

    backup = backup_and_empty(tmp_path)
    restore(backup)

    after = every_table()
    assert after.keys() == before.keys()
    for label in before:
        assert after[label] == before[label], label
    add_new_rows()
    assert not Snapshot.objects.get().problems()


def test_restore_keeps_each_users_preferences_following_mail_and_membership(tmp_path):
    call_command("loaddata", *FIXTURES, verbosity=0)
    first, second = make_organization("First NGO"), make_organization("Second NGO")
    gone = make_user("gone.user")
    late, later = make_user("late.user", first), make_user("later.user", second)
    gone.delete()  # ids now have a gap: dumping without ids would renumber the two others
    one, two = Recommendation.objects.filter(number__in=(1, 2)).order_by("number")
    Preferences.objects.create(user=late, language="nb", digest_emails=False)
    Preferences.objects.create(user=later, language="en", reminder_emails=False)
    Following.objects.create(user=late, recommendation=one, following=True)
    Following.objects.create(user=later, recommendation=two, following=False)
    now = timezone.now()
    SentMail.objects.create(user=late, kind="DIGEST", key="late", subject="To late", sent_at=now)
    SentMail.objects.create(user=later, kind="DIGEST", key="later", subject="To later")
    ids = dict(get_user_model().objects.values_list("username", "pk"))

    restore(backup_and_empty(tmp_path))

    assert dict(get_user_model().objects.values_list("username", "pk")) == ids
    assert Preferences.objects.get(user__username="late.user").language == "nb"
    assert not Preferences.objects.get(user__username="late.user").digest_emails
    assert Preferences.objects.get(user__username="later.user").language == "en"
    assert Preferences.objects.get(user__username="later.user").digest_emails
    assert not Preferences.objects.get(user__username="later.user").reminder_emails
    assert [
        (f.recommendation.number, f.following)
        for f in Following.objects.filter(user__username="late.user")
    ] == [(1, True)]
    assert [
        (f.recommendation.number, f.following)
        for f in Following.objects.filter(user__username="later.user")
    ] == [(2, False)]
    assert SentMail.objects.get(user__username="late.user").key == "late"
    assert SentMail.objects.get(user__username="later.user").key == "later"
    assert Membership.objects.get(user__username="late.user").organization.name == "First NGO"
    assert Membership.objects.get(user__username="later.user").organization.name == "Second NGO"
    assert {(row.user_id, row.organization.name) for row in Membership.history.all()} == {
        (ids["late.user"], "First NGO"),
        (ids["later.user"], "Second NGO"),
    }


def corrupt_last_object(backup: Path, corrupted: Path, how: str) -> None:
    objects = json.loads(backup.read_text())
    last = objects[-1]
    if how == "refers to a missing row":
        last["fields"] = {name: 987654321 for name in last["fields"]}
    else:  # a value its column cannot hold
        last["pk"] = "not an id"
    corrupted.write_text(json.dumps(objects))


@pytest.mark.parametrize(
    "how, problem",
    [
        ("refers to a missing row", "refers to a row that does not exist"),
        ("holds a value of the wrong type", r"object \d+ \([a-z_.]+, id not an id\)"),
    ],
)
def test_a_restore_that_fails_part_way_changes_nothing_and_a_retry_works(tmp_path, how, problem):
    fill_with_demo_data()
    original = every_table()
    backup = backup_and_empty(tmp_path)
    corrupted = tmp_path / "corrupted.json"
    corrupt_last_object(backup, corrupted, how)
    emptied, sequences = every_table(), id_sequences()

    with pytest.raises(CommandError, match=r"could not restore .*corrupted\.json: .*" + problem):
        restore(corrupted)
    assert every_table() == emptied
    assert id_sequences() == sequences

    restore(backup)
    assert every_table() == original
    add_new_rows()


@pytest.mark.parametrize(
    "content, problem",
    [
        ("[{", "is not a backup written by backup_data"),
        ('{"model": "auth.user"}', "not a JSON list"),
        ('[{"model": "sessions.session", "pk": "x", "fields": {}}]', "never writes"),
        ('[{"model": "no.such", "pk": 1, "fields": {}}]', "never writes"),
        ('[{"model": "auth.user", "fields": {"username": "a"}}]', "has no id"),
        ('[{"model": "auth.user", "pk": 1}]', "is not a model row"),
        ('[{"model": "auth.user", "pk": 1, "fields": {"username": "a", "nope": 1}}]', "nope"),
    ],
)
def test_restore_refuses_what_backup_data_never_writes_naming_the_problem(
    tmp_path, content, problem
):
    backup = tmp_path / "backup.json"
    backup.write_text(content)
    with pytest.raises(CommandError, match=problem):
        restore(backup)
    assert not get_user_model().objects.exists()
    assert Group.objects.filter(name="Coordinators").exists()


def test_the_app_role_can_restore_too(tmp_path):
    """A restore only inserts (and replaces the groups migrate made): the role the
    application runs as may run it (SECURITY.md, "Database roles")."""
    fill_with_demo_data()
    before = every_table()
    backup = backup_and_empty(tmp_path)
    if connection.vendor == "postgresql" and settings.DATABASE_APP_ROLE:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone() == (settings.DATABASE_APP_ROLE,)
    call_command("restore_data", str(backup), verbosity=0)
    assert every_table() == before
    add_new_rows()
