"""Snapshots are signed together with their report, title, publisher and publication date
(signing scheme 2). Snapshots published before keep scheme 1: their content stays verified as
it was, and they say that their metadata is not signed. Nothing is re-signed here, since
signing what the database holds now would vouch for whatever may have been changed in it."""

from importlib import import_module

from django.db import migrations, models

# The data-version triggers as of this migration: unchanged since 0013, which froze them.
data_versions = import_module("recommendations.migrations.0013_data_versions")


def reinstall_data_version_triggers(apps, schema_editor) -> None:
    # SQLite adds these columns by copying the table, which drops its triggers.
    data_versions.install(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("recommendations", "0015_single_line_names")]

    operations = [
        migrations.AddField(
            model_name="snapshot",
            name="signed_metadata",
            field=models.TextField(
                blank=True,
                help_text=(
                    "The report, title, publisher and publication date as they were signed "
                    "(JSON); empty under signing scheme 1."
                ),
                verbose_name="signed metadata",
            ),
        ),
        migrations.AddField(
            model_name="snapshot",
            name="signing_scheme",
            field=models.PositiveSmallIntegerField(
                default=1,
                help_text=(
                    "1: the signature covers the content and the chain only (published before "
                    "the metadata was signed). 2: also the report, title, publisher and "
                    "publication date."
                ),
                verbose_name="signing scheme",
            ),
        ),
        migrations.RunPython(
            reinstall_data_version_triggers, migrations.RunPython.noop, elidable=False
        ),
    ]
