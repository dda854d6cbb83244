import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Self

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import (
    Count,
    F,
    OuterRef,
    Q,
    StringAgg,
    Subquery,
    Value,
    Window,
)
from django.db.models.deletion import ProtectedError
from django.db.models.functions import Cast, Coalesce, Length, RowNumber, Trim
from django.db.models.lookups import Exact, GreaterThan
from django.db.models.signals import m2m_changed, pre_delete, pre_save
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.formats import date_format
from django.utils.translation import gettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .status import Status
from .validators import refuse_control_characters

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db.models import QuerySet

    from .periods import ReportingPeriod


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def offsets_constraints(prefix: str) -> list[models.BaseConstraint]:
    """A span of source text starts at or after 0 and is not empty."""
    return [
        models.CheckConstraint(
            condition=Q(start_offset__gte=0) & Q(end_offset__gt=F("start_offset")),
            name=f"{prefix}_offsets_ordered",
        ),
    ]


class Tier(models.TextChoices):
    TIER_1 = "TIER_1", _("Tier 1")
    TIER_2 = "TIER_2", _("Tier 2")
    TIER_2_WATCH_LIST = "TIER_2_WATCH_LIST", _("Tier 2 Watch List")
    TIER_3 = "TIER_3", _("Tier 3")
    SPECIAL_CASE = "SPECIAL_CASE", _("Special Case")


class OrganizationKind(models.TextChoices):
    NGO = "NGO", _("NGO")
    GOVERNMENT = "GOVERNMENT", pgettext_lazy("organization kind", "Government")
    OTHER = "OTHER", pgettext_lazy("organization kind", "Other")


