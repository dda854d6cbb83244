"""Finding a quote in a report's text, and saying where the nearest match is when it is not."""

from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError

if TYPE_CHECKING:
    from .models import Report, Section


@dataclass(frozen=True)
class NearestMatch:
    start: int
    end: int
    excerpt: str
    first_difference: int  # index into the quote where the report's text departs from it

    def describe(self, quote: str) -> str:
        position = self.first_difference
        typed = quote[position : position + 12]
        found = self.excerpt[position : position + 12]
        return (
            f"Nearest match at characters {self.start}–{self.end}: “{self.excerpt}”. "
            f"They differ from character {position + 1} of the quote: "
            f"the report has “{found}” where the quote has “{typed}”."
        )


def occurrences(text: str, quote: str) -> list[int]:
    starts = []
    position = text.find(quote)
    while position != -1:
        starts.append(position)
        position = text.find(quote, position + 1)
    return starts


def nearest_match(text: str, quote: str) -> NearestMatch | None:
    """Align the quote on its longest run shared with the text; None if they share too little."""
    if not quote:
        return None
    matcher = SequenceMatcher(None, text, quote, autojunk=False)
    block = matcher.find_longest_match(0, len(text), 0, len(quote))
    if block.size < min(12, len(quote)):
        return None
    start = max(0, block.a - block.b)
    end = min(len(text), start + len(quote))
    excerpt = text[start:end]
    first_difference = next(
        (i for i, (a, b) in enumerate(zip(excerpt, quote, strict=False)) if a != b),
        min(len(excerpt), len(quote)),
    )
    return NearestMatch(start, end, excerpt, first_difference)


@dataclass(frozen=True)
class QuoteLocation:
    start: int
    end: int
    section: "Section"


def locate_quote(report: "Report", quote: str, start: int | None = None) -> QuoteLocation:
    """Where a pasted quote stands in the report: its offsets and section. `start` picks one
    occurrence when the quote occurs more than once. ValidationError (by field: `quote` or
    `start_offset`) when the quote is not verbatim, ambiguous, or spans two sections; for a
    quote that is not verbatim the message shows the nearest match and where it departs."""
    starts = occurrences(report.source_text, quote)
    if not starts:
        nearest = nearest_match(report.source_text, quote)
        hint = nearest.describe(quote) if nearest else "Nothing in the report comes close."
        raise ValidationError({"quote": f"This quote is not verbatim in {report}. {hint}"})
    if start is None:
        if len(starts) > 1:
            raise ValidationError(
                {
                    "start_offset": f"The quote occurs {len(starts)} times, at characters "
                    f"{', '.join(map(str, starts))}; enter the one you mean."
                }
            )
        start = starts[0]
    elif start not in starts:
        raise ValidationError(
            {
                "start_offset": f"The quote does not start at character {start}; "
                f"it starts at {', '.join(map(str, starts))}."
            }
        )
    end = start + len(quote)
    section = report.section_at(start, end)
    if section is None:
        raise ValidationError({"quote": "The quote spans two sections; quote one at a time."})
    return QuoteLocation(start, end, section)
