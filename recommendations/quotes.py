"""Finding a quote in a report's text, and saying where the nearest match is when it is not.

When a quote is not verbatim, `nearest_match()` finds the stretch of the report the quote most
resembles and the first place where the two differ:

1. Seeds: every run of SEED characters the quote shares with the report votes for the report
   offset where the quote would begin. Votes within a band a quarter of the quote wide are
   pooled, so that the parts on either side of an inserted or deleted word, which vote a few
   characters apart, still add up.
2. Windows: the best bands (up to CANDIDATES, far apart, each with at least half the votes of
   the best) each give a window of the report a little wider than the quote, widened to other
   strong bands nearby, where the text goes on after a passage the quote leaves out.
3. Alignment: each window is aligned with the quote token by token (words, runs of whitespace,
   single punctuation marks) by dynamic programming, the window's text before and after the
   match costing nothing, so that the alignment finds its own start and end. A quote token the
   report does not have costs 1 (whitespace ½); a passage of the report the quote leaves out
   costs OMISSION and a little more per token; a token in place of another of its kind costs
   from ½ (other whitespace, or only the letter case differs) up to 1½ (nothing alike).
4. The cheapest alignment is the nearest match. Its first run of unequal tokens is the first
   difference: the quote adds text (an insertion), leaves text out (a deletion) or has other
   text in its place (a replacement). A single word added at either end of the quote next to a
   word of the report counts as that word replaced.

The message shows the nearest match's offsets and text, then the first difference in plain
words with a few words of context on each side, in the report and in the quote. Only LONGEST
characters of a longer quote are aligned, which bounds the time. On the Norway report (2 CPUs):
under 10 ms for a sentence, about 30 ms for the longest evidence quote (350 characters), under
0.1 s for a whole paragraph of 3,800.
"""

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_lazy

if TYPE_CHECKING:
    from .models import Report, Section

SEED = 4  # characters in a seed
CANDIDATES = 3  # windows aligned in full
CLOSE_ENOUGH = 0.5  # share of the quote's non-space characters the nearest match must share
CONTEXT_WORDS = 3  # words shown on each side of the first difference
ELIDED_WORDS = 5  # a longer difference is shown as its first and last five words
OMISSION = 1.0  # what leaving out a passage of the report costs, besides its length
LONGEST = 600  # characters of a quote aligned at most (evidence quotes have up to 350)

TOKEN = re.compile(r"\w+|\s+|[^\w\s]")
WORD = re.compile(r"\w+")

# Marks that look alike: a message names them rather than quoting them.
NAMES = {
    "'": gettext_lazy("a straight apostrophe (')"),
    "’": gettext_lazy("a typographic apostrophe (’)"),
    "‘": gettext_lazy("a typographic opening single quotation mark (‘)"),
    '"': gettext_lazy('a straight quotation mark (")'),
    "“": gettext_lazy("a typographic opening quotation mark (“)"),
    "”": gettext_lazy("a typographic closing quotation mark (”)"),
    "-": gettext_lazy("a hyphen (-)"),
    "–": gettext_lazy("an en dash (–)"),
    "—": gettext_lazy("an em dash (—)"),
}

Kind = Literal["insertion", "deletion", "replacement"]

# One step of an alignment: (kind, quote start, quote end, report start, report end), where kind
# is "=" (same token), "~" (another token in its place), "+" (a quote token the report does not
# have) or "-" (a report token the quote does not have); the absent side has an empty range.
Step = tuple[str, int, int, int, int]


@dataclass(frozen=True)
class Difference:
    """The first place where a quote departs from its nearest match in the report."""

    kind: Kind  # insertion: the quote adds text; deletion: it leaves text out
    position: int  # the character of the quote (counted from 1) where the difference begins
    report_has: str  # the report's text there; "" for an insertion
    quote_has: str  # the quote's text there; "" for a deletion
    report_context: str  # the report's text there with a few words either side
    quote_context: str  # the same stretch of the quote

    def describe(self) -> str:
        if self.kind == "insertion":
            what = gettext("the quote adds %(part)s, which is not in the report") % {
                "part": shown(self.quote_has)
            }
        elif self.kind == "deletion":
            what = gettext("the quote leaves out %(part)s, which the report has") % {
                "part": shown(self.report_has)
            }
        else:
            what = gettext("the report has %(report_part)s where the quote has %(quote_part)s") % {
                "report_part": shown(self.report_has),
                "quote_part": shown(self.quote_has),
            }
        return gettext(
            "First difference, at character %(position)s of the quote: %(what)s — the report "
            "reads “%(report)s”, the quote “%(quote)s”."
        ) % {
            "position": self.position,
            "what": what,
            "report": self.report_context,
            "quote": self.quote_context,
        }


