"""Evidence items, quoted verbatim from a report, and the audit trail of their links to
recommendations."""

from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from ..models import (
    DeclinedCarry,
    EvidenceItem,
    EvidenceLink,
    Recommendation,
    require_same_report,
)
from ..presentation import quote_in_context
from ..quotes import locate_quote
from ._shared import (
    LabelledInlineFormSet,
    ReadOnlyAdmin,
    RecommendationChoiceField,
    ReportScopedSelect,
    object_id_of,
)


class EvidenceLinkFormSet(LabelledInlineFormSet):
    """A new evidence item has no id yet when its links are validated, so the model's own
    check (EvidenceLink.clean) cannot see its report: check here with the same rule."""

    def clean(self) -> None:
        super().clean()
        report = getattr(self.instance, "report", None)
        if report is None:
            return
        for form in self.forms:
            recommendation = form.cleaned_data.get("recommendation")
            if recommendation and not form.cleaned_data.get("DELETE"):
                try:
                    require_same_report(report, recommendation)
                except ValidationError as error:
                    form.add_error("recommendation", error)


class EvidenceLinkInline(admin.TabularInline):
    """The recommendations an evidence item supports. An item's own report's recommendations
    only, once it has one; on a new item, every report's, named with their report (the page's
    script leaves only those of the report chosen above), and a wrong one is refused naming
    both reports."""

    model = EvidenceLink
    formset = EvidenceLinkFormSet
    extra = 1

    class Media:
        js = ["admin/tracker-admin.js"]

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField | None:
        if db_field.name == "recommendation":
            kwargs["queryset"] = recommendations_for(item_of(request))
            kwargs["form_class"] = RecommendationChoiceField
            kwargs["widget"] = ReportScopedSelect
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def item_of(request: HttpRequest) -> EvidenceItem | None:
    """The evidence item a change form is for (None on the add form)."""
    object_id = object_id_of(request)
    return EvidenceItem.objects.filter(pk=object_id).first() if object_id else None


def recommendations_for(item: EvidenceItem | None) -> QuerySet[Recommendation]:
    """What an evidence item may be linked to: its report's recommendations (any report's
    before it has one), newest report first."""
    recommendations = Recommendation.objects.select_related("report")
    if item is not None:
        recommendations = recommendations.filter(report_id=item.report_id)
    return recommendations.order_by("-report__year", "report__country", "number")


class EvidenceItemForm(forms.ModelForm):
    """The coordinator pastes a quote; the form finds it in the report and sets the offsets."""

    start_offset = forms.IntegerField(
        required=False,
        min_value=0,
        label=gettext_lazy("start offset"),
        help_text=gettext_lazy("Only needed when the quote occurs more than once in the report."),
    )

    class Meta:
        model = EvidenceItem
        fields = ["report", "quote", "start_offset", "note"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        report, quote = cleaned.get("report"), cleaned.get("quote")
        if not report or not quote:
            return cleaned
        location = locate_quote(report, quote, cleaned.get("start_offset"))
        cleaned["start_offset"] = location.start
        self.instance.start_offset = location.start
        self.instance.end_offset = location.end
        self.instance.section = location.section
        return cleaned


@admin.register(EvidenceItem)
class EvidenceItemAdmin(SimpleHistoryAdmin):
    form = EvidenceItemForm
    list_display = ["short_quote", "report", "section_kind", "linked_recommendations"]
    list_filter = ["report", "section__kind", "links__stance"]
    search_fields = ["quote", "note"]
    list_select_related = ["report", "section"]
    readonly_fields = ["section", "end_offset", "in_context", "carried_from"]
    inlines = [EvidenceLinkInline]

    class Media:
        css = {"all": ["admin/tracker-admin.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("links__recommendation")

    def get_fields(self, request: HttpRequest, obj: EvidenceItem | None = None) -> list[str]:
        fields = ["report", "quote", "start_offset", "note"]
        return [*fields, "section", "end_offset", "in_context", "carried_from"] if obj else fields

    def get_deleted_objects(
        self, objs: Sequence[EvidenceItem] | QuerySet[EvidenceItem], request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        """A cited item is shown as protected, so admin explains instead of failing."""
        deleted, counts, permissions_needed, protected = super().get_deleted_objects(objs, request)
        for item in objs:
            protected += [f"{item}: {citation}" for citation in item.citations()]
        return deleted, counts, permissions_needed, protected

    @admin.display(description=gettext_lazy("quote"))
    def short_quote(self, item: EvidenceItem) -> str:
        return str(item)

    @admin.display(description=gettext_lazy("section"), ordering="section__position")
    def section_kind(self, item: EvidenceItem) -> str:
        return item.section.get_kind_display()

    @admin.display(description=gettext_lazy("recommendations (stance)"))
    def linked_recommendations(self, item: EvidenceItem) -> str:
        return format_html_join(
            ", ",
            "{} ({})",
            (
                (link.recommendation.number, link.get_stance_display())
                for link in sorted(item.links.all(), key=lambda link: link.recommendation.number)
            ),
        )

    @admin.display(description=gettext_lazy("in its paragraph"))
    def in_context(self, item: EvidenceItem) -> str:
        """The quote marked inside its whole paragraph, so a coordinator sees what surrounds
        it."""
        if not item.pk:
            return "—"
        context = quote_in_context(item.report.source_text, item, item.paragraph(), around=None)
        return format_html(
            '<div class="quote-context">{}<mark>{}</mark>{}</div>',
            context.before,
            context.quote,
            context.after,
        )


@admin.register(EvidenceLink.history.model)
class EvidenceLinkHistoryAdmin(ReadOnlyAdmin):
    """Links are edited inline on evidence items and recommendations; their audit trail is here.
    The other curated models show theirs under "History" on each object."""

    list_display = [
        "history_date",
        "history_user",
        "history_type",
        "evidence",
        "recommendation",
        "stance",
    ]
    list_filter = ["history_type", "stance"]
    list_select_related = ["history_user", "evidence", "recommendation"]
    date_hierarchy = "history_date"


@admin.register(DeclinedCarry)
class DeclinedCarryAdmin(SimpleHistoryAdmin):
    """Earlier years' quotes a coordinator chose not to carry forward (in the evidence
    workspace). Deleting one makes the workspace propose that quote again."""

    list_display = ["evidence", "recommendation"]
    list_filter = ["recommendation__report"]
    list_select_related = ["evidence", "recommendation__report"]
    readonly_fields = ["evidence", "recommendation"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
