"""The backup format and its restore (`backup_data`, `restore_data`).

A backup is a JSON list in Django's serialization format ("exact-json", which keeps timestamps
to the microsecond) holding every row of every table it covers, each with its own id, the
many-to-many tables as rows of their own. Keeping ids is what makes a restore exact: whatever
points at a row by its id (preferences and sent mail at a user, the audit trail at a deleted
user, a citation at an assessment) points at the same row after a restore. Only references to
content types and permissions are written as natural keys, because `migrate` creates those and
numbers them in its own order.

A restore inserts the rows as they are, in one transaction: nothing runs the application's
save logic, the audit trail records nothing new (every row it holds comes from the backup), and
on any error nothing is written, the id sequences included.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.management.color import no_style
from django.core.serializers import base
from django.core.serializers.python import Deserializer
from django.db import DatabaseError, connection, models, transaction
from django.test.utils import override_settings

from .exact_json import Serializer as ExactJSONSerializer
from .groups import ensure_coordinators_group
from .integrity import integrity_errors

# Recreated by `migrate`, or not worth keeping (sessions, log-in throttling records, the queue
# of background tasks, the prepared downloads: made again on demand); the data versions must
# never be restored: the old tokens would make pages cached since valid again.
EXCLUDED_APPS = {"contenttypes", "sessions", "axes", "django_tasks_db"}
EXCLUDED_MODELS = {
    "auth.permission",
    "recommendations.dataversion",
    "recommendations.prepareddownload",
}

# Numbered by `migrate` in each database: referred to by natural key, never by id.
NUMBERED_BY_MIGRATE: tuple[type[models.Model], ...] = (ContentType, Permission)

# Created by `migrate` in an empty database (the Coordinators group); replaced by the backup's.
CREATED_BY_MIGRATE: tuple[type[models.Model], ...] = (Group, Group.permissions.through)


class BackupError(Exception):
    """A backup that cannot be restored, and why."""


def backed_up_models() -> list[type[models.Model]]:
    """Every table a backup holds, in the order a restore inserts them: the app registry's
    order (a membership, current or historical, before the comments its author wrote, which a
    PostgreSQL trigger checks), and the many-to-many tables last (a citation is accepted only
    for an assessment already inserted in the same transaction)."""
    tables: list[type[models.Model]] = []
    many_to_many: list[type[models.Model]] = []
    for model in apps.get_models(include_auto_created=True):
        options = model._meta
        if options.app_label in EXCLUDED_APPS or options.label_lower in EXCLUDED_MODELS:
            continue
        if not options.managed or options.proxy:
            continue
        (many_to_many if options.auto_created else tables).append(model)
    return tables + many_to_many


class BackupSerializer(ExactJSONSerializer):
    """Every field as stored, ids included; only content types and permissions by natural key.
    Many-to-many fields are left out: their tables are written as rows of their own."""

    def handle_fk_field(self, obj: models.Model, field: models.Field) -> None:
        self.use_natural_foreign_keys = field.related_model in NUMBERED_BY_MIGRATE
        super().handle_fk_field(obj, field)

    def handle_m2m_field(self, obj: models.Model, field: models.Field) -> None:
        pass


def all_rows() -> Iterator[models.Model]:
    for model in backed_up_models():
        yield from model._base_manager.order_by("pk").iterator()


def write_backup(stream: IO[str]) -> None:
    """Write every backed-up row to the stream, all read from one snapshot of the database
    (rows written meanwhile, such as an assessment and its citations, are wholly in or out)."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        BackupSerializer().serialize(all_rows(), stream=stream, indent=1)


def read_backup(path: Path) -> list[dict[str, Any]]:
    """The objects of a backup file, each checked for the shape backup_data writes."""
    try:
        objects = json.loads(path.read_bytes())
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise BackupError(f"{path} is not a backup written by backup_data: {error}") from error
    if not isinstance(objects, list):
        raise BackupError(f"{path} is not a backup written by backup_data: not a JSON list")
    labels = {model._meta.label_lower for model in backed_up_models()}
    for number, item in enumerate(objects, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("fields"), dict):
            raise BackupError(f"object {number} of {path} is not a model row")
        label = item.get("model")
        if not isinstance(label, str) or label.lower() not in labels:
            raise BackupError(
                f"object {number} of {path} is a row of {label!r}, which backup_data never writes"
            )
        if item.get("pk") is None:
            raise BackupError(
                f"object {number} of {path} ({label}) has no id; backups written before "
                "backup_data kept ids cannot be restored exactly"
            )
    return objects


def tables_holding_data() -> list[str]:
    """The backed-up tables that already hold rows, but for those `migrate` fills."""
    return [
        model._meta.label
        for model in backed_up_models()
        if model not in CREATED_BY_MIGRATE and model._base_manager.exists()
    ]


def restore(objects: list[dict[str, Any]]) -> None:
    """Insert the objects into an empty database exactly as they are, or nothing on any
    error."""
    # History off: a save must not record anything new; every audit row comes from the backup.
    with override_settings(SIMPLE_HISTORY_ENABLED=False), transaction.atomic():
        for model in reversed(CREATED_BY_MIGRATE):
            model._base_manager.all().delete()
        inserted = 0
        try:
            for row in Deserializer(objects):
                # Raw: no save logic runs (each row was checked when it was first saved).
                # Forced INSERT: the tables are empty, and the append-only ones refuse UPDATE.
                row.object.save_base(raw=True, force_insert=True)
                inserted += 1
        except (
            base.DeserializationError,
            FieldDoesNotExist,
            ValidationError,
            DatabaseError,
            TypeError,
            ValueError,
        ) as error:
            failed = objects[inserted]
            raise BackupError(
                f"object {inserted + 1} ({failed['model']}, id {failed['pk']}): {error}"
            ) from error
        ensure_coordinators_group()  # a backup of an older release may lack a permission
        try:
            connection.check_constraints()
        except DatabaseError as error:
            raise BackupError(
                f"a restored row refers to a row that does not exist: {error}"
            ) from error
        if errors := integrity_errors():
            raise BackupError("the restored data fails its checks:\n" + "\n".join(errors))
        # Last: PostgreSQL does not roll back a sequence, so nothing may fail after this.
        reset_sequences(backed_up_models())


def reset_sequences(tables: list[type[models.Model]]) -> None:
    """Make each table's next id follow the largest restored one (PostgreSQL; SQLite follows
    the largest id by itself)."""
    statements = connection.ops.sequence_reset_sql(no_style(), tables)
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
