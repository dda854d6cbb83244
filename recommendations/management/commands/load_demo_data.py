"""Demo organizations, users, assessments and comments for `make run`. Never for production."""

from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from recommendations.importer import import_report
from recommendations.models import (
    Assessment,
    Comment,
    Membership,
    Organization,
    Report,
    Responsibility,
    ReviewCycle,
    Role,
    Status,
)

DEMO_PASSWORD = "demo-tracker-2024"
ORGANIZATIONS = [
    ("Demo Ministry of Justice", "Demo MoJ", Organization.Kind.GOVERNMENT),
    ("Demo Ministry of Labour", "Demo MoL", Organization.Kind.GOVERNMENT),
    ("Demo Anti-Trafficking Network", "Demo ATN", Organization.Kind.NGO),
    ("Demo Migrant Rights Centre", "Demo MRC", Organization.Kind.NGO),
    ("Demo Embassy", "Demo Embassy", Organization.Kind.OTHER),
    ("Demo Veldoria Watch", "Demo VW", Organization.Kind.NGO),
]
# Organizations of another country than the demo report's (they assess that country only).
ORGANIZATION_COUNTRIES = {"Demo VW": "Veldoria"}
# A clearly fictional country over three years, so that lineage between years can be seen.
FICTIONAL_CHAPTERS = [
    (
        Path(settings.BASE_DIR) / "fixtures" / "sources" / "fictional" / f"tip-{year}-veldoria.txt",
        year,
    )
    for year in (2023, 2024, 2025)
]
# year, recommendation number, status, rationale, days ago (by Demo Veldoria Watch)
FICTIONAL_ASSESSMENTS = [
    (2024, 1, Status.NO_PROGRESS, "No labour trafficking case reached court this year.", 50),
    (2024, 2, Status.IN_PROGRESS, "Screening started at two of five detention centres.", 45),
    (2024, 3, Status.PARTIALLY_IMPLEMENTED, "Shelters funded, but only in the capital.", 40),
]
# username, full name, organization short name, role (None: coordinator without membership)
USERS = [
    ("coordinator", "Cora Coordinator", None, None),
    ("gov.reviewer", "Gunnar Government", "Demo MoJ", Membership.Role.REVIEWER),
    ("labour.reviewer", "Liv Labour", "Demo MoL", Membership.Role.REVIEWER),
    ("ngo.reviewer", "Nora Network", "Demo ATN", Membership.Role.REVIEWER),
    # A second reviewer in the same NGO: two tabs, two people, one position (the no-lost-update
    # rule: the later of two edits from the same assessment is refused, not silently kept).
    ("ngo.colleague", "Nils Network", "Demo ATN", Membership.Role.REVIEWER),
    ("ngo2.reviewer", "Mads Migrant", "Demo MRC", Membership.Role.REVIEWER),
    ("observer", "Olga Observer", "Demo Embassy", Membership.Role.OBSERVER),
    ("veldoria.reviewer", "Vera Veldoria", "Demo VW", Membership.Role.REVIEWER),
]
# recommendation number, organization short name, status, rationale, days ago
ASSESSMENTS = [
    (
        1,
        "Demo MoJ",
        Status.IN_PROGRESS,
        "Police districts were asked to prioritise labour cases.",
        40,
    ),
    (
        1,
        "Demo ATN",
        Status.NO_PROGRESS,
        "Still no trafficking convictions; cases charged as pimping.",
        35,
    ),
    (2, "Demo MoJ", Status.PARTIALLY_IMPLEMENTED, "UDI follows the reflection-period process.", 30),
    (2, "Demo MRC", Status.REGRESSED, "More deportations without screening this year.", 28),
    (7, "Demo MoJ", Status.IN_PROGRESS, "National guidelines published; training planned.", 20),
    (
        7,
        "Demo ATN",
        Status.IN_PROGRESS,
        "Guidelines exist but many caseworkers do not know them.",
        18,
    ),
    (8, "Demo ATN", Status.NO_PROGRESS, "NRM still not agreed between stakeholders.", 15),
    (1, "Demo MoJ", Status.PARTIALLY_IMPLEMENTED, "Two labour trafficking indictments filed.", 5),
    (1, "Demo MRC", Status.IN_PROGRESS, "The indictments are a start; victims still wait.", 4),
    (1, "Demo MoL", Status.IN_PROGRESS, "Labour inspectors now refer suspected cases.", 3),
]
# recommendation number, lead, supporting, target date (days from today; None: no date)
RESPONSIBILITIES = [
    (1, "Demo MoJ", ["Demo MoL"], 120),
    (2, "Demo MoJ", [], -10),  # passed, and the lead has not said Implemented: overdue
    (8, "Demo MoL", ["Demo MoJ"], 60),
]
COMMENTS = [
    (1, "ngo.reviewer", "Do the two indictments use sections 257 and 258?"),
    (1, "gov.reviewer", "Yes, both under section 257."),
    (8, "ngo2.reviewer", "KOM's consultation closes next month."),
]


