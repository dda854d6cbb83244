"""What the admin modules share: the signed-in user, the download actions, the read-only admin,
the labelled inline formset and the recommendation pickers that name their report."""

from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.forms.models import ModelChoiceIteratorValue
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.text import capfirst, format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from .. import downloads, publishing
from ..publishing.snapshots import SnapshotProblems


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

EXPORT_EXTENSIONS = publishing.EXTENSIONS


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


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records nobody edits in admin (append-only rows, audit trails, sent mail): they can
    be listed and viewed, never added, changed or deleted."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


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


def object_id_of(request: HttpRequest) -> int | None:
    """The id of the object a change form is for (None on an add form or a list)."""
    object_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
    return int(object_id) if object_id is not None and str(object_id).isdigit() else None


class RecommendationChoiceField(forms.ModelChoiceField):
    """A recommendation picker whose choices span reports: each named with its report."""

    def label_from_instance(self, obj: Any) -> str:
        return obj.picker_label


class ReportScopedSelect(forms.Select):
    """A <select> of recommendations whose options carry their report (`data-report`), so that
    the admin's script can offer only those of the report chosen on the page."""

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        if isinstance(value, ModelChoiceIteratorValue):
            option["attrs"]["data-report"] = cast(Any, value).instance.report_id
        return option


class RefusedHistoryAdmin(SimpleHistoryAdmin):
    """An audited model whose history is refused, before any lookup, to those who may not view
    the model: whether a row exists is not for them to learn."""

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict | None = None
    ) -> HttpResponseBase:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return super().history_view(request, object_id, extra_context)
