import itertools
import re

import pytest
from django.core.management import CommandError, call_command

from recommendations.importer import draft_short_title, paragraph_spans
from recommendations.models import Paragraph, Recommendation, Report, Section, sha256_hex

from .conftest import SEED

SECTION_ORDER = [
    "SUMMARY",
    "RECOMMENDATIONS",
    "PROSECUTION",
    "PROTECTION",
    "PREVENTION",
    "TRAFFICKING_PROFILE",
]


def run_import(path, country="Norway", year=2024) -> None:
    call_command("import_tip_report", str(path), country=country, year=year, verbosity=0)


def write(tmp_path, content: bytes | str, name="chapter.txt"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


@pytest.fixture
def imported(db) -> Report:
    run_import(SEED)
    return Report.objects.get()


def test_seed_gives_ten_recommendations_equal_to_the_seed_text(imported, seed_bytes):
    text = seed_bytes.decode("utf-8")
    recommendations_paragraph = text.split("\n\n")[3]
    expected = [piece.strip() for piece in recommendations_paragraph.split(" * ")]
    stored = list(imported.recommendations.order_by("number"))
    assert len(stored) == 10
    assert [r.number for r in stored] == list(range(1, 11))
    assert [r.text for r in stored] == expected
    assert stored[0].text.startswith("Vigorously investigate trafficking crimes")
    assert stored[9].text == (
        "Develop an updated NAP, corresponding to the current situation and trends in Norway, "
        "with related anti-trafficking activities."
    )
    for recommendation in stored:
        assert text[recommendation.start_offset : recommendation.end_offset] == recommendation.text


def test_seed_report_metadata(imported, seed_bytes):
    assert imported.slug == "norway-2024"
    assert imported.country == "Norway"
    assert imported.year == 2024
    assert imported.tier == Report.Tier.TIER_2
    assert imported.title == "2024 Trafficking in Persons Report: Norway"
    assert imported.source_text == seed_bytes.decode("utf-8")
    assert imported.source_sha256 == sha256_hex(imported.source_text)


def test_every_section_found_in_order(imported):
    sections = list(imported.sections.order_by("position"))
    assert [s.kind for s in sections] == SECTION_ORDER
    assert sections[2].source_slice.startswith("The government decreased law enforcement efforts.")
    assert sections[3].source_slice.startswith("The government slightly increased protection")
    assert sections[4].source_slice.startswith("The government increased prevention efforts.")
    assert sections[5].source_slice.startswith("As reported over the past five years")
    for earlier, later in itertools.pairwise(sections):
        assert earlier.end_offset < later.start_offset


def test_paragraph_offsets_slice_the_source_exactly(imported, seed_bytes):
    text = seed_bytes.decode("utf-8")
    expected = [block.strip() for block in text.split("\n\n") if block.strip()][2:]
    paragraphs = list(imported.paragraphs.order_by("position"))
    assert [p.text for p in paragraphs] == expected
    assert [p.section.kind for p in paragraphs] == [
        "SUMMARY",
        "RECOMMENDATIONS",
        *["PROSECUTION"] * 2,
        *["PROTECTION"] * 4,
        *["PREVENTION"] * 3,
        "TRAFFICKING_PROFILE",
    ]
    for paragraph in paragraphs:
        assert text[paragraph.start_offset : paragraph.end_offset] == paragraph.text
        section = paragraph.section
        assert section.start_offset <= paragraph.start_offset < paragraph.end_offset
        assert paragraph.end_offset <= section.end_offset


def test_import_is_idempotent(imported):
    before = {
        model: list(model.objects.order_by("pk").values())
        for model in (Report, Section, Paragraph, Recommendation)
    }
    run_import(SEED)
    after = {
        model: list(model.objects.order_by("pk").values())
        for model in (Report, Section, Paragraph, Recommendation)
    }
    assert before == after


def test_reimport_keeps_curated_titles(imported):
    imported.recommendations.filter(number=1).update(short_title="Curated title")
    run_import(SEED)
    assert imported.recommendations.get(number=1).short_title == "Curated title"


def assert_refused(path, message: str, **kwargs) -> None:
    with pytest.raises(CommandError, match=message):
        run_import(path, **kwargs)
    assert not Report.objects.exists()
    assert not Section.objects.exists()
    assert not Paragraph.objects.exists()
    assert not Recommendation.objects.exists()


@pytest.mark.django_db
def test_refuses_empty_file(tmp_path):
    assert_refused(write(tmp_path, b""), "empty")
    assert_refused(write(tmp_path, b"  \n\n "), "empty")


@pytest.mark.django_db
def test_refuses_text_that_is_not_utf8(tmp_path, seed_bytes):
    latin1 = seed_bytes.decode("utf-8").replace("’", "'").replace("“", '"').replace("”", '"')
    path = write(tmp_path, latin1.replace("–", "-").encode("latin-1"))
    assert_refused(path, "not UTF-8")


@pytest.mark.django_db
def test_refuses_missing_file(tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        run_import(tmp_path / "missing.txt")


@pytest.mark.django_db
def test_refuses_chapter_without_recommendations(tmp_path, seed_bytes):
    blocks = seed_bytes.decode("utf-8").split("\n\n")
    without = "\n\n".join(blocks[:3] + blocks[4:])
    assert_refused(write(tmp_path, without), "no recommendations found")


@pytest.mark.django_db
def test_refuses_recommendations_paragraph_without_separators(tmp_path, seed_bytes):
    text = seed_bytes.decode("utf-8")
    paragraph = text.split("\n\n")[3]
    path = write(tmp_path, text.replace(paragraph, paragraph.replace(" * ", " ")))
    assert_refused(path, "no recommendations found")


@pytest.mark.django_db
def test_refuses_a_different_text_under_the_same_slug(tmp_path, seed_bytes):
    run_import(SEED)
    before = Report.objects.get().source_sha256
    changed = seed_bytes.replace(b"27 trafficking cases", b"28 trafficking cases")
    with pytest.raises(CommandError, match="already stored with other text"):
        run_import(write(tmp_path, changed))
    assert Report.objects.get().source_sha256 == before
    assert Report.objects.count() == 1


@pytest.mark.django_db
def test_refuses_other_country_or_year(tmp_path):
    assert_refused(SEED, "not the country 'Sweden'", country="Sweden")
    assert_refused(SEED, "does not name the year 2023", year=2023)


@pytest.mark.django_db
def test_refuses_missing_tier_line(tmp_path, seed_bytes):
    path = write(tmp_path, seed_bytes.replace(b"NORWAY (Tier 2)", b"NORWAY"))
    assert_refused(path, "no tier line")


@pytest.mark.django_db
def test_refuses_missing_pillar_section(tmp_path, seed_bytes):
    text = seed_bytes.decode("utf-8").replace(
        "The government increased prevention efforts.", "Prevention efforts grew."
    )
    assert_refused(write(tmp_path, text), "sections not found: PREVENTION")


@pytest.mark.django_db
def test_refuses_sections_out_of_order(tmp_path, seed_bytes):
    blocks = seed_bytes.decode("utf-8").split("\n\n")
    prosecution, protection = blocks[4:6], blocks[6:10]
    reordered = blocks[:4] + protection + prosecution + blocks[10:]
    assert_refused(write(tmp_path, "\n\n".join(reordered)), "out of order")


@pytest.mark.django_db
def test_windows_line_endings_and_bom_are_accepted(tmp_path, seed_bytes):
    crlf = b"\xef\xbb\xbf" + seed_bytes.replace(b"\n", b"\r\n")
    run_import(write(tmp_path, crlf))
    report = Report.objects.get()
    assert report.recommendations.count() == 10
    assert [s.kind for s in report.sections.all()] == SECTION_ORDER
    for paragraph in report.paragraphs.all():
        assert "\n" not in paragraph.text
        assert paragraph.text == paragraph.text.strip()


def test_paragraph_spans_ignore_surrounding_whitespace():
    text = "  first line\nsame paragraph  \n \n\nsecond\n\n\n"
    spans = paragraph_spans(text)
    assert [text[s.start : s.end] for s in spans] == ["first line\nsame paragraph", "second"]


def test_draft_short_title_cuts_at_a_word():
    title = draft_short_title(
        "Develop and implement a reliable comprehensive statistical system for collecting data"
    )
    assert len(title) <= 60
    assert title.endswith("…")
    assert re.fullmatch(r"[\w ]+…", title)
