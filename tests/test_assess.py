from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from recommendations.models import (
    Assessment,
    Comment,
    EvidenceItem,
    Status,
)

from .conftest import make_assessment

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name: str, *args) -> str:
    return reverse(name, args=args)


def rec_url(name: str, number: int = 1) -> str:
    return reverse(name, args=["norway-2024", number])


def login(client, user):
    client.force_login(user)
    return client


# --- pages -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/reports/norway-2024/",
        "/reports/norway-2024/recommendations/1/",
        "/reports/norway-2024/source/",
        "/accounts/password_change/",
    ],
)
def test_every_page_requires_login(client, norway, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


def test_login_page_is_public_and_logout_needs_post(client, people):
    assert client.get("/accounts/login/").status_code == 200
    login(client, people["ngo"])
    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/reports/norway-2024/").status_code == 302


def test_login_with_password_then_redirects_to_next(client, people):
    response = client.post(
        "/accounts/login/",
        {"username": "ngo", "password": "a-long-test-password", "next": "/reports/norway-2024/"},
    )
    assert response.status_code == 302 and response["Location"] == "/reports/norway-2024/"
    response = client.post("/accounts/login/", {"username": "ngo", "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_root_redirects_to_latest_report(client, people):
    login(client, people["ngo"])
    assert client.get("/")["Location"] == "/reports/norway-2024/"


def test_header_shows_name_and_organization(client, people):
    login(client, people["ngo"])
    html = client.get("/reports/norway-2024/").content.decode()
    assert "Nina Ås" in html and "Nettverk mot menneskehandel" in html and "Reviewer" in html


def test_dashboard_shows_positions_divergence_and_counts(client, people, norway):
    make_assessment(norway.recommendations.get(number=1), people["gov"], Status.IMPLEMENTED)
    make_assessment(norway.recommendations.get(number=1), people["ngo"], Status.NO_PROGRESS)
    login(client, people["observer"])
    response = client.get(url("dashboard", "norway-2024"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Tier 2" in html and "Norway" in html
    rows = response.context["rows"]
    assert [r.number for r in rows] == list(range(1, 11))
    first = rows[0]
    assert first.government_position.status == Status.IMPLEMENTED
    assert first.ngo_position.author == people["ngo"]
    assert first.divergence == 3
    assert "3 steps apart" in html
    assert first.evidence_total == first.evidence_links.count()
    government_summary = dict(response.context["summary"])["Government"]
    assert {c.status: c.count for c in government_summary}["IMPLEMENTED"] == 1
    assert {c.status: c.count for c in government_summary}["NOT_ASSESSED"] == 9
    assert "<svg" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=NO_PROGRESS", [1]),
        ("status=NO_PROGRESS&kind=GOVERNMENT", []),
        ("status=IMPLEMENTED&kind=GOVERNMENT", [1]),
        ("kind=NGO", [1, 2]),
        ("divergent=true", [1]),
        ("pillar=CROSS_CUTTING", [9, 10]),
        ("q=police", [5, 6]),
        ("q=updated+NAP", [10]),
        ("status=NOT_ASSESSED&kind=NGO", [3, 4, 5, 6, 7, 8, 9, 10]),
    ],
)
def test_dashboard_filters(client, people, norway, query, expected):
    make_assessment(norway.recommendations.get(number=1), people["gov"], Status.IMPLEMENTED)
    make_assessment(norway.recommendations.get(number=1), people["ngo"], Status.NO_PROGRESS)
    make_assessment(norway.recommendations.get(number=2), people["gov"], Status.IN_PROGRESS)
    make_assessment(norway.recommendations.get(number=2), people["other"], Status.IN_PROGRESS)
    login(client, people["ngo"])
    response = client.get(f"/reports/norway-2024/?{query}")
    assert [r.number for r in response.context["rows"]] == expected


def test_dashboard_htmx_returns_only_the_table(client, people):
    login(client, people["ngo"])
    response = client.get("/reports/norway-2024/?pillar=PREVENTION", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="results"' in html
    assert response["Vary"].count("HX-Request")
    full = client.get("/reports/norway-2024/?pillar=PREVENTION").content.decode()
    assert "<html" in full and 'id="results"' in full and '<form class="filters"' in full


def test_history_restore_gets_the_full_page(client, people):
    login(client, people["ngo"])
    response = client.get(
        "/reports/norway-2024/?pillar=PROTECTION", HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HTMX
    )
    assert "<html" in response.content.decode()


def test_bad_filter_values_get_a_clear_400(client, people):
    login(client, people["ngo"])
    response = client.get("/reports/norway-2024/?status=DONE&pillar=NOPE")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Some filters could not be used" in html and "Select a valid choice" in html


def test_unknown_report_and_recommendation_are_404(client, people):
    login(client, people["ngo"])
    assert client.get("/reports/sweden-2024/").status_code == 404
    assert client.get(rec_url("recommendation", 11)).status_code == 404
    assert client.get("/reports/sweden-2024/source/").status_code == 404


def test_recommendation_page(client, people, norway):
    recommendation = norway.recommendations.get(number=6)
    make_assessment(recommendation, people["gov"], Status.IN_PROGRESS, rationale="Units kept.")
    Comment.objects.create(
        recommendation=recommendation,
        organization=people["ngo"].membership.organization,
        author=people["ngo"],
        body="Øst district still lacks a contact point.",
    )
    login(client, people["ngo"])
    response = client.get(rec_url("recommendation", 6))
    html = response.content.decode()
    assert recommendation.text in html
    assert "<mark>Experts criticized police for not having a point of contact" in html
    assert "Units kept." in html and "Øst district still lacks" in html
    assert 'id="assess-form"' in html
    assert 'href="/reports/norway-2024/source/#recommendation-6"' in html
    kinds = [group["section"].kind for group in response.context["evidence_groups"]]
    assert kinds == sorted(set(kinds), key=kinds.index)  # grouped: each section once
    assert kinds == ["PROSECUTION"]


def test_source_reader_highlights_every_quote(client, people, norway):
    login(client, people["observer"])
    html = client.get(url("source", "norway-2024")).content.decode()
    for item in EvidenceItem.objects.all():
        assert f'id="evidence-{item.pk}"' in html
    assert html.count("<mark>") >= EvidenceItem.objects.count()
    assert 'href="/reports/norway-2024/recommendations/6/#evidence-' in html


# --- writing ---------------------------------------------------------------------------------


def assess(client, number=1, htmx=True, **data):
    payload = {"status": "IN_PROGRESS", "rationale": "Steps were taken.", **data}
    return client.post(rec_url("assess", number), payload, **(HTMX if htmx else {}))


def test_htmx_assessment_returns_activity_partial(client, people, norway):
    login(client, people["ngo"])
    response = assess(client)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="activity"' in html
    assert "Steps were taken." in html
    assessment = Assessment.objects.get()
    assert assessment.organization == people["ngo"].membership.organization
    assert assessment.author == people["ngo"]
    assert assessment.based_on is None


def test_plain_assessment_redirects_back(client, people):
    login(client, people["ngo"])
    response = assess(client, htmx=False)
    assert response.status_code == 302
    assert response["Location"] == "/reports/norway-2024/recommendations/1/"
    assert Assessment.objects.count() == 1


def test_rationale_is_required(client, people):
    login(client, people["ngo"])
    response = assess(client, rationale="   ")
    assert response.status_code == 422
    assert response["HX-Retarget"] == "#assess-form"
    html = response.content.decode()
    assert "<html" not in html and "This field is required" in html
    assert not Assessment.objects.exists()


def test_implemented_needs_evidence(client, people, norway):
    login(client, people["ngo"])
    response = assess(client, status="IMPLEMENTED", rationale="Done.")
    assert response.status_code == 422
    assert "needs at least one cited evidence item" in response.content.decode()
    assert not Assessment.objects.exists()
    item = norway.recommendations.get(number=1).evidence_items.first()
    response = assess(client, status="IMPLEMENTED", rationale="Done.", evidence=[item.pk])
    assert response.status_code == 200
    assert list(Assessment.objects.get().cited_evidence.all()) == [item]


def test_plain_post_with_error_rerenders_full_page(client, people):
    login(client, people["ngo"])
    response = assess(client, htmx=False, status="IMPLEMENTED")
    assert response.status_code == 422
    assert "<html" in response.content.decode()


def test_cited_evidence_must_belong_to_the_recommendation_report(client, people, norway):
    login(client, people["ngo"])
    unrelated = EvidenceItem.objects.exclude(
        pk__in=norway.recommendations.get(number=1).evidence_items.values("pk")
    ).first()
    response = assess(client, evidence=[unrelated.pk, 999999])
    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()
    assert not Assessment.objects.exists()


def test_model_refuses_evidence_from_another_report(people, norway):
    from django.core.exceptions import ValidationError

    recommendation = norway.recommendations.get(number=1)
    foreign = EvidenceItem(report_id=norway.pk + 1, quote="x")
    with pytest.raises(ValidationError, match="linked to this recommendation"):
        recommendation.assess(
            author=people["ngo"], status="IN_PROGRESS", rationale="r", evidence=[foreign]
        )


@pytest.mark.parametrize("who", ["observer", "staff"])
def test_observers_and_staff_without_membership_cannot_write(client, people, who):
    login(client, people[who])
    assert assess(client).status_code == 403
    comment = client.post(rec_url("comment"), {"body": "Hello"}, **HTMX)
    assert comment.status_code == 403
    assert not Assessment.objects.exists() and not Comment.objects.exists()
    html = client.get(rec_url("recommendation")).content.decode()
    assert 'id="assess-form"' not in html and "Add comment" not in html


def test_anonymous_cannot_post(client, norway):
    response = assess(client)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Assessment.objects.exists()


def test_a_reviewer_assesses_only_for_their_own_organization(client, people):
    login(client, people["ngo"])
    # An organization field in the POST is ignored: the organization comes from the membership.
    other = people["other"].membership.organization
    assess(client, organization=other.pk)
    assert Assessment.objects.get().organization == people["ngo"].membership.organization


def test_based_on_from_another_recommendation_counts_as_stale(client, people, norway):
    elsewhere = make_assessment(norway.recommendations.get(number=2), people["ngo"])
    make_assessment(norway.recommendations.get(number=1), people["ngo"])
    login(client, people["ngo"])
    response = assess(client, based_on=elsewhere.pk)
    assert response.status_code == 422
    assert Assessment.objects.filter(recommendation__number=1).count() == 1


def test_no_lost_update(client, people, norway):
    recommendation = norway.recommendations.get(number=1)
    login(client, people["ngo"])
    page = client.get(rec_url("recommendation"))
    assert page.context["assess_form"].initial["based_on"] is None
    # A colleague in the same organization records an assessment meanwhile.
    newer = make_assessment(
        recommendation, people["ngo_colleague"], Status.REGRESSED, rationale="Colleague's view."
    )
    response = assess(client, rationale="My carefully typed reasons.")
    assert response.status_code == 422
    html = response.content.decode()
    assert "recorded a newer assessment" in html
    assert "Colleague&#x27;s view." in html
    assert "My carefully typed reasons." in html  # nothing typed is lost
    assert f'name="based_on" value="{newer.pk}"' in html
    assert Assessment.objects.count() == 1
    # Having read it, the user submits again and it is accepted, based on the newer one.
    response = assess(client, rationale="My carefully typed reasons.", based_on=newer.pk)
    assert response.status_code == 200
    latest = Assessment.objects.order_by("-created_at", "-pk").first()
    assert latest.based_on == newer and latest.author == people["ngo"]


def test_another_organizations_assessment_does_not_block(client, people, norway):
    make_assessment(norway.recommendations.get(number=1), people["gov"], Status.IMPLEMENTED)
    login(client, people["ngo"])
    assert assess(client).status_code == 200


def test_comments_through_htmx_and_plain(client, people, norway):
    login(client, people["ngo"])
    item = norway.recommendations.get(number=1).evidence_items.first()
    response = client.post(rec_url("comment"), {"body": "First!", "evidence": item.pk}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html and "First!" in html
    response = client.post(rec_url("comment"), {"body": "Second"})
    assert response.status_code == 302
    comments = list(Comment.objects.order_by("pk"))
    assert [c.body for c in comments] == ["First!", "Second"]
    assert comments[0].evidence == item
    assert comments[0].organization == people["ngo"].membership.organization
    response = client.post(rec_url("comment"), {"body": "  "}, **HTMX)
    assert response.status_code == 422 and "This field is required" in response.content.decode()
    assert Comment.objects.count() == 2


def test_history_is_newest_first_with_transitions(client, people, norway):
    recommendation = norway.recommendations.get(number=1)
    now = timezone.now()
    make_assessment(
        recommendation, people["ngo"], Status.NO_PROGRESS, created_at=now - timedelta(2)
    )
    make_assessment(
        recommendation, people["gov"], Status.IMPLEMENTED, created_at=now - timedelta(1)
    )
    make_assessment(recommendation, people["ngo"], Status.IN_PROGRESS, created_at=now)
    login(client, people["observer"])
    history = client.get(rec_url("recommendation")).context["history"]
    assert [(a.status, a.previous_status) for a in history] == [
        ("IN_PROGRESS", "NO_PROGRESS"),
        ("IMPLEMENTED", None),
        ("NO_PROGRESS", None),
    ]


def test_assessments_cannot_be_changed_through_any_url(client, people, norway):
    assessment = make_assessment(norway.recommendations.get(number=1), people["ngo"])
    login(client, people["ngo"])
    for method in ("put", "patch", "delete"):
        assert getattr(client, method)(rec_url("assess")).status_code == 405
    assert Assessment.objects.get(pk=assessment.pk).rationale == assessment.rationale


# --- query counts ----------------------------------------------------------------------------


def fill(norway, people, per_recommendation: int) -> None:
    now = timezone.now()
    reviewers = [people["gov"], people["ngo"], people["other"]]
    for recommendation in norway.recommendations.all():
        evidence = list(recommendation.evidence_items.all()[:2])
        for i in range(per_recommendation):
            author = reviewers[i % 3]
            a = make_assessment(
                recommendation,
                author,
                Status.values[i % 5],
                created_at=now - timedelta(minutes=i),
            )
            a.cited_evidence.set(evidence)
            Comment.objects.create(
                recommendation=recommendation,
                organization=author.membership.organization,
                author=author,
                body=f"Comment {i}",
                evidence=evidence[0],
            )


def count_queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "path",
    [
        "/reports/norway-2024/",
        "/reports/norway-2024/?status=IN_PROGRESS&divergent=true",
        "/reports/norway-2024/recommendations/1/",
        "/reports/norway-2024/source/",
    ],
)
def test_query_counts_do_not_grow_with_the_data(client, people, norway, path):
    login(client, people["ngo"])
    fill(norway, people, 3)
    small = count_queries(client, path)
    fill(norway, people, 12)
    assert count_queries(client, path) == small


def test_pinned_query_counts(client, people, norway, django_assert_num_queries):
    fill(norway, people, 6)
    login(client, people["ngo"])
    # Each request runs in a transaction (ATOMIC_REQUESTS): inside the test's own, that is a
    # SAVEPOINT and its RELEASE, counted below as 2.
    # session, user, membership, report, rows, position details, recommendation count
    with django_assert_num_queries(2 + 7):
        client.get("/reports/norway-2024/")
    # session, user, recommendation, membership, history count, current positions, history
    # page, its cited evidence, paragraphs, evidence links, evidence choices of the assess
    # form, comments, evidence choices of the comment form
    with django_assert_num_queries(2 + 13):
        client.get("/reports/norway-2024/recommendations/1/")
