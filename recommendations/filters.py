from collections.abc import Callable
from datetime import date, datetime, time, timedelta

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from .forms import DashboardFilterForm
from .models import (
    POSITION_SIDES,
    Organization,
    OrganizationKind,
    Pillar,
    Recommendation,
    RecommendationQuerySet,
    ReviewCycle,
    attach_positions,
)
from .rules.access import membership_of
from .status import NOT_ASSESSED, status_choices_with_not_assessed

# The queryset the filters receive.
type Rows = RecommendationQuerySet[Recommendation]
# A condition on a recommendation's positions (set by attach_positions()), tested in Python.
type PositionTest = Callable[[Recommendation], bool]

# The sides a dashboard filter or sort can name (kind → the prefix of their annotations).
SIDES: dict[str, str] = {kind: side for side, kind in POSITION_SIDES.items()}


def end_of_day(day: date) -> datetime:
    """The first moment after `day` in the tracker's time zone: positions "as of" a day are
    those recorded before it."""
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def start_of_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


# Each word of a search is a condition in the query: thousands of them are more than SQLite can
# parse and take seconds on PostgreSQL. A whole recommendation (at most 34 words) still fits.
MAX_SEARCH_LENGTH = 300
MAX_SEARCH_WORDS = 50


# The dashboard's sortable columns, with their names as the headings and the announcements say
# them: `sort=<column>` ascending, `sort=-<column>` descending. Each
# column's expression is sorted with rows that have no value (not assessed) last either way, then
# by number. Statuses sort by their rank on the scale, pillars in their order in the report.
SORT_COLUMNS = {
    "number": _("number"),
    "pillar": _("Pillar"),
    "government": _("Government"),
    "ngo": _("NGO"),
    "divergence": _("Divergence"),
    "evidence": _("Evidence items"),
    "comments": _("Comments"),
}
DEFAULT_SORT = "number"
SORT_CHOICES = [
    (f"{prefix}{column}", format_lazy("{} ({})", label, order))
    for column, label in SORT_COLUMNS.items()
    for prefix, order in (("", "ascending"), ("-", "descending"))
]


def sort_value(column: str, recommendation: Recommendation) -> int | None:
    """What a recommendation sorts by in a column (None: no value, sorted last)."""
    match column:
        case "pillar":
            return Pillar.values.index(recommendation.pillar)
        case "government" | "ngo":
            # A side sorts by its least advanced position.
            return getattr(recommendation, f"{column}_low")
        case "evidence":
            return recommendation.evidence_total
        case "comments":
            return recommendation.comment_total
        case "divergence":
            return recommendation.divergence
        case _:
            return recommendation.number


BY_ORGANIZATION = "organizations"
# Parameters of the dashboard that choose how the rows are shown, not which.
NOT_FILTERS = ("sort", "columns")


def few_enough_words(value: str) -> None:
    if len(value.split()) > MAX_SEARCH_WORDS:
        raise ValidationError(
            _("Search for at most %(count)s words.") % {"count": MAX_SEARCH_WORDS}
        )


