"""Finding a quote in a report's text, and saying where the nearest match is when it is not."""

from dataclasses import dataclass
from difflib import SequenceMatcher


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
