"""What `locate_quote` says of a quote that is not verbatim in the Norway report: the nearest
match, aligned allowing for added and left-out words, and its first real difference from the
quote, in plain words, with a few words of context on each side (issue 12, item 4).

Each message is compared whole. The report is an unsaved `Report` holding the canonical text
(the fixture's `source_text` is this file's text, byte for byte), so no database is needed."""

import time

import pytest
from django.core.exceptions import ValidationError

from recommendations.models import Report
from recommendations.quotes import locate_quote, nearest_match

from .conftest import SEED

TEXT = SEED.read_text(encoding="utf-8")
NOT_VERBATIM = "This quote is not verbatim in Norway 2024 (Tier 2)."

SIZE = "The number of investigators comprising each unit varied on the size of the district."
POLICE = (
    "Experts criticized police for not having a point of contact for trafficking cases in "
    "Øst Police District"
)
SENTENCES = (
    f"{POLICE}, one of the largest in the country. Experts also criticized police for lacking "
    "the will and knowledge to investigate trafficking cases, leading to a dearth of "
    "investigations and case law."
)


def refusal(quote: str) -> str:
    report = Report(country="Norway", year=2024, tier="TIER_2", source_text=TEXT)
    with pytest.raises(ValidationError) as refused:
        locate_quote(report, quote)
    [message] = refused.value.message_dict["quote"]
    return message


def nearest(verbatim: str) -> str:
    """The message's first sentences: the report's text the quote was taken from, and where."""
    assert TEXT.count(verbatim) == 1
    start = TEXT.index(verbatim)
    return (
        f"{NOT_VERBATIM} Nearest match at characters {start}–{start + len(verbatim)}: “{verbatim}”."
    )


def test_an_inserted_word_is_named_where_it_is_inserted():
    assert refusal(SIZE.replace("each unit", "each big unit")) == (
        f"{nearest(SIZE)} First difference, at character 45 of the quote: the quote adds “big”, "
        "which is not in the report — the report reads “…investigators comprising each unit "
        "varied on…”, the quote “…investigators comprising each big unit varied on…”."
    )


def test_a_deleted_word_is_named_where_it_is_missing():
    assert refusal(SIZE.replace("comprising each", "comprising")) == (
        f"{nearest(SIZE)} First difference, at character 40 of the quote: the quote leaves out "
        "“each”, which the report has — the report reads “…of investigators comprising each "
        "unit varied on…”, the quote “…of investigators comprising unit varied on…”."
    )


def test_a_changed_word_of_another_length_is_named_whole():
    assert refusal(SIZE.replace("investigators", "detectives")) == (
        f"{nearest(SIZE)} First difference, at character 15 of the quote: the report has "
        "“investigators” where the quote has “detectives” — the report reads “…The number of "
        "investigators comprising each unit…”, the quote “The number of detectives comprising "
        "each unit…”."
    )


def test_a_straight_apostrophe_for_a_typographic_one_is_named():
    verbatim = "penalties of up to six years’ imprisonment for crimes involving adult"
    assert refusal(verbatim.replace("’", "'")) == (
        f"{nearest(verbatim)} First difference, at character 29 of the quote: the report has a "
        "typographic apostrophe (’) where the quote has a straight apostrophe (') — the report "
        "reads “…to six years’ imprisonment for crimes…”, the quote “…to six years' "
        "imprisonment for crimes…”."
    )


def test_straight_quotation_marks_for_typographic_ones_are_named():
    verbatim = "The government implemented its action plan against “social dumping” and work"
    typed = verbatim.replace("“", '"').replace("”", '"')
    assert refusal(typed) == (
        f"{nearest(verbatim)} First difference, at character 52 of the quote: the report has a "
        "typographic opening quotation mark (“) where the quote has a straight quotation mark "
        '(") — the report reads “…action plan against “social dumping” and…”, the quote '
        '“…action plan against "social dumping" and…”.'
    )


@pytest.mark.parametrize(
    "typed", ["Zebras qualify jovially.", "the of and to in the of and with for the"]
)
def test_a_quote_with_nothing_close_says_so(typed):
    assert refusal(typed) == f"{NOT_VERBATIM} Nothing in the report comes close."


