from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import override_settings

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


@pytest.fixture(autouse=True, scope="session")
def fast_password_hashing():
    """Tests create many users; the production hasher (PBKDF2, over a million iterations)
    would take most of the suite's time. Production settings keep it."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture
def seed_bytes() -> bytes:
    return SEED.read_bytes()


@pytest.fixture
def norway(db) -> Report:
    """The shipped canonical fixtures: the Norway 2024 report, its evidence, review cycles."""
    call_command("loaddata", *FIXTURES, verbosity=0)
    return Report.objects.get(slug="norway-2024")


@pytest.fixture
def people(norway) -> dict:
    """One of each kind of user, shared by the whole suite.

    gov, ngo, ngo_colleague (same NGO as ngo), other (a second NGO): reviewers; observer: reads
    only; staff: is_staff and nothing else; coordinator: staff in the Coordinators group.
    """
    government = make_organization("Justisdepartementet", kind=Organization.Kind.GOVERNMENT)
    ngo = make_organization("Nettverk mot menneskehandel")
    other_ngo = make_organization("Migrantrådet")
    embassy = make_organization("Embassy", kind=Organization.Kind.OTHER)
    return {
        "gov": make_user("gov", government, first_name="Gro", last_name="Ødegård"),
        "ngo": make_user("ngo", ngo, first_name="Nina", last_name="Ås"),
        "ngo_colleague": make_user("ngo2", ngo),
        "other": make_user("other", other_ngo),
        "observer": make_user("observer", embassy, role=Membership.Role.OBSERVER),
        "staff": get_user_model().objects.create_user(
            "staff", password="a-long-test-password", is_staff=True
        ),
        "coordinator": make_coordinator("coordinator"),
    }


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


def make_coordinator(username: str, **fields):
    """A staff user in the Coordinators group (created by a migration)."""
    user = get_user_model().objects.create_user(
        username=username, password="a-long-test-password", is_staff=True, **fields
    )
    return allow_publishing(user)


def allow_publishing(user):
    user.groups.add(Group.objects.get(name="Coordinators"))
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
