"""Data versions kept by the database (recommendations/versions.py): the table, a token for
what exists already, and the triggers that change a token on every write a page would show.
A later change to the tracked tables adds a migration that calls versions.install() again."""

import secrets

from django.db import migrations, models

from recommendations import versions


def create(apps, schema_editor) -> None:
    schema_editor.execute(versions.CREATE_TABLE)
    Report = apps.get_model("recommendations", "Report")
    scopes = [versions.GLOBAL, *Report.objects.values_list("pk", flat=True)]
    for scope in scopes:
        schema_editor.execute(
            f"INSERT INTO {versions.TABLE} (scope, token) VALUES (%s, %s)",
            [scope, secrets.token_hex(16)],
        )
    versions.install(schema_editor)


def drop(apps, schema_editor) -> None:
    versions.uninstall(schema_editor)
    schema_editor.execute(f"DROP TABLE {versions.TABLE}")


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
