"""Demo organizations, users, assessments and comments for `make run`. Never for production."""

import json
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
    EvidenceItem,
    Membership,
    Organization,
    Recommendation,
    Report,
    Responsibility,
    ReviewCycle,
    Role,
    Stance,
    Status,
)
from recommendations.rules.curation import pasted_passage, quote

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
# Their curated evidence: per year, quotes with their links and the earlier quote each carries
# forward (the file's "about" says how it is written), applied through the curation rules.
FICTIONAL_EVIDENCE = (
    Path(settings.BASE_DIR) / "fixtures" / "sources" / "fictional" / "veldoria-evidence.json"
)
QUOTE_KEYS = {"quote", "start", "note", "links", "carried_from"}
# year, recommendation number, status, rationale, days ago (by Demo Veldoria Watch)
FICTIONAL_ASSESSMENTS = [
    (2024, 1, Status.NO_PROGRESS, "No labour trafficking case reached court this year.", 50),
    (2024, 2, Status.IN_PROGRESS, "Screening started at two of five detention centres.", 45),
    (2024, 3, Status.PARTIALLY_IMPLEMENTED, "NGO shelters got more money; none takes men.", 40),
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
        curate(fictional, FICTIONAL_EVIDENCE)
        for year, number, status, rationale, days_ago in FICTIONAL_ASSESSMENTS:
            recommendation = fictional[year].recommendations.get(number=number)
            assessment = Assessment.objects.create(
                recommendation=recommendation,
                cycle=cycle,
                organization=organizations["Demo VW"],
                author=users["Demo VW"],
                status=status,
                rationale=rationale,
                created_at=now - timedelta(days=days_ago),
            )
            assessment.cited_evidence.set(cited_first(recommendation))
        for number, username, body in COMMENTS:
            author = users[username]
            Comment.objects.create(
                recommendation=recommendations[number],
                organization=author.membership.organization,
                author=author,
                body=body,
            )
        return True


def cited_first(recommendation: Recommendation, count: int = 2) -> list[EvidenceItem]:
    """The recommendation's linked evidence a demo assessment cites: gaps first, then
    progress, then context, each in report order."""
    order: list[str] = [Stance.GAP, Stance.PROGRESS, Stance.CONTEXT]
    links = recommendation.evidence_links.select_related("evidence")
    ranked = sorted(links, key=lambda link: (order.index(link.stance), link.evidence.start_offset))
    return [link.evidence for link in ranked[:count]]


def read_evidence(path: Path) -> dict[int, list[dict[str, Any]]]:
    """The curated quotes of each year, in the file's order; CommandError when the file is not
    what `curate` expects."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        years = {int(year): quotes for year, quotes in data["years"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise CommandError(f"{path.name}: cannot read the curated evidence ({error})") from error
    for year, quotes in years.items():
        for entry in quotes:
            if not isinstance(entry, dict) or not isinstance(entry.get("quote"), str):
                raise CommandError(f"{path.name}, {year}: every entry needs a quote: {entry!r}")
            where = f"{path.name}, {year}: the quote “{entry['quote']}”"
            if unknown := sorted(set(entry) - QUOTE_KEYS):
                raise CommandError(f"{where} has unknown keys {unknown}")
            if not isinstance(entry.get("links"), dict) or not entry["links"]:
                raise CommandError(f"{where} links no recommendation")
            earlier = entry.get("carried_from", {})
            if not isinstance(earlier, dict) or set(earlier) - {"year", "quote"}:
                raise CommandError(f"{where} needs carried_from as {{year, quote}}: {earlier!r}")
    return years


def curate(reports: dict[int, Report], path: Path) -> int:
    """Quote, link and carry forward the curated evidence of `reports` (year → report) with the
    curation rules (`pasted_passage`, `quote`), the years in order so that a carried quote's
    earlier item exists. The number of quotes; CommandError naming the quote that is not
    verbatim in its chapter, links a recommendation the chapter does not have, or carries a
    quote the file does not hold for that year."""
    quoted: dict[tuple[int, str], EvidenceItem] = {}
    for year, entries in sorted(read_evidence(path).items()):
        report = reports.get(year)
        if report is None:
            raise CommandError(f"{path.name}: no Veldoria chapter of {year} was imported")
        recommendations = {r.number: r for r in report.recommendations.all()}
        for entry in entries:
            text = entry["quote"]
            where = f"{path.name}, {report.slug}: the quote “{text}”"
            stances = {}
            for number, stance in entry["links"].items():
                recommendation = recommendations.get(int(number) if number.isdigit() else 0)
                if recommendation is None:
                    raise CommandError(
                        f"{where} links recommendation {number}, which the chapter does not have"
                    )
                stances[recommendation] = stance
            carried_from = None
            if "carried_from" in entry:
                earlier = entry["carried_from"]
                carried_from = quoted.get((earlier.get("year"), earlier.get("quote")))
                if carried_from is None:
                    raise CommandError(
                        f"{where} is carried from a quote {earlier.get('year')} does not have "
                        f"in {path.name}: “{earlier.get('quote')}”"
                    )
            try:
                found = pasted_passage(report, text, entry.get("start"))
                quoted[year, text] = quote(
                    report,
                    found,
                    stances,
                    note=entry.get("note", ""),
                    carried_from=carried_from,
                )
            except ValidationError as error:
                raise CommandError(f"{where} is refused: {' '.join(error.messages)}") from error
    return len(quoted)