KIND_WORDS = {Organization.Kind.GOVERNMENT: " (government)", Organization.Kind.NGO: " (NGO)"}


def describe_role(organization: str | None, role: Role | None) -> str:
    """What a demo user is, in the words of the README's table of demo logins."""
    if organization is None or role is None:
        return "staff in the Coordinators group — Django admin at /admin/, publishes snapshots"
    name, kind = next((n, k) for n, short, k in ORGANIZATIONS if short == organization)
    return f"{role.label.lower()}, {name}{KIND_WORDS.get(kind, '')}"


class Command(BaseCommand):
    help = "Create demo organizations, users, assessments and comments (development only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--report", default="norway-2024", help="report slug to assess")
        parser.add_argument(
            "--allow-without-debug",
            action="store_true",
            help="run even though DJANGO_DEBUG is off (e.g. on a throwaway staging database)",
        )

    def handle(
        self, *args: object, report: str, allow_without_debug: bool, **options: object
    ) -> None:
        if not settings.DEBUG and not allow_without_debug:
            raise CommandError(
                "refusing to create demo users with known passwords while DJANGO_DEBUG is off; "
                "demo data is for development only"
            )
        stored = Report.objects.filter(slug=report).first()
        if stored is None:
            raise CommandError(f"no report {report!r}; load the fixtures first")
        try:
            cycle = ReviewCycle.current()
        except ValidationError as error:
            raise CommandError(error.messages[0]) from error
        with transaction.atomic():
            created = self.create(stored, cycle)
        self.stdout.write(self.style.SUCCESS("Demo data ready. Log in at /accounts/login/ as:"))
        for username, full_name, organization, role in USERS:
            self.stdout.write(
                f"  {username:<17} password {DEMO_PASSWORD}  — {full_name}, "
                + describe_role(organization, role)
            )
        if not created:
            self.stdout.write("(demo users already existed; nothing added)")

    def create(self, report: Report, cycle: ReviewCycle) -> bool:
        User = get_user_model()
        if User.objects.filter(username="coordinator").exists():
            return False
        organizations = {}
        for name, short_name, kind in ORGANIZATIONS:
            organizations[short_name] = Organization.objects.create(
                name=name,
                short_name=short_name,
                kind=kind,
                country=ORGANIZATION_COUNTRIES.get(short_name, report.country),
            )
        users: dict[str | None, Any] = {}
        for username, full_name, organization, role in USERS:
            first, last = full_name.split(" ", 1)
            staff = organization is None
            user = User.objects.create_user(
                username=username,
                password=DEMO_PASSWORD,
                first_name=first,
                last_name=last,
                email=f"{username}@example.org",
                is_staff=staff,
            )
            if organization and role:
                Membership.objects.create(
                    user=user, organization=organizations[organization], role=role
                )
            else:
                user.groups.add(Group.objects.get(name="Coordinators"))
            users.setdefault(organization, user)  # an organization's first user assesses
            users[username] = user
        recommendations = {r.number: r for r in report.recommendations.all()}
        now = timezone.now()
        for number, organization, status, rationale, days_ago in ASSESSMENTS:
            recommendation = recommendations[number]
            assessment = Assessment.objects.create(
                recommendation=recommendation,
                cycle=cycle,
                organization=organizations[organization],
                author=users[organization],
                status=status,
                rationale=rationale,
                created_at=now - timedelta(days=days_ago),
            )
            assessment.cited_evidence.set(recommendation.evidence_items.all()[:2])
        today = timezone.localdate()
        for number, lead, supporting, days in RESPONSIBILITIES:
            responsibility = Responsibility.objects.create(
                recommendation=recommendations[number],
                lead=organizations[lead],
                target_date=today + timedelta(days=days) if days is not None else None,
            )
            responsibility.supporting.set([organizations[name] for name in supporting])
        fictional = {}
        for path, year in FICTIONAL_CHAPTERS:
            result = import_report(path.read_bytes(), name=path.name, country="Veldoria", year=year)
            fictional[year] = result.report
        for year, number, status, rationale, days_ago in FICTIONAL_ASSESSMENTS:
            Assessment.objects.create(
                recommendation=fictional[year].recommendations.get(number=number),
                cycle=cycle,
                organization=organizations["Demo VW"],
                author=users["Demo VW"],
                status=status,
                rationale=rationale,
                created_at=now - timedelta(days=days_ago),
            )
        for number, username, body in COMMENTS:
            author = users[username]
            Comment.objects.create(
                recommendation=recommendations[number],
                organization=author.membership.organization,
                author=author,
                body=body,
            )
        return True