@dataclass(frozen=True)
class NearestMatch:
    start: int  # offsets of the nearest match in the report's text
    end: int
    excerpt: str
    difference: Difference | None  # None: the quote is verbatim at start–end
    part: tuple[int, int] | None = None  # of a long quote, the part matched (offsets)

    def describe(self) -> str:
        words = {"start": self.start, "end": self.end, "excerpt": self.excerpt}
        if self.part:
            where = gettext(
                "Nearest match, for characters %(first)s–%(last)s of the quote, at characters "
                "%(start)s–%(end)s: “%(excerpt)s”."
            ) % {**words, "first": self.part[0] + 1, "last": self.part[1]}
        else:
            where = gettext("Nearest match at characters %(start)s–%(end)s: “%(excerpt)s”.") % words
        return f"{where} {self.difference.describe()}" if self.difference else where


def occurrences(text: str, quote: str) -> list[int]:
    starts = []
    position = text.find(quote)
    while position != -1:
        starts.append(position)
        position = text.find(quote, position + 1)
    return starts


def nearest_match(text: str, quote: str) -> NearestMatch | None:
    """The stretch of `text` that `quote` most resembles and their first difference; None when
    nothing shares at least half of the quote's (non-space) characters, in order. Of a quote
    longer than LONGEST characters only LONGEST are aligned, from a little before the end of
    its longest beginning that is verbatim in the text, so that the time stays bounded."""
    begin = 0
    if len(quote) > LONGEST:
        begin = max(0, verbatim_beginning(text, quote) - 100)
        while begin > 0 and not quote[begin - 1].isspace():
            begin -= 1
    finish = min(len(quote), begin + LONGEST)
    while begin < finish < len(quote) and not quote[finish].isspace():
        finish -= 1
    if finish <= begin:  # no space to cut at
        finish = min(len(quote), begin + LONGEST)

    best: tuple[float, list[Step]] | None = None
    for start, end in candidate_windows(text, quote[begin:finish]):
        cost, steps = align(text, start, end, quote, begin, finish)
        if best is None or cost < best[0]:
            best = (cost, steps)
    if best is None:
        return None
    steps = best[1]
    shared = sum(len(quote[q:q_end].strip()) for kind, q, q_end, _, _ in steps if kind == "=")
    if shared < CLOSE_ENOUGH * len("".join(quote[begin:finish].split())):
        return None
    steps = absorb_edge_words(text, quote, steps)
    first, last = steps[0][3], steps[-1][4]
    if begin and text[first - begin : first] == quote[:begin]:
        first, begin = first - begin, 0  # the verbatim beginning that was not aligned
    if text[first:last].strip():
        while text[first].isspace():
            first += 1
        while text[last - 1].isspace():
            last -= 1
    return NearestMatch(
        first,
        last,
        text[first:last],
        first_difference(text, quote, steps),
        part=(begin, finish) if finish - begin < len(quote) else None,
    )


def verbatim_beginning(text: str, quote: str) -> int:
    """The length of the longest beginning of the quote that is in the text."""
    low, high = 0, len(quote)  # quote[:low] is in the text; quote[:high + 1] is not
    while low < high:
        middle = (low + high + 1) // 2
        if quote[:middle] in text:
            low = middle
        else:
            high = middle - 1
    return low


