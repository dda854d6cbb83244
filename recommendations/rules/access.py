"""Who may do what (one definition each; see docs/design.md, "Users and roles")."""

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from ..models import Membership, Report

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

WRITERS_ONLY = _("Only reviewers write, and only for their own organization.")


def membership_of(user: "User | AnonymousUser") -> "Membership | None":
    """The user's membership with its organization, or None; fetched once per user object."""
    if not user.is_authenticated:
        return None
    cache = user.__dict__
    if "_membership_of" not in cache:
        membership = Membership.objects.select_related("organization").filter(user=user).first()
        if membership is not None:
            user.membership = membership  # later user.membership reads need no query
        cache["_membership_of"] = membership
    return cache["_membership_of"]


def remember_membership(user: "User", membership: "Membership | None") -> None:
    """Keep a membership read by another query (recommendations.caching) where
    membership_of finds it, so that the request reads it once."""
    if membership is not None:
        user.membership = membership
    user.__dict__["_membership_of"] = membership


OTHER_COUNTRY = _("Reviewers assess only the reports of their organization's country.")


def writer_membership(user: "User | AnonymousUser", report: "Report | None" = None) -> "Membership":
    """The membership the user writes for; PermissionDenied unless they may write (on
    `report`, when given).

    Reviewers write assessments and comments, only for their own organization, and only on the
    reports of their organization's country.
    """
    membership = membership_of(user)
    if membership is None or not membership.can_write:
        raise PermissionDenied(WRITERS_ONLY)
    if report is not None and membership.organization.country != report.country:
        raise PermissionDenied(OTHER_COUNTRY)
    return membership


def may_write(user: "User | AnonymousUser", report: "Report | None" = None) -> bool:
    """Whether the user may write (on `report`, when given; see writer_membership)."""
    try:
        writer_membership(user, report)
    except PermissionDenied:
        return False
    return True


PUBLISH_PERMISSION = "recommendations.publish_snapshot"


def may_publish(user: "User | AnonymousUser") -> bool:
    """Publishing a snapshot writes a permanent, official status report: it takes the
    `publish_snapshot` permission (the Coordinators group has it), not merely staff status."""
    return user.is_active and user.has_perm(PUBLISH_PERMISSION)


PUBLISH_PUBLICLY_PERMISSION = "recommendations.publish_publicly"
PUBLISHING_PUBLICLY_ONLY = _("Making a snapshot public needs the public publishing permission.")


def may_publish_publicly(user: "User | AnonymousUser") -> bool:
    """Making a published snapshot readable by anyone, or withdrawing it: the
    `publish_publicly` permission (the Coordinators group has it)."""
    return user.is_active and user.has_perm(PUBLISH_PUBLICLY_PERMISSION)


CURATION_PERMISSIONS = (
    "recommendations.add_evidenceitem",
    "recommendations.change_evidenceitem",
    "recommendations.delete_evidenceitem",
    "recommendations.add_evidencelink",
    "recommendations.change_evidencelink",
    "recommendations.delete_evidencelink",
)


def may_curate(user: "User | AnonymousUser") -> bool:
    """Curating evidence outside admin takes what it takes in admin: staff status and the
    permissions on evidence items and their links (the Coordinators group holds them)."""
    return user.is_active and user.is_staff and user.has_perms(CURATION_PERMISSIONS)


def drafts_for_any_organization(user: "User | AnonymousUser") -> bool:
    """Coordinators (who publish for everyone) may draft any organization's submission; a
    reviewer drafts only their own organization's (`writer_membership`), an observer none."""
    return user.is_active and user.is_staff and user.has_perm(PUBLISH_PERMISSION)
