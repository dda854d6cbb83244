"""Single sign-on through OpenID Connect (mozilla-django-oidc), for organizations whose staff
sign in through ID-porten, Microsoft Entra ID or another provider (docs/single-sign-on.md).

- **The flow** is the authorization-code flow with PKCE (S256), a `state` and a `nonce`, each
  drawn afresh per sign-in and kept in the session; the answer must carry the same state, and
  the ID token the same nonce.
- **The ID token** must be signed by the provider's key (its JWKS), issued by OIDC_ISSUER, for
  this client (`aud`, and `azp` when there are several audiences), and not expired. The library
  leaves audience and issuer unchecked: `Backend` checks them.
- **Who may sign in:** the person's e-mail address, which the provider must say it verified
  (OIDC_EMAIL_VERIFIED_CLAIM), must belong to one active account, or else to a waiting
  invitation, which the sign-in accepts (an account with no password). Nobody else: no account
  is made for an address a coordinator did not invite.
- **Log-out** ends the tracker's session and, when the provider has an end-session endpoint,
  the provider's session too (RP-initiated log-out, with the ID token as the hint).
- **Staff** still give the tracker's own second factor after signing in (two_factor.py).
- LOCAL_PASSWORDS=0 switches passwords off: no password log-in, reset or change, and
  invitations are accepted only by signing in.
"""

import logging
import re
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from . import invitations
from .models import Invitation
from .rules.privileges import acting_as
from .validators import first_control_character

logger = logging.getLogger(__name__)

BACKEND = "recommendations.single_sign_on.Backend"
REFUSAL = "tracker_sign_on_refusal"  # on the request: why a sign-in was refused


def enabled() -> bool:
    return bool(settings.OIDC_ISSUER)


def provider_name() -> str:
    return settings.OIDC_PROVIDER_NAME or _("single sign-on")


class Refused(Exception):
    """A sign-in the tracker refuses; the message is shown to the person."""