def candidate_windows(text: str, quote: str) -> list[tuple[int, int]]:
    """Up to CANDIDATES stretches of the text, a little wider than the quote, where the quote's
    seeds agree most on where it would begin; each starts and ends at whitespace."""
    if len(quote) < SEED:
        return []
    seeds: defaultdict[str, list[int]] = defaultdict(list)
    for q in range(len(quote) - SEED + 1):
        seeds[quote[q : q + SEED]].append(q)
    votes: Counter[int] = Counter()
    for t in range(len(text) - SEED + 1):
        found = seeds.get(text[t : t + SEED])
        if found:
            for q in found:
                votes[t - q] += 1
    if not votes:
        return []

    band = max(8, len(quote) // 4)
    offsets = sorted(votes)
    bands = []  # (votes in the band, its first offset, its last offset)
    total = last = 0
    for offset in offsets:
        while last < len(offsets) and offsets[last] <= offset + band:
            total += votes[offsets[last]]
            last += 1
        bands.append((total, offset, offsets[last - 1]))
        total -= votes[offset]
    bands.sort(key=lambda b: (-b[0], b[1]))

    # A band's window reaches out to the other strong bands near it: where the quote leaves out
    # or adds a passage, its two sides vote that far apart.
    strong = [(low, high) for votes_in_band, low, high in bands if 4 * votes_in_band >= bands[0][0]]
    chosen: list[tuple[int, int]] = []
    for votes_in_band, low, high in bands:
        if len(chosen) == CANDIDATES or 2 * votes_in_band < bands[0][0]:
            break
        if any(first - len(quote) <= low <= last + len(quote) for first, last in chosen):
            continue
        near = [(a, b) for a, b in strong if low - len(quote) <= a <= high + len(quote)]
        chosen.append((min([low, *(a for a, _ in near)]), max([high, *(b for _, b in near)])))
    pad = max(16, len(quote) // 8)
    windows = []
    for low, high in chosen:
        start, end = max(0, low - pad), min(len(text), high + len(quote) + pad)
        while start > 0 and not text[start - 1].isspace():
            start -= 1
        while end < len(text) and not text[end].isspace():
            end += 1
        windows.append((start, end))
    return windows


def token_class(token: str) -> int:
    return 0 if token[0].isspace() else 1 if WORD.match(token) else 2


def added_cost(token: str) -> float:
    """A quote token the report does not have: every one counts."""
    return 0.5 if token[0].isspace() else 1.0


def left_out_cost(token: str) -> float:
    """One more report token in a passage the quote leaves out, past OMISSION: little, so that
    a quote that skips a passage (with or without an ellipsis) is read as leaving it out rather
    than as adding what follows it."""
    return 0.05 if token[0].isspace() else 0.15


def change_cost(a: str, b: str) -> float:
    """What aligning token `a` with another token `b` costs. Whitespace for other whitespace:
    ½. A word or a punctuation mark for another: from ½ (alike but for case) up to 1½ (nothing
    alike, more than adding a word, so that unrelated words at the ends of a quote are read as
    added, not as changed). Tokens of different kinds (a word and a space, say) never."""
    kind = token_class(a)
    if kind != token_class(b):
        return 3.0  # more than leaving one out and adding the other
    if kind == 0:
        return 0.5
    if a.casefold() == b.casefold():
        return 0.55
    shortest = min(len(a), len(b))
    prefix = 0
    while prefix < shortest and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < shortest - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    return 1.5 - (prefix + suffix) / max(len(a), len(b))


def align(
    text: str, start: int, end: int, quote: str, begin: int, finish: int
) -> tuple[float, list[Step]]:
    """Align every token of quote[begin:finish] with a stretch of text[start:end] that may
    begin and end anywhere (a fitting alignment, by dynamic programming with an affine cost for
    omissions); return its cost and its steps. Ties go to a change over an addition over an
    omission, and at the end to the longer stretch, so that a changed last word is not read as
    an added one."""
    quote_spans = [m.span() for m in TOKEN.finditer(quote, begin, finish)]
    text_spans = [m.span() for m in TOKEN.finditer(text, start, end)]
    q_tokens = [quote[a:b] for a, b in quote_spans]
    t_tokens = [text[a:b] for a, b in text_spans]
    n = len(t_tokens)
    t_left_out = [left_out_cost(token) for token in t_tokens]
    changes: dict[tuple[str, str], float] = {}
    never = float("inf")

    # best[j]: the cheapest alignment of the quote so far with a stretch ending at text token j;
    # omitting[j]: the same, ending with text tokens left out. Moves, per quote token and j:
    # in `moves` 0 aligned with text token j, 1 quote token added, 2 ending in an omission; in
    # `omissions` 0 the omission begins at j, 1 it goes on from j - 1.
    best = [0.0] * (n + 1)  # the text before the match is free
    moves: list[bytes] = []
    omissions: list[bytes] = []
    for q_token in q_tokens:
        q_added = added_cost(q_token)
        row = [best[0] + q_added] + [0.0] * n
        omitting = [never] * (n + 1)
        move = bytearray(n + 1)
        move[0] = 1
        omission = bytearray(n + 1)
        for j in range(1, n + 1):
            t_token = t_tokens[j - 1]
            if q_token == t_token:
                diagonal = best[j - 1]
            else:
                change = changes.get((q_token, t_token))
                if change is None:
                    change = changes[q_token, t_token] = change_cost(q_token, t_token)
                diagonal = best[j - 1] + change
            added = best[j] + q_added
            begun = row[j - 1] + OMISSION
            if omitting[j - 1] < begun:
                omitting[j] = omitting[j - 1] + t_left_out[j - 1]
                omission[j] = 1
            else:
                omitting[j] = begun + t_left_out[j - 1]
            left_out = omitting[j]
            if diagonal <= added and diagonal <= left_out:
                row[j] = diagonal
            elif added <= left_out:
                row[j], move[j] = added, 1
            else:
                row[j], move[j] = left_out, 2
        moves.append(bytes(move))
        omissions.append(bytes(omission))
        best = row

    cost = min(best)
    j = max(j for j, c in enumerate(best) if c == cost)  # the text after the match is free
    steps: list[Step] = []
    i, in_omission = len(q_tokens), False
    while i > 0:
        qa, qb = quote_spans[i - 1]
        if in_omission or moves[i - 1][j] == 2:
            ta, tb = text_spans[j - 1]
            steps.append(("-", qb, qb, ta, tb))  # left out after quote token i
            in_omission = omissions[i - 1][j] == 1
            j -= 1
        elif moves[i - 1][j] == 0:
            ta, tb = text_spans[j - 1]
            steps.append(("=" if q_tokens[i - 1] == t_tokens[j - 1] else "~", qa, qb, ta, tb))
            i, j = i - 1, j - 1
        else:
            at = text_spans[j][0] if j < n else end
            steps.append(("+", qa, qb, at, at))
            i -= 1
    steps.reverse()
    return cost, steps


def absorb_edge_words(text: str, quote: str, steps: list[Step]) -> list[Step]:
    """A single word the alignment adds at the very start or end of the quote, right beside a
    word of the report, is read as that word changed: "Researchers criticized" against "…
    victims. Experts criticized" has “Researchers” where the report has “Experts”."""
    steps = list(steps)
    kind, qa, qb, at, _ = steps[0]
    if (
        kind == "+"
        and qa == 0
        and len(steps) > 1
        and steps[1][0] != "+"
        and WORD.fullmatch(quote, qa, qb)
        and (word := re.search(r"\w+\Z", text[max(0, at - 100) : at]))
    ):
        steps[0] = ("~", qa, qb, at - len(word[0]), at)
    kind, qa, qb, at, _ = steps[-1]
    if (
        kind == "+"
        and qb == len(quote)
        and len(steps) > 1
        and steps[-2][0] != "+"
        and WORD.fullmatch(quote, qa, qb)
        and (word := WORD.match(text, at))
    ):
        steps[-1] = ("~", qa, qb, at, word.end())
    return steps


def first_difference(text: str, quote: str, steps: list[Step]) -> Difference | None:
    """The first run of unequal steps, as what the report and the quote each have there."""
    run: list[Step] = []
    for step in steps:
        if step[0] != "=":
            run.append(step)
        elif run:
            break
    if not run:
        return None
    q_start, q_end = min(s[1] for s in run), max(s[2] for s in run)
    t_start, t_end = min(s[3] for s in run), max(s[4] for s in run)
    if q_start == q_end:
        t_start, t_end, q_start = shift_gap(text, t_start, t_end, quote, q_start)
        q_end = q_start
    elif t_start == t_end:
        q_start, q_end, t_start = shift_gap(quote, q_start, q_end, text, t_start)
        t_end = t_start
    report_has, quote_has = text[t_start:t_end], quote[q_start:q_end]
    kind: Kind
    if not report_has or (report_has.isspace() and not quote_has.isspace()):
        kind = "insertion"
    elif not quote_has or (quote_has.isspace() and not report_has.isspace()):
        kind = "deletion"
    else:
        kind = "replacement"
    if quote_has.strip():  # the first character that is not a space
        position = q_start + len(quote_has) - len(quote_has.lstrip())
    elif quote_has:  # different whitespace: the whitespace itself
        position = q_start
    else:  # text left out: what follows the gap
        position = q_start
        while position < len(quote) - 1 and quote[position].isspace():
            position += 1
    return Difference(
        kind,
        position + 1,
        report_has,
        quote_has,
        context(text, t_start, t_end),
        context(quote, q_start, q_end),
    )


def shift_gap(full: str, start: int, end: int, other: str, at: int) -> tuple[int, int, int]:
    """Text full[start:end] missing from `other` at `at` is missing just as well one token
    later when that token both begins it and follows it (“, one … cases” or “one … cases,”):
    move it along while it begins with punctuation or a space, so that it begins at a word."""
    while end < len(full):
        first, following, there = (
            TOKEN.match(full, start),
            TOKEN.match(full, end),
            TOKEN.match(other, at),
        )
        if not (first and following and there) or WORD.match(first[0]):
            break
        if not first[0] == following[0] == there[0]:
            break
        start, end, at = start + len(first[0]), end + len(first[0]), at + len(first[0])
    return start, end, at


def context(text: str, start: int, end: int) -> str:
    """text[start:end] with up to CONTEXT_WORDS words on each side, within its line."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end == -1 else line_end
    before = list(WORD.finditer(text, max(line_start, start - 200), start))
    begin = before[-CONTEXT_WORDS].start() if len(before) >= CONTEXT_WORDS else line_start
    after = list(WORD.finditer(text, end, min(line_end, end + 200)))[:CONTEXT_WORDS]
    finish = after[-1].end() if len(after) == CONTEXT_WORDS else line_end
    while finish < line_end and not text[finish].isspace() and not WORD.match(text, finish):
        finish += 1  # punctuation right after the last word
    return (
        ("…" if begin > line_start else "")
        + text[begin:start]
        + elided(text[start:end])
        + text[end:finish]
        + ("…" if finish < line_end else "")
    )


def elided(part: str) -> str:
    """A long part cut to its first and last few words."""
    words = list(WORD.finditer(part))
    if len(part) <= 80 or len(words) <= 2 * ELIDED_WORDS:
        return part
    return f"{part[: words[ELIDED_WORDS - 1].end()]} … {part[words[-ELIDED_WORDS].start() :]}"


def shown(part: str) -> str:
    """A part of the text as a message shows it: quoted, or named when it would not be seen."""
    core = part.strip() or part
    if core in NAMES:
        return str(NAMES[core])
    if core.isspace():
        if core == " ":
            return gettext("a space")
        if set(core) == {" "}:
            return gettext("%(count)s spaces") % {"count": len(core)}
        if core == "\xa0":
            return gettext("a non-breaking space")
        if core == "\t":
            return gettext("a tab")
        return gettext("a line break") if "\n" in core else gettext("whitespace")
    return f"“{elided(core)}”"


@dataclass(frozen=True)
class QuoteLocation:
    start: int
    end: int
    section: "Section"


def locate_quote(report: "Report", quote: str, start: int | None = None) -> QuoteLocation:
    """Where a pasted quote stands in the report: its offsets and section. `start` picks one
    occurrence when the quote occurs more than once. ValidationError (by field: `quote` or
    `start_offset`) when the quote is not verbatim, ambiguous, or spans two sections; for a
    quote that is not verbatim the message shows the nearest match and its first difference
    from the quote, in context."""
    starts = occurrences(report.source_text, quote)
    if not starts:
        nearest = nearest_match(report.source_text, quote)
        hint = nearest.describe() if nearest else gettext("Nothing in the report comes close.")
        not_verbatim = gettext("This quote is not verbatim in %(report)s.") % {"report": report}
        raise ValidationError({"quote": f"{not_verbatim} {hint}"})
    if start is None:
        if len(starts) > 1:
            raise ValidationError(
                {
                    "start_offset": gettext(
                        "The quote occurs %(count)s times, at characters %(starts)s; enter the "
                        "one you mean."
                    )
                    % {"count": len(starts), "starts": ", ".join(map(str, starts))}
                }
            )
        start = starts[0]
    elif start not in starts:
        raise ValidationError(
            {
                "start_offset": gettext(
                    "The quote does not start at character %(start)s; it starts at %(starts)s."
                )
                % {"start": start, "starts": ", ".join(map(str, starts))}
            }
        )
    end = start + len(quote)
    section = report.section_at(start, end)
    if section is None:
        raise ValidationError(
            {"quote": gettext("The quote spans two sections; quote one at a time.")}
        )
    return QuoteLocation(start, end, section)