class Report(models.Model):
    Tier = Tier

    slug = models.SlugField(
        max_length=80, unique=True, help_text=_("e.g. norway-2024"), verbose_name=_("slug")
    )
    title = models.CharField(
        max_length=200, validators=[refuse_control_characters], verbose_name=_("title")
    )
    country = models.CharField(
        max_length=100, validators=[refuse_control_characters], verbose_name=_("country")
    )
    year = models.PositiveSmallIntegerField(verbose_name=_("year"))
    tier = models.CharField(max_length=20, choices=Tier, verbose_name=_("tier"))
    source_text = models.TextField(
        help_text=_("The chapter exactly as imported; never edited."), verbose_name=_("source text")
    )
    source_sha256 = models.CharField(_("source SHA-256"), max_length=64)
    source_name = models.CharField(
        max_length=255,
        validators=[refuse_control_characters],
        help_text=_("Where the text came from."),
        verbose_name=_("source name"),
    )
    imported_at = models.DateTimeField(default=timezone.now, verbose_name=_("imported at"))

    # The source text never changes after import, so the audit trail leaves it out.
    history = HistoricalRecords(excluded_fields=["source_text"])

    # Set by the admin list's annotations.
    recommendation_total: int
    evidence_total: int

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["-year", "country"]
        constraints = [
            models.UniqueConstraint(fields=["country", "year"], name="report_unique_country_year"),
            models.CheckConstraint(
                condition=Q(year__gte=2000) & Q(year__lte=2100), name="report_year_plausible"
            ),
            models.CheckConstraint(condition=Q(tier__in=Tier.values), name="report_tier_valid"),
            models.CheckConstraint(
                condition=Exact(Length("source_sha256"), 64), name="report_sha256_length"
            ),
            models.CheckConstraint(
                condition=~Q(source_text=""), name="report_source_text_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.country} {self.year} ({self.get_tier_display()})"

    def get_absolute_url(self) -> str:
        return reverse("dashboard", args=[self.slug])

    @property
    def name(self) -> str:
        """ "Norway 2024": how a report is named beside what belongs to it."""
        return f"{self.country} {self.year}"

    def section_at(self, start: int, end: int) -> "Section | None":
        return self.sections.filter(start_offset__lte=start, end_offset__gte=end).first()

    def integrity_errors(self) -> list[str]:
        if sha256_hex(self.source_text) != self.source_sha256:
            return [f"report {self.slug}: source text does not match its stored SHA-256"]
        return []

    def clean(self) -> None:
        errors = self.integrity_errors()
        if errors:
            raise ValidationError(errors)


class SourceSpan(models.Model):
    """Something that stands at [start_offset, end_offset) in its report's source text."""

    start_offset = models.PositiveIntegerField(verbose_name=_("start offset"))
    end_offset = models.PositiveIntegerField(verbose_name=_("end offset"))

    # Each concrete span has its own `report` foreign key.
    report: "Report"
    report_id: int

    class Meta:
        abstract = True

    @property
    def has_span(self) -> bool:
        return (
            self.report_id is not None
            and self.start_offset is not None
            and self.end_offset is not None
        )

    @property
    def source_slice(self) -> str:
        return self.report.source_text[self.start_offset : self.end_offset]

    def span_errors(self, expected_text: str | None = None) -> list[str]:
        """Why these offsets (and the text expected at them) do not fit the report."""
        label = f"{self._meta.verbose_name} {self.pk or '(new)'}"
        length = len(self.report.source_text)
        if not 0 <= self.start_offset < self.end_offset <= length:
            return [
                f"{label}: offsets {self.start_offset}–{self.end_offset} lie outside "
                f"the report text (0–{length})"
            ]
        if expected_text is not None and self.source_slice != expected_text:
            return [
                f"{label}: text is not verbatim in report {self.report.slug} "
                f"at {self.start_offset}–{self.end_offset}"
            ]
        return []


class SectionKind(models.TextChoices):
    SUMMARY = "SUMMARY", _("Summary")
    RECOMMENDATIONS = "RECOMMENDATIONS", _("Prioritized recommendations")
    PROSECUTION = "PROSECUTION", _("Prosecution")
    PROTECTION = "PROTECTION", _("Protection")
    PREVENTION = "PREVENTION", _("Prevention")
    TRAFFICKING_PROFILE = "TRAFFICKING_PROFILE", _("Trafficking profile")


class Section(SourceSpan):
    Kind = SectionKind

    report = models.ForeignKey(
        Report, on_delete=models.CASCADE, related_name="sections", verbose_name=_("report")
    )
    kind = models.CharField(max_length=20, choices=Kind, verbose_name=_("kind"))
    position = models.PositiveSmallIntegerField(verbose_name=_("position"))

    class Meta:
        verbose_name = _("section")
        verbose_name_plural = _("sections")
        ordering = ["report", "position"]
        constraints = [
            models.UniqueConstraint(fields=["report", "kind"], name="section_unique_kind"),
            models.UniqueConstraint(fields=["report", "position"], name="section_unique_position"),
            models.CheckConstraint(
                condition=Q(kind__in=SectionKind.values), name="section_kind_valid"
            ),
            *offsets_constraints("section"),
        ]

    def __str__(self) -> str:
        return f"{self.report.slug} · {self.get_kind_display()}"

    def clean(self) -> None:
        if self.has_span and (errors := self.span_errors()):
            raise ValidationError(errors)


class Paragraph(SourceSpan):
    report = models.ForeignKey(
        Report, on_delete=models.CASCADE, related_name="paragraphs", verbose_name=_("report")
    )
    section = models.ForeignKey(
        Section, on_delete=models.CASCADE, related_name="paragraphs", verbose_name=_("section")
    )
    position = models.PositiveSmallIntegerField(
        help_text=_("Order within the report."), verbose_name=_("position")
    )

    class Meta:
        verbose_name = _("paragraph")
        verbose_name_plural = _("paragraphs")
        ordering = ["report", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["report", "position"], name="paragraph_unique_position"
            ),
            *offsets_constraints("paragraph"),
        ]

    def __str__(self) -> str:
        return f"{self.report.slug} ¶{self.position}"

    @property
    def text(self) -> str:
        return self.source_slice

    def clean(self) -> None:
        if self.has_span and (errors := self.span_errors()):
            raise ValidationError(errors)


class Pillar(models.TextChoices):
    PROSECUTION = "PROSECUTION", _("Prosecution")
    PROTECTION = "PROTECTION", _("Protection")
    PREVENTION = "PREVENTION", _("Prevention")
    CROSS_CUTTING = "CROSS_CUTTING", _("Cross-cutting")


# The sides positions are compared between (side → kind of organization): the prefix of what
# attach_positions() sets on each side, and what the dashboard's filters and sorting can name.
POSITION_SIDES = {"government": OrganizationKind.GOVERNMENT, "ngo": OrganizationKind.NGO}


class RecommendationQuerySet(models.QuerySet):
    def with_counts(self) -> Self:
        """Annotate `evidence_total` and `comment_total` without multiplying rows."""

        def count_of(model: type[models.Model]) -> Coalesce:
            per_recommendation = (
                model._default_manager.filter(recommendation=OuterRef("pk"))
                .order_by()
                .values("recommendation")
                .annotate(total=Count("pk"))
                .values("total")
            )
            return Coalesce(Subquery(per_recommendation), 0)

        return self.annotate(evidence_total=count_of(EvidenceLink), comment_total=count_of(Comment))

    def with_coverage(self) -> Self:
        """Annotate the evidence links by stance (`gap_links`, `progress_links`,
        `context_links`) and `needs_evidence`: no link at all, or none that shows the gap
        (docs/design.md, "Evidence stances")."""

        def links_of(stance: str | None) -> Coalesce:
            links = EvidenceLink.objects.filter(recommendation=OuterRef("pk"))
            if stance is not None:
                links = links.filter(stance=stance)
            total = links.order_by().values("recommendation").annotate(n=Count("pk")).values("n")
            return Coalesce(Subquery(total), 0)

        return self.annotate(
            gap_links=links_of(Stance.GAP),
            progress_links=links_of(Stance.PROGRESS),
            context_links=links_of(Stance.CONTEXT),
        ).annotate(needs_evidence=Q(gap_links=0))


def id_list(ids: str | None) -> list[int]:
    """The ids of a comma-separated aggregate (StringAgg)."""
    return [int(pk) for pk in (ids or "").split(",") if pk]


def standing_assessments(
    recommendations: "Iterable[int] | QuerySet[Recommendation]",
    at: datetime | None = None,
) -> "QuerySet[Assessment]":
    """Every organization's standing assessment on each of the recommendations: its newest made
    before `at` (now when None). One query, set-based: a window function numbers each
    organization's assessments of each recommendation newest first and keeps the first, so the
    cost grows with the recommendations' history, never with a lookup per organization. The
    dashboard's matrix, the recommendation page and every export read positions through it."""
    assessments = Assessment.objects.filter(recommendation__in=recommendations)
    if at is not None:
        assessments = assessments.filter(created_at__lt=at)
    return assessments.annotate(
        newest=Window(
            RowNumber(),
            partition_by=[F("recommendation_id"), F("organization_id")],
            order_by=[F("created_at").desc(), F("pk").desc()],
        )
    ).filter(newest=1)


def attach_positions(
    recommendations: list["Recommendation"],
    at: datetime | None = None,
    since: datetime | None = None,
    authors: bool = False,
) -> list["Recommendation"]:
    """Set every organization's position on each recommendation as it stood before `at` (now when
    None), and what follows from them: one query (two with `since`), however many organizations
    and however long the history.

    Sets `standing` (organization id → Assessment, with its organization, and with its author
    when `authors`) and, with `since`, `standing_then` (the positions as they stood then, for
    the change since a cycle began); per side (`government_`, `ngo_`): `_low` and `_high` (the
    lowest and highest rank on the status scale among that side's positions) and `_count` (how
    many organizations of that side have a position). `divergence` is the largest gap between
    any government position and any NGO position, in steps on the scale (None until both sides
    have assessed): independent of the order the positions were written. This is the one
    definition of divergence: the dashboard, its "divergent only" filter and every export read
    it.

    `overdue`: a target date before `at` (today when None) and a lead body that had not assessed
    the recommendation Implemented by then (`lead_status`). Needs each recommendation's
    responsibility (select_related, or one query each)."""

    def standing_at(moment: datetime | None) -> dict[int, dict[int, Assessment]]:
        by_recommendation: dict[int, dict[int, Assessment]] = {r.pk: {} for r in recommendations}
        if recommendations:
            standing = standing_assessments([r.pk for r in recommendations], moment)
            related = ["organization", "author"] if authors else ["organization"]
            for assessment in standing.select_related(*related):
                by_recommendation[assessment.recommendation_id][assessment.organization_id] = (
                    assessment
                )
        return by_recommendation

    now = standing_at(at)
    then = standing_at(since) if since is not None else {}
    day = timezone.localdate(at) if at is not None else timezone.localdate()
    for r in recommendations:
        r.standing = now[r.pk]
        r.standing_then = then.get(r.pk, {})
        for side, kind in POSITION_SIDES.items():
            ranks = [
                Status.rank(a.status) for a in r.standing.values() if a.organization.kind == kind
            ]
            setattr(r, f"{side}_low", min(ranks, default=None))
            setattr(r, f"{side}_high", max(ranks, default=None))
            setattr(r, f"{side}_count", len(ranks))
        if r.government_count and r.ngo_count:
            r.divergence = max(
                r.government_high - r.ngo_low,  # type: ignore[operator]
                r.ngo_high - r.government_low,  # type: ignore[operator]
            )
        else:
            r.divergence = None
        responsibility = getattr(r, "responsibility", None)
        r.target_date = responsibility.target_date if responsibility else None
        r.lead_organization_id = responsibility.lead_id if responsibility else None
        lead = r.standing.get(r.lead_organization_id) if r.lead_organization_id else None
        r.lead_status = lead.status if lead else None
        r.overdue = (
            r.target_date is not None
            and r.target_date < day
            and r.lead_status != Status.IMPLEMENTED
        )
    return recommendations


# --- what may be cited ------------------------------------------------------------------
# (who may write and publish, and how a position is written: recommendations/rules/)


def require_same_report(evidence_report: "Report | None", recommendation: "Recommendation") -> None:
    """Evidence is only ever linked to a recommendation of its own report."""
    if evidence_report is not None and evidence_report.pk != recommendation.report_id:
        raise ValidationError(
            gettext(
                "Recommendation %(number)s is from %(recommendation_report)s and the evidence "
                "from %(evidence_report)s: link evidence to a recommendation of its own report."
            )
            % {
                "number": recommendation.number,
                "recommendation_report": recommendation.report.name,
                "evidence_report": evidence_report.name,
            }
        )


UNCITABLE = _("Only evidence linked to this recommendation can be cited.")


class Recommendation(SourceSpan):
    report = models.ForeignKey(
        Report, on_delete=models.CASCADE, related_name="recommendations", verbose_name=_("report")
    )
    number = models.PositiveSmallIntegerField(
        help_text=_("1–n in report order."), verbose_name=_("number")
    )
    text = models.TextField(help_text=_("Exactly as in the report."), verbose_name=_("text"))
    short_title = models.CharField(
        max_length=80, validators=[refuse_control_characters], verbose_name=_("short title")
    )
    pillar = models.CharField(max_length=20, choices=Pillar, verbose_name=_("pillar"))

    history = HistoricalRecords()

    objects = RecommendationQuerySet.as_manager()

    # Set by attach_positions() and with_counts().
    government_low: int | None
    government_high: int | None
    government_count: int | None
    ngo_low: int | None
    ngo_high: int | None
    ngo_count: int | None
    divergence: int | None
    lead_status: str | None
    lead_organization_id: int | None
    target_date: date | None
    overdue: bool
    standing: dict[int, "Assessment"]
    standing_then: dict[int, "Assessment"]
    matrix: Any  # a presentation.MatrixRow, set by the dashboard
    evidence_total: int
    comment_total: int
    # Set by with_coverage().
    gap_links: int
    progress_links: int
    context_links: int
    needs_evidence: bool

    class Meta:
        verbose_name = _("recommendation")
        verbose_name_plural = _("recommendations")
        ordering = ["report", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["report", "number"], name="recommendation_unique_number"
            ),
            models.CheckConstraint(
                condition=Q(number__gte=1) & Q(number__lte=99), name="recommendation_number_range"
            ),
            models.CheckConstraint(
                condition=Q(pillar__in=Pillar.values), name="recommendation_pillar_valid"
            ),
            models.CheckConstraint(
                condition=Q(end_offset=F("start_offset") + Length("text")),
                name="recommendation_offsets_match_text",
            ),
            *offsets_constraints("recommendation"),
        ]

    def __str__(self) -> str:
        return f"{self.number}. {self.short_title}"

    def get_absolute_url(self) -> str:
        return reverse("recommendation", args=[self.report.slug, self.number])

    @property
    def picker_label(self) -> str:
        """ "Norway 2024 · 3. Identify victims…": how pickers that span reports name it."""
        return f"{self.report.name} · {self}"

    def integrity_errors(self) -> list[str]:
        return self.span_errors(expected_text=self.text)

    HISTORY_PAGE_SIZE = 20

    def history_entries(
        self, page: int, citable: Sequence["EvidenceItem"] = ()
    ) -> tuple[Sequence["Assessment"], int]:
        """One page (from 1) of the assessment history, newest first, each entry with the
        `previous_status` of its organization and the evidence it cites (`cited`); and the
        length of the whole history, counted by the same query (or by a second one for a page
        past the end). What is cited is found among `citable` (this recommendation's
        citable_evidence(), which the page has read already): only what is not there costs a
        query."""
        start = (page - 1) * self.HISTORY_PAGE_SIZE
        joined = StringAgg(Cast("cited_evidence__id", models.CharField()), Value(","))
        cited = Assessment.objects.filter(pk=OuterRef("pk")).order_by().values("pk")
        entries = list(
            self.assessments.with_previous_status()
            .annotate(
                history_total=Window(Count("pk")),
                cited_ids=Subquery(cited.annotate(ids=joined).values("ids")),
            )
            .select_related("author", "organization", "cycle")
            .order_by("-created_at", "-pk")[start : start + self.HISTORY_PAGE_SIZE]
        )
        known = {item.pk: item for item in citable}
        missing = {pk for a in entries for pk in id_list(a.cited_ids) if pk not in known}
        if missing:
            known |= EvidenceItem.objects.in_bulk(missing)
        for a in entries:
            a.cited = sorted(
                (known[pk] for pk in id_list(a.cited_ids)),
                key=lambda i: (i.report_id, i.start_offset, i.pk),  # EvidenceItem's ordering
            )
        if entries:
            return entries, entries[0].history_total
        return entries, self.assessments.count() if page > 1 else 0

    def positions(self) -> list["Assessment"]:
        """Each organization's current position, government first, then by name (set by
        attach_positions(), or read in one query)."""
        standing = getattr(self, "standing", None)
        if standing is None:
            standing = {
                a.organization_id: a
                for a in standing_assessments([self.pk]).select_related("author", "organization")
            }
        return sorted(standing.values(), key=lambda a: (a.organization.kind, a.organization.name))

    def citable_evidence(self) -> "QuerySet[EvidenceItem]":
        """The evidence an assessment or a comment on this recommendation may cite: the items
        linked to it (by a coordinator, with a stance), nothing else. In the order the page
        shows them: by section in report order, then stance, then place in the report; each
        with its `stance` for this recommendation and its section."""
        return (
            EvidenceItem.objects.filter(links__recommendation=self)
            .annotate(stance=F("links__stance"))
            .select_related("section")
            .order_by("section__position", "stance", "start_offset", "pk")
        )

    def uncitable(self, evidence: "Iterable[EvidenceItem]") -> list["EvidenceItem"]:
        """Those of `evidence` that this recommendation's assessments may not cite."""
        evidence = list(evidence)
        if not evidence:
            return []
        linked = set(
            EvidenceLink.objects.filter(
                recommendation=self, evidence__in=[item.pk for item in evidence]
            ).values_list("evidence_id", flat=True)
        )
        return [item for item in evidence if item.pk not in linked]

    def clean(self) -> None:
        if self.has_span and (errors := self.integrity_errors()):
            raise ValidationError(errors)


