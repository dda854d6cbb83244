"""Data versions kept by the database, so that a cached page can never be stale.

Triggers (installed by migration 0013, on PostgreSQL and SQLite alike) give a scope a new random
token on every insert, update or delete of a row a page shows, whoever writes it: the ORM, the
admin, a bulk update, raw SQL, `loaddata`, `restore_data`. A scope is a report's id for
the rows of that report (its text, recommendations, evidence, assessments, comments, lineage,
responsibilities, snapshots) and GLOBAL for what every page may show (people's names,
organizations, memberships, review cycles, and the reports themselves). A row whose report
cannot be found any more (its parents already deleted) changes GLOBAL, and so does a TRUNCATE.

A token is random rather than a counter so that it can never come back: not after a rolled-back
transaction, a restore into a new database, or a wipe of the table itself. The pages of a report
are keyed by the tokens of GLOBAL and of every report of its country (a recommendation page
shows its predecessors of earlier years), read in one query with the viewer's membership
(`fingerprint_and_membership`).

What pages do not show is not followed: sessions, preferences, who follows what (the follow
button is rendered for each request), sent mail, the audit history, log-in attempts, and the
users' other columns (a log-in writes last_login, which would otherwise empty every cache).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from hashlib import sha256
from typing import Any, NamedTuple, cast

from django.db import connection
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.models import Model

from .models import Membership, Organization

TABLE = "tracker_data_version"
GLOBAL = 0

CREATE_TABLE = f"CREATE TABLE {TABLE} (scope bigint PRIMARY KEY, token varchar(64) NOT NULL)"


def _report_of_recommendation(column: str) -> str:
    return f"(SELECT report_id FROM recommendations_recommendation WHERE id = {{row}}.{column})"


@dataclass(frozen=True)
class Tracked:
    """A table a page shows, and the scopes a changed row of it touches: SQL expressions in
    which {row} stands for OLD or NEW."""

    table: str
    scopes: tuple[str, ...]
    columns: tuple[str, ...] = ()  # when set, only updates of these columns count


TRACKED = [
    Tracked("auth_user", ("0",), columns=("username", "first_name", "last_name")),
    Tracked("recommendations_organization", ("0",)),
    Tracked("recommendations_membership", ("0",)),
    Tracked("recommendations_reviewcycle", ("0",)),
    Tracked("recommendations_report", ("0", "{row}.id")),
    Tracked("recommendations_section", ("{row}.report_id",)),
    Tracked("recommendations_paragraph", ("{row}.report_id",)),
    Tracked("recommendations_recommendation", ("{row}.report_id",)),
    Tracked("recommendations_evidenceitem", ("{row}.report_id",)),
    Tracked("recommendations_snapshot", ("{row}.report_id",)),
    Tracked("recommendations_evidencelink", (_report_of_recommendation("recommendation_id"),)),
    Tracked("recommendations_assessment", (_report_of_recommendation("recommendation_id"),)),
    Tracked("recommendations_comment", (_report_of_recommendation("recommendation_id"),)),
    Tracked("recommendations_responsibility", (_report_of_recommendation("recommendation_id"),)),
    Tracked(
        "recommendations_lineage",
        (
            _report_of_recommendation("recommendation_id"),
            _report_of_recommendation("previous_id"),
        ),
    ),
    Tracked(
        "recommendations_assessment_cited_evidence",
        (
            "(SELECT r.report_id FROM recommendations_assessment a"
            " JOIN recommendations_recommendation r ON r.id = a.recommendation_id"
            " WHERE a.id = {row}.assessment_id)",
        ),
    ),
    Tracked(
        "recommendations_responsibility_supporting",
        (
            # A responsibility's key is its recommendation's.
            _report_of_recommendation("responsibility_id"),
        ),
    ),
]


# --- the triggers ---------------------------------------------------------------------------

POSTGRESQL_BUMP = f"""
CREATE OR REPLACE FUNCTION tracker_bump_version(changed bigint) RETURNS void LANGUAGE sql AS $$
    INSERT INTO {TABLE} (scope, token) VALUES (coalesce(changed, 0), gen_random_uuid()::text)
    ON CONFLICT (scope) DO UPDATE SET token = excluded.token
$$
"""

POSTGRESQL_TRUNCATED = """
CREATE OR REPLACE FUNCTION tracker_version_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tracker_bump_version(0);
    RETURN NULL;
END
$$
"""


def _postgresql(tracked: Tracked) -> list[str]:
    old = "; ".join(
        f"PERFORM tracker_bump_version({scope.format(row='OLD')})" for scope in tracked.scopes
    )
    new = "; ".join(
        f"PERFORM tracker_bump_version({scope.format(row='NEW')})" for scope in tracked.scopes
    )
    update = "UPDATE OF " + ", ".join(tracked.columns) if tracked.columns else "UPDATE"
    function = f"tracker_version_{tracked.table}"
    return [
        f"""CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN {old}; END IF;
    IF TG_OP <> 'DELETE' THEN {new}; END IF;
    RETURN NULL;
