"""The PDF status report as a reader gets it: one recommendation per page, headings kept with
what follows them, a tagged PDF with its title, author and language, and a cover that names the
source document and its SHA-256 rather than where the file was stored.

What every format holds: test_exports.py."""

import io
import re

import pytest
from pypdf import PdfReader

from recommendations.models import Recommendation, Status
from recommendations.rules.writing import assess

from .conftest import EXPORT, assess_all, download, make_assessment, publish

RUNNING_LINES = ("Norway · TIP Report 2024 · recommendation status", "Evidence quoted verbatim")
SUBHEADINGS = ("Other organizations' positions", "Evidence cited by the current", "Recent history")
HEADING = re.compile(r"Recommendation (\d+): ")
PATH_LIKE_TEXT = re.compile(r"[/\\]|\.txt\b|fixtures")


def pdf_of(client, user, query: str = "") -> PdfReader:
    client.force_login(user)
    return PdfReader(io.BytesIO(download(client, EXPORT.format("pdf") + query)))


def body_lines(page) -> list[str]:
    """A page's text without the running header and footer."""
    lines = [line.strip() for line in page.extract_text().splitlines()]
    return [line for line in lines if line and not line.startswith(RUNNING_LINES)]


def test_each_recommendation_starts_a_page_with_its_positions(client, people):
    assess_all(people, rounds=2)
    # Positions long enough to run over a page: the page still starts with the heading.
    long_one = Recommendation.objects.get(number=2)
    make_assessment(long_one, people["gov"], Status.IN_PROGRESS, rationale="Ærlig innsats. " * 330)
    reader = pdf_of(client, people["observer"])

    started = []
    for page in reader.pages:
        lines = body_lines(page)
        headings = [int(m.group(1)) for line in lines if (m := HEADING.match(line))]
        assert len(headings) <= 1, f"two recommendations on one page: {headings}"
        if headings:
            assert HEADING.match(lines[0]), f"recommendation {headings[0]} starts mid-page"
            text = " ".join(lines)
            assert "Government:" in text  # the positions start on the page, not overleaf
            started.append(headings[0])
        assert not lines[-1].startswith(SUBHEADINGS), f"heading at the foot: {lines[-1]!r}"
    assert started == list(range(1, 11))
    assert len(reader.pages) > 12  # cover, overview, ten recommendations, one of them longer


def test_pdf_is_tagged_with_title_author_and_language(client, people):
    assess_all(people)
    people["observer"].first_name, people["observer"].last_name = "Åse", "Berg"
    people["observer"].save()
    reader = pdf_of(client, people["observer"])

    catalog = reader.trailer["/Root"]
    assert "/StructTreeRoot" in catalog
    assert catalog["/MarkInfo"]["/Marked"].value is True
    assert catalog["/ViewerPreferences"]["/DisplayDocTitle"].value is True
    assert catalog["/Lang"] == "en"
    assert reader.metadata.title == "Norway 2024 — status of the TIP recommendations"
    # The whole report is one copy for everyone (recommendations/prepared.py): it names no one.
    assert reader.metadata.author == "TIP recommendation tracker"
    xmp = catalog["/Metadata"].get_object().get_data().decode()
    assert 'pdfuaid:part="1"' in xmp and "TIP recommendation tracker" in xmp
    # A selection is made for the person who asked, and names them.
    assert pdf_of(client, people["observer"], "?pillar=PROTECTION").metadata.author == "Åse Berg"

    tags = []

    def walk(element) -> None:
        element = element.get_object()
        tags.append((element["/S"], element.get("/Alt")))
        kids = element.get("/K", [])
        for kid in kids if isinstance(kids, list) else [kids]:
            if not isinstance(kid, int) and "/S" in kid.get_object():
                walk(kid)

    walk(catalog["/StructTreeRoot"]["/K"][0])
    names = [name for name, _ in tags]
    assert names.count("/H1") == 1 and names.count("/H2") >= 12  # chart, overview, ten
    charts = [alt for name, alt in tags if name == "/Figure"]
    assert len(charts) == 2 and all(alt.startswith(("Government", "NGO")) for alt in charts)


def test_cover_names_the_source_document_and_its_sha256_not_a_path(client, people, norway):
    assert "fixtures/sources/" in norway.source_name  # as the importer stored it
    reader = pdf_of(client, people["observer"])

    cover = " ".join(reader.pages[0].extract_text().split())
    assert (
        "Source U.S. Department of State, 2024 Trafficking in Persons Report: Norway "
        f"Source SHA-256 {norway.source_sha256}"
    ) in cover
    assert not PATH_LIKE_TEXT.search(cover), PATH_LIKE_TEXT.search(cover)
    everything = " ".join(page.extract_text() for page in reader.pages)
    assert "tip-2024-norway" not in everything


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("fixtures/sources/tip-2024-norway.txt", ""),
        ("C:\\imports\\norway.TXT", ""),
        ("tip-2024-norway.pdf", ""),
        ("Scanned copy from the embassy", " (Scanned copy from the embassy)"),
        ("U.S. Department of State, 2024 Trafficking in Persons Report: Sweden", ""),
    ],
)
def test_the_source_is_named_in_words_and_never_as_a_path(stored, shown):
    from recommendations.publishing.tables import source_document

    report = {"country": "Sweden", "year": 2024, "source_name": stored}
    expected = "U.S. Department of State, 2024 Trafficking in Persons Report: Sweden" + shown
    assert source_document(report) == expected


def test_the_overview_explains_the_scale_divergence_and_the_two_sides(client, people, norway):
    reader = pdf_of(client, people["observer"])
    overview = " ".join(" ".join(page.extract_text().split()) for page in reader.pages[:3])
    assert (
        "from the least to the most advanced: Regressed → No progress → In progress → "
        "Partially implemented → Implemented"
    ) in overview
    assert "1 step apart means neighbouring steps, 4 steps apart the two ends" in overview
    assert "the police and other public bodies count as government" in overview

    client.cookies["django_language"] = "nb"
    norwegian = PdfReader(io.BytesIO(download(client, EXPORT.format("pdf"))))
    text = " ".join(" ".join(page.extract_text().split()) for page in norwegian.pages[:3])
    assert "Slik leser du den" in text
    assert "Tilbakegang → Ingen fremgang → Under arbeid → Delvis gjennomført → Gjennomført" in text


def test_a_snapshot_pdf_names_its_source_the_same_way(client, people, norway):
    snapshot = publish(client, people["coordinator"])
    body = download(client, f"/reports/norway-2024/snapshots/{snapshot.pk}/export.pdf")
    cover = " ".join(PdfReader(io.BytesIO(body)).pages[0].extract_text().split())
    assert f"Trafficking in Persons Report: Norway Source SHA-256 {norway.source_sha256}" in cover
    assert not PATH_LIKE_TEXT.search(cover), PATH_LIKE_TEXT.search(cover)


def test_cited_evidence_is_named_by_its_label(client, people, norway):
    recommendation = norway.recommendations.get(number=1)
    cited = recommendation.citable_evidence()[0]
    assess(
        recommendation,
        author=people["ngo"],
        status=Status.IMPLEMENTED,
        rationale="Done.",
        evidence=[cited],
    )
    reader = pdf_of(client, people["observer"])
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    label = f"{cited.label} · {cited.section.get_kind_display()}"
    assert label.upper() in text.upper()  # printed in small capitals
