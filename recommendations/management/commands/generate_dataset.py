import json
import random
import time
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from recommendations.importer import parse_report
from recommendations.models import (
    Assessment,
    Comment,
    EvidenceItem,
    EvidenceLink,
    Membership,
    Organization,
    Paragraph,
    Recommendation,
    Report,
    ReviewCycle,
    Section,
    Status,
    sha256_hex,
)

SOURCE = settings.BASE_DIR / "fixtures" / "sources" / "tip-2024-norway.txt"
CURATED = settings.BASE_DIR / "fixtures" / "norway-2024.json"
PASSWORD = "bench-password-2024"
BATCH = 5000


def curated_item_count() -> int:
    """How many curated evidence items the Norway fixture holds (the most a report can get)."""
    curated = json.loads(CURATED.read_text(encoding="utf-8"))
    return sum(o["model"] == "recommendations.evidenceitem" for o in curated)


BENCH_COUNTRY = "Benchland 001"


class Command(BaseCommand):
    help = (
        "Fill an empty database with a large synthetic dataset for benchmarks: reports made from "
        "the Norway chapter under other country names (quotes stay verbatim), organizations, "
        "reviewers, assessments with their history chains, comments. Bulk inserts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reports", type=int, default=190)
        parser.add_argument(
            "--evidence-per-report", type=int, default=min(40, curated_item_count())
        )
        parser.add_argument("--organizations", type=int, default=30)
        parser.add_argument("--assessments", type=int, default=100_000)
        parser.add_argument("--comments", type=int, default=30_000)
        parser.add_argument(
            "--long-history",
            type=int,
            default=2_000,
            help="assessments of recommendation 1 of the first report (part of --assessments)",
        )
        parser.add_argument("--seed", type=int, default=2024)

    def handle(self, *args: object, **options: Any) -> None:
        if Report.objects.exists() or Organization.objects.exists():
            raise CommandError("the database already holds data; use an empty, migrated one")
        for name in ("reports", "organizations", "assessments"):
            if options[name] < 1:
                raise CommandError(f"--{name} must be at least 1")
        curated = curated_item_count()
        if not 1 <= options["evidence_per_report"] <= curated:
            raise CommandError(
                f"--evidence-per-report must be 1–{curated} (the {curated} curated items)"
            )
        if not 0 <= options["long_history"] <= options["assessments"]:
            raise CommandError("--long-history must be between 0 and --assessments")
        started = time.perf_counter()
        self.rng = random.Random(options["seed"])
        with transaction.atomic():
            call_command("loaddata", "review_cycles.json", verbosity=0)
            self.cycles = list(ReviewCycle.objects.order_by("starts_on"))
            authors = self.make_people(options["organizations"])
            recommendations, evidence = self.make_reports(
                options["reports"], options["evidence_per_report"]
            )
            total = self.make_assessments(
                recommendations, evidence, authors, options["assessments"], options["long_history"]
            )
            self.make_comments(recommendations, evidence, authors, options["comments"])
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")  # planner statistics for the new rows
        self.stdout.write(
            f"Generated {options['reports']} reports, {len(recommendations)} recommendations, "
            f"{EvidenceItem.objects.count()} evidence items, "
            f"{options['organizations']} organizations, {total} assessments, "
            f"{options['comments']} comments in {time.perf_counter() - started:.1f} s. "
            f"Reviewers: bench000… with password {PASSWORD}."
        )

    def make_people(self, count: int) -> list[Membership]:
        """Two reviewers per organization, as memberships (user and organization)."""
        kinds = [Organization.Kind.GOVERNMENT] * max(1, count // 5)
        kinds += [Organization.Kind.NGO] * (count - len(kinds))
        organizations = Organization.objects.bulk_create(
            # Reviewers write only on their country's reports: the benchmark's writers assess
            # the typical report's country (the history is generated directly, for every one).
            Organization(
                name=f"Bench organization {i:03d}",
                short_name=f"Org {i:03d}",
                kind=kind,
                country=BENCH_COUNTRY,
            )
            for i, kind in enumerate(kinds)
        )
        password = make_password(PASSWORD)  # hashed once: hashing is slow by design
        User = get_user_model()
        users = User.objects.bulk_create(
            User(username=f"bench{i:03d}", password=password, first_name="Bench", last_name=str(i))
            for i in range(count * 2)
        )
        return Membership.objects.bulk_create(
            Membership(user=user, organization=organizations[i // 2])
            for i, user in enumerate(users)
        )

    def make_reports(self, count: int, per_report: int) -> tuple[list, dict]:
        template = SOURCE.read_text(encoding="utf-8")
        curated = json.loads(CURATED.read_text(encoding="utf-8"))
        titles = {
            o["fields"]["number"]: (o["fields"]["short_title"], o["fields"]["pillar"])
            for o in curated
            if o["model"] == "recommendations.recommendation"
        }
        items = [o for o in curated if o["model"] == "recommendations.evidenceitem"][:per_report]
        links = defaultdict(list)
        numbers = {
            o["pk"]: o["fields"]["number"]
            for o in curated
            if o["model"] == "recommendations.recommendation"
        }
        for o in curated:
            if o["model"] == "recommendations.evidencelink":
                links[o["fields"]["evidence"]].append(
                    (numbers[o["fields"]["recommendation"]], o["fields"]["stance"])
                )

        parsed_reports, reports = [], []
        for i in range(count):
            country = f"Benchland {i:03d}"
            text = template.replace("Norway", country).replace("NORWAY", country.upper())
            parsed = parse_report(text, country, 2024)
            parsed_reports.append(parsed)
            reports.append(
                Report(
                    slug=f"benchland-{i:03d}-2024",
                    title=parsed.title,
                    country=country,
                    year=2024,
                    tier=parsed.tier,
                    source_text=text,
                    source_sha256=sha256_hex(text),
                    source_name="generated from the Norway 2024 chapter",
                )
            )
        reports = Report.objects.bulk_create(reports)

        sections = []
        for report, parsed in zip(reports, parsed_reports, strict=True):
            for position, s in enumerate(parsed.sections, start=1):
                sections.append(
                    Section(
                        report=report,
                        kind=s.kind,
                        position=position,
                        start_offset=s.span.start,
                        end_offset=s.span.end,
                    )
                )
        sections = Section.objects.bulk_create(sections, batch_size=BATCH)
        by_report = defaultdict(list)
        for section in sections:
            by_report[section.report_id].append(section)

        paragraphs, recommendations, evidence_items = [], [], []
        curated_pks: list[int] = []
        for report, parsed in zip(reports, parsed_reports, strict=True):
            position = 0
            for section, s in zip(by_report[report.pk], parsed.sections, strict=True):
                for span in s.paragraphs:
                    position += 1
                    paragraphs.append(
                        Paragraph(
                            report=report,
                            section=section,
                            position=position,
                            start_offset=span.start,
                            end_offset=span.end,
                        )
                    )
            for item in parsed.recommendations:
                title, pillar = titles[item.number]
                recommendations.append(
                    Recommendation(
                        report=report,
                        number=item.number,
                        text=item.text,
                        short_title=title,
                        pillar=pillar,
                        start_offset=item.span.start,
                        end_offset=item.span.end,
                    )
                )
            for curated_item in items:
                quote = (
                    curated_item["fields"]["quote"]
                    .replace("Norway", report.country)
                    .replace("NORWAY", report.country.upper())
                )
                start = report.source_text.find(quote)
                if start < 0:
                    raise CommandError(f"quote not found in {report.slug}: {quote[:40]}")
                section = next(
                    s
                    for s in by_report[report.pk]
                    if s.start_offset <= start and start + len(quote) <= s.end_offset
                )
                evidence_items.append(
                    EvidenceItem(
                        report=report,
                        section=section,
                        quote=quote,
                        start_offset=start,
                        end_offset=start + len(quote),
                    )
                )
                curated_pks.append(curated_item["pk"])
        Paragraph.objects.bulk_create(paragraphs, batch_size=BATCH)
        recommendations = Recommendation.objects.bulk_create(recommendations, batch_size=BATCH)
        evidence_items = EvidenceItem.objects.bulk_create(evidence_items, batch_size=BATCH)

        by_number = {(r.report_id, r.number): r for r in recommendations}
        evidence_of = defaultdict(list)
        link_rows = []
        for evidence_item, curated_pk in zip(evidence_items, curated_pks, strict=True):
            for number, stance in links[curated_pk]:
                recommendation = by_number[(evidence_item.report_id, number)]
                link_rows.append(
                    EvidenceLink(
                        evidence=evidence_item, recommendation=recommendation, stance=stance
                    )
                )
                evidence_of[recommendation.pk].append(evidence_item.pk)
        EvidenceLink.objects.bulk_create(link_rows, batch_size=BATCH)
        return recommendations, evidence_of

    def make_assessments(
        self,
        recommendations: list[Recommendation],
        evidence_of: dict[int, list[int]],
        authors: list[Membership],
        total: int,
        long_history: int,
    ) -> int:
        """Chains per (recommendation, organization), oldest first, each based on the one
        before, inserted round by round so every based_on is already stored."""
        rng = self.rng
        now = timezone.now()
        chains: dict[tuple, int] = defaultdict(int)
        first = recommendations[0]
        picks = [first] * long_history
        picks += [rng.choice(recommendations) for _ in range(total - long_history)]
        by_organization = defaultdict(list)
        for member in authors:
            by_organization[member.organization.pk].append(member.user)
        organizations = list(by_organization)
        for recommendation in picks:
            chains[(recommendation.pk, rng.choice(organizations))] += 1

        # Each chain's moments, spread over the last two years, oldest first.
        span = timedelta(days=730).total_seconds()
        moments = {
            key: sorted(now - timedelta(seconds=rng.random() * span) for _ in range(length))
            for key, length in chains.items()
        }
        last_pk: dict[tuple, int] = {}
        statuses = Status.values
        rounds = max(chains.values())
        stored = 0
        for index in range(rounds):
            batch = []
            batch_chains = []
            for key, length in chains.items():
                if index >= length:
                    continue
                recommendation_pk, organization_pk = key
                created_at = moments[key][index]
                batch.append(
                    Assessment(
                        recommendation_id=recommendation_pk,
                        organization_id=organization_pk,
                        author=rng.choice(by_organization[organization_pk]),
                        cycle=self.cycle_of(created_at),
                        status=rng.choice(statuses),
                        rationale=f"Generated assessment {index + 1} of this organization.",
                        based_on_id=last_pk.get(key),
                        created_at=created_at,
                    )
                )
                batch_chains.append(key)
            batch = Assessment.objects.bulk_create(batch, batch_size=BATCH)
            cited = []
            for assessment, chain in zip(batch, batch_chains, strict=True):
                last_pk[chain] = assessment.pk
                candidates = evidence_of.get(assessment.recommendation_id, [])
                if candidates and (assessment.status == Status.IMPLEMENTED or rng.random() < 0.3):
                    for pk in rng.sample(candidates, min(2, len(candidates))):
                        cited.append(
                            Assessment.cited_evidence.through(
                                assessment_id=assessment.pk, evidenceitem_id=pk
                            )
                        )
            Assessment.cited_evidence.through.objects.bulk_create(cited, batch_size=BATCH)
            stored += len(batch)
        return stored

    def make_comments(
        self,
        recommendations: list[Recommendation],
        evidence_of: dict[int, list[int]],
        authors: list[Membership],
        total: int,
    ) -> None:
        rng = self.rng
        now = timezone.now()
        comments = []
        for i in range(total):
            recommendation = rng.choice(recommendations)
            member = rng.choice(authors)
            candidates = evidence_of.get(recommendation.pk, [])
            comments.append(
                Comment(
                    recommendation=recommendation,
                    organization=member.organization,
                    author=member.user,
                    body=f"Generated comment {i}.",
                    evidence_id=rng.choice(candidates) if candidates and i % 4 == 0 else None,
                    created_at=now - timedelta(seconds=rng.random() * 63_072_000),
                )
            )
        Comment.objects.bulk_create(comments, batch_size=BATCH)

    def cycle_of(self, moment: datetime) -> ReviewCycle:
        day = timezone.localdate(moment)
        for cycle in self.cycles:
            if cycle.starts_on <= day <= cycle.ends_on:
                return cycle
        return self.cycles[0] if day < self.cycles[0].starts_on else self.cycles[-1]