def evidence_label(pk: int) -> str:
    """An evidence item's short name that never changes (E12 for id 12), shown wherever it is
    cited: its card, the assessment form, the history and every export."""
    return f"E{pk}"


class EvidenceItem(SourceSpan):
    report = models.ForeignKey(
        Report, on_delete=models.PROTECT, related_name="evidence_items", verbose_name=_("report")
    )
    section = models.ForeignKey(
        Section, on_delete=models.PROTECT, related_name="evidence_items", verbose_name=_("section")
    )
    quote = models.TextField(
        help_text=_("Verbatim from the report text; never a paraphrase."), verbose_name=_("quote")
    )
    note = models.TextField(
        blank=True, help_text=_("Why this quote matters (optional)."), verbose_name=_("note")
    )
    recommendations = models.ManyToManyField(
        Recommendation,
        through="EvidenceLink",
        related_name="evidence_items",
        verbose_name=_("recommendations"),
    )
    carried_from = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="carried_to",
        help_text=_("The earlier year's quote this one was carried forward from."),
        verbose_name=_("carried from"),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("evidence item")
        verbose_name_plural = _("evidence items")
        ordering = ["report", "start_offset", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["report", "start_offset", "end_offset"], name="evidence_unique_span"
            ),
            models.CheckConstraint(
                condition=Q(end_offset=F("start_offset") + Length("quote")),
                name="evidence_offsets_match_quote",
            ),
            *offsets_constraints("evidence"),
        ]

    def __str__(self) -> str:
        short = self.quote if len(self.quote) <= 70 else self.quote[:67] + "…"
        return f"{self.label} “{short}”"

    @property
    def label(self) -> str:
        return evidence_label(self.pk) if self.pk else "E?"

    def integrity_errors(self) -> list[str]:
        errors = self.span_errors(expected_text=self.quote)
        if not errors and self.section_id:
            section = self.section
            if section.report_id != self.report_id:
                errors.append(f"evidence item {self.pk}: section belongs to another report")
            elif (
                not section.start_offset
                <= self.start_offset
                < self.end_offset
                <= (section.end_offset)
            ):
                errors.append(
                    f"evidence item {self.pk}: quote at {self.start_offset}–{self.end_offset} "
                    f"is not inside section {section.kind}"
                )
        return errors

    def clean(self) -> None:
        if self.has_span and (errors := self.integrity_errors()):
            raise ValidationError(errors)

    def paragraph(self, paragraphs: Iterable[Paragraph] | None = None) -> Paragraph | None:
        """The paragraph that holds the quote: the first of `paragraphs` (the report's, in
        order; read from the database when not given) that contains its span. A page showing
        many quotes reads the report's paragraphs once and passes them."""
        if paragraphs is None:
            paragraphs = self.report.paragraphs.order_by("position")
        return next(
            (
                paragraph
                for paragraph in paragraphs
                if paragraph.start_offset <= self.start_offset
                and self.end_offset <= paragraph.end_offset
            ),
            None,
        )

    def citations(self) -> list[str]:
        """What cites this item, in words: assessments and comments are append-only, so while
        anything cites it, it cannot be deleted (see refuse_deleting_cited_evidence)."""
        assessments = self.citing_assessments.select_related("organization", "recommendation")
        comments = self.comments.select_related("organization", "recommendation")
        return [
            *(
                gettext(
                    "Assessment #%(pk)s by %(organization)s of recommendation %(number)s cites it"
                )
                % {"pk": a.pk, "organization": a.organization, "number": a.recommendation.number}
                for a in assessments.order_by("pk")
            ),
            *(
                gettext(
                    "Comment #%(pk)s by %(organization)s on recommendation %(number)s refers to it"
                )
                % {"pk": c.pk, "organization": c.organization, "number": c.recommendation.number}
                for c in comments.order_by("pk")
            ),
        ]


class Stance(models.TextChoices):
    GAP = "GAP", _("Gap")
    PROGRESS = "PROGRESS", _("Progress")
    CONTEXT = "CONTEXT", _("Context")


