"""Snapshots carry a chain SHA-256 (covering their content and the report's snapshot before
them) and a signature of it made with the server's secret key. Snapshots published before
this are chained and signed here, in publication order."""

import hashlib

from django.conf import settings
from django.db import migrations, models
from django.utils.crypto import salted_hmac

SALT = "recommendations.Snapshot.chain"  # as models.SNAPSHOT_SIGNING_SALT


def chain_and_sign(apps, schema_editor) -> None:
    Snapshot = apps.get_model("recommendations", "Snapshot")
    table = Snapshot._meta.db_table
    postgresql = schema_editor.connection.vendor == "postgresql"
    if postgresql:  # the append-only triggers refuse UPDATE; the owner lifts them for this
        schema_editor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    previous: dict[int, str] = {}
    for snapshot in Snapshot.objects.order_by("pk"):
        before = previous.get(snapshot.report_id, "")
        chain = hashlib.sha256((before + snapshot.content_sha256).encode()).hexdigest()
        signature = salted_hmac(SALT, chain, secret=settings.SECRET_KEY, algorithm="sha256")
        Snapshot.objects.filter(pk=snapshot.pk).update(
            previous_sha256=before, chain_sha256=chain, signature=signature.hexdigest()
        )
        previous[snapshot.report_id] = chain
    if postgresql:
        schema_editor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


class Migration(migrations.Migration):
    dependencies = [("recommendations", "0008_append_only_gaps")]

    operations = [
        migrations.AddField(
            model_name="snapshot",
            name="previous_sha256",
            field=models.CharField(
                blank=True,
                default="",
                help_text="The chain SHA-256 of the report's snapshot before this one (none: first).",
                max_length=64,
                verbose_name="previous chain SHA-256",
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="snapshot",
            name="chain_sha256",
            field=models.CharField(
                default="",
                help_text="SHA-256 of the previous chain SHA-256 followed by the content SHA-256.",
                max_length=64,
                verbose_name="chain SHA-256",
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="snapshot",
            name="signature",
            field=models.CharField(
                default="",
                help_text="HMAC-SHA256 of the chain SHA-256 with the server's secret key.",
                max_length=64,
            ),
            preserve_default=False,
        ),
        migrations.RunPython(chain_and_sign, migrations.RunPython.noop, elidable=False),
    ]
