"""The append-only tables on PostgreSQL, against the tables' owner and against the role the
application runs as (SECURITY.md, "Database roles"): nobody truncates them; the app role cannot
update, delete, truncate or alter them, nor lift their triggers; and an assessment's cited
evidence is written only in the transaction that recorded the assessment."""

import os

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import override_settings

from recommendations.database_roles import append_only_tables, citations_table, grant_app_role
from recommendations.models import Assessment, Recommendation, Status
from recommendations.publishing.snapshots import publish_snapshot
from recommendations.rules.writing import add_comment, assess

from .conftest import FIXTURES, make_assessment, make_organization, make_user

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="database roles and triggers are PostgreSQL's"
)

OWNER = "NONE"  # SET ROLE NONE: back to the session's login user, who created the tables


def run_as(role: str, sql: str, params: list | None = None) -> None:
    """Run one statement as `role` in a savepoint; the role ends with it. Foreign keys are
    checked first, as TRUNCATE refuses to run while their deferred checks are pending."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SELECT current_user")
        (user,) = cursor.fetchone()
        cursor.execute(f"SET LOCAL ROLE {role}")
        cursor.execute(sql, params)
        cursor.execute(f"SET LOCAL ROLE {connection.ops.quote_name(user)}")


def refused(role: str, sql: str, match: str, params: list | None = None) -> None:
    with pytest.raises(DatabaseError, match=match):
        run_as(role, sql, params)


def row_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for table in append_only_tables():
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cursor.fetchone()[0]
        return counts


@pytest.fixture
def recorded(norway, people) -> dict[str, int]:
    """A row in every append-only table: an assessment citing evidence, a comment, a snapshot."""
    recommendation = norway.recommendations.get(number=1)
    evidence = recommendation.citable_evidence()[:1]
    assess(
        recommendation,
        author=people["ngo"],
        status=Status.IMPLEMENTED,
        rationale="Done.",
        evidence=evidence,
    )
    add_comment(recommendation, author=people["gov"], body="Agreed.")
    publish_snapshot(norway, published_by=people["coordinator"], title="Frozen")
    counts = row_counts()
    assert all(counts.values()), counts
    return counts


@pytest.fixture
def app_role(db) -> str:
    """The role the application runs as: DATABASE_APP_ROLE (CI sets it, and the whole suite
    runs as it); otherwise a role made for this test and granted what `migrate` grants, gone
    when the test's transaction is rolled back."""
    if settings.DATABASE_APP_ROLE:
        return connection.ops.quote_name(settings.DATABASE_APP_ROLE)
    role = f"tracker_app_test_{os.getpid()}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} NOLOGIN")
    with override_settings(DATABASE_APP_ROLE=role):
        grant_app_role(using=connection.alias)
    return role


@pytest.mark.skipif(not settings.DATABASE_APP_ROLE, reason="DATABASE_APP_ROLE is not set (CI)")
def test_the_suite_runs_as_the_app_role_not_as_the_owner(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, session_user, tableowner FROM pg_tables "
            "WHERE tablename = 'recommendations_assessment'"
        )
        current, login, owner = cursor.fetchone()
    assert current == settings.DATABASE_APP_ROLE
    assert owner == login != current


def test_every_append_only_table_refuses_update_delete_and_truncate_by_trigger(db):
    with connection.cursor() as cursor:
        for table in append_only_tables():
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND tgenabled = 'O'",
                [table],
            )
            triggers = {name for (name,) in cursor.fetchall()}
            assert {f"{table}_append_only", f"{table}_no_truncate"} <= triggers, table


def test_nobody_truncates_an_append_only_table_not_even_the_owner(recorded):
    for table in append_only_tables():
        # CASCADE: with the tables that refer to it (an assessment's citations refer to it).
        refused(OWNER, f"TRUNCATE {table} CASCADE", match="is append-only: TRUNCATE refused")
    refused(
        OWNER,
        "TRUNCATE recommendations_recommendation CASCADE",
        match="is append-only: TRUNCATE refused",
    )
    assert row_counts() == recorded


