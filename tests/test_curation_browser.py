"""A coordinator curates a newly imported chapter end to end without Django admin, in Chromium,
with axe-core checking every new page and state at desktop and phone width; and the same reader
without JavaScript."""

import re

import pytest

from recommendations.models import EvidenceItem, EvidenceLink, Recommendation, SectionKind, Stance

from .conftest import make_coordinator
from .test_accessibility import Audit, axe_source, log_in
from .test_browser import chromium, watch_csp
from .test_curation import (
    carried_pair,
    quote_in,
    shared_and_changed_sentences,
    unquoted_sentence,
)
from .test_lineage import import_veldoria

pytestmark = pytest.mark.django_db(transaction=True)

# Selects characters [from, to) of the first paragraph of a section of the reader (as a person
# dragging over them would), so that the "Quote this" button appears.
SELECT = """([section, from, to]) => {
  const paragraph = document.querySelector(`#section-${section} p[data-start]`);
  const text = paragraph.firstChild;
  const range = document.createRange();
  range.setStart(text, from);
  range.setEnd(text, to);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  return Number(paragraph.dataset.start);
}"""


def flags(page) -> int:
    return page.locator("#results a.flag").count()


def test_a_coordinator_curates_a_new_chapter_in_the_browser(live_server):
    from playwright.sync_api import expect

    source = axe_source()
    veldoria = import_veldoria()
    coordinator = make_coordinator("curator", first_name="Cora")
    earlier, later = carried_pair(veldoria)
    same, _ = shared_and_changed_sentences(veldoria[2023], veldoria[2024])
    kept = quote_in(veldoria[2023], same)
    EvidenceLink.objects.create(evidence=kept, recommendation=earlier, stance=Stance.GAP)
    report = veldoria[2024]
    total = report.recommendations.count()
    base = f"{live_server.url}/reports/veldoria-2024"

    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        page = context.new_page()
        refused = watch_csp(page)
        audit = Audit(page, source)
        log_in(page, live_server.url, coordinator.username)

        page.goto(f"{base}/")
        assert flags(page) == total  # nothing quoted yet
        audit("dashboard, with evidence flags")

        # Select part of a sentence in the reader; the panel shows the whole sentence.
        page.goto(f"{base}/source/")
        audit("reader, curating")
        prosecution = report.sections.get(kind=SectionKind.PROSECUTION)
        paragraph_start = page.evaluate(SELECT, ["prosecution", 2, 12])
        assert paragraph_start >= prosecution.start_offset
        page.get_by_role("button", name="Quote this").click()
        heading = page.locator("#quote-panel-heading")
        expect(heading).to_be_focused()
        audit("reader, quote panel")
        end = page.locator('#quote-panel input[name="end"]')
        one_sentence = end.input_value()
        page.get_by_role("link", name="One sentence more after").click()
        expect(end).not_to_have_value(one_sentence)  # the wider passage's panel is in
        expect(heading).to_be_focused()
        page.locator("#id_stance_1").select_option("GAP")
        page.get_by_label("Note (optional)").fill("The shortfall, in the report's words.")
        page.get_by_role("button", name="Save quote").click()
        # The reader is loaded again (HTMX goes to the anchor, then reloads), saying so.
        expect(page.locator(".messages")).to_contain_text("Saved as E")
        expect(page).to_have_url(re.compile(r"/source/#evidence-\d+$"))
        item = EvidenceItem.objects.get(report=report)
        assert item.start_offset == paragraph_start  # snapped back to the sentence's start
        assert item.quote == report.source_text[item.start_offset : item.end_offset]
        assert item.links.get().stance == Stance.GAP

        # Its edit link opens the same panel: the stance changes.
        page.locator(f'a.edit-quote[href$="/evidence/{item.pk}/"]').click()
        expect(page.locator("#quote-panel-heading")).to_be_focused()
        audit("reader, an existing quote's panel")
        page.locator("#id_stance_1").select_option("PROGRESS")
        page.get_by_role("button", name="Save links").click()
        expect(page.locator(".messages")).to_contain_text(f"{item.label} saved.")
        expect(page).to_have_url(re.compile(rf"#evidence-{item.pk}$"))
        assert item.links.get().stance == Stance.PROGRESS

        # The workspace: carried quotes at once, a ranked one with a stance.
        page.goto(f"{base}/evidence/")
        audit("evidence workspace")
        page.get_by_role("button", name=re.compile("carried forward word for word")).click()
        expect(page.locator(".messages")).to_contain_text("carried forward word for word")
        carried = EvidenceItem.objects.get(report=report, carried_from=kept)
        assert carried.links.get().recommendation == later
        second = page.locator("#recommendation-2 .proposal").first
        second.get_by_label("Stance").select_option("GAP")
        second.get_by_role("button", name="Accept").click()
        expect(page.locator(".messages")).to_contain_text("linked to recommendation 2")

        # The flags of the recommendations that got a gap quote are gone.
        page.goto(f"{base}/")
        covered = {
            r.number
            for r in Recommendation.objects.filter(report=report).with_coverage()
            if not r.needs_evidence
        }
        assert {2, later.number} <= covered
        assert flags(page) == total - len(covered)

        page.goto(f"{base}/recommendations/{later.number}/")
        expect(page.locator(".carried").first).to_contain_text(f"2023 ({kept.label})")
        context.close()

        # Without JavaScript: paste a quote, choose a stance, save; the reader shows it.
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, java_script_enabled=False
        )
        page = context.new_page()
        log_in(page, live_server.url, coordinator.username)
        page.goto(f"{base}/source/")
        assert page.get_by_role("button", name="Quote this").count() == 0
        start, end = unquoted_sentence(report)
        sentence = report.source_text[start:end]
        page.get_by_label("Quote", exact=True).fill(sentence)
        page.get_by_role("button", name="Continue").click()
        expect(page.locator(".quote-passage")).to_contain_text(sentence)
        page.locator("#id_stance_3").select_option("CONTEXT")
        page.get_by_role("button", name="Save quote").click()
        expect(page).to_have_url(re.compile(r"/source/#evidence-\d+$"))
        expect(page.locator(".messages")).to_contain_text("Saved as E")
        pasted = EvidenceItem.objects.get(report=report, quote=sentence)
        assert page.locator(f"#evidence-{pasted.pk} + mark").count() == 1
        context.close()

    assert not audit.violations, "\n".join(audit.violations)
    assert not refused, refused
