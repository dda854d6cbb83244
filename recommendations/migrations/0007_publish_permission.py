"""Publishing a snapshot takes its own permission. The Coordinators group that holds it is
kept up to date after every migrate (recommendations.groups)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("recommendations", "0006_history_index"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="snapshot",
            options={
                "get_latest_by": ["published_at", "pk"],
                "ordering": ["-published_at", "-pk"],
                "permissions": [("publish_snapshot", "Can publish a snapshot of the status report")],
            },
        ),
    ]
