"""The Coordinators group: the permissions a coordinator needs to curate data in admin, read
assessments and comments, publish snapshots and lift log-in lock-outs.

Kept in step with COORDINATOR_PERMISSIONS after every `migrate` (and every flush, which
empties the table), by the post_migrate handler connected in apps.py. Permissions granted to
the group by hand in admin are kept; only missing ones are added.
"""

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import DEFAULT_DB_ALIAS

COORDINATORS = "Coordinators"

# (app label, model, codenames)
COORDINATOR_PERMISSIONS = [
    # add_report: importing a chapter in admin (the importer's upload, preview and confirm).
    ("recommendations", "report", ["view_report", "add_report", "change_report"]),
    ("recommendations", "section", ["view_section"]),
    ("recommendations", "paragraph", ["view_paragraph"]),
    ("recommendations", "recommendation", ["view_recommendation", "change_recommendation"]),
    (
        "recommendations",
        "evidenceitem",
        ["view_evidenceitem", "add_evidenceitem", "change_evidenceitem", "delete_evidenceitem"],
    ),
    (
        "recommendations",
        "evidencelink",
        ["view_evidencelink", "add_evidencelink", "change_evidencelink", "delete_evidencelink"],
    ),
    ("recommendations", "historicalevidencelink", ["view_historicalevidencelink"]),
    # Declined in the evidence workspace; deleting one proposes that carried quote again.
    ("recommendations", "declinedcarry", ["view_declinedcarry", "delete_declinedcarry"]),
    (
        "recommendations",
        "responsibility",
        [
            "view_responsibility",
            "add_responsibility",
            "change_responsibility",
            "delete_responsibility",
        ],
    ),
    ("recommendations", "lineage", ["view_lineage", "change_lineage"]),
    ("recommendations", "historicallineage", ["view_historicallineage"]),
    ("recommendations", "sentmail", ["view_sentmail"]),
    (
        "recommendations",
        "organization",
        ["view_organization", "add_organization", "change_organization"],
    ),
    (
        "recommendations",
        "membership",
        ["view_membership", "add_membership", "change_membership", "delete_membership"],
    ),
    (
        "recommendations",
        "reviewcycle",
        ["view_reviewcycle", "add_reviewcycle", "change_reviewcycle"],
    ),
    (
        "recommendations",
        "submissiondeadline",
        ["view_submissiondeadline", "add_submissiondeadline", "change_submissiondeadline"],
    ),
    ("recommendations", "assessment", ["view_assessment"]),
    ("recommendations", "comment", ["view_comment", "change_comment", "delete_comment"]),
    ("recommendations", "snapshot", ["view_snapshot", "publish_snapshot"]),
    ("recommendations", "publiccopy", ["view_publiccopy", "publish_publicly"]),
    ("recommendations", "historicalpubliccopy", ["view_historicalpubliccopy"]),
    ("auth", "user", ["view_user", "add_user", "change_user"]),
    # Inviting people: they set their own passwords (recommendations/invitations.py).
    ("recommendations", "invitation", ["view_invitation", "add_invitation", "change_invitation"]),
    ("recommendations", "historicalinvitation", ["view_historicalinvitation"]),
    ("axes", "accessattempt", ["view_accessattempt", "delete_accessattempt"]),
]


def ensure_coordinators_group(using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    group, _ = Group.objects.using(using).get_or_create(name=COORDINATORS)
    wanted = []
    for app_label, model, codenames in COORDINATOR_PERMISSIONS:
        found = Permission.objects.using(using).filter(
            content_type__app_label=app_label, content_type__model=model, codename__in=codenames
        )
        missing = set(codenames) - {p.codename for p in found}
        if missing:
            raise RuntimeError(f"Coordinators group: no permission {sorted(missing)} on {model}")
        wanted += list(found)
    group.permissions.add(*wanted)
