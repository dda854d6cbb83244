from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from recommendations.models import (
    Assessment,
    Membership,
    Organization,
    Recommendation,
    Report,
    ReviewCycle,
    Status,
)

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "fixtures" / "sources" / "tip-2024-norway.txt"
FIXTURES = ["review_cycles.json", "norway-2024.json"]


@pytest.fixture
def seed_bytes() -> bytes:
    return SEED.read_bytes()


@pytest.fixture
def norway(db) -> Report:
    """The shipped canonical fixtures: the Norway 2024 report, its evidence, review cycles."""
    call_command("loaddata", *FIXTURES, verbosity=0)
    return Report.objects.get(slug="norway-2024")


@pytest.fixture
def cycle(norway) -> ReviewCycle:
    return ReviewCycle.objects.order_by("starts_on").first()


def make_organization(name: str, kind: str = Organization.Kind.NGO) -> Organization:
    return Organization.objects.create(name=name, short_name=name[:20], kind=kind)


def make_user(
    username: str,
    organization: Organization | None = None,
    role: str = Membership.Role.REVIEWER,
    **fields,
):
    user = get_user_model().objects.create_user(
        username=username, password="a-long-test-password", **fields
    )
    if organization is not None:
        Membership.objects.create(user=user, organization=organization, role=role)
    return user


def make_assessment(
    recommendation: Recommendation,
    author,
    status: str = Status.IN_PROGRESS,
    cycle: ReviewCycle | None = None,
    **fields,
) -> Assessment:
    return Assessment.objects.create(
        recommendation=recommendation,
        organization=author.membership.organization,
        author=author,
        cycle=cycle or ReviewCycle.objects.first(),
        status=status,
        rationale=fields.pop("rationale", "Because the report says so."),
        **fields,
    )
