"""Sentences of a report's text, defined once for the whole project: the lineage's comparison of
two years (`lineage.sentences`), the evidence suggestions (`suggestions`) and any page that lets
a coordinator widen or narrow a passage sentence by sentence.

A sentence ends at `.`, `!` or `?` (a run of them, then any closing quotation marks or
brackets: `“pimping.”`, `(in 2023.)`) followed by whitespace and something that can open a
sentence: a capital letter, a digit or an opening quotation mark or bracket. It does not end at
a bare full stop after an abbreviation that comes before what it qualifies — a title (Dr.,
Mr.), a number's label (No., approx.), a month (Jan.), a run of letters each with its dot (U.S.,
e.g., i.e., a.m.) — or after a single capital (an initial: "J. Smith"). The price is that
"…funded by the U.S. The government…" stays one sentence; TIP chapters write "U.S." before a
noun far more often than at a sentence's end. "etc." and "Inc." are not in the list: in report
prose they end sentences more often than not. A closing mark after the stop (`“No.” Then`)
always ends the sentence.

A semicolon never ends a sentence, so a list separated by semicolons stays one; decimal numbers
(2.5) and dotted words (U.S.-based) never do either, as no space follows their dot.

A sentence never crosses a paragraph break. Paragraphs are read as the importer reads them
(docs/design.md, "Importing a chapter"): separated by blank lines, or by every line break in a
text that has no blank line at all. So in a hard-wrapped chapter, whose stored text keeps the
line breaks inside its paragraphs, a sentence runs on across them, as its evidence quotes do.
"""

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator

# Words that abbreviate and come before what they qualify, casefolded, without their full stop.
# fmt: off
ABBREVIATIONS = frozenset({
    "approx", "art", "ca", "cf", "col", "dr", "fig", "gen", "hon", "jr", "lt", "mr", "mrs", "ms",
    "mt", "no", "nos", "para", "pp", "prof", "rev", "sgt", "sr", "st", "vol", "vs",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
})
# fmt: on
DOTTED = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]?")  # U.S, e.g, a.m (the last dot is the stop)
OPENERS = "“‘\"'(["

# A candidate end: terminal marks, closing marks, then whitespace and the next sentence's first
# character (a paragraph's last sentence simply ends with the paragraph).
END = re.compile(r"[.!?]+[”’\"')\]]*(?=\s+(\S))")

# As the importer reads them; atomic, so that CR LF is never taken for two line breaks.
LINE_BREAK = r"(?>\r\n|[\n\r\u2028\u2029])"
SPACE = r"[^\S\r\n\u2028\u2029]*"
BLANK_LINE = re.compile(LINE_BREAK + SPACE + LINE_BREAK)
BLANK_LINES = re.compile(f"{LINE_BREAK}(?:{SPACE}{LINE_BREAK})+")
LINE_BREAKS = re.compile(LINE_BREAK)


def paragraphs(text: str, lo: int, hi: int) -> Iterator[tuple[int, int]]:
    """The paragraphs of text[lo:hi] as (start, end), separated by blank lines when the whole text
    has any, else by every line break. Pieces may be empty or only whitespace."""
    separators = BLANK_LINES if BLANK_LINE.search(text) else LINE_BREAKS
    start = lo
    for separator in separators.finditer(text, lo, hi):
        yield start, separator.start()
        start = separator.end()
    yield start, hi


def sentence_ends_at(paragraph: str, end: re.Match[str]) -> bool:
    """Whether the candidate end `end`, found in `paragraph`, really ends a sentence."""
    following = end[1]
    if not (following.isupper() or following.isdigit() or following in OPENERS):
        return False
    if end[0] != "." * len(end[0]):  # "!" or "?", or a closing mark after the stop
        return True
    word_start = end.start()
    while word_start > 0 and not paragraph[word_start - 1].isspace():
        word_start -= 1
    word = paragraph[word_start : end.start()].lstrip(OPENERS)
    if word.casefold() in ABBREVIATIONS or DOTTED.fullmatch(word):
        return False
    return not (len(word) == 1 and word.isupper())  # an initial


def sentence_spans(text: str, lo: int = 0, hi: int | None = None) -> list[tuple[int, int]]:
    """The sentences of text[lo:hi] as absolute (start, end) offsets, each trimmed of surrounding
    whitespace; a sentence never crosses a paragraph break (module docstring)."""
    return [span for paragraph in paragraph_sentences(text, lo, hi) for span in paragraph]


