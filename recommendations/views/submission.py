"""The yearly submission draft of one organization (recommendations/publishing/submission.py):
`/reports/<slug>/submission.docx` and `.json`, `?period=<year>` (default: the current reporting
period) and, for coordinators, `?organization=<id>`."""

import json
from typing import cast

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from ..models import Organization, Report
from ..periods import ReportingPeriod, period_of_year
from ..publishing.submission import submission_content, submission_docx
from ..rules.access import drafts_for_any_organization, writer_membership
from ._shared import bad_request

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@require_GET
def submission(request: HttpRequest, slug: str, extension: str) -> HttpResponse:
    report = get_object_or_404(Report, slug=slug)
    user = cast(User, request.user)  # signed in (LoginRequiredMiddleware)
    asked = request.GET.get("organization")
    if drafts_for_any_organization(user):
        if not asked:
            return bad_request(request, _("Choose the organization whose draft to make."))
        if not asked.isascii() or not asked.isdigit():
            return bad_request(request, _("The organization must be given by its number."))
        organization = get_object_or_404(Organization, pk=int(asked))
        if organization.country != report.country:
            return bad_request(
                request,
                _("%(organization)s is not an organization of %(country)s.")
                % {"organization": organization.name, "country": report.country},
            )
    else:
        organization = writer_membership(user, report).organization  # 403 for the others
        if asked and asked != str(organization.pk):
            raise PermissionDenied(_("A reviewer drafts only their own organization's submission."))
    period = current = ReportingPeriod.current()
    if "period" in request.GET:
        chosen = period_of_year(request.GET["period"])
        if chosen is None:
            return bad_request(request, _("The period must be a report's year, such as 2025."))
        if chosen.starts_on > current.ends_on:
            return bad_request(
                request,
                _("The %(year)s report's period has not begun: the latest is %(current)s's.")
                % {"year": chosen.report_year, "current": current.report_year},
            )
        period = chosen
    content = submission_content(report, organization, period, generated_by=user)
    name = (
        f"submission-{slugify(organization.short_name or organization.name)}-{period.report_year}"
    )
    if extension == "json":
        response = HttpResponse(
            json.dumps(content, ensure_ascii=False, indent=2),
            content_type="application/json; charset=utf-8",
        )
    else:
        response = HttpResponse(submission_docx(content), content_type=DOCX)
    response["Content-Disposition"] = f'attachment; filename="{name}.{extension}"'
    return response
