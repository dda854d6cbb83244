from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from recommendations.models import (
    AppendOnlyError,
    Assessment,
    Comment,
    EvidenceItem,
    EvidenceLink,
    Membership,
    Organization,
    Paragraph,
    Recommendation,
    Report,
    ReviewCycle,
    Section,
    Snapshot,
    Status,
    attach_positions,
    sha256_hex,
    standing_assessments,
)
from recommendations.validators import refuse_control_characters

from .conftest import make_assessment, make_organization, make_user


def violates(create) -> bool:
    try:
        with transaction.atomic():
            create()
    except IntegrityError:
        return True
    return False


def test_recommendation_number_is_unique_per_report(norway):
    first = norway.recommendations.get(number=1)
    assert violates(
        lambda: Recommendation.objects.bulk_create(
            [
                Recommendation(
                    report=norway,
                    number=1,
                    text=first.text,
                    short_title="Duplicate",
                    pillar="PROSECUTION",
                    start_offset=first.start_offset,
                    end_offset=first.end_offset,
                )
            ]
        )
    )


def test_offsets_must_be_ordered_and_match_the_quote(norway):
    section = norway.sections.get(kind="PROTECTION")

    def evidence(start: int, end: int, quote: str):
        return lambda: EvidenceItem.objects.bulk_create(
            [
                EvidenceItem(
                    report=norway, section=section, quote=quote, start_offset=start, end_offset=end
                )
            ]
        )

    assert violates(evidence(10, 5, "abcde"))
    assert violates(evidence(100, 103, "abcde"))
    assert violates(evidence(100, 100, ""))


def test_paragraph_and_section_offsets_are_checked(norway):
    section = norway.sections.first()
    assert violates(
        lambda: Paragraph.objects.bulk_create(
            [Paragraph(report=norway, section=section, position=99, start_offset=50, end_offset=40)]
        )
    )
    assert violates(
        lambda: Section.objects.bulk_create(
            [Section(report=norway, kind="SUMMARY", position=9, start_offset=0, end_offset=1)]
        )
    )


def test_offsets_beyond_the_text_fail_validation(norway):
    section = norway.sections.first()
    item = EvidenceItem(
        report=norway,
        section=section,
        quote="x" * 10,
        start_offset=len(norway.source_text) - 5,
        end_offset=len(norway.source_text) + 5,
    )
    errors = item.integrity_errors()
    assert errors and "outside the report text" in errors[0]
    with pytest.raises(Exception, match="outside the report text"):
        item.save()


def test_a_quote_outside_its_section_is_refused(norway):
    recommendations = norway.sections.get(kind="RECOMMENDATIONS")
    summary_quote = "The government posted a liaison officer in the Philippines"
    start = norway.source_text.index(summary_quote)
    item = EvidenceItem(
        report=norway,
        section=recommendations,
        quote=summary_quote,
        start_offset=start,
        end_offset=start + len(summary_quote),
    )
    assert "is not inside section RECOMMENDATIONS" in item.integrity_errors()[0]


def test_one_organization_per_reviewer(db):
    first = make_organization("First NGO")
    second = make_organization("Second NGO")
    user = make_user("reviewer", first)
    assert violates(lambda: Membership.objects.create(user=user, organization=second))


def test_one_link_per_evidence_and_recommendation(norway):
    link = EvidenceLink.objects.first()
    assert violates(
        lambda: EvidenceLink.objects.create(
            evidence=link.evidence, recommendation=link.recommendation, stance="CONTEXT"
        )
    )


def test_one_report_per_country_and_year_and_only_known_tiers(norway):
    assert violates(
        lambda: Report.objects.create(
            slug="norway-2024-copy",
            title="t",
            country="Norway",
            year=2024,
            tier="TIER_2",
            source_text="x",
            source_sha256=sha256_hex("x"),
        )
    )
    assert violates(
        lambda: Report.objects.bulk_create(
            [
                Report(
                    slug="bad-tier",
                    title="t",
                    country="Sweden",
                    year=2024,
                    tier="TIER_9",
                    source_text="x",
                    source_sha256="0" * 64,
                )
            ]
        )
    )


def test_review_cycle_must_end_after_it_starts(db):
    today = timezone.localdate()
    assert violates(
        lambda: ReviewCycle.objects.create(name="Backwards", starts_on=today, ends_on=today)
    )


