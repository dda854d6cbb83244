"""The PostgreSQL role the application runs as (SECURITY.md, "Database roles").

The tables belong to an owner role, which runs `migrate`. The application connects as another
role that reads and writes rows but owns nothing: it cannot ALTER a table, drop or disable a
trigger, or TRUNCATE, and it has no UPDATE or DELETE on the append-only tables (but one DELETE,
see app_role_grants; their triggers refuse it anyway). When
DATABASE_APP_ROLE names that role, every `migrate` (run by the owner) ends by granting it
exactly app_role_grants(), so a table is granted as soon as it exists, and nothing more.
"""

from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction


def append_only_tables() -> list[str]:
    """The tables whose rows are written once and never updated, deleted or truncated: the
    append-only models' and the assessments' cited evidence. PostgreSQL triggers refuse the
    rest to everyone (migrations 0005 and 0008); the app role is not even granted it."""
    from .models import AppendOnlyModel

    tables = [
        model._meta.db_table
        for model in apps.get_app_config("recommendations").get_models()
        if issubclass(model, AppendOnlyModel)
    ]
    return sorted([*tables, citations_table()])


def citations_table() -> str:
    from .models import Assessment

    return Assessment.cited_evidence.through._meta.db_table


def app_role_grants(role: str, schema: str, quote: Callable[[str], str]) -> list[str]:
    """The SQL that gives the app role exactly what it needs in the tracker's schema, whatever
    it held before.

    One exception to "no UPDATE or DELETE on the append-only tables": deleting an evidence
    item makes Django delete its citations in one statement, which must be allowed to run
    when it matches no row (a cited item is refused before that, by
    refuse_deleting_cited_evidence); the trigger refuses any row it would remove.
    UPDATE on sequences: loaddata and restore_data set them (setval) after loading rows with
    their ids.
    """
    role, schema = quote(role), quote(schema)
    tables = append_only_tables()
    no_update = ", ".join(quote(table) for table in tables)
    no_delete = ", ".join(quote(table) for table in tables if table != citations_table())
    return [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {role}",
        f"GRANT USAGE ON SCHEMA {schema} TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}",
        f"REVOKE UPDATE ON {no_update} FROM {role}",
        f"REVOKE DELETE ON {no_delete} FROM {role}",
        f"GRANT USAGE, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
    ]


def grant_app_role(using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """After `migrate`: the owner grants DATABASE_APP_ROLE its privileges (PostgreSQL only)."""
    role = settings.DATABASE_APP_ROLE
    connection = connections[using]
    if not role or connection.vendor != "postgresql":
        return
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_schema()")
        user, schema = cursor.fetchone()
        if user == role:
            return  # the app role itself (e.g. a flush in the tests) has nothing to grant
        for statement in app_role_grants(role, schema, connection.ops.quote_name):
            cursor.execute(statement)
