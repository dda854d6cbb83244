"""Invitations: a coordinator invites a person by e-mail into an organization with a role; the
person sets their own password from the mailed link. Nobody sets another person's password.

The link carries the invitation's id and its current nonce, signed with the site's secret key
(salted for this use). It works once, until the invitation expires (INVITATION_DAYS after it
was last sent), and not after a revocation; a resend draws a new nonce, so only the newest mail's
link works. Every change is in the invitation's audit history (django-simple-history).
"""

from datetime import timedelta
from secrets import token_hex

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import single_sign_on
from .models import Invitation, Membership

SALT = "recommendations.invitation"


def link(invitation: Invitation) -> str:
    token = signing.dumps({"id": invitation.pk, "nonce": invitation.nonce}, salt=SALT)
    return settings.TRACKER_BASE_URL + reverse("accept_invitation", args=[token])


def send(invitation: Invitation) -> None:
    """Mail the invitation (again): a new link, valid INVITATION_DAYS from now; earlier links
    stop working. Refused once it is accepted or revoked."""
    if invitation.state in (Invitation.State.ACCEPTED, Invitation.State.REVOKED):
        raise ValidationError(_("This invitation was already accepted or revoked."))
    others = Invitation.objects.filter(email__iexact=invitation.email).exclude(pk=invitation.pk)
    if any(other.state == Invitation.State.PENDING for other in others):
        raise ValidationError(_("Another invitation to this address is waiting."))
    invitation.nonce = token_hex(16)
    invitation.sent_at = timezone.now()
    invitation.expires_at = invitation.sent_at + timedelta(days=settings.INVITATION_DAYS)
    invitation.save()
    with translation.override(invitation.language):
        context = {
            "invitation": invitation,
            "link": link(invitation),
            "days": settings.INVITATION_DAYS,
            "inviter": invitation.invited_by.get_full_name()
            or invitation.invited_by.get_username(),
            "local_passwords": settings.LOCAL_PASSWORDS,
            "single_sign_on": single_sign_on.provider_name() if single_sign_on.enabled() else "",
        }
        subject = _("An invitation to the TIP recommendation tracker")
        body = render_to_string("email/invitation.txt", context)
    EmailMultiAlternatives(subject, body, to=[invitation.email]).send()


def revoke(invitation: Invitation) -> None:
    if invitation.state == Invitation.State.ACCEPTED:
        raise ValidationError(
            _("An accepted invitation cannot be revoked: deactivate the account.")
        )
    invitation.revoked_at = invitation.revoked_at or timezone.now()
    invitation.save()


def invitation_of(token: str) -> Invitation | None:
    """The invitation a link stands for while it works (its newest link, pending); else None."""
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("id"), int):
        return None
    invitation = Invitation.objects.select_related("organization").filter(pk=data["id"]).first()
    if invitation is None or invitation.nonce != data.get("nonce") or not invitation.nonce:
        return None
    return invitation if invitation.state == Invitation.State.PENDING else None


def accept(
    invitation: Invitation,
    *,
    username: str,
    first_name: str,
    last_name: str,
    password: str | None,
) -> "User":
    """The account the invitation opens: the invited address, the person's own password (none
    when they sign in through single sign-on), a membership of the organization with the role.
    Once: a second acceptance is refused."""
    with transaction.atomic():
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.state != Invitation.State.PENDING or locked.nonce != invitation.nonce:
            raise ValidationError(_("This invitation no longer works."))
        if User.objects.filter(email__iexact=locked.email).exists():
            raise ValidationError(_("This invitation no longer works."))  # one address, one account
        user = User.objects.create_user(
            username=username,
            email=locked.email,
            password=password,
            first_name=first_name,
            last_name=last_name,
        )
        Membership.objects.create(user=user, organization=locked.organization, role=locked.role)
        locked.accepted_at = timezone.now()
        locked.accepted_by = user
        locked.nonce = ""
        locked.save()
    return user
