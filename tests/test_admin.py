import re

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import ProtectedError
from django.urls import reverse

from recommendations.models import EvidenceItem, Recommendation, Status
from recommendations.rules.writing import add_comment, assess

from .conftest import make_assessment


@pytest.fixture
def assessment(people, norway):
    """One assessment, so that the assessment admin has an object to show."""
    return make_assessment(norway.recommendations.first(), people["ngo"], Status.IN_PROGRESS)


def registered_models():
    return [model for model in admin.site._registry if model._meta.app_label != "auth"] + [
        get_user_model()
    ]


def test_every_model_is_registered():
    names = {model.__name__ for model in admin.site._registry}
    assert {
        "Report",
        "Section",
        "Paragraph",
        "Recommendation",
        "EvidenceItem",
        "EvidenceLink",
        "Organization",
        "Membership",
        "ReviewCycle",
        "Assessment",
        "Comment",
        "User",
    } - names == {"EvidenceLink"}  # edited inline on evidence items and recommendations


@pytest.mark.parametrize("model", registered_models(), ids=lambda m: m.__name__)
def test_changelist_and_change_form_render(superuser_client, assessment, model):
    meta = model._meta
    changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
    response = superuser_client.get(changelist)
    assert response.status_code == 200
    response = superuser_client.get(changelist, {"q": "trafficking"})
    assert response.status_code == 200
    obj = model._default_manager.order_by("pk").first()
    if obj is not None:
        change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
        assert superuser_client.get(change).status_code == 200


def evidence_form_data(norway, quote: str, **extra) -> dict:
    recommendation = norway.recommendations.get(number=6)
    return {
        "report": norway.pk,
        "quote": quote,
        "note": "",
        "links-TOTAL_FORMS": "1",
        "links-INITIAL_FORMS": "0",
        "links-MIN_NUM_FORMS": "0",
        "links-MAX_NUM_FORMS": "1000",
        "links-0-recommendation": recommendation.pk,
        "links-0-stance": "GAP",
        **extra,
    }


