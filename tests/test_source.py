"""The source reader: the report's full text with every evidence quote marked."""

from django.urls import reverse

from recommendations.models import EvidenceItem


def test_source_reader_highlights_every_quote_and_links_back(client, people, norway):
    client.force_login(people["observer"])
    html = client.get(reverse("source", args=["norway-2024"])).content.decode()
    for item in EvidenceItem.objects.all():
        assert f'id="evidence-{item.pk}"' in html
    assert html.count("<mark>") >= EvidenceItem.objects.count()
    assert 'href="/reports/norway-2024/recommendations/6/#evidence-' in html