def test_the_app_role_cannot_change_truncate_or_alter_the_append_only_tables(app_role, recorded):
    for table in append_only_tables():
        for sql in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}", f"TRUNCATE {table}"):
            if sql.startswith("DELETE") and table == citations_table():
                # DELETE is granted here (app_role_grants says why); the trigger refuses it.
                refused(app_role, sql, match=f"{table} is append-only: DELETE refused")
            else:
                refused(app_role, sql, match=f"permission denied for table {table}")
        for sql in (
            f"ALTER TABLE {table} DISABLE TRIGGER USER",
            f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only",
            f"DROP TRIGGER {table}_append_only ON {table}",
            f"ALTER TABLE {table} ADD COLUMN note text",
            f"ALTER TABLE {table} OWNER TO {app_role}",
            f"DROP TABLE {table}",
        ):
            refused(app_role, sql, match=f"must be owner of (table|relation) {table}")
    # Nor may it switch every trigger off for its session.
    refused(
        app_role,
        "SET session_replication_role = replica",
        match='permission denied to set parameter "session_replication_role"',
    )
    assert row_counts() == recorded


def test_the_app_role_reads_and_adds_to_the_append_only_tables_and_owns_nothing(app_role):
    role = app_role.strip('"')
    privileges = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"]
    with connection.cursor() as cursor:

        def held(table: str) -> set[str]:
            cursor.execute(
                "SELECT p FROM unnest(%s::text[]) AS p WHERE has_table_privilege(%s, %s, p)",
                [privileges, role, table],
            )
            return {p for (p,) in cursor.fetchall()}

        for table in append_only_tables():
            expected = {"SELECT", "INSERT"} | ({"DELETE"} if table == citations_table() else set())
            assert held(table) == expected, table
        assert held("recommendations_membership") == {"SELECT", "INSERT", "UPDATE", "DELETE"}
        cursor.execute("SELECT count(*) FROM pg_tables WHERE tableowner = %s", [role])
        assert cursor.fetchone()[0] == 0


@pytest.mark.django_db(transaction=True)
def test_an_assessment_gains_no_citation_after_the_transaction_that_recorded_it():
    call_command("loaddata", *FIXTURES, verbosity=0)
    reviewer = make_user("ngo", make_organization("NGO"))
    recommendation = Recommendation.objects.get(number=1)
    first, second, third = recommendation.citable_evidence()[:3]
    with transaction.atomic():  # as a request does; assess() writes in a savepoint inside it
        assessment = assess(
            recommendation,
            author=reviewer,
            status=Status.IMPLEMENTED,
            rationale="Done.",
            evidence=[first],
        )
    through = Assessment.cited_evidence.through
    attempts = {
        "add": lambda: assessment.cited_evidence.add(second),
        "set": lambda: assessment.cited_evidence.set([first, second]),
        "create": lambda: through.objects.create(assessment=assessment, evidenceitem=third),
        "bulk_create": lambda: through.objects.bulk_create(
            [through(assessment=assessment, evidenceitem=third)]
        ),
        "SQL": lambda: run_as(
            settings.DATABASE_APP_ROLE or OWNER,
            "INSERT INTO recommendations_assessment_cited_evidence (assessment_id, evidenceitem_id)"
            " VALUES (%s, %s)",
            [assessment.pk, third.pk],
        ),
    }
    for how, attempt in attempts.items():
        with (
            pytest.raises(DatabaseError, match="append-only: INSERT refused"),
            transaction.atomic(),
        ):
            attempt()
            pytest.fail(f"{how}: an old assessment gained a citation")
    # Not even in a transaction that records a newer assessment.
    with pytest.raises(DatabaseError, match="append-only: INSERT refused"), transaction.atomic():
        assess(
            recommendation,
            author=reviewer,
            status=Status.IMPLEMENTED,
            rationale="Still done.",
            evidence=[second],
            based_on=assessment,
        )
        assessment.cited_evidence.add(second)
    assert list(Assessment.objects.get(pk=assessment.pk).cited_evidence.all()) == [first]
    assert Assessment.objects.count() == 1

    # A new assessment and its citations written by separate statements of one transaction,
    # as restore_data and generate_dataset write them, are accepted.
    with transaction.atomic():
        later = make_assessment(recommendation, reviewer, based_on=assessment)
        later.cited_evidence.set([second])
        through.objects.bulk_create([through(assessment=later, evidenceitem=third)])
    assert set(later.cited_evidence.all()) == {second, third}