class EvidenceLink(models.Model):
    Stance = Stance

    evidence = models.ForeignKey(
        EvidenceItem, on_delete=models.CASCADE, related_name="links", verbose_name=_("evidence")
    )
    recommendation = models.ForeignKey(
        Recommendation,
        on_delete=models.CASCADE,
        related_name="evidence_links",
        verbose_name=_("recommendation"),
    )
    stance = models.CharField(max_length=10, choices=Stance, verbose_name=_("stance"))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("evidence link")
        verbose_name_plural = _("evidence links")
        ordering = ["recommendation", "evidence"]
        constraints = [
            models.UniqueConstraint(
                fields=["evidence", "recommendation"], name="evidencelink_unique_pair"
            ),
            models.CheckConstraint(
                condition=Q(stance__in=Stance.values), name="evidencelink_stance_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_stance_display()} for recommendation {self.recommendation.number}"

    def clean(self) -> None:
        if self.evidence_id and self.recommendation_id:
            require_same_report(self.evidence.report, self.recommendation)


class DeclinedCarry(models.Model):
    """A coordinator's decision not to carry an earlier year's quote forward to a
    recommendation, so that the proposal is not made again."""

    recommendation = models.ForeignKey(
        Recommendation,
        on_delete=models.CASCADE,
        related_name="declined_carries",
        verbose_name=_("recommendation"),
    )
    evidence = models.ForeignKey(
        EvidenceItem,
        on_delete=models.CASCADE,
        related_name="declined_carries",
        help_text=_("The earlier year's evidence item."),
        verbose_name=_("evidence"),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("declined carried quote")
        verbose_name_plural = _("declined carried quotes")
        constraints = [
            models.UniqueConstraint(
                fields=["recommendation", "evidence"], name="declinedcarry_unique_pair"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.evidence.label} not carried to recommendation {self.recommendation.number}"


class Organization(models.Model):
    Kind = OrganizationKind

    name = models.CharField(
        max_length=200,
        unique=True,
        validators=[refuse_control_characters],
        verbose_name=_("name"),
    )
    short_name = models.CharField(
        max_length=40,
        blank=True,
        validators=[refuse_control_characters],
        verbose_name=_("short name"),
    )
    kind = models.CharField(max_length=20, choices=Kind, verbose_name=_("kind"))
    country = models.CharField(
        max_length=100,
        blank=True,
        validators=[refuse_control_characters],
        help_text=_(
            "The country whose reports its reviewers assess, as the reports name it "
            "(e.g. Norway). Blank: none."
        ),
        verbose_name=_("country"),
    )

    history = HistoricalRecords()

    member_total: int  # set by the admin list's annotation

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=OrganizationKind.values), name="organization_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        return self.short_name or self.name

    @property
    def initials(self) -> str:
        """What the dashboard's compact columns show for it (its full name beside): a short
        name of up to six characters, else the initials of its name's words ("Nettverk mot
        menneskehandel": NMM), else its first three letters."""
        if self.short_name and len(self.short_name) <= 6:
            return self.short_name
        words = re.findall(r"[^\W\d_]+", self.name)
        if len(words) > 1:
            return "".join(word[0] for word in words[:4]).upper()
        return self.name[:3]


class Role(models.TextChoices):
    REVIEWER = "REVIEWER", _("Reviewer")
    OBSERVER = "OBSERVER", _("Observer")


class Membership(models.Model):
    """Ties a user to their one organization and says whether they may write."""

    Role = Role

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="membership",
        verbose_name=_("user"),
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="memberships",
        verbose_name=_("organization"),
    )
    role = models.CharField(
        max_length=10, choices=Role, default=Role.REVIEWER, verbose_name=_("role")
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["organization", "user"]
        constraints = [
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()}, {self.organization}"

    @property
    def can_write(self) -> bool:
        return self.role == self.Role.REVIEWER


class ReviewCycle(models.Model):
    """The period an assessment speaks for; TIP reporting periods run 1 April – 31 March."""

    name = models.CharField(
        max_length=40,
        unique=True,
        validators=[refuse_control_characters],
        help_text=_("e.g. 2024–25"),
        verbose_name=_("name"),
    )
    starts_on = models.DateField(verbose_name=_("starts on"))
    ends_on = models.DateField(verbose_name=_("ends on"))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("review cycle")
        verbose_name_plural = _("review cycles")
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gt=F("starts_on")), name="reviewcycle_ends_after_start"
            ),
            models.UniqueConstraint(fields=["starts_on"], name="reviewcycle_unique_start"),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def containing(cls, day: date | None = None) -> "ReviewCycle | None":
        day = day or timezone.localdate()
        return cls.objects.filter(starts_on__lte=day, ends_on__gte=day).first()

    def contains(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on

    @classmethod
    def current(cls) -> "ReviewCycle":
        """The cycle containing today; ValidationError when there is none, so that nothing is
        filed under a cycle it does not belong to."""
        today = timezone.localdate()
        cycle = cls.containing(today)
        if cycle is None:
            raise ValidationError(
                gettext(
                    "No review cycle contains today (%(today)s); a coordinator adds one in admin "
                    "(Review cycles)."
                )
                % {"today": date_format(today, pgettext("long date format", "j F Y"))}
            )
        return cycle


class AppendOnlyError(Exception):
    pass


class AppendOnlyQuerySet[M: models.Model](models.QuerySet[M]):
    def update(self, **kwargs: object) -> int:
        raise AppendOnlyError(f"{self.model._meta.verbose_name_plural} are append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{self.model._meta.verbose_name_plural} cannot be deleted.")


class AppendOnlyModel(models.Model):
    """Written once, never changed or deleted, so that what was recorded stays on record."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"A saved {self._meta.verbose_name} cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"A {self._meta.verbose_name} cannot be deleted.")


class AssessmentQuerySet(AppendOnlyQuerySet):
    def made_in(self, cycle: "ReviewCycle", before: datetime | None = None) -> Self:
        """The assessments filed in `cycle` (of those recorded before `before`, when given):
        an organization has assessed a recommendation in a cycle when one of these is its.
        The dashboard's "My organization's" filter and the reminders both ask this."""
        made = self.filter(cycle=cycle)
        return made if before is None else made.filter(created_at__lt=before)

    def made_during(self, period: "ReportingPeriod", now: datetime | None = None) -> Self:
        """The assessments made within a reporting period (up to now, for the current one):
        what an organization's submission draft holds, and what its reminder counts."""
        return self.filter(created_at__gte=period.starts_at, created_at__lt=period.until(now))

    def with_cited_ids(self) -> Self:
        """Annotate `cited_ids`: the cited evidence ids as a comma-separated string, aggregated
        in the database so that an export of any length needs no second query. Call after
        values() to group by exactly those columns."""
        return self.annotate(
            cited_ids=StringAgg(Cast("cited_evidence__id", models.CharField()), Value(","))
        )

    def with_previous_status(self) -> Self:
        """Annotate `previous_status`: the status the same organization held on the same
        recommendation just before (None for its first). One index lookup per row, so a page
        of a long history costs the same as a page of a short one."""
        # Strictly earlier: one organization's assessments of one recommendation are written
        # under a row lock (rules.writing.assess()), so two never share a timestamp.
        earlier = Assessment.objects.filter(
            recommendation=OuterRef("recommendation"),
            organization=OuterRef("organization"),
            created_at__lt=OuterRef("created_at"),
        ).order_by("-created_at")
        return self.annotate(previous_status=Subquery(earlier.values("status")[:1]))


class Assessment(AppendOnlyModel):
    """One organization's judgement of one recommendation. Append-only: a new one supersedes."""

    recommendation = models.ForeignKey(
        Recommendation,
        on_delete=models.PROTECT,
        related_name="assessments",
        verbose_name=_("recommendation"),
    )
    cycle = models.ForeignKey(
        ReviewCycle, on_delete=models.PROTECT, related_name="assessments", verbose_name=_("cycle")
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="assessments",
        verbose_name=_("organization"),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="assessments",
        verbose_name=_("author"),
    )
    status = models.CharField(max_length=24, choices=Status, verbose_name=_("status"))
    rationale = models.TextField(verbose_name=_("rationale"))
    cited_evidence = models.ManyToManyField(
        EvidenceItem,
        blank=True,
        related_name="citing_assessments",
        verbose_name=_("cited evidence"),
    )
    based_on = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The organization's position the author saw when assessing."),
        verbose_name=_("based on"),
    )
    created_at = models.DateTimeField(
        default=timezone.now, db_index=True, verbose_name=_("created at")
    )

    objects = AssessmentQuerySet.as_manager()

    # Set on the entries of Recommendation.history_entries().
    previous_status: str | None
    cited: list[EvidenceItem]

    class Meta:
        verbose_name = _("assessment")
        verbose_name_plural = _("assessments")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["recommendation", "organization", "-created_at"],
                name="assessment_position_idx",
            ),
            # A page of one recommendation's history, newest first, without sorting all of it.
            models.Index(
                fields=["recommendation", "-created_at", "-id"], name="assessment_history_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=Status.values), name="assessment_status"),
            models.CheckConstraint(
                condition=GreaterThan(Length(Trim("rationale")), 0),
                name="assessment_rationale_required",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.organization} on recommendation {self.recommendation.number}: "
            f"{self.get_status_display()}"
        )


