"""Each domain rule has one definition (see docs/design.md, "Rules"); these tests pin the
chosen definition and check that every place that applies the rule agrees with it."""

import io
import re
from datetime import date

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from recommendations.filters import RecommendationFilter
from recommendations.forms import AssessmentForm, CommentForm
from recommendations.groups import COORDINATOR_PERMISSIONS
from recommendations.models import (
    EvidenceItem,
    Recommendation,
    ReviewCycle,
    Snapshot,
    attach_positions,
)
from recommendations.publishing import pdf, render
from recommendations.publishing.document import build_document
from recommendations.publishing.snapshots import publish_snapshot
from recommendations.publishing.tables import FIRST_ORGANIZATION_COLUMN
from recommendations.quotes import locate_quote
from recommendations.rules.access import may_publish, may_write, writer_membership
from recommendations.rules.writing import add_comment, assess
from recommendations.status import NOT_ASSESSED, STATUS_STYLES, Status, stylesheet

from .conftest import make_assessment, make_coordinator, make_organization, make_user

# --- who may write ---------------------------------------------------------------------------


def test_only_reviewers_write_and_for_their_own_organization(norway, people):
    assert writer_membership(people["ngo"]).organization.name == "Nettverk mot menneskehandel"
    assert may_write(people["ngo"]) and may_write(people["gov"])
    for who in ("observer", "staff", "coordinator"):
        assert not may_write(people[who])
        with pytest.raises(PermissionDenied, match="Only reviewers write"):
            writer_membership(people[who])
    recommendation = norway.recommendations.get(number=1)
    with pytest.raises(PermissionDenied, match="Only reviewers write"):
        add_comment(recommendation, author=people["observer"], body="Hello")


# --- who may publish -------------------------------------------------------------------------


def test_publishing_takes_the_permission_not_staff_status(norway, people):
    staff = people["staff"]
    assert staff.is_staff and not may_publish(staff)
    with pytest.raises(PermissionDenied):
        publish_snapshot(norway, published_by=staff, title="Not allowed")
    assert may_publish(people["coordinator"])
    publish_snapshot(norway, published_by=people["coordinator"], title="Allowed")
    assert Snapshot.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_coordinators_group_holds_the_publish_permission_even_after_a_flush():
    call_command("flush", interactive=False, verbosity=0)
    group = Group.objects.get(name="Coordinators")
    assert group.permissions.filter(codename="publish_snapshot").exists()
    expected = {codename for _, _, codenames in COORDINATOR_PERMISSIONS for codename in codenames}
    assert set(group.permissions.values_list("codename", flat=True)) == expected
    assert may_publish(make_coordinator("after-flush"))


def test_staff_without_the_permission_cannot_publish_from_the_page(client, norway, people):
    client.force_login(people["staff"])
    page = client.get(reverse("snapshots", args=[norway.slug])).content.decode()
    assert "Publish the current status report" not in page
    response = client.post(reverse("snapshots", args=[norway.slug]), {"title": "Sneaky"})
    assert response.status_code == 403
    assert not Snapshot.objects.exists()


def test_staff_with_only_view_report_cannot_publish_through_the_admin_action(
    client, norway, people
):
    staff = people["staff"]
    staff.user_permissions.add(Permission.objects.get(codename="view_report"))
    client.force_login(staff)
    changelist = reverse("admin:recommendations_report_changelist")
    assert "publish_snapshot" not in client.get(changelist).content.decode()
    response = client.post(
        changelist, {"action": "publish_snapshot", "_selected_action": [norway.pk]}
    )
    assert response.status_code in (200, 302)
    assert not Snapshot.objects.exists()


def test_coordinators_publish_through_the_admin_action(client, norway, people):
    client.force_login(people["coordinator"])
    changelist = reverse("admin:recommendations_report_changelist")
    response = client.post(
        changelist, {"action": "publish_snapshot", "_selected_action": [norway.pk]}
    )
    assert response.status_code == 302
    assert Snapshot.objects.get().published_by == people["coordinator"]


# --- which evidence may be cited ---------------------------------------------------------------


def unlinked_item(recommendation: Recommendation) -> EvidenceItem:
    """Evidence of the same report that is not linked to this recommendation."""
    return (
        EvidenceItem.objects.filter(report=recommendation.report)
        .exclude(links__recommendation=recommendation)
        .first()
    )


def test_only_evidence_linked_to_the_recommendation_can_be_cited(norway, people):
    recommendation = norway.recommendations.get(number=1)
    linked = recommendation.citable_evidence().first()
    unlinked = unlinked_item(recommendation)
    assert linked is not None and unlinked is not None
    assert set(recommendation.citable_evidence()) == set(recommendation.evidence_items.all())

    with pytest.raises(ValidationError) as refused:
        assess(
            recommendation,
            author=people["ngo"],
            status=Status.IMPLEMENTED,
            rationale="R",
            evidence=[unlinked],
        )
    assert "linked to this recommendation" in str(refused.value)
    with pytest.raises(ValidationError):
        add_comment(recommendation, author=people["ngo"], body="About this", evidence=unlinked)

    assessment = assess(
        recommendation,
        author=people["ngo"],
        status=Status.IMPLEMENTED,
        rationale="R",
        evidence=[linked],
    )
    assert list(assessment.cited_evidence.all()) == [linked]
    # The forms offer exactly the citable evidence.
    form = AssessmentForm(recommendation=recommendation)
    assert list(form.fields["evidence"].queryset) == list(recommendation.citable_evidence())
    comment_form = CommentForm(recommendation=recommendation)
    assert list(comment_form.fields["evidence"].queryset) == list(recommendation.citable_evidence())