class RecommendationFilter(django_filters.FilterSet):
    """Dashboard filters. Those on words, pillar and responsibility filter the queryset in SQL;
    those on positions (status, side, divergence, overdue) are tested in Python on the rows
    that attach_positions() gave their positions, as of moment(): rows() does both, and
    sorts."""

    q = django_filters.CharFilter(
        method="search",
        label=_("Search"),
        max_length=MAX_SEARCH_LENGTH,
        validators=[few_enough_words],
    )
    status = django_filters.ChoiceFilter(
        choices=status_choices_with_not_assessed(),
        method="filter_status",
        label=_("Status"),
        empty_label=_("Any status"),
    )
    pillar = django_filters.ChoiceFilter(
        choices=Pillar.choices, label=_("Pillar"), empty_label=_("Any pillar")
    )
    kind = django_filters.ChoiceFilter(
        choices=[(k, OrganizationKind(k).label) for k in SIDES],
        method="filter_kind",
        label=_("Assessed by"),
        empty_label=_("Government or NGO"),
    )
    divergent = django_filters.BooleanFilter(
        method="filter_divergent",
        label=_("Divergent only"),
        widget=django_filters.widgets.BooleanWidget,
    )
    overdue = django_filters.BooleanFilter(
        method="filter_overdue",
        label=_("Overdue only"),
        widget=django_filters.widgets.BooleanWidget,
    )
    mine = django_filters.BooleanFilter(
        method="filter_mine",
        label=_("My organization's"),
        widget=django_filters.widgets.BooleanWidget,
    )
    # The moment the positions are shown as of (applied by rows(), see moment()).
    as_of = django_filters.DateFilter(method="keep_rows", label=_("As of"))
    cycle = django_filters.ModelChoiceFilter(
        queryset=lambda request: ReviewCycle.objects.filter(ends_on__lt=timezone.localdate()),
        method="keep_rows",
        label=_("As of the end of"),
        empty_label=_("Today"),
    )

    # How the table is laid out: a column per side with each organization's position inside
    # it (fits a laptop with fifteen organizations), or a column per organization.
    columns = django_filters.ChoiceFilter(
        choices=[(BY_ORGANIZATION, _("One per organization"))],
        method="keep_rows",
        label=_("Columns"),
        empty_label=_("Government and NGOs"),
    )

    # Validated with the filters, but applied by order() only: exports keep their own order.
    sort = django_filters.ChoiceFilter(
        choices=SORT_CHOICES, method="keep_order", label="Sort", empty_label=None
    )

    class Meta:
        model = Recommendation
        form = DashboardFilterForm
        fields = [
            "q",
            "status",
            "pillar",
            "kind",
            "divergent",
            "overdue",
            "mine",
            "as_of",
            "cycle",
            "columns",
            "sort",
        ]

    def __init__(self, *args: object, organization: Organization | None = None, **kwargs: object):
        super().__init__(*args, **kwargs)
        self.position_tests: list[PositionTest] = []
        self.organization = organization
        if organization is None and self.request is not None:
            membership = membership_of(self.request.user)
            self.organization = membership.organization if membership else None
        if self.organization is None:
            del self.filters["mine"]  # only members have an organization

    def day(self) -> date | None:
        """The day the positions are shown as of (None: now), from `as_of` or a past cycle's
        end (valid filtersets only)."""
        if not self.is_bound or not self.is_valid():
            return None
        cycle = self.form.cleaned_data.get("cycle")
        return cycle.ends_on if cycle else self.form.cleaned_data.get("as_of")

    def moment(self) -> datetime | None:
        """Positions recorded before this moment count (None: all of them)."""
        day = self.day()
        return end_of_day(day) if day else None

    def cycle_start(self) -> datetime | None:
        """The start of the review cycle containing the shown day (for the change since then)."""
        cycle = self.current_cycle()
        return start_of_day(cycle.starts_on) if cycle else None

    def current_cycle(self) -> ReviewCycle | None:
        """The review cycle containing the shown day (looked up once)."""
        if not hasattr(self, "_current_cycle"):
            self._current_cycle = ReviewCycle.containing(self.day() or timezone.localdate())
        return self._current_cycle

    def applied(self) -> dict[str, str]:
        """The filters in use, as their query-string values (valid filtersets only); `sort` and
        `columns` are not filters (NOT_FILTERS)."""
        if not self.is_bound or not self.is_valid():
            return {}
        return {
            name: self.data[name]
            for name, value in self.form.cleaned_data.items()
            if value not in (None, "", False) and name in self.data and name not in NOT_FILTERS
        }

    def applied_filters(self) -> dict[str, str]:
        """applied() without the moment: what selects recommendations rather than when."""
        return {k: v for k, v in self.applied().items() if k not in ("as_of", "cycle")}

    def by_organization(self) -> bool:
        """Whether the table has a column per organization (a valid filterset asked for it)."""
        valid = self.is_bound and self.is_valid()
        return valid and self.form.cleaned_data.get("columns") == BY_ORGANIZATION

    def sorting(self) -> str:
        """The valid `sort` value in use, `number` by default."""
        if self.is_bound and self.is_valid():
            return self.form.cleaned_data.get("sort") or DEFAULT_SORT
        return DEFAULT_SORT

    def filter_queryset(self, queryset: Rows) -> Rows:
        self.position_tests = []
        return super().filter_queryset(queryset)

    def rows(self) -> list[Recommendation]:
        """The recommendations the filters select (a valid filterset), with their positions as
        of moment() and, with a review cycle, as they stood when it began; in the requested
        order (the queryset needs with_counts() to sort by the counts)."""
        rows = attach_positions(
            list(self.qs.order_by("number").select_related("responsibility")),
            self.moment(),
            since=self.cycle_start(),
        )
        return self.order([r for r in rows if self._holds(r)])

    def selection(self) -> Rows:
        """The recommendations the filters select, as a queryset in no particular order (for
        the exports, which read positions themselves): positions are read here only when a
        filter is on them."""
        selected = self.qs  # the filters that run in SQL; the others collect position_tests
        if not self.position_tests:
            return selected
        rows = attach_positions(list(selected.select_related("responsibility")), self.moment())
        return self.queryset.filter(pk__in=[r.pk for r in rows if self._holds(r)])

    def _holds(self, recommendation: Recommendation) -> bool:
        """Whether the positions attached to the recommendation pass the position filters."""
        return all(test(recommendation) for test in self.position_tests)

    def order(self, rows: list[Recommendation]) -> list[Recommendation]:
        """The rows (in number order) in the requested order: rows without a value last
        either way, then by number."""
        sort = self.sorting()
        column = sort.removeprefix("-")
        valued = [r for r in rows if sort_value(column, r) is not None]
        unvalued = [r for r in rows if sort_value(column, r) is None]
        # A stable sort, also reversed: equal values stay in number order.
        valued.sort(key=lambda r: sort_value(column, r), reverse=sort.startswith("-"))  # type: ignore[arg-type, return-value]
        return valued + unvalued

    def keep_order(self, queryset: Rows, name: str, value: str) -> Rows:
        return queryset

    def keep_rows(self, queryset: Rows, name: str, value: object) -> Rows:
        return queryset

    def sides(self) -> list[str]:
        kind = self.form.cleaned_data.get("kind")
        return [SIDES[kind]] if kind else list(SIDES.values())

    def search(self, queryset: Rows, name: str, value: str) -> Rows:
        condition = Q()
        for word in value.split():
            condition &= Q(text__icontains=word) | Q(short_title__icontains=word)
        return queryset.filter(condition)

    def filter_status(self, queryset: Rows, name: str, value: str) -> Rows:
        """Some organization of the side(s) holds the status; `Not assessed`: no organization
        of the side has a position (of either side, when no side is chosen)."""
        sides = self.sides()
        if value == NOT_ASSESSED:
            self.position_tests.append(
                lambda r: any(getattr(r, f"{side}_count") == 0 for side in sides)
            )
            return queryset
        kinds = {POSITION_SIDES[side] for side in sides}
        self.position_tests.append(
            lambda r: any(
                a.status == value and a.organization.kind in kinds for a in r.standing.values()
            )
        )
        return queryset

    def filter_kind(self, queryset: Rows, name: str, value: str) -> Rows:
        if self.form.cleaned_data.get("status"):
            return queryset  # the status filter already looks at this side only
        side = SIDES[value]
        self.position_tests.append(lambda r: getattr(r, f"{side}_count") > 0)
        return queryset

    def filter_overdue(self, queryset: Rows, name: str, value: bool | None) -> Rows:
        if value:
            self.position_tests.append(lambda r: r.overdue)
        return queryset

    def filter_mine(self, queryset: Rows, name: str, value: bool | None) -> Rows:
        """What the user's organization leads or supports, or has not assessed in the cycle
        of the shown day."""
        if not value or self.organization is None:
            return queryset
        responsible = Q(responsibility__lead=self.organization) | Q(
            responsibility__supporting=self.organization
        )
        cycle = self.current_cycle()
        if cycle is not None:
            assessed = self.organization.assessments.made_in(cycle, before=self.moment())
            responsible |= ~Q(pk__in=assessed.values("recommendation"))
        return queryset.filter(pk__in=Recommendation.objects.filter(responsible).values("pk"))

    def filter_divergent(self, queryset: Rows, name: str, value: bool | None) -> Rows:
        """Government and NGO positions differ (attach_positions() defines divergence)."""
        if value:
            self.position_tests.append(lambda r: bool(r.divergence))
        return queryset