OUTSIDER = _("A comment is written for its author's own organization.")


class Comment(AppendOnlyModel):
    """A reviewer's remark on a recommendation, for their organization. Append-only, like an
    assessment: never edited or deleted (to take something back, write a new comment), so the
    recommendation it is on cannot be deleted, nor the evidence it refers to (see
    refuse_deleting_cited_evidence)."""

    recommendation = models.ForeignKey(
        Recommendation,
        on_delete=models.PROTECT,
        related_name="comments",
        verbose_name=_("recommendation"),
    )
    # An item a comment refers to is not deleted (refuse_deleting_cited_evidence), so nothing
    # is ever done to the comment (SET_NULL would be an UPDATE); the foreign key backs that up.
    evidence = models.ForeignKey(
        EvidenceItem,
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="comments",
        verbose_name=_("evidence"),
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="comments",
        verbose_name=_("organization"),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="tracker_comments",
        verbose_name=_("author"),
    )
    body = models.TextField(verbose_name=_("body"))
    created_at = models.DateTimeField(
        default=timezone.now, db_index=True, verbose_name=_("created at")
    )

    objects = AppendOnlyQuerySet["Comment"].as_manager()

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=GreaterThan(Length(Trim("body")), 0), name="comment_body_required"
            ),
        ]

    def __str__(self) -> str:
        return f"Comment by {self.author} on recommendation {self.recommendation.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self._state.adding:
            self.refuse_outsider()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if (
            self.evidence is not None
            and self.recommendation_id
            and self.recommendation.uncitable([self.evidence])
        ):
            raise ValidationError({"evidence": UNCITABLE})

    def refuse_outsider(self) -> None:
        """The organization must be the author's own (their membership's) when the comment is
        written; a PostgreSQL trigger checks it too."""
        if not Membership.objects.filter(
            user=self.author_id, organization=self.organization_id
        ).exists():
            raise ValidationError({"organization": OUTSIDER})


class LineageChange(models.TextChoices):
    NEW = "NEW", _("New")
    REPEATED = "REPEATED", _("Repeated")
    REVISED = "REVISED", _("Revised")


class Lineage(models.Model):
    """How a recommendation relates to the previous year's report of its country: a repeat or a
    rewording of one earlier recommendation, or new. Proposed by the importer from text
    similarity, confirmed or changed by a coordinator in admin (audited)."""

    Change = LineageChange

    recommendation = models.OneToOneField(
        Recommendation,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="lineage",
        verbose_name=_("recommendation"),
    )
    previous = models.ForeignKey(
        Recommendation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="successors",
        help_text=_("The earlier year's recommendation this one carries on (none when new)."),
        verbose_name=_("previous"),
    )
    change = models.CharField(max_length=10, choices=LineageChange, verbose_name=_("change"))
    similarity = models.FloatField(
        null=True,
        blank=True,
        help_text=_("Text similarity to the previous one, 0–100, as proposed."),
        verbose_name=_("similarity"),
    )
    confirmed = models.BooleanField(
        default=False,
        help_text=_("A coordinator has checked the proposed match."),
        verbose_name=_("confirmed"),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("lineage")
        verbose_name_plural = _("lineages")
        constraints = [
            models.CheckConstraint(
                condition=Q(change__in=LineageChange.values), name="lineage_change_valid"
            ),
            models.CheckConstraint(
                condition=Q(change=LineageChange.NEW, previous__isnull=True)
                | (~Q(change=LineageChange.NEW) & Q(previous__isnull=False)),
                name="lineage_previous_unless_new",
            ),
            models.UniqueConstraint(
                fields=["previous"],
                condition=Q(previous__isnull=False),
                name="lineage_one_successor",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recommendation}: {self.get_change_display()}"

    def clean(self) -> None:
        if self.previous is None:
            return
        current, earlier = self.recommendation.report, self.previous.report
        if earlier.country != current.country or earlier.year >= current.year:
            raise ValidationError(
                {
                    "previous": gettext(
                        "Choose a recommendation of an earlier report of the same country."
                    )
                }
            )


class Responsibility(models.Model):
    """Who in government answers for a recommendation, and by when: set by coordinators."""

    recommendation = models.OneToOneField(
        Recommendation,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="responsibility",
        verbose_name=_("recommendation"),
    )
    lead = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="leads",
        limit_choices_to={"kind": OrganizationKind.GOVERNMENT},
        help_text=_("The government body that answers for carrying it out."),
        verbose_name=_("lead"),
    )
    supporting = models.ManyToManyField(
        Organization,
        blank=True,
        related_name="supports",
        limit_choices_to={"kind": OrganizationKind.GOVERNMENT},
        help_text=_("Other government bodies that take part."),
        verbose_name=_("supporting"),
    )
    target_date = models.DateField(
        null=True,
        blank=True,
        help_text=_("When it should be implemented (optional)."),
        verbose_name=_("target date"),
    )

    history = HistoricalRecords(m2m_fields=[supporting])

    class Meta:
        verbose_name = _("responsibility")
        verbose_name_plural = _("responsibilities")

    def __str__(self) -> str:
        return f"Responsibility for {self.recommendation}"

    def clean(self) -> None:
        if self.lead is not None and self.lead.kind != OrganizationKind.GOVERNMENT:
            raise ValidationError({"lead": gettext("The lead must be a government body.")})

    def supporting_names(self) -> list[str]:
        return [organization.name for organization in self.supporting.all()]


def refuse_non_government_supporting(
    sender: type, instance: Responsibility, action: str, pk_set: set[int] | None, **kwargs: object
) -> None:
    if action == "pre_add" and pk_set:
        others = Organization.objects.filter(pk__in=pk_set).exclude(
            kind=OrganizationKind.GOVERNMENT
        )
        if others.exists():
            raise ValidationError(
                gettext("Only government bodies can support: %(names)s.")
                % {"names": ", ".join(o.name for o in others)}
            )
        if instance.lead_id in pk_set:
            raise ValidationError(gettext("The lead body cannot also be a supporting one."))


m2m_changed.connect(refuse_non_government_supporting, sender=Responsibility.supporting.through)


class Following(models.Model):
    """A user's explicit choice to follow (or stop following) a recommendation in the digest.
    Without a row, a user follows the recommendations their organization is responsible for
    or has assessed (see `rules.following`)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="followings",
        verbose_name=_("user"),
    )
    recommendation = models.ForeignKey(
        Recommendation,
        on_delete=models.CASCADE,
        related_name="followings",
        verbose_name=_("recommendation"),
    )
    following = models.BooleanField(verbose_name=_("following"))
    changed_at = models.DateTimeField(auto_now=True, verbose_name=_("changed at"))

    class Meta:
        verbose_name = _("following")
        verbose_name_plural = _("followings")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "recommendation"], name="following_unique_user_recommendation"
            ),
        ]

    def __str__(self) -> str:
        verb = "follows" if self.following else "does not follow"
        return f"{self.user} {verb} {self.recommendation}"


class Preferences(models.Model):
    """What a user wants by email (set from the unsubscribe link or their preferences), and
    the interface's language (set from the switcher in the header)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="preferences",
        verbose_name=_("user"),
    )
    digest_emails = models.BooleanField(
        default=True,
        help_text=_("A digest of new assessments and comments on what they follow."),
        verbose_name=_("digest emails"),
    )
    reminder_emails = models.BooleanField(
        default=True,
        help_text=_("Reminders before a review cycle ends or a target date."),
        verbose_name=_("reminder emails"),
    )
    language = models.CharField(
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("The interface's language; blank follows the browser."),
        verbose_name=_("language"),
    )

    class Meta:
        verbose_name = _("preferences")
        verbose_name_plural = _("preferences")

    def __str__(self) -> str:
        return f"Preferences of {self.user}"

    @classmethod
    def of(cls, user: "User") -> "Preferences":
        preferences, _ = cls.objects.get_or_create(user=user)
        return preferences


