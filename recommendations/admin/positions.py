"""Review cycles and submission deadlines, and the positions organizations take: assessments
and comments."""

from django.contrib import admin
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from ..models import Assessment, Comment, ReviewCycle, SubmissionDeadline
from ..periods import ReportingPeriod
from ._shared import ReadOnlyAdmin, RefusedHistoryAdmin


@admin.register(ReviewCycle)
class ReviewCycleAdmin(SimpleHistoryAdmin):
    list_display = ["name", "starts_on", "ends_on", "reporting_period"]

    @admin.display(description=gettext_lazy("reporting period it starts in"))
    def reporting_period(self, cycle: ReviewCycle) -> str:
        period = ReportingPeriod.containing(cycle.starts_on)
        return f"{period.report_year}: {period.label()}"


@admin.register(SubmissionDeadline)
class SubmissionDeadlineAdmin(RefusedHistoryAdmin):
    """The year's submission deadline; the digests remind reviewers two weeks before."""

    list_display = ["report_year", "due_on", "reporting_period"]

    @admin.display(description=gettext_lazy("reporting period"))
    def reporting_period(self, deadline: SubmissionDeadline) -> str:
        return ReportingPeriod(deadline.report_year).label()


@admin.register(Assessment)
class AssessmentAdmin(ReadOnlyAdmin):
    """Read-only: assessments are append-only, so not even a coordinator edits or deletes one."""

    list_display = ["created_at", "recommendation", "organization", "author", "status", "cycle"]
    list_filter = ["status", "organization__kind", "organization", "cycle"]
    search_fields = ["rationale", "author__username", "organization__name"]
    list_select_related = ["recommendation", "organization", "author", "cycle"]
    date_hierarchy = "created_at"


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    """Read-only: comments are append-only, like assessments; reviewers write them for their
    own organization on the recommendation page, and nobody edits or deletes one."""

    list_display = ["created_at", "recommendation", "organization", "author", "opening"]
    list_filter = ["organization", "recommendation__report"]
    search_fields = ["body", "author__username"]
    list_select_related = ["recommendation", "organization", "author"]
    date_hierarchy = "created_at"

    @admin.display(description=gettext_lazy("comment"))
    def opening(self, comment: Comment) -> str:
        return comment.body[:80]