class Backend(OIDCAuthenticationBackend):
    """The library's code flow, with the token's audience and issuer checked, and accounts
    found only by a verified address, never made for an uninvited one."""

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        if request is None or not enabled() or "nonce" not in kwargs:
            return None  # not the callback's sign-in (a password log-in, say)
        try:
            return super().authenticate(request, **kwargs)
        except Refused as refusal:
            setattr(request, REFUSAL, str(refusal))
        except SuspiciousOperation as error:  # the library's own checks (the signing key)
            logger.warning("single sign-on refused: %s", error)
            setattr(request, REFUSAL, _("The sign-in answer could not be verified."))
        except (
            requests.RequestException,
            jwt.PyJWTError,
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
        ) as error:  # the provider down, or an answer of the wrong shape
            logger.warning("single sign-on failed: %s", error)
            setattr(request, REFUSAL, _("The sign-in service did not answer as expected."))
        except IntegrityError:  # two invitees taking one username at once
            setattr(request, REFUSAL, _("You could not be signed in. Try again."))
        return None

    def get_user(self, user_id: Any) -> User | None:
        """The session's account while it may still sign in: switching an account off ends
        its sessions at their next request, as with a password (the library's does not)."""
        user = super().get_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def _verify_jws(self, payload: str, key: Any) -> dict[str, Any]:
        header = jwt.get_unverified_header(payload)
        if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
            raise Refused(_("The sign-in service signed its answer in an unexpected way."))
        try:
            claims: dict[str, Any] = jwt.decode(
                payload,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.OIDC_ISSUER,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
                leeway=30,
            )
        except jwt.InvalidAudienceError:
            raise Refused(_("The sign-in answer was meant for another service.")) from None
        except jwt.InvalidIssuerError:
            raise Refused(_("The sign-in answer came from another issuer.")) from None
        except jwt.ExpiredSignatureError:
            raise Refused(_("The sign-in answer had expired. Start again.")) from None
        except jwt.InvalidTokenError:
            raise Refused(_("The sign-in answer could not be verified.")) from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        authorized = claims.get("azp", self.OIDC_RP_CLIENT_ID if len(audiences) == 1 else None)
        if authorized != self.OIDC_RP_CLIENT_ID:
            raise Refused(_("The sign-in answer was meant for another service."))
        return claims

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        if not token:
            raise Refused(_("The sign-in service sent no ID token."))
        try:
            claims: dict[str, Any] = super().verify_token(token, **kwargs)
        except SuspiciousOperation as error:
            if "Nonce" in str(error):
                raise Refused(_("The sign-in answer belonged to another sign-in.")) from None
            raise
        return claims

    def get_or_create_user(
        self, access_token: str, id_token: str, payload: dict[str, Any]
    ) -> User | None:
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if userinfo.get("sub") != payload.get("sub"):  # OpenID Connect Core 5.3.2
            raise Refused(_("The sign-in service described another person."))
        token_address, info_address = (
            source.get(settings.OIDC_EMAIL_CLAIM) for source in (payload, userinfo)
        )
        if token_address and info_address and not same_address(token_address, info_address):
            raise Refused(_("The sign-in service described two different e-mail addresses."))
        claims = {**payload, **userinfo}
        address = verified_address(claims)
        users = [
            user
            for user in get_user_model().objects.filter(email__iexact=address)
            if same_address(user.email, address)
        ]
        if len(users) > 1:
            raise Refused(
                _("More than one account has the address %(email)s: ask a coordinator.")
                % {"email": address}
            )
        if users:
            if not users[0].is_active:
                raise Refused(_("The account for %(email)s is switched off.") % {"email": address})
            return users[0]
        invitation = waiting_invitation(address)
        if invitation is None:
            raise Refused(
                _(
                    "No account or invitation has the address %(email)s. Ask a coordinator "
                    "for an invitation."
                )
                % {"email": address}
            )
        try:
            return invitations.accept(
                invitation,
                username=free_username(address),
                first_name=one_line_name(claims.get("given_name")),
                last_name=one_line_name(claims.get("family_name")),
                password=None,
            )
        except ValidationError as error:
            raise Refused(" ".join(error.messages)) from None


def not_a_password(request: HttpRequest, credentials: dict[str, Any] | None) -> bool:
    """django-axes counts failed log-ins per username and client (AXES_WHITELIST_CALLABLE); a
    refused single sign-on is no password guess (the provider throttles its own log-in), and
    has no username, so counting it would lock everyone behind one address out of it."""
    return (
        credentials is not None
        and {"nonce", "code_verifier"} <= credentials.keys()
        and "password" not in credentials
    )


def verified_address(claims: dict[str, Any]) -> str:
    """The person's e-mail address, once the provider said it verified it."""
    address = claims.get(settings.OIDC_EMAIL_CLAIM)
    if not isinstance(address, str) or "@" not in address:
        raise Refused(_("The sign-in service sent no e-mail address."))
    verified_claim = settings.OIDC_EMAIL_VERIFIED_CLAIM
    if verified_claim and claims.get(verified_claim) not in (True, "true"):
        raise Refused(
            _("The sign-in service has not verified the address %(email)s.") % {"email": address}
        )
    return address.strip()


def same_address(one: str, other: str) -> bool:
    """Whether two e-mail addresses are one, whatever their case; lower(), not casefold():
    "ſam@…" is not "sam@…" (the database's case-insensitive match lets it through)."""
    return one.strip().lower() == other.strip().lower()


def one_line_name(claim: object) -> str:
    """A name from the provider as the account keeps it: one line (names go into mail
    headers), within the column; else no name."""
    name = " ".join(str(claim or "").split())[:150]
    return "" if first_control_character(name) is not None else name


def waiting_invitation(address: str) -> Invitation | None:
    candidates = Invitation.objects.filter(email__iexact=address).order_by("-created_at")
    return next(
        (
            each
            for each in candidates
            if each.state == Invitation.State.PENDING and same_address(each.email, address)
        ),
        None,
    )