def test_a_changed_first_word():
    assert refusal(POLICE.replace("Experts", "Researchers")) == (
        f"{nearest(POLICE)} First difference, at character 1 of the quote: the report has "
        "“Experts” where the quote has “Researchers” — the report reads “…fewer identified "
        "victims. Experts criticized police for…”, the quote “Researchers criticized police for…”."
    )


def test_words_added_before_the_first_word():
    typed = "In 2023, experts criticized police for not having a point of contact"
    assert refusal(typed) == (
        f"{nearest('Experts criticized police for not having a point of contact')} "
        "First difference, at character 1 of the quote: the quote adds “In 2023,”, which is not "
        "in the report — the report reads “…fewer identified victims. Experts criticized "
        "police…”, the quote “In 2023, experts criticized police…”."
    )


def test_a_changed_last_word():
    assert refusal(POLICE.replace("District", "Distrikt")) == (
        f"{nearest(POLICE)} First difference, at character 97 of the quote: the report has "
        "“District” where the quote has “Distrikt” — the report reads “…in Øst Police "
        "District, one of the…”, the quote “…in Øst Police Distrikt”."
    )


def test_a_word_added_after_the_last_word():
    assert refusal(f"{POLICE} today") == (
        f"{nearest(POLICE)} First difference, at character 106 of the quote: the quote adds "
        "“today”, which is not in the report — the report reads “…Øst Police District, one of "
        "the…”, the quote “…Øst Police District today”."
    )


LEFT_OUT = (
    " one of the largest in the country. Experts also criticized police for lacking the will "
    "and knowledge to investigate trafficking cases,"
)


def test_a_passage_left_out_is_named_not_the_words_after_it():
    assert refusal(SENTENCES.replace(LEFT_OUT, "")) == (
        f"{nearest(SENTENCES)} First difference, at character 107 of the quote: the quote leaves "
        "out “one of the largest in … knowledge to investigate trafficking cases,”, which the "
        "report has — the report reads “…Øst Police District, one of the largest in … "
        "knowledge to investigate trafficking cases, leading to a…”, the quote “…Øst Police "
        "District, leading to a…”."
    )


def test_an_ellipsis_for_a_passage():
    assert refusal(SENTENCES.replace(LEFT_OUT, " …")) == (
        f"{nearest(SENTENCES)} First difference, at character 107 of the quote: the report has "
        "“one of the largest in … knowledge to investigate trafficking cases,” where the quote "
        "has “…” — the report reads “…Øst Police District, one of the largest in … knowledge "
        "to investigate trafficking cases, leading to a…”, the quote “…Øst Police District, … "
        "leading to a…”."
    )


def test_a_doubled_space_is_named():
    assert refusal(POLICE.replace("police for", "police  for")) == (
        f"{nearest(POLICE)} First difference, at character 26 of the quote: the report has a "
        "space where the quote has 2 spaces — the report reads “…Experts criticized police for "
        "not having…”, the quote “Experts criticized police  for not having…”."
    )


def test_a_long_quote_is_aligned_around_its_first_difference_in_bounded_time():
    """A whole paragraph of 3,800 characters with a word added past its middle: only 600
    characters are aligned, from a little before the difference."""
    paragraph = max(TEXT.split("\n"), key=len)
    middle = paragraph.index(" compared to the")
    typed = f"{paragraph[:middle]} inserted{paragraph[middle:]}"
    began = time.perf_counter()
    match = nearest_match(TEXT, typed)
    took = time.perf_counter() - began
    assert match is not None and match.difference is not None
    assert match.difference.position == middle + 2
    assert "the quote adds “inserted”, which is not in the report" in match.describe()
    assert match.start == TEXT.index(paragraph) and match.part is not None
    assert match.part[0] == 0 and match.excerpt == paragraph[: match.end - match.start]
    assert match.describe().startswith(f"Nearest match, for characters 1–{match.part[1]} of")
    assert took < 2  # under 0.1 s; the whole paragraph aligned would take seconds
