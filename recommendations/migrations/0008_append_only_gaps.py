"""Closes the gaps in the append-only rule (security review, issue 11, items 4 and 6).

Comments become append-only like assessments: the recommendation a comment is on can no longer
be deleted from under it (PROTECT instead of CASCADE), and deleting an evidence item no longer
updates comments (DO_NOTHING instead of SET_NULL: an item a comment refers to is not deleted).

On PostgreSQL, whoever connects:

- TRUNCATE of an append-only table (assessments, their cited evidence, snapshots, comments) is
  refused by a statement-level trigger, as UPDATE and DELETE already are (0005); comments get
  the UPDATE/DELETE trigger too.
- An assessment's cited evidence is written only in the transaction that recorded the
  assessment. Each assessment row carries a column Django does not know, `recorded_in`: the
  id and start time of the transaction that inserted it, set by the database (the column's
  default). A citation is accepted only for an assessment whose `recorded_in` is the current
  transaction's. Savepoints do not matter (the top-level transaction id is the same inside
  them); nobody can claim another transaction's id, and the start time keeps the stamp unique
  even in a cluster restored with pg_dump, whose transaction ids start over. Rows written
  before this migration have none, so they never gain a citation.
- A comment's author must be a member of the comment's organization: now, or earlier according
  to the membership audit trail (so that a restored history whose authors have since moved to
  another organization still loads). The model checks the stricter rule for new comments: the
  author's current organization.
"""

from django.db import migrations, models
import django.db.models.deletion

APPEND_ONLY_TABLES = [
    "recommendations_assessment",
    "recommendations_assessment_cited_evidence",
    "recommendations_snapshot",
    "recommendations_comment",
]

TRANSACTION_STAMP = """
CREATE OR REPLACE FUNCTION tracker_transaction_stamp() RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT pg_current_xact_id()::text || '@' || extract(epoch FROM transaction_timestamp())::text
$$
"""

REFUSE_LATE_CITATION = """
CREATE OR REPLACE FUNCTION tracker_refuse_late_citation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM recommendations_assessment
        WHERE id = NEW.assessment_id AND recorded_in = tracker_transaction_stamp()
    ) THEN
        RAISE EXCEPTION '% is append-only: INSERT refused, assessment % was recorded in another transaction',
            TG_TABLE_NAME, NEW.assessment_id;
    END IF;
    RETURN NEW;
END
$$
"""

REFUSE_COMMENT_OUTSIDER = """
CREATE OR REPLACE FUNCTION tracker_refuse_comment_outsider() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM recommendations_membership
        WHERE user_id = NEW.author_id AND organization_id = NEW.organization_id
    ) AND NOT EXISTS (
        SELECT 1 FROM recommendations_historicalmembership
        WHERE user_id = NEW.author_id AND organization_id = NEW.organization_id
    ) THEN
        RAISE EXCEPTION 'comment refused: user % is not a member of organization %',
            NEW.author_id, NEW.organization_id;
    END IF;
    RETURN NEW;
END
$$
"""


def create_triggers(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    execute = schema_editor.execute
    # tracker_refuse_change() comes from 0005; its % are PL/pgSQL's, hence params=None here.
    for table in APPEND_ONLY_TABLES:
        execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION tracker_refuse_change()"
        )
    execute(
        "CREATE TRIGGER recommendations_comment_append_only BEFORE UPDATE OR DELETE ON "
        "recommendations_comment FOR EACH ROW EXECUTE FUNCTION tracker_refuse_change()"
    )

    execute(TRANSACTION_STAMP, params=None)
    execute("ALTER TABLE recommendations_assessment ADD COLUMN recorded_in text")
    execute(
        "ALTER TABLE recommendations_assessment "
        "ALTER COLUMN recorded_in SET DEFAULT tracker_transaction_stamp()"
    )
    execute(REFUSE_LATE_CITATION, params=None)
    execute(
        "CREATE TRIGGER recommendations_assessment_cited_evidence_same_transaction "
        "BEFORE INSERT ON recommendations_assessment_cited_evidence "
        "FOR EACH ROW EXECUTE FUNCTION tracker_refuse_late_citation()"
    )

    execute(REFUSE_COMMENT_OUTSIDER, params=None)
    execute(
        "CREATE TRIGGER recommendations_comment_author_in_organization BEFORE INSERT ON "
        "recommendations_comment FOR EACH ROW EXECUTE FUNCTION tracker_refuse_comment_outsider()"
    )


def drop_triggers(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    execute = schema_editor.execute
    execute(
        "DROP TRIGGER IF EXISTS recommendations_comment_author_in_organization "
        "ON recommendations_comment"
    )
    execute("DROP FUNCTION IF EXISTS tracker_refuse_comment_outsider()")
    execute(
        "DROP TRIGGER IF EXISTS recommendations_assessment_cited_evidence_same_transaction "
        "ON recommendations_assessment_cited_evidence"
    )
    execute("DROP FUNCTION IF EXISTS tracker_refuse_late_citation()")
    execute("ALTER TABLE recommendations_assessment DROP COLUMN IF EXISTS recorded_in")
    execute("DROP FUNCTION IF EXISTS tracker_transaction_stamp()")
    execute("DROP TRIGGER IF EXISTS recommendations_comment_append_only ON recommendations_comment")
    for table in APPEND_ONLY_TABLES:
        execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")


class Migration(migrations.Migration):
    dependencies = [("recommendations", "0007_publish_permission")]

    operations = [
        migrations.AlterField(
            model_name="comment",
            name="recommendation",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="comments",
                to="recommendations.recommendation",
            ),
        ),
        migrations.AlterField(
            model_name="comment",
            name="evidence",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="comments",
                to="recommendations.evidenceitem",
            ),
        ),
        migrations.RunPython(create_triggers, drop_triggers, elidable=False),
    ]