def test_status_and_rationale_are_checked_in_the_database(norway, cycle, people):
    author = people["ngo"]
    organization = author.membership.organization
    recommendation = norway.recommendations.first()
    base = dict(
        recommendation=recommendation, cycle=cycle, organization=organization, author=author
    )
    assert violates(lambda: Assessment.objects.create(status="DONE", rationale="Yes", **base))
    assert violates(lambda: Assessment.objects.create(status="IMPLEMENTED", rationale="  ", **base))
    assert violates(
        lambda: Comment.objects.create(
            recommendation=recommendation, organization=organization, author=author, body=" "
        )
    )


def test_assessments_are_append_only(norway, cycle, people):
    assessment = make_assessment(norway.recommendations.first(), people["ngo"])
    assessment.status = Status.IMPLEMENTED
    with pytest.raises(AppendOnlyError):
        assessment.save()
    with pytest.raises(AppendOnlyError):
        assessment.delete()
    with pytest.raises(AppendOnlyError):
        Assessment.objects.filter(pk=assessment.pk).update(status=Status.REGRESSED)
    with pytest.raises(AppendOnlyError):
        Assessment.objects.all().delete()
    assert Assessment.objects.get(pk=assessment.pk).status == Status.IN_PROGRESS


def test_attach_positions_gives_every_organizations_newest_position(norway, cycle, people):
    gov_user, a_user, b_user = people["gov"], people["ngo"], people["other"]
    first, second = norway.recommendations.order_by("number")[:2]
    now = timezone.now()
    make_assessment(first, gov_user, Status.NO_PROGRESS, created_at=now - timedelta(days=3))
    latest_gov = make_assessment(first, gov_user, Status.IMPLEMENTED, created_at=now)
    a_position = make_assessment(first, a_user, Status.NO_PROGRESS, created_at=now - timedelta(2))
    b_position = make_assessment(first, b_user, Status.IN_PROGRESS, created_at=now - timedelta(1))
    make_assessment(second, a_user, Status.REGRESSED, created_at=now)

    rows = {
        r.number: r
        for r in attach_positions(list(norway.recommendations.select_related("responsibility")))
    }
    assert {o: a.pk for o, a in rows[1].standing.items()} == {
        latest_gov.organization_id: latest_gov.pk,
        a_position.organization_id: a_position.pk,
        b_position.organization_id: b_position.pk,
    }
    ranks = Status.rank
    assert (rows[1].government_low, rows[1].government_high) == (ranks("IMPLEMENTED"),) * 2
    assert (rows[1].ngo_low, rows[1].ngo_high) == (ranks("NO_PROGRESS"), ranks("IN_PROGRESS"))
    assert (rows[1].government_count, rows[1].ngo_count) == (1, 2)
    # The largest gap between any government and any NGO position: Implemented − No progress.
    assert rows[1].divergence == 3
    assert rows[2].government_count == 0 and rows[2].ngo_low == ranks("REGRESSED")
    assert rows[2].divergence is None
    assert rows[3].ngo_count == 0 and rows[3].standing == {}
    # As they stood two days ago: only the government's first position and one NGO's.
    then = {
        r.number: r
        for r in attach_positions(
            list(norway.recommendations.all()), now - timedelta(days=2, hours=-1)
        )
    }
    assert then[1].government_high == ranks("NO_PROGRESS") and then[1].ngo_count == 1
    assert then[1].divergence == 0
    assert {o: a.status for o, a in then[1].standing.items()} == {
        latest_gov.organization_id: Status.NO_PROGRESS,
        a_position.organization_id: Status.NO_PROGRESS,
    }


def test_positions_are_one_query_however_many_organizations_and_assessments(norway, people):
    recommendations = list(norway.recommendations.select_related("responsibility"))
    organizations = [make_organization(f"Organisasjon {i}", kind="NGO") for i in range(12)]
    authors = [
        make_user(f"reviewer{i}", organization) for i, organization in enumerate(organizations)
    ]
    now = timezone.now()
    for i, recommendation in enumerate(recommendations[:4]):
        for j, author in enumerate(authors):
            for k in range(3):
                make_assessment(
                    recommendation,
                    author,
                    Status.values[(i + j + k) % 5],
                    created_at=now - timedelta(hours=100 - k),
                )

    with CaptureQueriesContext(connection) as queries:
        rows = attach_positions(recommendations)

    assert len(queries) == 1
    for i, r in enumerate(rows[:4]):
        assert {a.organization.name: a.status for a in r.standing.values()} == {
            organization.name: Status.values[(i + j + 2) % 5]
            for j, organization in enumerate(organizations)
        }


