"""Admin's *Import a chapter*: upload a chapter or paste it, see what would be imported,
confirm. The same checks as import_tip_report, and nothing is written before the
confirmation; the preview carries the text back with its SHA-256 signed, so what is stored is
what was previewed."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import importer
from ..models import Lineage, Report, sha256_hex

IMPORT_SALT = "recommendations.import-chapter"
IMPORT_MAX_AGE = 24 * 60 * 60  # seconds a preview may be confirmed for


def not_imported(refused: Exception) -> str:
    return _("Not imported: %(reason)s") % {"reason": refused}


PASTED = "pasted text"  # the source name of a chapter pasted into the form


class ChapterUploadForm(forms.Form):
    """A chapter to preview, uploaded as a file or pasted as text; a refusal of the importer
    is the error of whichever was given."""

    file = forms.FileField(
        required=False,
        label=gettext_lazy("Chapter"),
        help_text=gettext_lazy("The country chapter as a UTF-8 text file."),
    )
    pasted = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 12, "cols": 80}),
        label=gettext_lazy("Or paste the chapter"),
        help_text=gettext_lazy(
            "The whole chapter copied from a web page or a PDF, from its title to its end. It "
            "is stored as pasted, with Windows line endings made plain ones."
        ),
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

    tier = forms.ChoiceField(
        required=False,
        choices=[("", gettext_lazy("Read from the chapter")), *Report.Tier.choices],
        label=gettext_lazy("Tier"),
        help_text=gettext_lazy(
            "Optional: read from the tier line or the summary; needed when the chapter "
            "says neither."
        ),
    )

    parsed: importer.ParsedReport
    existing: Report | None

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        upload, pasted = data.get("file"), data.get("pasted") or ""
        if self.errors:
            return data
        if upload is None and not pasted.strip():
            raise forms.ValidationError(_("Upload the chapter's file or paste its text."))
        if upload is not None and pasted.strip():
            raise forms.ValidationError(
                _("Upload the file or paste the text, not both: which one is the chapter?")
            )
        field = "file" if upload is not None else "pasted"
        size = upload.size if upload is not None else len(pasted.encode("utf-8"))
        if size is not None and size > importer.IMPORT_MAX_BYTES:
            self.add_error(
                field,
                _("Not imported: %(size)s bytes; a chapter is at most %(limit)s KB.")
                % {"size": f"{size:,}", "limit": importer.IMPORT_MAX_BYTES // 1024},
            )
            return data
        try:
            if upload is not None:
                text = importer.decode(upload.read(), upload.name or "upload")
            else:
                text = importer.decode(pasted.encode("utf-8"), PASTED)
            self.parsed = importer.parse_report(
                text, data.get("country") or None, data.get("year"), data.get("tier") or None
            )
            self.existing = importer.existing_report(self.parsed)
        except importer.ImportRefused as refused:
            self.add_error(field, not_imported(refused))
        return data

    def source_name(self) -> str:
        upload = self.cleaned_data.get("file")
        return upload.name if upload is not None else PASTED

    def confirmation(self) -> "ChapterConfirmForm":
        """The preview's form: the stored text, and what to import it as, signed."""
        data = self.cleaned_data
        token = signing.dumps(
            {
                "sha256": sha256_hex(self.parsed.text),
                "name": self.source_name(),
                "country": data.get("country") or None,
                "year": data.get("year"),
                "tier": data.get("tier") or None,
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
                _("The preview came back incomplete; upload or paste the chapter again.")
            )
        try:
            signed = signing.loads(data["token"], salt=IMPORT_SALT, max_age=IMPORT_MAX_AGE)
        except signing.BadSignature as error:
            raise forms.ValidationError(
                _("The preview is too old or was altered; upload or paste the chapter again.")
            ) from error
        text = importer.stored_text(data["text"])
        if sha256_hex(text) != signed["sha256"]:
            raise forms.ValidationError(
                _(
                    "The text sent back is not the text previewed; upload or paste the "
                    "chapter again."
                )
            )
        try:
            self.parsed = importer.parse_report(
                text, signed["country"], signed["year"], signed.get("tier")
            )
        except importer.ImportRefused as refused:
            raise forms.ValidationError(not_imported(refused)) from refused
        self.name = signed["name"]
        return data


class ChapterImportAdmin(admin.ModelAdmin):
    """The report admin's part that imports: its address, the change list's link and the
    wizard's view (ReportAdmin mixes it in)."""

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
    ) -> HttpResponse:
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
                self.log_addition(request, report, f"Imported from {confirm.name}.")
                self.message_user(request, imported_message(report), messages.SUCCESS)
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


def imported_message(report: Report) -> SafeString:
    """What was imported, and the next steps: the lineage proposals to confirm (when there is
    an earlier year) and the evidence to curate."""
    count = report.recommendations.count()
    proposals = Lineage.objects.filter(recommendation__report=report).count()
    workspace = reverse("evidence_workspace", args=[report.slug])
    curate = format_html('<a href="{}">{}</a>', workspace, _("curate its evidence"))
    if not proposals:
        return format_html(
            _("Imported {slug}: {count} recommendations. Next: {curate}."),
            slug=report.slug,
            count=count,
            curate=curate,
        )
    lineage = reverse("admin:recommendations_lineage_changelist")
    confirm = format_html(
        '<a href="{}?recommendation__report__id__exact={}">{}</a>',
        lineage,
        report.pk,
        _("confirm the %(count)s matches proposed with the year before") % {"count": proposals},
    )
    return format_html(
        _("Imported {slug}: {count} recommendations. Next: {confirm}, then {curate}."),
        slug=report.slug,
        count=count,
        confirm=confirm,
        curate=curate,
    )
