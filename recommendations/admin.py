from collections.abc import Callable, Sequence
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.contrib.auth.models import User
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Model, QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst, format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext
from simple_history.admin import SimpleHistoryAdmin

from . import downloads, importer, publishing
from .models import (
    Assessment,
    Comment,
    EvidenceItem,
    EvidenceLink,
    Lineage,
    Membership,
    Organization,
    Paragraph,
    Recommendation,
    Report,
    Responsibility,
    ReviewCycle,
    Section,
    SentMail,
    Snapshot,
    SnapshotQuerySet,
    may_publish,
    require_same_report,
    sha256_hex,
)
from .privileges import (
    COUNTING_FIELDS,
    PRIVILEGE_FIELDS,
    has_taken_positions,
    may_change_account,
    may_give_membership,
    report_has_positions,
)
from .publishing import snapshots
from .publishing.snapshots import SnapshotProblems
from .quotes import locate_quote
from .validators import refuse_control_characters


def quote_in_context(item: EvidenceItem) -> str:
    """The quote marked inside its paragraph, so a coordinator sees what surrounds it."""
    if not item.pk:
        return "—"
    paragraph = item.paragraph()
    text = item.report.source_text
    start, end = (
        (paragraph.start_offset, paragraph.end_offset)
        if paragraph
        else (item.start_offset, item.end_offset)
    )
    return format_html(
        '<div class="quote-context">{}<mark>{}</mark>{}</div>',
        text[start : item.start_offset],
        text[item.start_offset : item.end_offset],
        text[item.end_offset : end],
    )


def signed_in(request: HttpRequest) -> User:
    """The admin lets only signed-in staff through."""
    return cast(User, request.user)


def only_one[M: Model](
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[M]
) -> M | None:
    """The selected object when exactly one is selected; else a message and None."""
    if queryset.count() != 1:
        modeladmin.message_user(
            request, _("Select exactly one to download (one file per download)."), messages.ERROR
        )
        return None
    return queryset.first()


type Action = Callable[[admin.ModelAdmin, HttpRequest, QuerySet], HttpResponseBase | None]


def report_export_action(extension: str) -> Action:
    @admin.action(
        description=format_lazy(gettext_lazy("Download the status report as {}"), extension.upper())
    )
    def download(
        modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet
    ) -> HttpResponseBase | None:
        report = only_one(modeladmin, request, queryset)
        if report is None:
            return None
        return downloads.report_download(
            report, report.recommendations.all(), extension, user=signed_in(request)
        )

    download.__name__ = f"download_{extension}"
    return download


def snapshot_export_action(extension: str) -> Action:
    @admin.action(
        description=format_lazy(gettext_lazy("Download the snapshot as {}"), extension.upper())
    )
    def download(
        modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet
    ) -> HttpResponseBase | None:
        snapshot = only_one(modeladmin, request, queryset.select_related("report"))
        if snapshot is None:
            return None
        try:
            return downloads.snapshot_download(snapshot, extension)
        except SnapshotProblems as tampered:
            modeladmin.message_user(
                request,
                _(
                    "Snapshot #%(number)s is no longer what was published, so it is not "
                    "downloaded: %(problems)s"
                )
                % {"number": snapshot.pk, "problems": " ".join(tampered.problems)},
                messages.ERROR,
            )
            return None

    download.__name__ = f"download_{extension}"
    return download


EXPORT_EXTENSIONS = publishing.EXTENSIONS
IMPORT_SALT = "recommendations.import-chapter"
IMPORT_MAX_AGE = 24 * 60 * 60  # seconds a preview may be confirmed for


def not_imported(refused: Exception) -> str:
    return _("Not imported: %(reason)s") % {"reason": refused}


