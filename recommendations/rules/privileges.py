"""Who may change accounts, group membership and the organizations positions are counted by.

A coordinator (staff in the Coordinators group) curates reviewer and observer accounts, their
memberships and the organizations. Only a superuser may:

- change `is_superuser`, `is_staff`, a user's groups or permissions, or a group's permissions;
- change another staff or superuser account in any way (password, active flag, e-mail, name);
- give a staff or superuser account a membership (which would let it speak for an organization);
- change the kind or country of an organization that has assessed or commented (which would
  move its positions to the other side, or to another country's reports), or the country of a
  report that has been assessed or commented on (which would change whose positions count).

Whatever a snapshot signs is not changed once it is published: a report's slug is read-only
then, for everyone.

The admin shows these fields read-only to everyone else; the same rules are enforced on every
save (signals connected in apps.py) against the user the current request is acting for, so no
other route can do it either. Saves without a signed-in user — management commands, fixtures,
migrations, the log-in itself (last_login, a password rehash) — are the server's own and allowed.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from django.contrib.auth.models import User as AuthUser
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext

from ..models import Assessment, Comment, Membership, Organization, Report

type Actor = AbstractBaseUser | AnonymousUser

_acting_user: ContextVar[Actor | None] = ContextVar("acting_user", default=None)

# Fields of an account that say what it may do; only a superuser changes them.
PRIVILEGE_FIELDS = ("is_staff", "is_superuser")
# Organization fields that decide whose positions its assessments count as.
COUNTING_FIELDS = ("kind", "country")


class ActingUserMiddleware:
    """Remembers whom the request acts for, so that saves can be checked against it."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _acting_user.set(request.user)
        try:
            return self.get_response(request)
        finally:
            _acting_user.reset(token)


@contextmanager
def acting_as(user: Actor | None) -> Iterator[None]:
    """Check the saves inside as made by `user` (what the middleware does for a request)."""
    token = _acting_user.set(user)
    try:
        yield
    finally:
        _acting_user.reset(token)


def restricted_actor() -> AbstractBaseUser | None:
    """The signed-in user the current request acts for, unless a superuser or nobody."""
    actor = _acting_user.get()
    if actor is None or not actor.is_authenticated:
        return None
    assert isinstance(actor, AbstractBaseUser)
    # As stored: the object in hand may be the very account being changed.
    if AuthUser.objects.filter(pk=actor.pk, is_superuser=True).exists():
        return None
    return actor


def is_privileged(user: AuthUser) -> bool:
    return user.is_staff or user.is_superuser


def may_change_account(actor: Actor, account: AuthUser) -> bool:
    """Whether `actor` may edit `account` at all: a superuser any account, others themselves
    and accounts without staff status."""
    if getattr(actor, "is_superuser", False):
        return True
    return not is_privileged(account) or account.pk == actor.pk


def may_give_membership(actor: Actor, account: AuthUser) -> bool:
    """Staff speak for no organization unless a superuser decides otherwise."""
    return getattr(actor, "is_superuser", False) or not is_privileged(account)


def has_taken_positions(organization: Organization) -> bool:
    return (
        Assessment.objects.filter(organization=organization).exists()
        or Comment.objects.filter(organization=organization).exists()
    )


def report_has_positions(report: Report) -> bool:
    return (
        Assessment.objects.filter(recommendation__report=report).exists()
        or Comment.objects.filter(recommendation__report=report).exists()
    )


def refused_account_change(
    actor: AbstractBaseUser, before: AuthUser | None, after: AuthUser
) -> str:
    """Why `actor` (not a superuser) may not save `after` over `before`; "" if they may."""
    if before is None:
        if is_privileged(after):
            return gettext("Only a superuser may create a staff or superuser account.")
        return ""
    if any(getattr(before, field) != getattr(after, field) for field in PRIVILEGE_FIELDS):
        return gettext("Only a superuser may change staff or superuser status.")
    if before.pk != actor.pk and before.email.lower() != after.email.lower():
        # Where a password reset goes: whoever changes it could choose the person's password.
        return gettext("Only a superuser may change another person's e-mail address.")
    if not is_privileged(before):
        return ""
    changed = {
        field.attname
        for field in AuthUser._meta.concrete_fields
        if getattr(before, field.attname) != getattr(after, field.attname)
    } - {"last_login"}
    own_account = before.pk == actor.pk
    if not own_account and changed:
        return gettext("Only a superuser may change another staff or superuser account.")
    if own_account and "is_active" in changed:
        return gettext("Only a superuser may change whether a staff account is active.")
    return ""


def check_account_save(sender: type[Model], instance: AuthUser, raw: bool, **kwargs: Any) -> None:
    actor = restricted_actor()
    if raw or actor is None:
        return
    before = AuthUser.objects.filter(pk=instance.pk).first() if instance.pk else None
    if reason := refused_account_change(actor, before, instance):
        raise PermissionDenied(reason)


def check_privilege_grant(sender: type[Model], action: str, **kwargs: Any) -> None:
    """Groups and permissions, from either side of the relation."""
    if action.startswith("pre_") and restricted_actor() is not None:
        raise PermissionDenied(gettext("Only a superuser may change groups or permissions."))


def check_membership_change(sender: type[Model], instance: Membership, **kwargs: Any) -> None:
    actor = restricted_actor()
    if kwargs.get("raw") or actor is None:
        return
    accounts = [instance.user]
    if instance.pk and (before := Membership.objects.filter(pk=instance.pk).first()):
        accounts.append(before.user)
    if not all(may_give_membership(actor, account) for account in accounts):
        raise PermissionDenied(
            gettext("Only a superuser may give a staff account a membership or change it.")
        )


def check_organization_save(
    sender: type[Model], instance: Organization, raw: bool, **kwargs: Any
) -> None:
    actor = restricted_actor()
    if raw or actor is None or not instance.pk:
        return
    before = Organization.objects.filter(pk=instance.pk).first()
    if before is None:
        return
    moved = any(getattr(before, field) != getattr(instance, field) for field in COUNTING_FIELDS)
    if moved and has_taken_positions(before):
        raise PermissionDenied(
            gettext(
                "Only a superuser may change the kind or country of an organization that has "
                "assessed or commented."
            )
        )


def check_report_save(sender: type[Model], instance: Report, raw: bool, **kwargs: Any) -> None:
    actor = restricted_actor()
    if raw or actor is None or not instance.pk:
        return
    before = Report.objects.filter(pk=instance.pk).first()
    if before is None or before.country == instance.country:
        return
    if report_has_positions(before):
        raise PermissionDenied(
            gettext(
                "Only a superuser may change the country of a report that has been assessed "
                "or commented on."
            )
        )


def connect() -> None:
    from django.db.models.signals import m2m_changed, pre_delete, pre_save

    pre_save.connect(check_account_save, sender=AuthUser, dispatch_uid="privileges-account")
    for through in (
        AuthUser.groups.through,
        AuthUser.user_permissions.through,
        Group.permissions.through,
    ):
        m2m_changed.connect(
            check_privilege_grant, sender=through, dispatch_uid=f"privileges-{through.__name__}"
        )
    pre_save.connect(
        check_membership_change, sender=Membership, dispatch_uid="privileges-membership-save"
    )
    pre_delete.connect(
        check_membership_change, sender=Membership, dispatch_uid="privileges-membership-delete"
    )
    pre_save.connect(
        check_organization_save, sender=Organization, dispatch_uid="privileges-organization"
    )
    pre_save.connect(check_report_save, sender=Report, dispatch_uid="privileges-report")
