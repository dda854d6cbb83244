"""The recommendation page: its text, evidence, current positions, comments and history."""

import re
from datetime import timedelta

from django.utils import timezone

from recommendations.models import Comment, Recommendation, Status
from recommendations.rules.writing import assess

from .conftest import make_assessment, rec_url


def test_recommendation_page_shows_text_evidence_positions_comments_and_form(
    client, people, norway
):
    recommendation = norway.recommendations.get(number=6)
    make_assessment(recommendation, people["gov"], Status.IN_PROGRESS, rationale="Units kept.")
    Comment.objects.create(
        recommendation=recommendation,
        organization=people["ngo"].membership.organization,
        author=people["ngo"],
        body="Øst district still lacks a contact point.",
    )
    client.force_login(people["ngo"])
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
    client.force_login(people["observer"])
    history = client.get(rec_url("recommendation")).context["history"]
    assert [(a.status, a.previous_status) for a in history] == [
        ("IN_PROGRESS", "NO_PROGRESS"),
        ("IMPLEMENTED", None),
        ("NO_PROGRESS", None),
    ]


def test_long_histories_come_in_pages_with_transitions_across_the_page_break(client, people):
    ngo, government = people["ngo"], people["gov"]
    recommendation = Recommendation.objects.get(number=2)
    start = timezone.now() - timedelta(days=100)
    total = Recommendation.HISTORY_PAGE_SIZE + 10
    for i in range(total):
        author = ngo if i % 2 else government
        make_assessment(
            recommendation,
            author,
            status=Status.values[i % 5],
            created_at=start + timedelta(hours=i),
            rationale=f"entry {i:03d}",
        )
    client.force_login(ngo)
    url = "/reports/norway-2024/recommendations/2/"

    first = client.get(url)
    page = first.content.decode()
    assert f"({total} assessments, page 1)" in page
    newest, oldest_on_first_page = f"entry {total - 1:03d}", "entry 010"
    assert newest in page and oldest_on_first_page in page and "entry 009" not in page
    assert 'href="?history_page=2#history-heading"' in page
    # The oldest entry on page 1 (010, government) shows the status of 008 on page 2.
    oldest_shown = next(a for a in first.context["history"] if a.rationale == oldest_on_first_page)
    assert oldest_shown.previous_status == Status.values[8 % 5]
    # Current positions come from the whole history, not from the page.
    positions = {a.organization.name: a.rationale for a in first.context["positions"]}
    assert positions == {
        "Nettverk mot menneskehandel": f"entry {total - 1:03d}",
        "Justisdepartementet": f"entry {total - 2:03d}",
    }

    second = client.get(url, {"history_page": 2}).content.decode()
    assert "entry 009" in second and "entry 000" in second and "entry 010" not in second
    assert "first assessment" in second
    assert 'href="?history_page=1#history-heading"' in second

    assert "No assessments on this page" in client.get(url, {"history_page": 9}).content.decode()
    for bad in ("0", "-1", "two", "1e3"):
        response = client.get(url, {"history_page": bad})
        assert response.status_code == 400
        assert "history_page must be a page number" in response.content.decode()
    response = client.get(url, {"part": "comments"}, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert "part must be history or timeline" in response.content.decode()


def test_evidence_has_one_label_on_its_card_in_the_form_in_the_history_and_the_exports(
    client, people, norway
):
    recommendation = norway.recommendations.get(number=1)
    cited = recommendation.citable_evidence()[1]
    assess(
        recommendation,
        author=people["ngo"],
        status=Status.IMPLEMENTED,
        rationale="Done.",
        evidence=[cited],
    )
    client.force_login(people["ngo"])
    html = client.get(recommendation.get_absolute_url()).content.decode()
    form = html.split('id="assess-form"')[1].split("</form>")[0]
    cards = html.split('id="evidence-heading"')[1]
    history = html.split('id="history-heading"')[1].split("</section>")[0]

    # The form lists the items in the order of the cards: by section, then stance.
    in_form = re.findall(r'id="id_evidence_(\d+)"', form)
    on_cards = re.findall(r'<figure class="evidence" id="evidence-(\d+)"', cards)
    assert in_form == on_cards and len(on_cards) == recommendation.evidence_items.count()
    for pk in on_cards:
        label = f"E{pk}"
        assert f'<span class="evidence-label">{label}</span>' in cards
        # "Cite" on a card is a label of the form's checkbox: it ticks it, with or without JS.
        assert f'<label class="cite" for="id_evidence_{pk}">Cite {label}</label>' in cards
        assert f'> {label} <q lang="en">' in form
    assert f'href="#evidence-{cited.pk}">{cited.label}</a>' in history
    assert 'href="#evidence-heading"' in form  # on a phone the evidence comes after the form

    document = client.get(f"/reports/{norway.slug}/export.json").json()
    assert {item["label"] for item in document["evidence"]} >= {cited.label}
    history_csv = client.get(f"/reports/{norway.slug}/export.csv?table=history")
    assert cited.label in b"".join(history_csv.streaming_content).decode("utf-8-sig")


def test_observers_see_evidence_labels_without_cite_controls(client, people, norway):
    client.force_login(people["observer"])
    html = client.get(norway.recommendations.get(number=1).get_absolute_url()).content.decode()
    assert 'class="evidence-label"' in html and 'class="cite"' not in html


def test_older_history_comes_by_htmx_and_the_pages_add_up_to_the_whole_history(client, people):
    ngo, government = people["ngo"], people["gov"]
    recommendation = Recommendation.objects.get(number=2)
    start = timezone.now() - timedelta(days=100)
    total = 2 * Recommendation.HISTORY_PAGE_SIZE + 7
    for i in range(total):
        make_assessment(
            recommendation,
            ngo if i % 3 else government,
            status=Status.values[i // 2 % 5],
            created_at=start + timedelta(hours=i),
            rationale=f"entry {i:03d}",
        )
    client.force_login(ngo)
    url = "/reports/norway-2024/recommendations/2/"

    page = client.get(url).content.decode()
    # Without JavaScript a link; with it, HTMX swaps the history section for the next page.
    assert (
        '<a href="?history_page=2#history-heading" hx-get="?history_page=2" hx-target="#history"'
        in page
    )
    seen = []
    number = 1
    while number:
        response = client.get(url, {"history_page": number}, headers={"HX-Request": "true"})
        assert response.status_code == 200
        assert response["Vary"] and "HX-Request" in response["Vary"]
        part = response.content.decode()
        assert part.lstrip().startswith('<section id="history"') and "<html" not in part
        seen += re.findall(r"entry (\d{3})", part)
        number = response.context["history_next"] if response.context else None
        if response.context is None:  # answered from the page cache
            more = re.search(r'href="\?history_page=(\d+)#history-heading"[^>]*>Older', part)
            number = int(more.group(1)) if more else None
    # Every assessment exactly once, newest first, whatever the pages.
    assert seen == [f"{i:03d}" for i in reversed(range(total))]
    # The whole page at the same address is still the whole page.
    assert "<html" in client.get(url, {"history_page": 2}).content.decode()