class ChapterUploadForm(forms.Form):
    """A chapter to preview; a refusal of the importer is the file's error."""

    file = forms.FileField(
        label=gettext_lazy("Chapter"),
        help_text=gettext_lazy("The country chapter as a UTF-8 text file."),
    )
    country = forms.CharField(
        required=False,
        max_length=100,
        label=gettext_lazy("Country"),
        help_text=gettext_lazy(
            "Optional: read from the chapter; if given, it must be the chapter's country."
        ),
    )
    year = forms.IntegerField(
        required=False,
        min_value=2000,
        max_value=2100,
        label=gettext_lazy("Year"),
        help_text=gettext_lazy(
            "Optional: read from the title line; needed when the chapter has none."
        ),
    )

    parsed: importer.ParsedReport
    existing: Report | None

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        upload = data.get("file")
        if upload is None or self.errors:
            return data
        if upload.size is not None and upload.size > importer.IMPORT_MAX_BYTES:
            self.add_error(
                "file",
                _("Not imported: %(size)s bytes; a chapter is at most %(limit)s KB.")
                % {"size": f"{upload.size:,}", "limit": importer.IMPORT_MAX_BYTES // 1024},
            )
            return data
        try:
            text = importer.decode(upload.read(), upload.name or "upload")
            self.parsed = importer.parse_report(text, data.get("country") or None, data.get("year"))
            self.existing = importer.existing_report(self.parsed)
        except importer.ImportRefused as refused:
            self.add_error("file", not_imported(refused))
        return data

    def confirmation(self) -> "ChapterConfirmForm":
        """The preview's form: the stored text, and what to import it as, signed."""
        data = self.cleaned_data
        token = signing.dumps(
            {
                "sha256": sha256_hex(self.parsed.text),
                "name": data["file"].name,
                "country": data.get("country") or None,
                "year": data.get("year"),
            },
            salt=IMPORT_SALT,
        )
        return ChapterConfirmForm(initial={"text": self.parsed.text, "token": token})


class ChapterConfirmForm(forms.Form):
    """The previewed text comes back; its SHA-256, signed, shows it is the text previewed."""

    text = forms.CharField(widget=forms.HiddenInput, strip=False)
    token = forms.CharField(widget=forms.HiddenInput)

    parsed: importer.ParsedReport
    name: str

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.errors:
            raise forms.ValidationError(
                _("The preview came back incomplete; upload the file again.")
            )
        try:
            signed = signing.loads(data["token"], salt=IMPORT_SALT, max_age=IMPORT_MAX_AGE)
        except signing.BadSignature as error:
            raise forms.ValidationError(
                _("The preview is too old or was altered; upload the file again.")
            ) from error
        text = importer.stored_text(data["text"])
        if sha256_hex(text) != signed["sha256"]:
            raise forms.ValidationError(
                _("The text sent back is not the text previewed; upload the file again.")
            )
        try:
            self.parsed = importer.parse_report(text, signed["country"], signed["year"])
        except importer.ImportRefused as refused:
            raise forms.ValidationError(not_imported(refused)) from refused
        self.name = signed["name"]
        return data


@admin.register(Report)
class ReportAdmin(SimpleHistoryAdmin):
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

    def has_import_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("recommendations.add_report")

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.import_chapter)
        return [
            path("import/", view, name="recommendations_report_import"),
            *super().get_urls(),
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponseBase:
        context = {**(extra_context or {}), "may_import": self.has_import_permission(request)}
        return super().changelist_view(request, context)

    def import_chapter(self, request: HttpRequest) -> HttpResponseBase:
        """Upload a chapter, see what would be imported, confirm: the same checks as
        import_tip_report, and nothing is written before the confirmation."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Import a chapter"),
        }
        if request.method == "POST" and "token" in request.POST:
            confirm = ChapterConfirmForm(request.POST)
            if not confirm.is_valid():
                upload = ChapterUploadForm()
                context |= {"form": upload, "refusals": confirm.non_field_errors()}
                return TemplateResponse(
                    request, "admin/recommendations/report/import.html", context, status=400
                )
            try:
                result = importer.store(confirm.parsed, name=confirm.name)
            except importer.ImportRefused as refused:
                context |= {"form": ChapterUploadForm(), "refusals": [not_imported(refused)]}
                return TemplateResponse(
                    request, "admin/recommendations/report/import.html", context, status=409
                )
            report = result.report
            if result.created:
                self.log_addition(request, report, "Imported from a chapter file.")
                self.message_user(
                    request,
                    _("Imported %(slug)s: %(count)s recommendations.")
                    % {"slug": report.slug, "count": report.recommendations.count()},
                    messages.SUCCESS,
                )
            else:
                self.message_user(
                    request,
                    _("%(slug)s is already stored with this exact text; unchanged.")
                    % {"slug": report.slug},
                )
            return HttpResponseRedirect(
                reverse("admin:recommendations_report_change", args=[report.pk])
            )
        form = ChapterUploadForm(
            request.POST if request.method == "POST" else None,
            request.FILES if request.method == "POST" else None,
        )
        if request.method == "POST" and form.is_valid():
            context |= {
                "title": _("Import a chapter: preview"),
                "parsed": form.parsed,
                "preview": importer.preview(form.parsed),
                "existing": form.existing,
                "confirm": form.confirmation(),
            }
            return TemplateResponse(request, "admin/recommendations/report/preview.html", context)
        context["form"] = form
        return TemplateResponse(request, "admin/recommendations/report/import.html", context)

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


class LabelledInlineFormSet(forms.BaseInlineFormSet):
    """A tabular inline names its fields only in the column headers, which leaves each row's
    stance select, autocomplete and delete box without an accessible name (WCAG 4.1.2): every
    shown field gets its column's name as aria-label. admin/tracker-admin.js hands it on to
    the box Select2 draws for an autocomplete field."""

    def add_fields(self, form: forms.ModelForm, index: int | None) -> None:
        super().add_fields(form, index)
        for field in form.fields.values():
            widget = field.widget
            if isinstance(widget, RelatedFieldWidgetWrapper):
                widget = widget.widget
            if not widget.is_hidden:
                widget.attrs.setdefault("aria-label", capfirst(str(field.label)))


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
                require_same_report(report.pk, recommendation)


class EvidenceLinkInline(admin.TabularInline):
    model = EvidenceLink
    formset = EvidenceLinkFormSet
    extra = 1
    autocomplete_fields = ["recommendation"]

    class Media:
        js = ["admin/tracker-admin.js"]


class RecommendationEvidenceInline(admin.TabularInline):
    model = EvidenceLink
    extra = 0
    formset = LabelledInlineFormSet
    fields = ["evidence", "stance"]
    autocomplete_fields = ["evidence"]
    verbose_name = "evidence item"
    verbose_name_plural = "evidence"

    class Media:
        js = ["admin/tracker-admin.js"]


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


@admin.register(Lineage)
class LineageAdmin(SimpleHistoryAdmin):
    """Proposed matches between years (recommendations/lineage.py); a coordinator confirms or
    changes them. Saving confirms; the history keeps every change."""

    form = LineageForm
    list_display = ["recommendation", "report", "change", "previous", "similarity", "confirmed"]
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

    @admin.display(description=gettext_lazy("report"), ordering="recommendation__report")
    def report(self, lineage: Lineage) -> str:
        return lineage.recommendation.report.slug

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
        if db_field.name == "previous" and request.resolver_match:
            lineage = Lineage.objects.filter(
                pk=request.resolver_match.kwargs.get("object_id")
            ).select_related("recommendation__report")
            if (found := lineage.first()) is not None:
                report = found.recommendation.report
                kwargs["queryset"] = (
                    Recommendation.objects.filter(
                        report__country=report.country, report__year__lt=report.year
                    )
                    .select_related("report")
                    .order_by("-report__year", "number")
                )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict | None = None
    ) -> HttpResponseBase:
        # Refused before the lookup: whether a row exists is not for those who may not see it.
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return super().history_view(request, object_id, extra_context)

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
    readonly_fields = ["section", "end_offset", "in_context"]
    inlines = [EvidenceLinkInline]

    class Media:
        css = {"all": ["admin/tracker-admin.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("links__recommendation")

    def get_fields(self, request: HttpRequest, obj: EvidenceItem | None = None) -> list[str]:
        fields = ["report", "quote", "start_offset", "note"]
        return [*fields, "section", "end_offset", "in_context"] if obj else fields

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
        return quote_in_context(item)


@admin.register(Organization)
class OrganizationAdmin(SimpleHistoryAdmin):
    list_display = ["name", "short_name", "kind", "member_count"]
    list_filter = ["kind"]
    search_fields = ["name", "short_name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(member_total=Count("memberships"))

    def get_readonly_fields(
        self, request: HttpRequest, obj: Organization | None = None
    ) -> list[str] | tuple[str, ...]:
        fields = super().get_readonly_fields(request, obj)
        if obj is not None and not signed_in(request).is_superuser and has_taken_positions(obj):
            return [*fields, *COUNTING_FIELDS]
        return fields

    @admin.display(description=gettext_lazy("members"), ordering="member_total")
    def member_count(self, organization: Organization) -> int:
        return organization.member_total


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    list_display = ["user", "organization", "role"]
    list_filter = ["role", "organization__kind", "organization"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "organization__name"]
    list_select_related = ["user", "organization"]
    autocomplete_fields = ["user", "organization"]

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField | None:
        if db_field.name == "user" and not signed_in(request).is_superuser:
            kwargs["queryset"] = User.objects.filter(is_staff=False, is_superuser=False)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: Membership | None = None) -> bool:
        if obj is not None and not may_give_membership(signed_in(request), obj.user):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Membership | None = None) -> bool:
        if obj is not None and not may_give_membership(signed_in(request), obj.user):
            return False
        return super().has_delete_permission(request, obj)


class MembershipInline(admin.StackedInline):
    """On a user's page; a staff account's membership is the superuser's to give."""

    model = Membership
    can_delete = True
    extra = 0
    max_num = 1

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and not may_give_membership(signed_in(request), obj):
            return False
        return super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and not may_give_membership(signed_in(request), obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and not may_give_membership(signed_in(request), obj):
            return False
        return super().has_delete_permission(request, obj)


admin.site.unregister(User)


class AccountChangeForm(UserChangeForm):
    """Django's form, with names kept to one line (they go into mail headers)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("first_name", "last_name"):
            if name in self.fields:
                self.fields[name].validators.append(refuse_control_characters)


@admin.register(User)
class TrackerUserAdmin(UserAdmin):
    form = AccountChangeForm
    inlines = [MembershipInline]
    list_display = ["username", "email", "first_name", "last_name", "is_staff", "organization"]
    list_select_related = ["membership__organization"]
    list_filter = [
        "is_staff",
        "is_superuser",
        "is_active",
        "groups",
        "membership__role",
        "membership__organization",
    ]

    def get_readonly_fields(
        self, request: HttpRequest, obj: User | None = None
    ) -> list[str] | tuple[str, ...]:
        fields = super().get_readonly_fields(request, obj)
        actor = signed_in(request)
        if actor.is_superuser:
            return fields
        fields = [*fields, *PRIVILEGE_FIELDS, "groups", "user_permissions"]
        if obj is not None and obj.pk == actor.pk:
            fields.append("is_active")
        return fields

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # The membership form's user picker offers only the accounts a membership may go to.
        picking_a_member = request.GET.get("model_name") == "membership"
        if picking_a_member and not signed_in(request).is_superuser:
            queryset = queryset.filter(is_staff=False, is_superuser=False)
        return queryset, may_have_duplicates

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        """Another staff account is the superuser's to change (its password too: Django's
        password form asks this)."""
        if obj is not None and not may_change_account(signed_in(request), obj):
            return False
        return super().has_change_permission(request, obj)

    @admin.display(
        description=gettext_lazy("organization"), ordering="membership__organization__name"
    )
    def organization(self, user: User) -> str:
        membership = getattr(user, "membership", None)
        return f"{membership.organization} ({membership.get_role_display()})" if membership else "—"


@admin.register(ReviewCycle)
class ReviewCycleAdmin(SimpleHistoryAdmin):
    list_display = ["name", "starts_on", "ends_on"]


@admin.register(Assessment)
class AssessmentAdmin(admin.ModelAdmin):
    """Read-only: assessments are append-only, so not even a coordinator edits or deletes one."""

    list_display = ["created_at", "recommendation", "organization", "author", "status", "cycle"]
    list_filter = ["status", "organization__kind", "organization", "cycle"]
    search_fields = ["rationale", "author__username", "organization__name"]
    list_select_related = ["recommendation", "organization", "author", "cycle"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Assessment | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Assessment | None = None) -> bool:
        return False


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    """Read-only: comments are append-only, like assessments; reviewers write them for their
    own organization on the recommendation page, and nobody edits or deletes one."""

    list_display = ["created_at", "recommendation", "organization", "author", "opening"]
    list_filter = ["organization", "recommendation__report"]
    search_fields = ["body", "author__username"]
    list_select_related = ["recommendation", "organization", "author"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Comment | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Comment | None = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("comment"))
    def opening(self, comment: Comment) -> str:
        return comment.body[:80]


@admin.register(Snapshot)
class SnapshotAdmin(admin.ModelAdmin):
    """Published snapshots are frozen: coordinators view and download them, nothing more.
    Publish from the report list or the snapshots page."""

    actions = [snapshot_export_action(e) for e in EXPORT_EXTENSIONS]
    list_display = ["title", "report", "published_by", "published_at", "short_sha256", "intact"]
    list_filter = ["report"]
    list_select_related = ["report", "published_by"]
    search_fields = ["title"]
    fields = [
        "title",
        "report",
        "published_by",
        "published_at",
        "content_sha256",
        "previous_sha256",
        "chain_sha256",
        "signature",
        "signing_scheme",
        "signed_metadata",
        "verification",
        "content",
    ]

    readonly_fields = ["verification"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Snapshot]:
        return cast(SnapshotQuerySet, super().get_queryset(request)).with_previous_chain()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Snapshot | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Snapshot | None = None) -> bool:
        return False

    @admin.display(description="SHA-256")
    def short_sha256(self, snapshot: Snapshot) -> str:
        return snapshot.content_sha256[:12] + "…"

    @admin.display(description=gettext_lazy("verified"), boolean=True)
    def intact(self, snapshot: Snapshot) -> bool:
        return not snapshot.problems()

    @admin.display(description=gettext_lazy("verification"))
    def verification(self, snapshot: Snapshot) -> str:
        return snapshot.verification()


@admin.register(EvidenceLink.history.model)
class EvidenceLinkHistoryAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(SentMail)
class SentMailAdmin(admin.ModelAdmin):
    """What was sent: read-only, the record that keeps mail from going out twice."""

    list_display = ["sent_at", "kind", "user", "subject", "key"]
    list_filter = ["kind"]
    search_fields = ["user__username", "user__email", "subject"]
    list_select_related = ["user"]
    date_hierarchy = "sent_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