class MailKind(models.TextChoices):
    DIGEST = "DIGEST", _("Digest")
    CYCLE_REMINDER = "CYCLE_REMINDER", _("Reminder before a cycle ends")
    TARGET_REMINDER = "TARGET_REMINDER", _("Reminder before a target date")
    SUBMISSION_REMINDER = "SUBMISSION_REMINDER", _("Reminder before a submission deadline")


class SubmissionDeadline(models.Model):
    """When the year's submissions to the TIP Office are due (the Request for Information's
    date, late January or early February): reviewers are reminded two weeks before
    (mail.submission_reminders) of what their organization has not assessed in the report's
    reporting period."""

    report_year = models.PositiveSmallIntegerField(
        unique=True,
        validators=[MinValueValidator(2001), MaxValueValidator(2100)],
        help_text=_(
            "The report the submissions are for: 2026 covers 1 April 2025 – 31 March 2026."
        ),
        verbose_name=_("report year"),
    )
    due_on = models.DateField(verbose_name=_("due on"))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("submission deadline")
        verbose_name_plural = _("submission deadlines")
        ordering = ["-report_year"]

    def __str__(self) -> str:
        return f"{self.report_year}: {self.due_on.isoformat()}"


class SentMail(models.Model):
    """Every email sent, recorded before it is sent, so that no mail goes out twice: the
    unique `key` says what it covers (a digest's window, a cycle, a target date)."""

    Kind = MailKind

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="sent_mails",
        verbose_name=_("user"),
    )
    kind = models.CharField(max_length=20, choices=MailKind, verbose_name=_("kind"))
    key = models.CharField(max_length=100, verbose_name=_("key"))
    covers_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("For a digest: what was new up to this moment."),
        verbose_name=_("covers until"),
    )
    subject = models.CharField(max_length=200, verbose_name=_("subject"))
    sent_at = models.DateTimeField(default=timezone.now, verbose_name=_("sent at"))

    class Meta:
        verbose_name = _("sent mail")
        verbose_name_plural = _("sent mails")
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "key"], name="sentmail_unique_key"),
            models.CheckConstraint(condition=Q(kind__in=MailKind.values), name="sentmail_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.user} ({self.key})"


class SnapshotQuerySet(AppendOnlyQuerySet):
    def with_previous_chain(self) -> Self:
        """Annotate `previous_chain`: the chain SHA-256 of the report's snapshot before each
        one (None for the first), which its `previous_sha256` must equal."""
        before = Snapshot.objects.filter(report=OuterRef("report"), pk__lt=OuterRef("pk"))
        return self.annotate(
            previous_chain=Subquery(before.order_by("-pk").values("chain_sha256")[:1])
        )

    def listing(self) -> Self:
        """Newest first, ready to be verified, with the address of each one's public copy
        (`public_sha256`, None when it is not public)."""
        public = PublicCopy.objects.current().filter(snapshot=OuterRef("pk")).values("sha256")
        return (
            self.select_related("published_by")
            .with_previous_chain()
            .annotate(public_sha256=Subquery(public[:1]))
            .order_by("-published_at", "-pk")
        )

    def choices(self) -> Self:
        """Newest first, for pickers: without the (large) content, which only a snapshot's
        own page, downloads and comparison read (and verify)."""
        return self.listing().defer("content")


SNAPSHOT_SIGNING_SALT = "recommendations.Snapshot.chain"
# Each signing scheme signs with its own salt, so that no signature made under one scheme is
# ever valid under another.
SNAPSHOT_SIGNING_SALTS = {1: SNAPSHOT_SIGNING_SALT, 2: "recommendations.Snapshot.chain.v2"}


class Snapshot(AppendOnlyModel):
    """A published status report, frozen: the export document as canonical JSON, its SHA-256,
    who published it and when. Every export format can be rendered from it.

    Each snapshot also carries a chain SHA-256, covering its content's SHA-256, the SHA-256 of
    its signed metadata (report, title, publisher, publication date) and the chain SHA-256 of
    the report's snapshot before it, and a signature of that chain made with the server's
    secret key (which is not in the database). problems() checks all of it: a changed content,
    title, publisher, date or report, any of them rewritten together with the hashes, or a
    changed or removed earlier snapshot is found (docs/design.md, SECURITY.md).

    Snapshots published before the metadata was signed (signing scheme 1) have a chain and a
    signature covering their content only: problems() checks those, and metadata_caveat() says
    what they do not vouch for.
    """

    CONTENT_ONLY = 1  # signing scheme 1: content and chain
    CONTENT_AND_METADATA = 2  # signing scheme 2: content, metadata and chain

    report = models.ForeignKey(
        Report, on_delete=models.PROTECT, related_name="snapshots", verbose_name=_("report")
    )
    title = models.CharField(
        max_length=200, validators=[refuse_control_characters], verbose_name=_("title")
    )
    content = models.TextField(
        help_text=_("The status report document as published (JSON)."), verbose_name=_("content")
    )
    content_sha256 = models.CharField(_("content SHA-256"), max_length=64)
    previous_sha256 = models.CharField(
        _("previous chain SHA-256"),
        max_length=64,
        blank=True,
        help_text=_("The chain SHA-256 of the report's snapshot before this one (none: first)."),
    )
    chain_sha256 = models.CharField(
        _("chain SHA-256"),
        max_length=64,
        help_text=_("SHA-256 of the previous chain SHA-256 followed by the content SHA-256."),
    )
    signature = models.CharField(
        max_length=64,
        help_text=_("HMAC-SHA256 of the chain SHA-256 with the server's secret key."),
        verbose_name=_("signature"),
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="published_snapshots",
        verbose_name=_("published by"),
    )
    published_at = models.DateTimeField(
        default=timezone.now, db_index=True, verbose_name=_("published at")
    )
    # The default is the older scheme, which vouches for less: a row that does not say how it
    # was signed (one restored from an older backup) is never trusted for more than that.
    signing_scheme = models.PositiveSmallIntegerField(
        default=CONTENT_ONLY,
        help_text=_(
            "1: the signature covers the content and the chain only (published before the "
            "metadata was signed). 2: also the report, title, publisher and publication date."
        ),
        verbose_name=_("signing scheme"),
    )
    signed_metadata = models.TextField(
        blank=True,
        help_text=_(
            "The report, title, publisher and publication date as they were signed (JSON); "
            "empty under signing scheme 1."
        ),
        verbose_name=_("signed metadata"),
    )

    objects = SnapshotQuerySet.as_manager()

    previous_chain: str | None  # set by SnapshotQuerySet.with_previous_chain()
    public_sha256: str | None  # set by SnapshotQuerySet.listing()

    class Meta:
        verbose_name = _("snapshot")
        verbose_name_plural = _("snapshots")
        ordering = ["-published_at", "-pk"]
        get_latest_by = ["published_at", "pk"]
        permissions = [("publish_snapshot", "Can publish a snapshot of the status report")]
        constraints = [
            models.CheckConstraint(
                condition=Exact(Length("content_sha256"), 64), name="snapshot_sha256_length"
            ),
            models.CheckConstraint(
                condition=GreaterThan(Length(Trim("title")), 0), name="snapshot_title_required"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.report.slug}, #{self.pk})"

    def get_absolute_url(self) -> str:
        return reverse("snapshot", args=[self.report.slug, self.pk])

    @property
    def number_label(self) -> str:
        """ "#2" / "nr. 2": how lists, pickers and breadcrumbs name a snapshot."""
        return pgettext("snapshot number", "#%(number)s") % {"number": self.pk}

    @staticmethod
    def chain_hash(previous_sha256: str, content_sha256: str, metadata_sha256: str = "") -> str:
        return sha256_hex(previous_sha256 + content_sha256 + metadata_sha256)

    @staticmethod
    def sign(
        chain_sha256: str, secret: str | bytes | None = None, scheme: int = CONTENT_AND_METADATA
    ) -> str:
        return salted_hmac(
            SNAPSHOT_SIGNING_SALTS[scheme], chain_sha256, secret=secret, algorithm="sha256"
        ).hexdigest()

    def metadata(self) -> dict:
        """The report, title, publisher and publication date as this row holds them now, in
        the form they are signed in: ids and the report's slug and publisher's username, the
        date in UTC to the microsecond."""
        utc = timezone.get_fixed_timezone(0)
        return {
            "report": {"id": self.report_id, "slug": self.report.slug},
            "title": self.title,
            "published_by": {
                "id": self.published_by_id,
                "username": self.published_by.get_username(),
            },
            "published_at": self.published_at.astimezone(utc).isoformat(timespec="microseconds"),
        }

    @staticmethod
    def metadata_json(metadata: dict) -> str:
        return json.dumps(metadata, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    def expected_chain(self) -> str:
        if self.signing_scheme == self.CONTENT_ONLY:
            return self.chain_hash(self.previous_sha256, self.content_sha256)
        return self.chain_hash(
            self.previous_sha256, self.content_sha256, sha256_hex(self.signed_metadata)
        )

    def signed_by_this_server(self) -> bool:
        """Signed with the secret key, or with one of its fallbacks after a key rotation."""
        return self.signing_scheme in SNAPSHOT_SIGNING_SALTS and any(
            constant_time_compare(
                self.signature, self.sign(self.chain_sha256, secret, self.signing_scheme)
            )
            for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
        )

    def metadata_problems(self) -> list[str]:
        """Which of the report, title, publisher and publication date differ from what was
        signed (scheme 2). Named one by one, so that whoever reads it knows what changed."""
        try:
            signed = json.loads(self.signed_metadata)
        except ValueError:
            return [gettext("Its signed title, publisher, date and report cannot be read.")]
        current = self.metadata()
        checks = [
            (
                "report",
                gettext(
                    "Its report is not the one it was published for: it was moved to another "
                    "report, or the report's slug changed."
                ),
            ),
            ("title", gettext("Its title is not the one it was published with.")),
            (
                "published_by",
                gettext(
                    "Its publisher is not the one who published it, or their username changed."
                ),
            ),
            ("published_at", gettext("Its publication date is not the one it was published with.")),
        ]
        if not isinstance(signed, dict):
            signed = {}
        return [problem for key, problem in checks if signed.get(key) != current[key]]

    def content_report_problems(self, document: Any) -> list[str]:
        """Scheme 1 signs no report; the content names one, so a snapshot filed under another
        report than its content's (a first snapshot moved) is still found."""
        try:
            named = document["report"]["id"]
        except (KeyError, TypeError):
            return []
        if named == self.report.slug:
            return []
        return [
            gettext("Its content is the status report of %(named)s, not of the report it is under.")
            % {"named": named}
        ]

    def problems(self) -> list[str]:
        """Why this snapshot can no longer be trusted, in words for its readers; [] if sound."""
        problems = []
        document = None
        if self.signing_scheme not in SNAPSHOT_SIGNING_SALTS:
            return [
                gettext("It names a signing scheme this tracker does not know (%(scheme)s).")
                % {"scheme": self.signing_scheme}
            ]
        if sha256_hex(self.content) != self.content_sha256:
            problems.append(
                gettext("Its content no longer matches the SHA-256 recorded when it was published.")
            )
        else:
            try:
                document = json.loads(self.content)
            except ValueError:
                problems.append(
                    gettext("Its content is not a readable status report (invalid JSON).")
                )
        if self.signing_scheme == self.CONTENT_AND_METADATA:
            problems += self.metadata_problems()
        if self.chain_sha256 != self.expected_chain():
            if self.signing_scheme == self.CONTENT_ONLY:
                problems.append(
                    gettext("Its chain SHA-256 does not cover its content and its predecessor.")
                )
            else:
                problems.append(
                    gettext(
                        "Its chain SHA-256 does not cover its content, its signed title, "
                        "publisher, date and report, and its predecessor."
                    )
                )
        if not self.signed_by_this_server():
            problems.append(
                gettext(
                    "Its signature does not match: its content and hashes were rewritten without "
                    "the server's key (or the server's secret key changed without a fallback)."
                )
            )
        if "previous_chain" in self.__dict__:
            expected = self.previous_chain or ""
        else:
            expected = (
                Snapshot.objects.filter(report_id=self.report_id, pk__lt=self.pk)
                .order_by("-pk")
                .values_list("chain_sha256", flat=True)
                .first()
            ) or ""
        if self.previous_sha256 != expected:
            problems.append(
                gettext(
                    "It does not follow the report's snapshot before it: an earlier snapshot was "
                    "changed or removed."
                )
            )
        if self.signing_scheme == self.CONTENT_ONLY and not problems:
            problems += self.content_report_problems(document)
        return problems

    def metadata_caveat(self) -> str:
        """What a sound snapshot does not vouch for: "" unless it was signed under scheme 1."""
        if self.signing_scheme != self.CONTENT_ONLY:
            return ""
        return gettext(
            "Title, publisher, date and report not signed (signed before they were): only its "
            "content and its place in the chain are vouched for."
        )

    def verification(self) -> str:
        """What was checked and found, in one sentence or a few: for admin and the command."""
        if problems := self.problems():
            return " ".join(problems)
        if caveat := self.metadata_caveat():
            return gettext("Content, chain and signature verified.") + " " + caveat
        return gettext("Content, title, publisher, date, report, chain and signature verified.")

    @property
    def document(self) -> dict:
        """The published document; only for a snapshot without problems()."""
        return json.loads(self.content)


class PublicCopyQuerySet(models.QuerySet["PublicCopy"]):
    def current(self) -> Self:
        """Public now: made public and not withdrawn."""
        return self.filter(withdrawn_at__isnull=True)

    def listing(self) -> Self:
        """Newest publication first, with what the public pages name beside each (without
        the content, which only a copy's own page and downloads read)."""
        return (
            self.select_related("snapshot__report")
            .defer("content", "snapshot__content", "snapshot__report__source_text")
            .order_by("-snapshot__published_at", "-snapshot__pk", "-pk")
        )


PUBLIC_COPY_SIGNING_SALT = "recommendations.PublicCopy"


class PublicCopy(models.Model):
    """A published snapshot made readable by anyone, at /public/snapshots/<sha256>/.

    Its content is the snapshot's JSON with what must stay private taken out (evidence notes
    always, reviewers' names unless `show_names`: recommendations/publishing/public.py), fixed
    when it was made public so that what a hash-addressed address serves never changes; when
    nothing had to be taken out it is the snapshot's JSON byte for byte, with the same SHA-256.
    The SHA-256 is signed together with the snapshot's chain SHA-256 and the names choice.

    Withdrawing sets `withdrawn_at`: the public pages then answer 410 Gone. Nothing is ever
    deleted or rewritten; making a snapshot public again (or with the other names choice) is a
    new row, and every change is in the audit history.
    """

    snapshot = models.ForeignKey(
        Snapshot, on_delete=models.PROTECT, related_name="public_copies", verbose_name=_("snapshot")
    )
    show_names = models.BooleanField(
        default=False,
        help_text=_(
            "Reviewers' names are shown; otherwise each is replaced by their organization."
        ),
        verbose_name=_("show reviewer names"),
    )
    content = models.TextField(
        help_text=_("The snapshot's JSON as the public reads it."), verbose_name=_("content")
    )
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    signature = models.CharField(
        max_length=64,
        help_text=_("HMAC-SHA256 of the snapshot's chain, this SHA-256 and the names choice."),
        verbose_name=_("signature"),
    )
    made_public_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("made public by"),
    )
    made_public_at = models.DateTimeField(default=timezone.now, verbose_name=_("made public at"))
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("withdrawn by"),
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True, verbose_name=_("withdrawn at"))

    history = HistoricalRecords()

    objects = PublicCopyQuerySet.as_manager()

    class Meta:
        verbose_name = _("public copy")
        verbose_name_plural = _("public copies")
        ordering = ["-made_public_at", "-pk"]
        permissions = [("publish_publicly", "Can make a published snapshot public")]
        constraints = [
            models.CheckConstraint(
                condition=Exact(Length("sha256"), 64), name="public_copy_sha256_length"
            ),
            # At most one public copy of a snapshot at a time.
            models.UniqueConstraint(
                fields=["snapshot"],
                condition=Q(withdrawn_at__isnull=True),
                name="public_copy_one_current_per_snapshot",
            ),
            models.CheckConstraint(
                condition=Q(withdrawn_at__isnull=True) | Q(withdrawn_by__isnull=False),
                name="public_copy_withdrawn_by_someone",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.snapshot} · {self.sha256[:12]}"

    def get_absolute_url(self) -> str:
        return reverse("public_snapshot", args=[self.sha256])

    @property
    def public_url(self) -> str:
        """Its address for everyone: from TRACKER_BASE_URL, never from a request's Host."""
        return settings.TRACKER_BASE_URL + self.get_absolute_url()

    @staticmethod
    def sign(
        chain_sha256: str, sha256: str, show_names: bool, secret: str | bytes | None = None
    ) -> str:
        value = f"{chain_sha256}:{sha256}:{int(show_names)}"
        return salted_hmac(
            PUBLIC_COPY_SIGNING_SALT, value, secret=secret, algorithm="sha256"
        ).hexdigest()

    def is_signed(self) -> bool:
        """The server signed this SHA-256 for this snapshot and names choice (with the secret
        key or a fallback): checked before anything of it is served; its content is checked
        against the SHA-256 wherever it is read."""
        chain = self.snapshot.chain_sha256
        return any(
            constant_time_compare(
                self.signature, self.sign(chain, self.sha256, self.show_names, secret)
            )
            for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
        )


@receiver(pre_delete, sender=EvidenceItem, dispatch_uid="refuse-deleting-cited-evidence")
def refuse_deleting_cited_evidence(sender: type, instance: EvidenceItem, **kwargs: object) -> None:
    """Deleting a cited item would change what append-only assessments and comments cite;
    refused whatever the route (admin, shell, a queryset's delete())."""
    if citations := instance.citations():
        raise ProtectedError(
            gettext("Evidence item %(number)s cannot be deleted: %(citations)s.")
            % {"number": instance.pk, "citations": "; ".join(citations)},
            set(instance.citing_assessments.all()) | set(instance.comments.all()),
        )


# --- verbatim text is enforced on every save -----------------------------------------------


@receiver(pre_save, sender=EvidenceItem, dispatch_uid="refuse-text-not-verbatim-evidence")
@receiver(pre_save, sender=Recommendation, dispatch_uid="refuse-text-not-verbatim-recommendation")
@receiver(pre_save, sender=Report, dispatch_uid="refuse-text-not-verbatim-report")
def refuse_text_not_verbatim(
    sender: type,
    instance: "Report | Recommendation | EvidenceItem",
    raw: bool = False,
    **kwargs: object,
) -> None:
    """Refuse to save a report whose text does not match its SHA-256, or a recommendation or
    quote that is not verbatim at its offsets. A signal rather than save(), because fixture
    loads (raw saves) call neither save() nor clean(); loaddata runs in one transaction, so a
    refused object rolls back the whole load."""
    errors = instance.integrity_errors()
    if errors:
        raise ValidationError(errors)


# --- data versions, kept by the database (recommendations/versions.py) ----------------------


class DataVersion(models.Model):
    """What the database last changed, as a token that never repeats: one row per report (the
    rows a report's pages show) and one for shared data (scope 0: people, organizations, review
    cycles, reports themselves). Written only by the triggers of migration 0013, on every
    insert, update and delete, whoever writes; read once per request for the cache keys.

    Unmanaged so that `flush` (and so `restore_data`) leaves it alone: a token must never come
    back after a wipe, or a page cached before it could be served again."""

    scope = models.BigIntegerField(primary_key=True)
    token = models.CharField(max_length=64)

    class Meta:
        managed = False
        db_table = "tracker_data_version"

    def __str__(self) -> str:
        return f"{self.scope}: {self.token}"


@receiver(pre_save, sender=DataVersion, dispatch_uid="refuse-saving-data-versions")
def refuse_saving_data_versions(sender: type, instance: DataVersion, **kwargs: object) -> None:
    """Only the database's triggers write data versions: tokens loaded from a fixture or a
    backup would bring back a version that pages were cached under."""
    raise ValidationError(
        "Data versions are kept by the database's triggers; a fixture or backup must not "
        "hold recommendations.dataversion rows."
    )


# --- downloads prepared ahead of the people who ask for them (recommendations/prepared.py) ----


class PreparedDownload(models.Model):
    """A report's whole status report as a file (the PDF: seconds to lay out), kept for the next
    person who downloads it: one per report, language and format, replaced when the data it
    shows changes. `version` says what it was made from (the report's data versions, the day,
    the language, the code); it is served only while that is still what a render would use.

    Derived data: neither backed up nor restored, and never shown in admin."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="+")
    language = models.CharField(max_length=16)
    extension = models.CharField(max_length=8)
    version = models.CharField(max_length=64)
    file_name = models.CharField(max_length=200)
    body = models.BinaryField()
    prepared_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["report", "language", "extension"], name="one_prepared_download"
            )
        ]

    def __str__(self) -> str:
        return f"{self.report_id} {self.language} {self.extension} {self.version[:12]}"


# --- invitations (recommendations/invitations.py) ------------------------------------------------


class Invitation(models.Model):
    """A person asked by a coordinator to join an organization with a role. The link mailed
    to them is signed and names `nonce`, which a resend replaces (the earlier link stops
    working); it works until `expires_at`, once, and not after a revocation."""

    email = models.EmailField(verbose_name=_("e-mail address"))
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="invitations",
        verbose_name=_("organization"),
    )
    role = models.CharField(
        max_length=10, choices=Role, default=Role.REVIEWER, verbose_name=_("role")
    )
    language = models.CharField(
        max_length=16,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
        verbose_name=_("language of the mail"),
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="invitations_sent",
        verbose_name=_("invited by"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last sent"))
    expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("expires"))
    nonce = models.CharField(max_length=32, blank=True, editable=False)
    accepted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("accepted"))
    accepted_by = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitation",
        verbose_name=_("account"),
    )
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked"))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(role__in=Role.values), name="invitation_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.organization}"

    class State(models.TextChoices):
        PENDING = "PENDING", _("Waiting")
        ACCEPTED = "ACCEPTED", _("Accepted")
        REVOKED = "REVOKED", _("Revoked")
        EXPIRED = "EXPIRED", _("Expired")

    @property
    def state(self) -> "Invitation.State":
        if self.accepted_at:
            return self.State.ACCEPTED
        if self.revoked_at:
            return self.State.REVOKED
        if self.expires_at is None or self.expires_at <= timezone.now():
            return self.State.EXPIRED
        return self.State.PENDING