def paragraph_sentences(
    text: str, lo: int = 0, hi: int | None = None
) -> list[list[tuple[int, int]]]:
    """The sentences of text[lo:hi] as in `sentence_spans`, one list per paragraph that has
    any: what a passage of consecutive sentences must stay within."""
    lo, hi = bounds(text, lo, hi)
    result = []
    for first, last in paragraphs(text, lo, hi):
        paragraph = text[first:last]
        spans: list[tuple[int, int]] = []
        start = 0
        for end in END.finditer(paragraph):
            if sentence_ends_at(paragraph, end):
                add_trimmed(spans, paragraph, first, start, end.end())
                start = end.end()
        add_trimmed(spans, paragraph, first, start, len(paragraph))
        if spans:
            result.append(spans)
    return result


def add_trimmed(
    spans: list[tuple[int, int]], paragraph: str, offset: int, start: int, end: int
) -> None:
    """Add paragraph[start:end] without its surrounding whitespace, shifted by `offset`, unless
    nothing is left."""
    piece = paragraph[start:end]
    stripped = piece.strip()
    if stripped:
        begin = offset + start + len(piece) - len(piece.lstrip())
        spans.append((begin, begin + len(stripped)))


def bounds(text: str, lo: int, hi: int | None) -> tuple[int, int]:
    return max(0, lo), len(text) if hi is None else max(0, min(hi, len(text)))


def touched(spans: list[tuple[int, int]], start: int, end: int) -> tuple[int, int]:
    """The indices [first, last] of the sentences that [start, end) overlaps; for a selection that
    overlaps none (only whitespace, or empty), the sentence nearest to it (the earlier on a
    tie), as both."""
    starts = [a for a, _ in spans]
    first = bisect_right(starts, start) - 1  # the last sentence starting at or before `start`
    if first < 0 or spans[first][1] <= start:
        first += 1
    last = bisect_left(starts, end) - 1  # the last sentence starting before `end`
    if first <= last:
        return first, last
    # Nothing overlapped: spans[first] is the sentence after the selection, spans[first - 1] the
    # one before it.
    if first == len(spans):
        nearest = first - 1
    elif first == 0 or start - spans[first - 1][1] > spans[first][0] - end:
        nearest = first
    else:
        nearest = first - 1
    return nearest, nearest


def snap(text: str, start: int, end: int, lo: int = 0, hi: int | None = None) -> tuple[int, int]:
    """A selection [start, end) widened to the whole sentences it touches, within [lo, hi) (a
    section's bounds). A selection of only whitespace snaps to the nearest sentence.
    ValueError when [lo, hi) holds no sentence."""
    lo, hi = bounds(text, lo, hi)
    spans = sentence_spans(text, lo, hi)
    if not spans:
        raise ValueError(f"no sentence between characters {lo} and {hi}")
    start, end = sorted((min(max(start, lo), hi), min(max(end, lo), hi)))
    first, last = touched(spans, start, end)
    return spans[first][0], spans[last][1]


def resize(
    text: str,
    start: int,
    end: int,
    *,
    lo: int = 0,
    hi: int | None = None,
    before: int = 0,
    after: int = 0,
) -> tuple[int, int]:
    """A sentence-aligned span with `before` sentences added at its start (negative: dropped) and
    `after` added at its end (negative: dropped); never fewer than one sentence, never outside
    [lo, hi).

    The span is first snapped to whole sentences. Sentences are added only as far as the
    paragraphs it starts and ends in go: a span over several paragraphs keeps them all. Drops at
    the start are made first, and the last sentence left is never dropped. ValueError when
    [lo, hi) holds no sentence."""
    lo, hi = bounds(text, lo, hi)
    start, end = snap(text, start, end, lo, hi)
    touching = [(a, b) for a, b in paragraphs(text, lo, hi) if a < end and start < b]
    spans = sentence_spans(text, touching[0][0], touching[-1][1])
    first, last = touched(spans, start, end)
    first = max(0, first - before) if before >= 0 else min(first - before, last)
    last = min(len(spans) - 1, last + after) if after >= 0 else max(last + after, first)
    return spans[first][0], spans[last][1]
