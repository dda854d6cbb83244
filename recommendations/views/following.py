"""Following a recommendation (its news comes in the email digest, recommendations/mail.py).
The POST answers HTMX with the partial and a plain form post with a redirect back."""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from ..models import Following, Membership, Recommendation
from ..rules.access import membership_of
from ..rules.following import automatic_reason
from ._shared import HtmxHttpRequest, bad_request, wants_partial

TEMPLATE = "recommendations/_follow.html"
MEMBERS_ONLY = gettext_lazy("Only members of an organization follow recommendations.")


@dataclass(frozen=True)
class FollowState:
    following: bool
    why: str  # why the user follows or not, beyond their own choice ("" when nothing to add)


def follow_state(user: User, recommendation: Recommendation) -> FollowState | None:
    """What the follow button shows (None for a user without a membership, who cannot follow),
    in two queries. The rule of rules.following (followed_recommendations()): an explicit
    choice wins; without one, members follow what their organization leads, supports or has
    assessed."""
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


def follow_button(
    request: HttpRequest, slug: str, number: int, follow: FollowState | None
) -> SafeString:
    """The follow button of the recommendation `number` of the report `slug` in the state
    `follow` (follow_state; None: the user cannot follow, and there is no button), rendered
    for this request. The recommendation page fills it into its cached content."""
    context = {"slug": slug, "number": number, "follow": follow}
    return mark_safe(render_to_string(TEMPLATE, context, request))  # a rendered template


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


# Why a recommendation is followed, or could be, by what the organization does with it: one
# wording per reason of rules.following.AUTOMATIC.
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
        state = follow_state(request.user, recommendation)
        return HttpResponse(follow_button(request, slug, number, state))
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