def test_add_evidence_finds_offsets_and_section(superuser_client, norway):
    quote = "The number of investigators comprising each unit varied on the size of the district."
    response = superuser_client.post(
        reverse("admin:recommendations_evidenceitem_add"), evidence_form_data(norway, quote)
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    item = EvidenceItem.objects.get(quote=quote)
    assert norway.source_text[item.start_offset : item.end_offset] == quote
    assert item.section.kind == "PROSECUTION"
    assert item.links.get().recommendation.number == 6


def test_evidence_form_refuses_a_paraphrase_and_names_the_nearest_match(superuser_client, norway):
    typed = (
        "Experts criticized police for not having a point of contact for trafficking cases "
        "in Ost Police District"
    )
    response = superuser_client.post(
        reverse("admin:recommendations_evidenceitem_add"), evidence_form_data(norway, typed)
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["quote"][0]
    assert "not verbatim" in errors
    start = norway.source_text.index("Experts criticized police for not having")
    assert f"Nearest match at characters {start}–" in errors
    assert (
        "First difference, at character 86 of the quote: the report has “Øst” where the quote "
        "has “Ost” — the report reads “…trafficking cases in Øst Police District, one…”, the "
        "quote “…trafficking cases in Ost Police District”."
    ) in errors
    assert not EvidenceItem.objects.filter(quote=typed).exists()


def test_evidence_form_says_when_nothing_is_close(superuser_client, norway):
    response = superuser_client.post(
        reverse("admin:recommendations_evidenceitem_add"),
        evidence_form_data(norway, "Zebras qualify jovially."),
    )
    assert "Nothing in the report comes close" in response.content.decode()


def test_evidence_form_asks_which_occurrence(superuser_client, norway):
    quote = "trafficking victims"
    assert norway.source_text.count(quote) > 1
    url = reverse("admin:recommendations_evidenceitem_add")
    response = superuser_client.post(url, evidence_form_data(norway, quote))
    assert "enter the one you mean" in response.content.decode()
    second = norway.source_text.index(quote, norway.source_text.index(quote) + 1)
    response = superuser_client.post(url, evidence_form_data(norway, quote, start_offset=second))
    assert response.status_code == 302
    assert EvidenceItem.objects.get(quote=quote).start_offset == second


def test_evidence_link_to_another_reports_recommendation_is_refused(superuser_client, norway):
    # Only one report ships; a missing recommendation id is refused the same way.
    data = evidence_form_data(norway, "All 12 police districts maintained dedicated")
    data["links-0-recommendation"] = 999999
    response = superuser_client.post(reverse("admin:recommendations_evidenceitem_add"), data)
    assert response.status_code == 200
    assert not EvidenceItem.objects.filter(quote__startswith="All 12 police").count() > 1


def recommendation_options(html: str) -> list[tuple[str, str]]:
    """The (data-report, label) of each recommendation offered by the first link row."""
    select = re.search(r'<select name="links-0-recommendation".*?</select>', html, re.S)
    assert select, "no recommendation picker"
    return re.findall(
        r'<option value="\d+"[^>]*? data-report="(\d+)"[^>]*>([^<]*)</option>', select[0]
    )


def test_evidence_pickers_name_the_report_and_offer_only_its_recommendations(
    superuser_client, norway
):
    from .test_lineage import import_veldoria

    veldoria = import_veldoria()[2025]
    # A new item: every report's recommendations, each named with its report and year, and
    # marked with it for the page's script to offer only the chosen report's.
    add = superuser_client.get(reverse("admin:recommendations_evidenceitem_add")).content.decode()
    options = recommendation_options(add)
    identify = norway.recommendations.get(short_title="Identify victims, especially children")
    assert (str(norway.pk), f"Norway 2024 · {identify.number}. {identify.short_title}") in options
    assert {report for report, _ in options} == {
        str(pk) for pk in Recommendation.objects.values_list("report", flat=True)
    }
    assert all(label.startswith(("Norway 2024 · ", "Veldoria 20")) for _, label in options)

    # A wrong pick is refused, naming both reports, beside the pick.
    items = EvidenceItem.objects.count()
    data = evidence_form_data(norway, "All 12 police districts maintained dedicated")
    data["links-0-recommendation"] = veldoria.recommendations.get(number=1).pk
    response = superuser_client.post(reverse("admin:recommendations_evidenceitem_add"), data)
    assert response.status_code == 200
    assert (
        "Recommendation 1 is from Veldoria 2025 and the evidence from Norway 2024: link evidence "
        "to a recommendation of its own report."
    ) in response.content.decode()
    assert EvidenceItem.objects.count() == items

    # An existing item: its own report's recommendations only.
    item = norway.evidence_items.first()
    change = reverse("admin:recommendations_evidenceitem_change", args=[item.pk])
    labels = [
        label for _, label in recommendation_options(superuser_client.get(change).content.decode())
    ]
    assert len(labels) == 10 and all(label.startswith("Norway 2024 · ") for label in labels)

    # A recommendation's evidence: its own report's items only.
    recommendation = veldoria.recommendations.get(number=1)
    page = superuser_client.get(
        reverse("admin:recommendations_recommendation_change", args=[recommendation.pk])
    ).content.decode()
    offered = re.search(
        r'<select name="evidence_links-__prefix__-evidence".*?</select>', page, re.S
    )[0]
    own = set(veldoria.evidence_items.values_list("pk", flat=True))
    assert {int(pk) for pk in re.findall(r'<option value="(\d+)"', offered)} == own


def test_change_form_shows_the_quote_in_its_paragraph(superuser_client, norway):
    item = EvidenceItem.objects.get(quote__startswith="Experts criticized police for not having")
    response = superuser_client.get(
        reverse("admin:recommendations_evidenceitem_change", args=[item.pk])
    )
    html = response.content.decode()
    assert "<mark>Experts criticized police for not having" in html
    assert "Staffing changes limited" not in html
    assert "All 12 police districts maintained dedicated anti-trafficking units" in html


def test_assessments_cannot_be_added_changed_or_deleted_in_admin(superuser_client, assessment):
    change = reverse("admin:recommendations_assessment_change", args=[assessment.pk])
    response = superuser_client.post(change, {"status": "IMPLEMENTED", "rationale": "Edited"})
    assert response.status_code == 403
    delete = reverse("admin:recommendations_assessment_delete", args=[assessment.pk])
    assert superuser_client.post(delete, {"post": "yes"}).status_code == 403
    assert superuser_client.get(reverse("admin:recommendations_assessment_add")).status_code == 403
    assessment.refresh_from_db()
    assert assessment.rationale != "Edited"


def test_a_cited_evidence_item_cannot_be_deleted_and_admin_says_what_cites_it(
    superuser_client, people, norway
):
    recommendation = norway.recommendations.get(number=1)
    cited, referred, free = recommendation.citable_evidence()[:3]
    assessment = assess(
        recommendation,
        author=people["ngo"],
        status=Status.IMPLEMENTED,
        rationale="Done.",
        evidence=[cited],
    )
    comment = add_comment(recommendation, author=people["gov"], body="See this.", evidence=referred)

    for item, what in (
        (cited, f"Assessment #{assessment.pk}"),
        (referred, f"Comment #{comment.pk}"),
    ):
        url = reverse("admin:recommendations_evidenceitem_delete", args=[item.pk])
        page = superuser_client.get(url)
        assert page.status_code == 200
        assert what in page.content.decode()
        assert superuser_client.post(url, {"post": "yes"}).status_code in (200, 403)
        with pytest.raises(ProtectedError, match=what), transaction.atomic():
            item.delete()
        with pytest.raises(ProtectedError), transaction.atomic():
            EvidenceItem.objects.filter(pk=item.pk).delete()
        assert EvidenceItem.objects.filter(pk=item.pk).exists()

    changelist = reverse("admin:recommendations_evidenceitem_changelist")
    action = {"action": "delete_selected", "_selected_action": [cited.pk, free.pk], "post": "yes"}
    response = superuser_client.post(changelist, action)
    assert (
        response.status_code == 200 and f"Assessment #{assessment.pk}" in response.content.decode()
    )
    assert EvidenceItem.objects.filter(pk__in=[cited.pk, free.pk]).count() == 2
    assert list(assessment.cited_evidence.all()) == [cited]

    # Nothing cites the third item: it can be deleted.
    free.links.all().delete()
    url = reverse("admin:recommendations_evidenceitem_delete", args=[free.pk])
    assert superuser_client.post(url, {"post": "yes"}).status_code == 302
    assert not EvidenceItem.objects.filter(pk=free.pk).exists()


def test_the_publish_action_names_the_snapshot_once_without_doubled_quotes(
    superuser_client, norway
):
    from recommendations.models import Snapshot

    response = superuser_client.post(
        reverse("admin:recommendations_report_changelist"),
        {"action": "publish_snapshot", "_selected_action": [norway.pk]},
        follow=True,
    )
    snapshot = Snapshot.objects.get()
    [message] = [str(m) for m in response.context["messages"]]
    assert message.count(snapshot.title) == 1
    assert "““" not in message and "””" not in message and '""' not in message
