"""The source reader: the report's full text with every evidence quote marked."""

import re

from django.urls import reverse

from recommendations.models import EvidenceItem, Stance

from .conftest import ROOT


def test_source_reader_highlights_every_quote_and_links_back(client, people, norway):
    client.force_login(people["observer"])
    html = client.get(reverse("source", args=["norway-2024"])).content.decode()
    for item in EvidenceItem.objects.all():
        assert f'id="evidence-{item.pk}"' in html
    assert html.count("<mark>") >= EvidenceItem.objects.count()
    assert 'href="/reports/norway-2024/recommendations/6/#evidence-' in html


def source_page(client, people) -> str:
    client.force_login(people["observer"])
    return client.get(reverse("source", args=["norway-2024"])).content.decode()


def test_source_reader_has_contents_linking_every_section(client, people, norway):
    html = source_page(client, people)
    contents = re.search(r'<nav class="source-contents".*?</nav>', html, re.S)
    assert contents, "no table of contents"
    for section in norway.sections.all():
        anchor = f"section-{section.kind.lower()}"
        assert f'href="#{anchor}"' in contents.group() and f'id="{anchor}"' in html
        assert section.get_kind_display() in contents.group()


def test_source_reader_explains_the_stance_colours(client, people):
    html = source_page(client, people)
    legend = re.search(r'<section class="stance-legend".*?</section>', html, re.S)
    assert legend, "no legend for the stance colours"
    for value, label in Stance.choices:
        assert f'class="stance-sample stance-{value}"' in legend.group()
        assert str(label) in legend.group()  # a translated (lazy) label


def test_source_reader_names_the_source_in_words_not_as_a_file_path(client, people, norway):
    assert "/" in norway.source_name  # the shipped Norway source name is a repository path
    head = re.search(r'<div class="page-head">.*?</div>', source_page(client, people), re.S)
    assert norway.source_name not in head.group()
    assert "U.S. Department of State, 2024 Trafficking in Persons Report: Norway" in head.group()


def test_source_reader_uses_the_width_and_its_links_are_24_px_targets(client, people):
    assert 'class="source-layout"' in source_page(client, people)
    css = (ROOT / "static" / "css" / "app.css").read_text()
    rules = [
        (selector.split("*/")[-1].strip(), body)
        for selector, body in re.findall(r"([^{}]+?)\s*\{([^}]*)\}", css)
    ]
    marks = [body for selector, body in rules if selector == ".source sup.links a"]
    assert any("min-width: 24px" in b and "min-height: 24px" in b for b in marks), marks
    layout = [body for selector, body in rules if selector == ".source-layout .source"]
    assert any("max-width: none" in body for body in layout), layout
