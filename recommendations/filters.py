import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Q

from .models import OrganizationKind, Pillar, Recommendation, RecommendationQuerySet
from .status import NOT_ASSESSED, status_choices_with_not_assessed

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

    class Meta:
        model = Recommendation
        fields = ["q", "status", "pillar", "kind", "divergent"]

    def applied(self) -> dict[str, str]:
        """The filters in use, as their query-string values (valid filtersets only)."""
        if not self.is_bound or not self.is_valid():
            return {}
        return {
            name: self.data[name]
            for name, value in self.form.cleaned_data.items()
            if value not in (None, "", False) and name in self.data
        }

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
