"""Data versions kept by the database (recommendations/versions.py): the table, a token for
what exists already, and the triggers that change a token on every write a page would show.

Frozen: the tables followed and the triggers' SQL are copied here as they stand at this
migration, so that later changes to the app's code never change what it creates. A later change
to the tracked tables adds a migration with the triggers' SQL as of then (0016 reinstalls these)."""

import secrets
from dataclasses import dataclass

from django.db import migrations, models

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


def install(schema_editor) -> None:
    """(Re)create the triggers of every tracked table."""
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


def uninstall(schema_editor) -> None:
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


def create(apps, schema_editor) -> None:
    schema_editor.execute(CREATE_TABLE)
    Report = apps.get_model("recommendations", "Report")
    scopes = [GLOBAL, *Report.objects.values_list("pk", flat=True)]
    for scope in scopes:
        schema_editor.execute(
            f"INSERT INTO {TABLE} (scope, token) VALUES (%s, %s)",
            [scope, secrets.token_hex(16)],
        )
    install(schema_editor)


def drop(apps, schema_editor) -> None:
    uninstall(schema_editor)
    schema_editor.execute(f"DROP TABLE {TABLE}")


class Migration(migrations.Migration):
    dependencies = [("recommendations", "0012_preferences_language")]

    operations = [
        migrations.CreateModel(
            name="DataVersion",
            fields=[
                ("scope", models.BigIntegerField(primary_key=True, serialize=False)),
                ("token", models.CharField(max_length=64)),
            ],
            options={"db_table": "tracker_data_version", "managed": False},
        ),
        migrations.RunPython(create, drop, elidable=False),
    ]
