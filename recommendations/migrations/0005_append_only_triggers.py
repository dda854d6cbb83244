"""On PostgreSQL the database itself refuses UPDATE and DELETE of assessments, their cited
evidence and published snapshots, whoever connects: the append-only rule does not rest on the
application alone. (TRUNCATE, an owner's tool, is left alone.)"""

from django.db import migrations

APPEND_ONLY_TABLES = [
    "recommendations_assessment",
    "recommendations_assessment_cited_evidence",
    "recommendations_snapshot",
]

CREATE_FUNCTION = """
CREATE OR REPLACE FUNCTION tracker_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END
$$
"""


def create_triggers(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE_FUNCTION, params=None)  # its % are PL/pgSQL, not placeholders
    for table in APPEND_ONLY_TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION tracker_refuse_change()"
        )


def drop_triggers(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in APPEND_ONLY_TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS tracker_refuse_change()")


class Migration(migrations.Migration):
    dependencies = [("recommendations", "0004_audit_trail")]

    operations = [migrations.RunPython(create_triggers, drop_triggers, elidable=False)]
