import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Case, F, Q, Value, When
from django.db.models.expressions import OrderBy

from .models import OrganizationKind, Pillar, Recommendation, RecommendationQuerySet
from .status import NOT_ASSESSED, Status, status_choices_with_not_assessed

# The queryset the filters receive: recommendations annotated by with_positions().
type Rows = RecommendationQuerySet[Recommendation]

SIDES: dict[str, str] = {
    OrganizationKind.GOVERNMENT: "government_status",
    OrganizationKind.NGO: "ngo_status",
}


# Each word of a search is a condition in the query: thousands of them are more than SQLite can
# parse and take seconds on PostgreSQL. A whole recommendation (at most 34 words) still fits.
MAX_SEARCH_LENGTH = 300
MAX_SEARCH_WORDS = 50


# The dashboard's sortable columns: `sort=<column>` ascending, `sort=-<column>` descending. Each
# column's expression is sorted with rows that have no value (not assessed) last either way, then
# by number. Statuses sort by their rank on the scale, pillars in their order in the report.
SORT_COLUMNS: dict[str, str] = {
    "number": "#",
    "pillar": "Pillar",
    "government": "Government",
    "ngo": "NGO",
    "divergence": "Divergence",
    "evidence": "Evidence items",
    "comments": "Comments",
}
DEFAULT_SORT = "number"
SORT_CHOICES = [
    (f"{prefix}{column}", f"{label} ({order})")
    for column, label in SORT_COLUMNS.items()
    for prefix, order in (("", "ascending"), ("-", "descending"))
]


def sort_expression(column: str) -> Case | F:
    match column:
        case "pillar":
            return Case(
                *(When(pillar=value, then=Value(i)) for i, value in enumerate(Pillar.values)),
                default=None,
            )
        case "government":
            return Status.rank_expression("government_status")
        case "ngo":
            return Status.rank_expression("ngo_status")
        case "evidence":
            return F("evidence_total")
        case "comments":
            return F("comment_total")
        case _:
            return F(column)


def few_enough_words(value: str) -> None:
    if len(value.split()) > MAX_SEARCH_WORDS:
        raise ValidationError(f"Search for at most {MAX_SEARCH_WORDS} words.")


class RecommendationFilter(django_filters.FilterSet):
    """Dashboard filters; expects a queryset annotated by with_positions()."""

    q = django_filters.CharFilter(
        method="search",
        label="Search",
        max_length=MAX_SEARCH_LENGTH,
        validators=[few_enough_words],
    )
    status = django_filters.ChoiceFilter(
        choices=status_choices_with_not_assessed(),
        method="filter_status",
        label="Status",
        empty_label="Any status",
    )
    pillar = django_filters.ChoiceFilter(choices=Pillar.choices, empty_label="Any pillar")
    kind = django_filters.ChoiceFilter(
        choices=[(k, OrganizationKind(k).label) for k in SIDES],
        method="filter_kind",
        label="Assessed by",
        empty_label="Government or NGO",
    )
    divergent = django_filters.BooleanFilter(
        method="filter_divergent",
        label="Divergent only",
        widget=django_filters.widgets.BooleanWidget,
    )

    # Validated with the filters, but applied by order() only: exports keep their own order.
    sort = django_filters.ChoiceFilter(
        choices=SORT_CHOICES, method="keep_order", label="Sort", empty_label=None
    )

    class Meta:
        model = Recommendation
        fields = ["q", "status", "pillar", "kind", "divergent", "sort"]

    def applied(self) -> dict[str, str]:
        """The filters in use, as their query-string values (valid filtersets only); `sort` is
        not a filter."""
        if not self.is_bound or not self.is_valid():
            return {}
        return {
            name: self.data[name]
            for name, value in self.form.cleaned_data.items()
            if value not in (None, "", False) and name in self.data and name != "sort"
        }

    def sorting(self) -> str:
        """The valid `sort` value in use, `number` by default."""
        if self.is_bound and self.is_valid():
            return self.form.cleaned_data.get("sort") or DEFAULT_SORT
        return DEFAULT_SORT

    def order(self, queryset: Rows) -> Rows:
        """The rows in the requested order (needs with_positions() and with_counts())."""
        sort = self.sorting()
        column = sort.removeprefix("-")
        expression = sort_expression(column)
        first: OrderBy = (
            expression.desc(nulls_last=True)
            if sort.startswith("-")
            else expression.asc(nulls_last=True)
        )
        return queryset.order_by(first, "number")

    def keep_order(self, queryset: Rows, name: str, value: str) -> Rows:
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
        condition = Q()
        for side in self.sides():
            if value == NOT_ASSESSED:
                condition |= Q(**{f"{side}__isnull": True})
            else:
                condition |= Q(**{side: value})
        return queryset.filter(condition)

    def filter_kind(self, queryset: Rows, name: str, value: str) -> Rows:
        if self.form.cleaned_data.get("status"):
            return queryset  # the status filter already looks at this side only
        return queryset.filter(**{f"{SIDES[value]}__isnull": False})

    def filter_divergent(self, queryset: Rows, name: str, value: bool | None) -> Rows:
        if not value:
            return queryset
        return queryset.divergent()
