"""Reports and what the importer makes of them: sections, paragraphs, recommendations (with
their responsibility and evidence inlines) and the lineage between years. Reports,
sections, paragraphs and recommendations come from the report text through the importer, so
none is added here."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext
from simple_history.admin import SimpleHistoryAdmin

from ..models import (
    EvidenceItem,
    EvidenceLink,
    Lineage,
    Paragraph,
    Recommendation,
    Report,
    Responsibility,
    Section,
)
from ..publishing import snapshots
from ..rules.access import may_publish
from ..rules.privileges import report_has_positions
from ._shared import (
    EXPORT_EXTENSIONS,
    LabelledInlineFormSet,
    RecommendationChoiceField,
    RefusedHistoryAdmin,
    object_id_of,
    report_export_action,
    signed_in,
)
from .chapter_import import ChapterImportAdmin


@admin.register(Report)
class ReportAdmin(ChapterImportAdmin, SimpleHistoryAdmin):
    actions = [*(report_export_action(e) for e in EXPORT_EXTENSIONS), "publish_snapshot"]
    list_display = [
        "slug",
        "country",
        "year",
        "tier",
        "recommendation_count",
        "evidence_count",
        "imported_at",
    ]
    list_filter = ["tier", "year"]
    search_fields = ["slug", "country", "title"]
    readonly_fields = ["source_text", "source_sha256", "source_name", "imported_at"]
    change_list_template = "admin/recommendations/report/change_list.html"
    fields = [
        "slug",
        "title",
        "country",
        "year",
        "tier",
        "source_name",
        "source_sha256",
        "imported_at",
        "source_text",
    ]

    class Media:
        css = {"all": ["admin/tracker-admin.css"]}  # filter links large enough to tap

    def get_readonly_fields(
        self, request: HttpRequest, obj: Report | None = None
    ) -> list[str] | tuple[str, ...]:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is None:
            return fields
        if obj.snapshots.exists():  # its snapshots are signed with it
            fields.append("slug")
        if not signed_in(request).is_superuser and report_has_positions(obj):
            fields.append("country")
        return fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(
                recommendation_total=Count("recommendations", distinct=True),
                evidence_total=Count("evidence_items", distinct=True),
            )
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Reports enter through the importer (import_tip_report or "Import a chapter"), which
        # keeps text and SHA-256 together.
        return False

    @admin.display(description=gettext_lazy("recommendations"), ordering="recommendation_total")
    def recommendation_count(self, report: Report) -> int:
        return report.recommendation_total

    @admin.display(description=gettext_lazy("evidence items"), ordering="evidence_total")
    def evidence_count(self, report: Report) -> int:
        return report.evidence_total

    def has_publish_permission(self, request: HttpRequest) -> bool:
        return may_publish(request.user)

    @admin.action(
        description=gettext_lazy("Publish a snapshot of the status report"), permissions=["publish"]
    )
    def publish_snapshot(self, request: HttpRequest, queryset: QuerySet) -> None:
        title = _("Status report %(date)s") % {
            "date": date_format(timezone.localdate(), pgettext("long date format", "j F Y"))
        }
        for report in queryset:
            snapshot = snapshots.publish_snapshot(
                report, published_by=signed_in(request), title=title
            )
            self.message_user(
                request,
                format_html(
                    _('Published <a href="{}">{}</a> (SHA-256 {}…).'),
                    snapshot.get_absolute_url(),
                    snapshot,
                    snapshot.content_sha256[:12],
                ),
                messages.SUCCESS,
            )


@admin.register(Section)
class SectionAdmin(admin.ModelAdmin):
    list_display = ["report", "position", "kind", "start_offset", "end_offset"]
    list_filter = ["report", "kind"]
    readonly_fields = ["report", "kind", "position", "start_offset", "end_offset"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Paragraph)
class ParagraphAdmin(admin.ModelAdmin):
    list_display = ["report", "position", "section", "opening"]
    list_filter = ["report", "section__kind"]
    list_select_related = ["report", "section__report"]
    readonly_fields = ["report", "section", "position", "start_offset", "end_offset", "text"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=gettext_lazy("opens with"))
    def opening(self, paragraph: Paragraph) -> str:
        return paragraph.text[:90] + "…"


class RecommendationEvidenceInline(admin.TabularInline):
    """The evidence a recommendation is linked to: a choice among its own report's items."""

    model = EvidenceLink
    extra = 0
    formset = LabelledInlineFormSet
    fields = ["evidence", "stance"]
    verbose_name = "evidence item"
    verbose_name_plural = "evidence"

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField | None:
        if db_field.name == "evidence":
            recommendation = object_id_of(request)
            items = EvidenceItem.objects.order_by("start_offset")
            kwargs["queryset"] = (
                items.filter(report__recommendations__pk=recommendation)
                if recommendation
                else items.none()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ResponsibilityForm(forms.ModelForm):
    class Meta:
        model = Responsibility
        fields = ["lead", "supporting", "target_date"]
        # A plain date input: the admin's calendar widget points aria-describedby at a time
        # zone warning that a date field never shows; a checkbox group has no id to describe.
        widgets = {
            "supporting": forms.CheckboxSelectMultiple,
            "target_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }
        help_texts = {"supporting": ""}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        lead, supporting = cleaned.get("lead"), cleaned.get("supporting") or []
        if lead is not None and lead in supporting:
            self.add_error(
                "supporting",
                _("%(lead)s is the lead; it cannot also be supporting.") % {"lead": lead},
            )
        return cleaned


class ResponsibilityInline(admin.StackedInline):
    """Who in government answers for the recommendation, and by when."""

    model = Responsibility
    form = ResponsibilityForm
    max_num = 1
    min_num = 0
    extra = 1
    verbose_name = "responsibility and target date"
    verbose_name_plural = "responsibility and target date"


@admin.register(Recommendation)
class RecommendationAdmin(SimpleHistoryAdmin):
    list_display = ["number", "short_title", "pillar", "report", "evidence_count"]
    list_display_links = ["number", "short_title"]
    list_filter = ["report", "pillar"]
    search_fields = ["short_title", "text"]
    list_select_related = ["report"]
    readonly_fields = ["report", "number", "text", "start_offset", "end_offset"]
    fields = ["report", "number", "short_title", "pillar", "text", "start_offset", "end_offset"]
    inlines = [ResponsibilityInline, RecommendationEvidenceInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(evidence_total=Count("evidence_links"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Recommendations come from the report text through the importer.
        return False

    @admin.display(description=gettext_lazy("evidence items"), ordering="evidence_total")
    def evidence_count(self, recommendation: Recommendation) -> int:
        return recommendation.evidence_total


class LineageForm(forms.ModelForm):
    class Meta:
        model = Lineage
        fields = ["previous", "change", "confirmed"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        new = cleaned.get("change") == Lineage.Change.NEW
        if new and cleaned.get("previous") is not None:
            self.add_error("previous", _("A new recommendation has no previous one: clear it."))
        if not new and cleaned.get("change") and cleaned.get("previous") is None:
            self.add_error(
                "previous", _("Choose the earlier recommendation it repeats or revises.")
            )
        return cleaned


def listed(recommendation: Recommendation, length: int = 48) -> str:
    """ "Veldoria 2025 · 3. Increase funding for NGO-run shelters", its title cut to a length."""
    title = recommendation.short_title
    title = title if len(title) <= length else title[: length - 1].rstrip() + "…"
    return f"{recommendation.report.name} · {recommendation.number}. {title}"


@admin.register(Lineage)
class LineageAdmin(RefusedHistoryAdmin):
    """Proposed matches between years (recommendations/lineage.py); a coordinator confirms or
    changes them. Saving confirms; the history keeps every change."""

    form = LineageForm
    # Each recommendation named with its report, short enough that the list fits beside the
    # admin's menu and filters at 1280 px.
    list_display = ["in_report", "change", "previous_in_report", "similarity", "confirmed"]
    list_display_links = ["in_report"]
    list_filter = ["confirmed", "change", "recommendation__report"]
    list_select_related = ["recommendation__report", "previous__report"]
    search_fields = ["recommendation__text", "recommendation__short_title"]
    readonly_fields = ["recommendation_text", "previous_text", "similarity"]
    fields = [
        "recommendation_text",
        "previous",
        "previous_text",
        "change",
        "similarity",
        "confirmed",
    ]
    actions = ["confirm"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # proposed after each import

    class Media:
        css = {"all": ["admin/tracker-admin.css"]}

    @admin.display(description=gettext_lazy("recommendation"), ordering="recommendation")
    def in_report(self, lineage: Lineage) -> str:
        return listed(lineage.recommendation)

    @admin.display(description=gettext_lazy("previous"))
    def previous_in_report(self, lineage: Lineage) -> str:
        return listed(lineage.previous) if lineage.previous else "—"

    @admin.display(description=gettext_lazy("recommendation"))
    def recommendation_text(self, lineage: Lineage) -> str:
        r = lineage.recommendation
        return f"{r.report.year} · {r.number}. {r.text}"

    @admin.display(description=gettext_lazy("previous recommendation's text"))
    def previous_text(self, lineage: Lineage) -> str:
        return lineage.previous.text if lineage.previous else "—"

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField | None:
        if db_field.name == "previous" and (object_id := object_id_of(request)):
            lineage = Lineage.objects.filter(pk=object_id).select_related("recommendation__report")
            if (found := lineage.first()) is not None:
                report = found.recommendation.report
                kwargs["queryset"] = (
                    Recommendation.objects.filter(
                        report__country=report.country, report__year__lt=report.year
                    )
                    .select_related("report")
                    .order_by("-report__year", "number")
                )
            kwargs["form_class"] = RecommendationChoiceField
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Lineage, form: Any, change: bool) -> None:
        obj.confirmed = True  # a coordinator has looked at it
        super().save_model(request, obj, form, change)

    @admin.action(description=gettext_lazy("Confirm the selected matches"), permissions=["change"])
    def confirm(self, request: HttpRequest, queryset: QuerySet[Lineage]) -> None:
        count = 0
        for lineage in queryset.filter(confirmed=False):
            lineage.confirmed = True
            lineage.save()  # one by one: the history records each
            count += 1
        self.message_user(
            request,
            ngettext("%(count)s match confirmed.", "%(count)s matches confirmed.", count)
            % {"count": count},
        )