def test_current_positions_are_each_organizations_newest(norway, cycle, people):
    user, other = people["ngo"], people["other"]
    recommendation = norway.recommendations.first()
    now = timezone.now()
    make_assessment(recommendation, user, Status.NO_PROGRESS, created_at=now - timedelta(1))
    newest = make_assessment(recommendation, user, Status.IN_PROGRESS, created_at=now)
    others = make_assessment(recommendation, other, Status.REGRESSED, created_at=now)
    assert set(recommendation.positions()) == {newest, others}
    assert set(standing_assessments([recommendation.pk])) == {newest, others}


def test_status_scale_is_ordinal():
    assert Status.values == [
        "REGRESSED",
        "NO_PROGRESS",
        "IN_PROGRESS",
        "PARTIALLY_IMPLEMENTED",
        "IMPLEMENTED",
    ]
    assert Status.rank("REGRESSED") == 0 and Status.rank("IMPLEMENTED") == 4


# --- single-line names ------------------------------------------------------------------------

SINGLE_LINE_NAMES = [
    (ReviewCycle, "name"),
    (Organization, "name"),
    (Organization, "short_name"),
    (Organization, "country"),
    (Report, "title"),
    (Report, "country"),
    (Report, "source_name"),
    (Recommendation, "short_title"),
    (Snapshot, "title"),
]


@pytest.mark.parametrize(("model", "field_name"), SINGLE_LINE_NAMES)
def test_every_single_line_name_field_refuses_control_characters(model, field_name):
    assert refuse_control_characters in model._meta.get_field(field_name).validators


@pytest.mark.parametrize(
    ("name", "found"),
    [
        ("2030–31\nBcc: someone@example.org", "U+000A"),
        ("2030–31\r", "U+000D"),
        ("2030\t31", "U+0009"),
        ("2030\x0031", "U+0000"),
        ("2030\x1b[31m", "U+001B"),
        ("2030\u202831", "U+2028"),
    ],
)
def test_a_name_with_a_control_character_is_refused_naming_it(name, found):
    with pytest.raises(ValidationError) as refused:
        refuse_control_characters(name)
    assert refused.value.code == "control_character"
    assert refused.value.messages == [
        f"Enter one line without control characters (this contains {found})."
    ]


def test_names_in_any_script_pass():
    for name in ["2024–25", "Côte d’Ivoire", "Øst-Finnmark “ærlig”", "Ελλάδα", "Saint Lucerne"]:
        refuse_control_characters(name)


def test_full_clean_refuses_a_review_cycle_or_organization_named_over_two_lines(db):
    cycle = ReviewCycle(
        name="2030–31\nBcc: x@example.org", starts_on="2030-04-01", ends_on="2031-03-31"
    )
    with pytest.raises(ValidationError) as refused:
        cycle.full_clean()
    assert set(refused.value.message_dict) == {"name"}
    organization = Organization(name="Line\rbreak", short_name="Tab\there", kind="NGO")
    with pytest.raises(ValidationError) as refused:
        organization.full_clean()
    assert set(refused.value.message_dict) == {"name", "short_name"}


def test_admin_refuses_a_line_break_in_a_review_cycle_name(superuser_client):
    response = superuser_client.post(
        "/admin/recommendations/reviewcycle/add/",
        {
            "name": "2030–31\r\nBcc: x@example.org",
            "starts_on": "2030-04-01",
            "ends_on": "2031-03-31",
        },
    )
    assert response.status_code == 200
    assert "Enter one line without control characters (this contains U+000D)." in (
        response.content.decode()
    )
    assert not ReviewCycle.objects.filter(starts_on="2030-04-01").exists()


def test_admin_refuses_a_line_break_in_a_users_name(superuser_client, people):
    from django.urls import reverse

    from .html_forms import admin_form_data

    url = reverse("admin:auth_user_change", args=[people["ngo"].pk])
    data = admin_form_data(superuser_client, url)
    data["first_name"] = ["Nina\r\nBcc: x@example.org"]
    response = superuser_client.post(url, {**data, "_save": "Save"})
    assert response.status_code == 200
    assert "Enter one line without control characters (this contains U+000D)." in (
        response.content.decode()
    )
    people["ngo"].refresh_from_db()
    assert people["ngo"].first_name == "Nina"


def test_a_snapshot_title_with_a_line_break_is_refused(client, people, norway):
    from django.urls import reverse

    client.force_login(people["coordinator"])
    response = client.post(
        reverse("snapshots", args=[norway.slug]), {"title": "Spring\nBcc: x@example.org"}
    )
    assert response.status_code == 422
    assert "Enter one line without control characters" in response.content.decode()
    assert not Snapshot.objects.exists()
