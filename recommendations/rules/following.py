"""What a user follows in the digest (recommendations/mail.py) and the follow button shows.

An explicit choice (a `Following` row) wins; without one, the members of an organization follow
the recommendations it leads, supports or has assessed. That rule is `AUTOMATIC`, stated once:
`automatically_followed()` (the queryset side, for the digest) and `automatic_reason()` (why
one recommendation is followed, for the button) both read it.
"""

from collections.abc import Callable
from functools import reduce
from operator import or_
from typing import TYPE_CHECKING

from django.db.models import Case, CharField, Exists, OuterRef, Q, Value, When

from ..models import Following, Recommendation
from .access import membership_of

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db.models import QuerySet

# Why an organization's members follow a recommendation without choosing to, first reason
# first (an organization that leads a recommendation and has assessed it "leads" it), each with
# the recommendations it holds for an organization (by id), as a condition on Recommendation.
AUTOMATIC: list[tuple[str, Callable[[int], Q]]] = [
    ("leads", lambda organization_id: Q(responsibility__lead=organization_id)),
    ("supports", lambda organization_id: Q(responsibility__supporting=organization_id)),
    ("has assessed", lambda organization_id: Q(assessments__organization=organization_id)),
]


def automatically_followed(organization_id: int) -> Q:
    """The recommendations an organization's members follow unless they opt out: those it
    leads, supports or has assessed (AUTOMATIC)."""
    return reduce(or_, (condition(organization_id) for _, condition in AUTOMATIC))


def automatic_reason(organization_id: int, recommendation: Recommendation) -> str:
    """Why the organization's members follow it without choosing to: "leads", "supports",
    "has assessed", or "" (they do not). One query, whatever the reason."""
    this = Recommendation.objects.filter(pk=OuterRef("pk"))
    reason = Case(
        *(
            When(Exists(this.filter(condition(organization_id))), then=Value(name))
            for name, condition in AUTOMATIC
        ),
        default=Value(""),
        output_field=CharField(),
    )
    return (
        Recommendation.objects.filter(pk=recommendation.pk)
        .annotate(automatic_reason=reason)
        .values_list("automatic_reason", flat=True)
        .get()
    )


def followed_recommendations(user: "User") -> "QuerySet[Recommendation]":
    """What a user follows: explicitly followed ones, and their organization's (see
    automatically_followed) unless they unfollowed them."""
    chosen = Following.objects.filter(user=user)
    followed = Q(pk__in=chosen.filter(following=True).values("recommendation"))
    membership = membership_of(user)
    if membership is not None:
        followed |= Q(
            pk__in=Recommendation.objects.filter(
                automatically_followed(membership.organization_id)
            ).values("pk")
        ) & ~Q(pk__in=chosen.filter(following=False).values("recommendation"))
    return Recommendation.objects.filter(followed)


def is_following(user: "User", recommendation: Recommendation) -> bool:
    return followed_recommendations(user).filter(pk=recommendation.pk).exists()