# --- the review cycle ----------------------------------------------------------------------


def test_an_assessment_outside_every_review_cycle_is_refused(norway, people, time_machine):
    time_machine(date(2031, 6, 1))
    assert ReviewCycle.containing() is None
    recommendation = norway.recommendations.get(number=1)
    with pytest.raises(ValidationError, match="No review cycle contains today"):
        assess(recommendation, author=people["ngo"], status=Status.IN_PROGRESS, rationale="R")
    assert not recommendation.assessments.exists()


# --- divergence ----------------------------------------------------------------------------


def test_divergence_is_one_definition_for_dashboard_filter_and_exports(norway, people, client):
    first, second, third = (norway.recommendations.get(number=n) for n in (1, 2, 3))
    make_assessment(first, people["gov"], Status.IMPLEMENTED)
    make_assessment(first, people["ngo"], Status.NO_PROGRESS)
    make_assessment(second, people["gov"], Status.IN_PROGRESS)
    make_assessment(second, people["ngo"], Status.IN_PROGRESS)
    make_assessment(third, people["gov"], Status.IN_PROGRESS)

    rows = {r.number: r for r in attach_positions(list(norway.recommendations.all()))}
    assert (rows[1].divergence, rows[2].divergence, rows[3].divergence) == (3, 0, None)
    divergent = RecommendationFilter(
        {"divergent": "true"}, queryset=norway.recommendations.with_counts()
    )
    assert [r.number for r in divergent.rows()] == [1]
    assert list(divergent.selection()) == [rows[1]]
    document = build_document(norway, norway.recommendations.all(), generated_by=people["observer"])
    assert [r["divergence"] for r in document["recommendations"][:3]] == [3, 0, None]
    client.force_login(people["observer"])
    html = client.get(reverse("dashboard", args=[norway.slug])).content.decode()
    assert "3 steps apart" in html


# --- the status scale and its colours --------------------------------------------------------


def test_status_stylesheet_is_generated_from_the_scale(client, norway, people):
    response = client.get(reverse("status_stylesheet"))  # public: the log-in page uses it
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    css = response.content.decode()
    assert css == stylesheet()
    for value in [*Status.values, NOT_ASSESSED]:
        assert f".status-{value} {{ background: {STATUS_STYLES[value].colour};" in css
    client.force_login(people["observer"])
    page = client.get(reverse("dashboard", args=[norway.slug])).content.decode()
    assert re.search(r'href="/status\.css\?v=[0-9a-f]{12}"', page)


def test_app_stylesheet_defines_no_status_colour():
    app_css = (settings.BASE_DIR / "static" / "css" / "app.css").read_text()
    for value in STATUS_STYLES:
        assert f".status-{value}" not in app_css and f".fill-{value}" not in app_css


def test_xlsx_and_pdf_take_their_colours_from_the_scale(norway, people):
    recommendation = norway.recommendations.get(number=1)
    make_assessment(recommendation, people["gov"], Status.PARTIALLY_IMPLEMENTED)
    document = build_document(norway, norway.recommendations.all(), generated_by=people["observer"])

    summary = load_workbook(io.BytesIO(render(document, "xlsx")))["Summary"]
    fill = summary.cell(row=2, column=FIRST_ORGANIZATION_COLUMN + 1).fill.fgColor.rgb
    assert fill.endswith(STATUS_STYLES[Status.PARTIALLY_IMPLEMENTED].colour_hex)

    html = pdf.status_report_html(document)
    assert stylesheet(svg_fills=False) in html


# --- quote location ------------------------------------------------------------------------


def test_locate_quote_finds_offsets_and_section_or_says_why_not(norway):
    quote = "The number of investigators comprising each unit varied on the size of the district."
    location = locate_quote(norway, quote)
    assert norway.source_text[location.start : location.end] == quote
    assert location.section.kind == "PROSECUTION"
    with pytest.raises(ValidationError) as refused:
        locate_quote(norway, quote.replace("investigators", "detectives"))
    assert "not verbatim" in str(refused.value) and "Nearest match" in str(refused.value)
    with pytest.raises(ValidationError) as refused:
        locate_quote(norway, quote, start=location.start + 1)
    assert "does not start at character" in str(refused.value)


@pytest.fixture
def time_machine(monkeypatch):
    """Set today's date for the review-cycle rule."""

    def travel(day: date) -> None:
        monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: day)

    return travel


# --- reviewers assess their own country's reports ----------------------------------------------


def test_reviewers_assess_only_their_countrys_reports(client, norway, people):
    swedish = make_user("swede", make_organization("Svenska nätverket", country="Sweden"))
    recommendation = norway.recommendations.get(number=1)
    with pytest.raises(PermissionDenied, match="their organization's country"):
        assess(recommendation, author=swedish, status=Status.IN_PROGRESS, rationale="Not ours.")
    with pytest.raises(PermissionDenied):
        add_comment(recommendation, author=swedish, body="Not ours either.")
    client.force_login(swedish)
    page = client.get(recommendation.get_absolute_url()).content.decode()
    assert 'id="assess-form"' not in page
    response = client.post(
        f"{recommendation.get_absolute_url()}assess/",
        {"status": "IN_PROGRESS", "rationale": "Try anyway.", "based_on": ""},
    )
    assert response.status_code == 403
    assert not recommendation.assessments.exists()
    # A Norwegian reviewer still may.
    assess(recommendation, author=people["ngo"], status=Status.IN_PROGRESS, rationale="Ours.")
