"""Following a recommendation (its news comes in the email digest, recommendations/mail.py).
The POST answers HTMX with the partial and a plain form post with a redirect back."""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from ..models import (
    Assessment,
    Following,
    Membership,
    Recommendation,
    Responsibility,
    membership_of,
)
from ._shared import HtmxHttpRequest, bad_request, wants_partial

TEMPLATE = "recommendations/_follow.html"
MEMBERS_ONLY = gettext_lazy("Only members of an organization follow recommendations.")


@dataclass(frozen=True)
class FollowState:
    following: bool
    why: str  # why the user follows or not, beyond their own choice ("" when nothing to add)


def follow_state(user: User, recommendation: Recommendation) -> FollowState | None:
    """What the follow button shows (None for a user without a membership, who cannot follow),
    in two queries. The same rule as followed_recommendations(): an explicit choice wins;
    without one, members follow what their organization leads, supports or has assessed."""
    membership = membership_of(user)
    if membership is None:
        return None
    automatic = automatic_reason(membership.organization_id, recommendation)
    chosen = (
        Following.objects.filter(user=user, recommendation=recommendation.pk)
        .values_list("following", flat=True)
        .first()
    )
    return described_follow_state(membership, automatic, chosen)


def own_choice(user: User, slug: str, number: int) -> bool | None:
    """Whether the user chose to follow the recommendation (True) or to stop (False); None
    when they made no choice or cannot follow. One query, by the page's address."""
    if membership_of(user) is None:
        return None
    return (
        Following.objects.filter(
            user=user, recommendation__report__slug=slug, recommendation__number=number
        )
        .values_list("following", flat=True)
        .first()
    )


def described_follow_state(
    membership: Membership, automatic: str, chosen: bool | None
) -> FollowState:
    """The follow button's state from the organization's automatic reason (automatic_reason)
    and the user's own choice (None: none made)."""
    name = membership.organization.display_name
    if chosen is None:
        why = FOLLOWED_FOR_YOU[automatic] % {"name": name} if automatic else ""
        return FollowState(following=bool(automatic), why=why)
    if chosen:
        return FollowState(following=True, why=_("You chose to follow it."))
    why = STOPPED_FOLLOWING[automatic] % {"name": name} if automatic else ""
    return FollowState(following=False, why=why)


def automatic_reason(organization: int, recommendation: Recommendation) -> str:
    """Why the organization's members follow it without choosing to: "leads", "supports",
    "has assessed", or "" (they do not)."""
    on_this = {"recommendation": OuterRef("pk")}
    row = (
        Recommendation.objects.filter(pk=recommendation.pk)
        .values(
            leads=Exists(Responsibility.objects.filter(lead=organization, **on_this)),
            supports=Exists(Responsibility.objects.filter(supporting=organization, **on_this)),
            assessed=Exists(Assessment.objects.filter(organization=organization, **on_this)),
        )
        .get()
    )
    if row["leads"]:
        return "leads"
    if row["supports"]:
        return "supports"
    if row["assessed"]:
        return "has assessed"
    return ""


# Why a recommendation is followed, or could be, by what the organization does with it.
FOLLOWED_FOR_YOU = {
    "leads": gettext_lazy("Followed for you: %(name)s leads it."),
    "supports": gettext_lazy("Followed for you: %(name)s supports it."),
    "has assessed": gettext_lazy("Followed for you: %(name)s has assessed it."),
}
STOPPED_FOLLOWING = {
    "leads": gettext_lazy("You stopped following it, though %(name)s leads it."),
    "supports": gettext_lazy("You stopped following it, though %(name)s supports it."),
    "has assessed": gettext_lazy("You stopped following it, though %(name)s has assessed it."),
}


@require_POST
@vary_on_headers("HX-Request")
def follow(request: HtmxHttpRequest, slug: str, number: int) -> HttpResponse:
    recommendation = get_object_or_404(
        Recommendation.objects.select_related("report"), report__slug=slug, number=number
    )
    # Following is reading, so observers may; it takes an organization all the same.
    if membership_of(request.user) is None:
        raise PermissionDenied(MEMBERS_ONLY)
    wanted = request.POST.get("follow")
    if wanted not in ("0", "1"):
        return bad_request(
            request, _("The follow form was damaged: reload the page and try again.")
        )
    Following.objects.update_or_create(
        user=request.user, recommendation=recommendation, defaults={"following": wanted == "1"}
    )
    if wants_partial(request):
        context = {
            "report": recommendation.report,
            "recommendation": recommendation,
            "follow": follow_state(request.user, recommendation),
        }
        return render(request, TEMPLATE, context)
    if wanted == "1":
        messages.success(
            request, _("You follow recommendation %(number)s.") % {"number": recommendation.number}
        )
    else:
        messages.success(
            request,
            _("You no longer follow recommendation %(number)s.")
            % {"number": recommendation.number},
        )
    return redirect(recommendation)
