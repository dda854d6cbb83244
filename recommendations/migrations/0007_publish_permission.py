"""Publishing a snapshot takes its own permission, and the Coordinators group holds what a
coordinator needs: curating reports, evidence, organizations, people and review cycles in
admin, reading assessments and comments, publishing snapshots, lifting log-in lock-outs."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

COORDINATORS = "Coordinators"

# (app label, model, actions)
COORDINATOR_PERMISSIONS = [
    ("recommendations", "report", ["view", "change"]),
    ("recommendations", "section", ["view"]),
    ("recommendations", "paragraph", ["view"]),
    ("recommendations", "recommendation", ["view", "change"]),
    ("recommendations", "evidenceitem", ["view", "add", "change", "delete"]),
    ("recommendations", "evidencelink", ["view", "add", "change", "delete"]),
    ("recommendations", "historicalevidencelink", ["view"]),
    ("recommendations", "organization", ["view", "add", "change"]),
    ("recommendations", "membership", ["view", "add", "change", "delete"]),
    ("recommendations", "reviewcycle", ["view", "add", "change"]),
    ("recommendations", "assessment", ["view"]),
    ("recommendations", "comment", ["view", "change", "delete"]),
    ("recommendations", "snapshot", ["view", "publish"]),
    ("auth", "user", ["view", "add", "change"]),
    ("axes", "accessattempt", ["view", "delete"]),
]


def codename(action: str, model: str) -> str:
    return "publish_snapshot" if action == "publish" else f"{action}_{model}"


def create_coordinators(apps, schema_editor):
    # Permissions are normally created after all migrations; this one needs them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=COORDINATORS)
    for app_label, model, actions in COORDINATOR_PERMISSIONS:
        for action in actions:
            permission = Permission.objects.filter(
                content_type__app_label=app_label,
                content_type__model=model,
                codename=codename(action, model),
            ).first()
            if permission is None:
                raise RuntimeError(f"Missing permission {app_label}.{codename(action, model)}")
            group.permissions.add(permission)


def remove_coordinators(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=COORDINATORS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("recommendations", "0006_history_index"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("axes", "0010_accessattemptexpiration"),
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
        migrations.RunPython(create_coordinators, remove_coordinators),
    ]