def free_username(address: str) -> str:
    """The address as the username (as people type it at log-in), numbered if it is taken."""
    base = re.sub(r"[^\w.@+-]", "_", address.lower())[:140]
    taken = set(
        get_user_model()
        .objects.filter(username__istartswith=base)
        .values_list("username", flat=True)
    )
    taken = {name.lower() for name in taken}
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def provider_logout_url(request: HttpRequest) -> str:
    """Where log-out goes after the session ends: the provider's end-session endpoint when the
    person signed in through it (they are signed out there too), else the log-in page."""
    id_token = request.session.get("oidc_id_token")
    if not (enabled() and settings.OIDC_END_SESSION_ENDPOINT and id_token):
        return reverse(settings.LOGOUT_REDIRECT_URL)
    query = urlencode(
        {
            "id_token_hint": id_token,
            "client_id": settings.OIDC_RP_CLIENT_ID,
            "post_logout_redirect_uri": request.build_absolute_uri(reverse("login")),
        }
    )
    return f"{settings.OIDC_END_SESSION_ENDPOINT}?{query}"


# --- views ------------------------------------------------------------------------------------


class StartView(OIDCAuthenticationRequestView):
    """To the provider, with a new state, nonce and PKCE challenge."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not enabled():
            raise Http404(_("Single sign-on is not set up here."))
        return super().dispatch(request, *args, **kwargs)


# The error codes of an authorization answer (RFC 6749, 4.1.2.1; OpenID Connect Core, 3.1.2.6).
PROVIDER_ERRORS = {
    "access_denied",
    "invalid_request",
    "unauthorized_client",
    "unsupported_response_type",
    "invalid_scope",
    "server_error",
    "temporarily_unavailable",
    "interaction_required",
    "login_required",
    "account_selection_required",
    "consent_required",
}


class CallbackView(OIDCAuthenticationCallbackView):
    """Back from the provider: signed in, or back to the log-in page saying why not."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not enabled():
            raise Http404(_("Single sign-on is not set up here."))
        try:
            # The sign-in may save the account it opens (last log-in; an invitation accepted):
            # the server's own write, whoever this browser was signed in as before.
            with acting_as(None):
                return super().dispatch(request, *args, **kwargs)
        except SuspiciousOperation:  # the library's: a state this session never started
            return self.refused(_("The sign-in answer belonged to no sign-in started here."))

    def get(self, request: HttpRequest) -> HttpResponse:
        if "error" in request.GET:
            # The provider says no: for a sign-in this browser started, that one is over; any
            # other such address is someone's link, which changes nothing (nobody is logged
            # out by it) and whose words are not shown.
            pending = request.session.get("oidc_states", {})
            if request.GET.get("state") not in pending:
                return self.refused(_("The sign-in answer belonged to no sign-in started here."))
            del pending[request.GET["state"]]
            request.session.modified = True
            error = request.GET["error"]
            known = error if error in PROVIDER_ERRORS else "error"
            return self.refused(
                _("The sign-in service did not sign you in (%(error)s).") % {"error": known}
            )
        return super().get(request)

    def login_failure(self) -> HttpResponseRedirect:
        # The library keeps the tokens before the account is found; a refused sign-in's must
        # not stay in this browser's session (a later log-out would name them).
        for key in ("oidc_id_token", "oidc_access_token"):
            self.request.session.pop(key, None)
        if "code" not in self.request.GET or "state" not in self.request.GET:
            why = _("The sign-in answer was incomplete. Start again.")
        elif "oidc_states" not in self.request.session:
            why = _("The sign-in answer belonged to no sign-in started here.")
        else:
            why = getattr(self.request, REFUSAL, "") or _("You could not be signed in.")
        return self.refused(why)

    def refused(self, why: str) -> HttpResponseRedirect:
        messages.error(self.request, _("Single sign-on refused: %(why)s") % {"why": why})
        return redirect("login")