END
$$""",
        f"DROP TRIGGER IF EXISTS {tracked.table}_version ON {tracked.table}",
        f"CREATE TRIGGER {tracked.table}_version AFTER INSERT OR {update} OR DELETE "
        f"ON {tracked.table} FOR EACH ROW EXECUTE FUNCTION {function}()",
        f"DROP TRIGGER IF EXISTS {tracked.table}_version_t ON {tracked.table}",
        f"CREATE TRIGGER {tracked.table}_version_t AFTER TRUNCATE ON {tracked.table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION tracker_version_truncated()",
    ]


def _sqlite(tracked: Tracked) -> list[str]:
    statements = []
    update = "UPDATE OF " + ", ".join(tracked.columns) if tracked.columns else "UPDATE"
    for event, rows in [("INSERT", ["NEW"]), (update, ["OLD", "NEW"]), ("DELETE", ["OLD"])]:
        name = f"{tracked.table}_version_{event.split()[0].lower()}"
        bumps = " ".join(
            # "WHERE true": SQLite needs it to read the ON CONFLICT of an INSERT … SELECT.
            f"INSERT INTO {TABLE} (scope, token) SELECT coalesce({scope.format(row=row)}, 0), "
            "lower(hex(randomblob(16))) WHERE true "
            "ON CONFLICT (scope) DO UPDATE SET token = excluded.token;"
            for row in rows
            for scope in tracked.scopes
        )
        statements += [
            f"DROP TRIGGER IF EXISTS {name}",
            f"CREATE TRIGGER {name} AFTER {event} ON {tracked.table} FOR EACH ROW "
            f"BEGIN {bumps} END",
        ]
    return statements


def install(schema_editor: BaseDatabaseSchemaEditor) -> None:
    """(Re)create the triggers of every tracked table; run by migrations."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        statements = [POSTGRESQL_BUMP, POSTGRESQL_TRUNCATED]
        for tracked in TRACKED:
            statements += _postgresql(tracked)
    elif vendor == "sqlite":
        statements = [s for tracked in TRACKED for s in _sqlite(tracked)]
    else:
        raise NotImplementedError(f"no data-version triggers for {vendor}")
    for statement in statements:
        schema_editor.execute(statement, params=None)  # % in PL/pgSQL is not a placeholder


def uninstall(schema_editor: BaseDatabaseSchemaEditor) -> None:
    vendor = schema_editor.connection.vendor
    for tracked in TRACKED:
        if vendor == "postgresql":
            for name in (f"{tracked.table}_version", f"{tracked.table}_version_t"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {tracked.table}")
            schema_editor.execute(f"DROP FUNCTION IF EXISTS tracker_version_{tracked.table}()")
        else:
            for event in ("insert", "update", "delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {tracked.table}_version_{event}")
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS tracker_version_truncated()")
        schema_editor.execute("DROP FUNCTION IF EXISTS tracker_bump_version(bigint)")


# --- reading them ---------------------------------------------------------------------------

# The reports whose data a page of the report %s (a slug) may show: those of its country.
COUNTRY_REPORTS = """
    SELECT other.id FROM recommendations_report report
    JOIN recommendations_report other ON other.country = report.country
    WHERE report.slug = %s
"""


class DataVersions(NamedTuple):
    """What the pages of a report show, as one string (`fingerprint`), and the membership of
    the user asking, with its organization."""

    fingerprint: str | None  # None when there is no GLOBAL token (nothing to key a cache by)
    membership: Membership | None  # None when the user has none


@cache
def _versions_and_membership() -> str:
    """The tokens of a report's pages and, on every row, the membership of the user %s (none
    when NULL) with its organization: every concrete column of both, so that the instances
    built from it are whole (a field added to either model is read too)."""
    columns = ", ".join(
        f"{table}.{connection.ops.quote_name(cast(str, field.column))}"  # concrete: it has one
        for table, model in (("membership", Membership), ("organization", Organization))
        for field in model._meta.concrete_fields
    )
    return f"""
SELECT version.scope, version.token, {columns}
FROM {TABLE} version
LEFT JOIN {Membership._meta.db_table} membership ON membership.user_id = %s
LEFT JOIN {Organization._meta.db_table} organization
       ON organization.id = membership.organization_id
WHERE version.scope = 0 OR version.scope IN ({COUNTRY_REPORTS})
ORDER BY version.scope
"""


def fingerprint_and_membership(report_slug: str, user_id: int | None) -> DataVersions:
    """What the pages of this report show, as one string that changes whenever any of it
    changes (the tokens of GLOBAL and of every report of its country), and the membership of
    the user (None: no user), as model instances with its organization: what a cached page
    needs to know about a request, in one query."""
    with connection.cursor() as cursor:
        cursor.execute(_versions_and_membership(), [user_id, report_slug])
        rows = cursor.fetchall()
    if not rows or rows[0][0] != GLOBAL:
        return DataVersions(None, None)
    fingerprint = digest([(scope, token) for scope, token, *_ in rows])
    return DataVersions(fingerprint, _membership(rows[0][2:]))


def _membership(row: Sequence[Any]) -> Membership | None:
    """The membership and its organization from their columns (as _versions_and_membership
    selects them), built as a query builds them; None when the row has none."""
    fields = Membership._meta.concrete_fields
    membership_row, organization_row = row[: len(fields)], row[len(fields) :]
    if membership_row[fields.index(Membership._meta.pk)] is None:
        return None
    membership = _instance(Membership, membership_row)
    # Where Django keeps a related object it has read (as select_related does).
    membership._state.fields_cache["organization"] = _instance(Organization, organization_row)
    return membership


def _instance[M: Model](model: type[M], values: Sequence[Any]) -> M:
    """An instance of the model from its concrete columns as the cursor returned them,
    converted as a query converts them (on SQLite: booleans, dates, decimals, …)."""
    fields = model._meta.concrete_fields
    converted = []
    for field, value in zip(fields, values, strict=True):
        column = field.get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        for converter in converters:
            value = converter(value, column, connection)
        converted.append(value)
    return model.from_db(connection.alias, [field.attname for field in fields], converted)


def digest(tokens: list[tuple[int, str]]) -> str:
    return sha256(";".join(f"{scope}:{token}" for scope, token in tokens).encode()).hexdigest()
