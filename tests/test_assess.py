"""Recording an assessment: the assess view and rules.writing.assess().

Who may write, what a valid assessment needs, how a stale post is refused without losing what
was typed, and that assessments are append-only."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from recommendations.models import Assessment, Comment, EvidenceItem, Status
from recommendations.rules import writing

from .conftest import EXAMPLES, HOSTILE_TEXT, HTMX, make_assessment, rec_url


def assess(client, number=1, htmx=True, **data):
    payload = {"status": "IN_PROGRESS", "rationale": "Steps were taken.", **data}
    return client.post(rec_url("assess", number), payload, **(HTMX if htmx else {}))


# --- a valid assessment ----------------------------------------------------------------------


def test_htmx_assessment_returns_activity_partial(client, people, norway):
    client.force_login(people["ngo"])
    response = assess(client)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="activity"' in html
    assert "Steps were taken." in html
    # Said on the page as a full page says it without JavaScript, not only to screen readers.
    assert '<ul class="messages"><li class="message-success">Assessment recorded.</li></ul>' in html
    comment = client.post(rec_url("comment"), {"body": "Seen."}, **HTMX).content.decode()
    assert '<ul class="messages"><li class="message-success">Comment added.</li></ul>' in comment
    # The next look at the page carries no message.
    page = client.get(rec_url("recommendation")).content.decode()
    assert "Assessment recorded." not in page.replace(
        'data-result-message="Assessment recorded."', ""
    )
    # The timeline changes with the positions: the answer tells the page, and the timeline
    # asks for itself again.
    assert response["HX-Trigger"] == '{"positions-changed": {}}'
    assert 'id="timeline"' not in html
    timeline = client.get(rec_url("recommendation"), {"part": "timeline"}, **HTMX)
    part = timeline.content.decode()
    assert timeline.status_code == 200 and "<html" not in part
    assert part.lstrip().startswith('<section class="card timeline" id="timeline"')
    assert 'hx-trigger="positions-changed from:body"' in part
    assert "No assessments yet, so no timeline." not in part
    assert 'class="timeline-point' in part
    assessment = Assessment.objects.get()
    assert assessment.organization == people["ngo"].membership.organization
    assert assessment.author == people["ngo"]
    assert assessment.based_on is None


def test_plain_assessment_redirects_back(client, people):
    client.force_login(people["ngo"])
    response = assess(client, htmx=False)
    assert response.status_code == 302
    assert response["Location"] == "/reports/norway-2024/recommendations/1/"
    assert Assessment.objects.count() == 1


# --- what an assessment needs ----------------------------------------------------------------


def test_blank_rationale_is_refused_in_the_retargeted_form(client, people):
    client.force_login(people["ngo"])
    response = assess(client, rationale="   ")
    assert response.status_code == 422
    assert response["HX-Retarget"] == "#assess-form"
    html = response.content.decode()
    assert "<html" not in html and "This field is required" in html
    assert not Assessment.objects.exists()


def test_implemented_needs_cited_evidence(client, people, norway):
    client.force_login(people["ngo"])
    response = assess(client, status="IMPLEMENTED", rationale="Done.")
    assert response.status_code == 422
    assert "needs at least one cited evidence item" in response.content.decode()
    assert not Assessment.objects.exists()
    item = norway.recommendations.get(number=1).evidence_items.first()
    response = assess(client, status="IMPLEMENTED", rationale="Done.", evidence=[item.pk])
    assert response.status_code == 200
    assert list(Assessment.objects.get().cited_evidence.all()) == [item]


def test_plain_post_with_error_rerenders_full_page(client, people):
    client.force_login(people["ngo"])
    response = assess(client, htmx=False, status="IMPLEMENTED")
    assert response.status_code == 422
    assert "<html" in response.content.decode()


def test_citing_evidence_not_linked_to_the_recommendation_is_refused(client, people, norway):
    client.force_login(people["ngo"])
    unrelated = EvidenceItem.objects.exclude(
        pk__in=norway.recommendations.get(number=1).evidence_items.values("pk")
    ).first()
    response = assess(client, evidence=[unrelated.pk, 999999])
    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()
    assert not Assessment.objects.exists()


def test_recommendation_assess_refuses_evidence_from_another_report(people, norway):
    recommendation = norway.recommendations.get(number=1)
    foreign = EvidenceItem(report_id=norway.pk + 1, quote="x")
    with pytest.raises(ValidationError, match="linked to this recommendation"):
        writing.assess(
            recommendation,
            author=people["ngo"],
            status="IN_PROGRESS",
            rationale="r",
            evidence=[foreign],
        )


@EXAMPLES
@given(
    status=st.one_of(st.sampled_from(Status.values), HOSTILE_TEXT),
    rationale=HOSTILE_TEXT,
    evidence=st.lists(st.one_of(st.integers(-5, 10_000), HOSTILE_TEXT), max_size=4),
    based_on=st.one_of(st.none(), st.integers(-1, 10**12), HOSTILE_TEXT),
    number=st.integers(1, 10),
)
def test_assess_answers_every_submission_cleanly(
    client, people, status, rationale, evidence, based_on, number
):
    """Whatever arrives, the answer is a stored assessment or a visible reason (422), never an
    error or a partial write."""
    client.force_login(people["ngo"])
    before = Assessment.objects.count()
    current = (
        Assessment.objects.filter(recommendation__number=number).order_by("-created_at").first()
    )
    data = {"status": status, "rationale": rationale, "evidence": evidence}
    data["based_on"] = (current.pk if current else "") if based_on is None else based_on
    url = f"/reports/norway-2024/recommendations/{number}/assess/"
    response = client.post(url, data, **HTMX)
    assert response.status_code in (200, 422), response.status_code
    stored = Assessment.objects.count() - before
    if response.status_code == 200:
        assert stored == 1
        newest = Assessment.objects.latest("created_at")
        assert newest.rationale == rationale.strip()
        assert newest.status == status
    else:
        assert stored == 0
        page = response.content.decode()
        assert 'class="error"' in page or 'class="form-errors"' in page  # a visible reason


# --- who may write ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["observer", "staff"])
def test_observers_and_staff_without_membership_cannot_write(client, people, who):
    client.force_login(people[who])
    assert assess(client).status_code == 403
    comment = client.post(rec_url("comment"), {"body": "Hello"}, **HTMX)
    assert comment.status_code == 403
    assert not Assessment.objects.exists() and not Comment.objects.exists()
    html = client.get(rec_url("recommendation")).content.decode()
    assert 'id="assess-form"' not in html and "Add comment" not in html


def test_anonymous_post_is_sent_to_login_and_writes_nothing(client, norway):
    response = assess(client)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Assessment.objects.exists()


def test_a_reviewer_assesses_only_for_their_own_organization(client, people):
    client.force_login(people["ngo"])
    # An organization field in the POST is ignored: the organization comes from the membership.
    other = people["other"].membership.organization
    assess(client, organization=other.pk)
    assert Assessment.objects.get().organization == people["ngo"].membership.organization


# --- stale posts: no lost update -------------------------------------------------------------


def test_based_on_from_another_recommendation_counts_as_stale(client, people, norway):
    elsewhere = make_assessment(norway.recommendations.get(number=2), people["ngo"])
    make_assessment(norway.recommendations.get(number=1), people["ngo"])
    client.force_login(people["ngo"])
    response = assess(client, based_on=elsewhere.pk)
    assert response.status_code == 422
    assert Assessment.objects.filter(recommendation__number=1).count() == 1


def test_stale_post_is_refused_keeping_the_input_then_accepted_based_on_the_newer(
    client, people, norway
):
    recommendation = norway.recommendations.get(number=1)
    client.force_login(people["ngo"])
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


def test_a_stale_htmx_post_refreshes_positions_and_history_with_the_form(client, people, norway):
    """The refusal names the newer assessment: the positions and the history around the form
    show it too, not the page as it was loaded."""
    recommendation = norway.recommendations.get(number=1)
    client.force_login(people["ngo"])
    client.get(rec_url("recommendation"))
    newer = make_assessment(
        recommendation, people["ngo_colleague"], Status.REGRESSED, rationale="Colleague's view."
    )
    response = client.post(
        rec_url("assess"),
        {"status": "IN_PROGRESS", "rationale": "Mine.", "based_on": ""},
        **HTMX,
    )
    assert response.status_code == 422
    assert "HX-Retarget" not in response  # the whole activity region, hx-target="#activity"
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="activity">')
    positions = html.split('id="positions-heading"')[1].split("</section>")[0]
    assert "No organization has assessed" not in positions
    assert "Regressed" in positions
    history = html.split('id="history-heading"')[1]
    assert f"#{newer.pk}" in history or "Colleague&#x27;s view." in history
    assert "recorded a newer assessment" in html and "Mine." in html


def test_another_organizations_assessment_does_not_make_a_post_stale(client, people, norway):
    make_assessment(norway.recommendations.get(number=1), people["gov"], Status.IMPLEMENTED)
    client.force_login(people["ngo"])
    assert assess(client).status_code == 200


# --- append-only -----------------------------------------------------------------------------


def test_assessments_cannot_be_changed_through_any_url(client, people, norway):
    assessment = make_assessment(norway.recommendations.get(number=1), people["ngo"])
    client.force_login(people["ngo"])
    for method in ("put", "patch", "delete"):
        assert getattr(client, method)(rec_url("assess")).status_code == 405
    assert Assessment.objects.get(pk=assessment.pk).rationale == assessment.rationale
