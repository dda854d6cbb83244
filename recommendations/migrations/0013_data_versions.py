"""Data versions kept by the database: see recommendations/versions.py (filled in below)."""

from django.db import migrations, models


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
    ]
