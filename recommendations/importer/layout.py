"""Reading a chapter's layout: the header, the sections and the recommendations, as offsets
into the stored text (see the package's docstring for the layouts read)."""

import re
from dataclasses import dataclass, field

from ..models import Pillar, Report, Section
from .text import (
    VIEW,
    ImportRefused,
    check_fits,
    check_one_line,
    check_plain_text,
    check_year,
    country_key,
    first_words,
    one_line,
    report_slug,
    stored_text,
)


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@dataclass
class ParsedSection:
    kind: str
    paragraphs: list[Span] = field(default_factory=list)

    @property
    def span(self) -> Span:
        return Span(self.paragraphs[0].start, self.paragraphs[-1].end)


@dataclass
class ParsedRecommendation:
    number: int
    span: Span
    text: str  # the stored text's slice at span, line breaks of a wrapped line included


@dataclass
class ParsedReport:
    title: str
    title_found: bool  # False: the chapter has no title line and `title` is made up
    country: str
    year: int
    tier: str
    text: str  # the stored text: what to save as the report's source text
    sections: list[ParsedSection]
    recommendations: list[ParsedRecommendation]


MIN_RECOMMENDATIONS = 2
MAX_RECOMMENDATIONS = 20
MIN_WORDS = 4


TIER_FORMS = r"tier\s*(?:[123]|one|two|three)(?:\s*watch\s*-?\s*list)?|special\s+case"
TIER_LINE = re.compile(
    rf"^(?P<country>[^()\n:]{{2,100}}?)\s*(?:\(\s*(?P<a>{TIER_FORMS})\s*\)|[:–—-]\s*(?P<b>{TIER_FORMS}))\s*$",
    re.IGNORECASE,
)
TITLE_LINE = re.compile(
    r"^(?P<year>\d{4})\s+Trafficking\s+in\s+Persons\s+Report\s*(?:[:–—-]\s*(?P<country>.{2,100}))?$",
    re.IGNORECASE,
)
TIER_NUMBERS = {"1": "1", "one": "1", "2": "2", "two": "2", "3": "3", "three": "3"}

PILLARS = [Section.Kind.PROSECUTION, Section.Kind.PROTECTION, Section.Kind.PREVENTION]
BODY_ORDER = [*PILLARS, Section.Kind.TRAFFICKING_PROFILE]
HEADINGS = {
    "prioritized recommendations": Section.Kind.RECOMMENDATIONS,
    "prioritised recommendations": Section.Kind.RECOMMENDATIONS,
    "priority recommendations": Section.Kind.RECOMMENDATIONS,
    "recommendations": Section.Kind.RECOMMENDATIONS,
    "summary": Section.Kind.SUMMARY,
    "prosecution": Section.Kind.PROSECUTION,
    "prosecution efforts": Section.Kind.PROSECUTION,
    "law enforcement": Section.Kind.PROSECUTION,
    "protection": Section.Kind.PROTECTION,
    "protection efforts": Section.Kind.PROTECTION,
    "prevention": Section.Kind.PREVENTION,
    "prevention efforts": Section.Kind.PREVENTION,
    "trafficking profile": Section.Kind.TRAFFICKING_PROFILE,
    "human trafficking profile": Section.Kind.TRAFFICKING_PROFILE,
}
INLINE_HEADING = re.compile(r"^(?P<heading>[A-Za-z ]{5,40}?) *: +(?=\S)")

# A pillar's opening sentence: short, about the government's efforts, naming one pillar.
GOVERNMENT = re.compile(r"^(?:The +)?(?:[Gg]overnment|[Aa]uthorities)\b")
PILLAR_WORDS = [
    (Section.Kind.PROSECUTION, re.compile(r"law[ -]enforcement|prosecut", re.IGNORECASE)),
    (Section.Kind.PROTECTION, re.compile(r"protect|victim", re.IGNORECASE)),
    (Section.Kind.PREVENTION, re.compile(r"prevent", re.IGNORECASE)),
]
OPENING_WORDS = 14
PROFILE_OPENING = re.compile(
    r"^(?:As reported|Over|In|During|For) (?:over )?the (?:past|last) \w+ years\b"
    r"|^[^.]{0,60}\btraffickers (?:exploit|have exploited)\b",
)

# Where one recommendation ends and the next begins.
LINE_MARKER = re.compile(r"^ *(?:[•▪◦‣*\-–]|\(?(?P<number>\d{1,2})[.)]) +(?=\S)", re.MULTILINE)
INLINE_SEPARATOR = re.compile(r"(?<=\S)[ \n]+[*•▪][ \n]+(?=\S)")
SENTENCE_END = '.;!?)"”’…'


# Draft pillars for new recommendations; coordinators correct them in admin.
PILLAR_KEYWORDS = [
    (Pillar.CROSS_CUTTING, ("statistical", "data", "national action plan", "nap", "nrm")),
    (Pillar.PROTECTION, ("victim", "non-punishment", "screen", "assist")),
    (Pillar.PROSECUTION, ("prosecute", "investigat", "convict", "police")),
    (Pillar.PREVENTION, ("prevent", "awareness", "recruitment", "demand")),
]


def draft_pillar(text: str) -> str:
    words = set(re.findall(r"[\w-]+", text.lower()))
    lowered = text.lower()
    for pillar, keywords in PILLAR_KEYWORDS:
        for keyword in keywords:
            if (" " in keyword and keyword in lowered) or any(w.startswith(keyword) for w in words):
                return pillar
    return Pillar.CROSS_CUTTING


def draft_short_title(text: str, limit: int = 60) -> str:
    """The recommendation's first clause, cut at a word boundary."""
    clause = " ".join(re.split(r"[,;.]", text, maxsplit=1)[0].split())
    if len(clause) <= limit:
        return clause
    cut = clause.rfind(" ", 0, limit - 1)
    if cut <= 0:  # one long word: cut inside it
        cut = limit - 1
    return clause[:cut].rstrip() + "…"


def title_case(name: str) -> str:
    """A country name from a tier line in capitals: "THE REPUBLIC OF OSTMARK" → "The Republic
    of Ostmark"."""
    small = {"of", "and", "the", "da", "de", "del", "d"}
    words = []
    for index, word in enumerate(name.split()):
        parts = re.split(r"([’'-])", word.lower())
        if index == 0 or word.lower() not in small:
            parts = [
                p[:1].upper() + p[1:] if p not in small or i == 0 else p
                for i, p in enumerate(parts)
            ]
        words.append("".join(parts))
    return " ".join(words)


@dataclass(frozen=True)
class Line:
    start: int  # its first non-space character in the text
    end: int  # after its last
    text: str  # the view's slice


@dataclass(frozen=True)
class Unit:
    """A heading (its section kind) or a paragraph (heading None)."""

    span: Span
    heading: str | None


def lines_of(view: str) -> list[Line | None]:
    """Every line, None for a blank one."""
    result: list[Line | None] = []
    position = 0
    for raw in view.split("\n"):
        stripped = raw.strip(" ")
        if stripped:
            start = position + raw.index(stripped)
            result.append(Line(start, start + len(stripped), stripped))
        else:
            result.append(None)
        position += len(raw) + 1
    return result


def heading_kind(text: str) -> str | None:
    return HEADINGS.get(" ".join(text.rstrip(": ").split()).casefold())


def read_header(lines: list[Line | None]) -> tuple[Line | None, Line, re.Match[str], int]:
    """The optional title line, the tier line, its match, and the index of the next line."""
    filled = [(index, line) for index, line in enumerate(lines) if line is not None]
    if not filled:
        raise ImportRefused("the file is empty")
    title = filled[0][1] if TITLE_LINE.match(filled[0][1].text) else None
    index, tier_line = filled[1 if title else 0] if len(filled) > 1 else filled[0]
    tier_match = TIER_LINE.match(" ".join(tier_line.text.split()))
    if not tier_match:
        raise ImportRefused(
            "no tier line: expected e.g. 'VELDORIA (Tier 2)' or 'VELDORIA: Tier 2' "
            f"{'after the title' if title else 'as the first line'}, "
            f"found {first_words(tier_line.text, 10)!r}"
        )
    return title, tier_line, tier_match, index + 1


def tier_of(match: re.Match[str]) -> str:
    form = " ".join((match["a"] or match["b"]).casefold().split())
    if form.startswith("special"):
        return Report.Tier.SPECIAL_CASE
    digits = re.search(r"[123]|one|two|three", form)
    number = TIER_NUMBERS[digits[0] if digits else ""]
    if "watch" in form:
        if number != "2":
            raise ImportRefused(f"no such tier: {match['a'] or match['b']!r}")
        return Report.Tier.TIER_2_WATCH_LIST
    return {"1": Report.Tier.TIER_1, "2": Report.Tier.TIER_2, "3": Report.Tier.TIER_3}[number]


def body_units(lines: list[Line | None], start: int) -> list[Unit]:
    """Headings and paragraphs after the tier line. Paragraphs are blocks of lines between
    blank lines; with no blank line at all between them, every line is a paragraph."""
    body = lines[start:]
    while body and body[0] is None:
        body.pop(0)
    while body and body[-1] is None:
        body.pop()
    by_line = None not in body
    units: list[Unit] = []
    block: list[Line] = []

    def close() -> None:
        if block:
            units.append(Unit(Span(block[0].start, block[-1].end), None))
            block.clear()

    for line in body:
        if line is None:
            close()
            continue
        if kind := heading_kind(line.text):
            close()
            units.append(Unit(Span(line.start, line.end), kind))
            continue
        inline = INLINE_HEADING.match(line.text) if not block else None
        if inline and (kind := heading_kind(inline["heading"])):
            units.append(Unit(Span(line.start, line.start + len(inline["heading"])), kind))
            line = Line(line.start + inline.end(), line.end, line.text[inline.end() :])
        block.append(line)
        if by_line:
            close()
    close()
    return units


def opening_sentence(paragraph: str) -> str:
    text = " ".join(paragraph.split())
    return re.split(r"(?<=\.) ", text, maxsplit=1)[0]


def pillar_opening(paragraph: str) -> str | None:
    sentence = opening_sentence(paragraph)
    if not GOVERNMENT.match(sentence) or "effort" not in sentence:
        return None
    if len(sentence.split()) > OPENING_WORDS:
        return None
    found = [(m.start(), kind) for kind, words in PILLAR_WORDS if (m := words.search(sentence))]
    return min(found)[1] if found else None


def is_list(paragraph: str) -> bool:
    return bool(LINE_MARKER.match(paragraph) or INLINE_SEPARATOR.search(paragraph))


def looks_like_heading(text: str) -> bool:
    flat = one_line(text)
    letters = [c for c in flat if c.isalpha()]
    capitals = len(letters) > 1 and all(c.isupper() for c in letters)
    return heading_kind(flat) is not None or flat.endswith(":") or capitals


def parse_report(text: str, country: str | None = None, year: int | None = None) -> ParsedReport:
    """The chapter's structure, with offsets into `stored_text(text)` (returned as `text`).
    `country` and `year`, when given, must agree with the chapter."""
    text = stored_text(text)
    check_plain_text(text)
    view = text.translate(VIEW)
    lines = lines_of(view)
    title_line, _, tier_match, body_start = read_header(lines)

    found_country = " ".join(tier_match["country"].split())
    title_match = TITLE_LINE.match(" ".join(title_line.text.split())) if title_line else None
    if (
        title_match
        and title_match["country"]
        and country_key(title_match["country"]) != country_key(found_country)
    ):
        raise ImportRefused(
            f"the title names {title_match['country']!r} but the tier line {found_country!r}"
        )
    if country is not None and country_key(country) != country_key(found_country):
        raise ImportRefused(f"the chapter is about {found_country!r}, not the country {country!r}")
    canonical = canonical_country(title_match, found_country, country)

    if year is not None:
        check_year(year)
    if title_match:
        if year is not None and int(title_match["year"]) != year:
            raise ImportRefused(
                f"the title line {title_line.text if title_line else ''!r} does not name "
                f"the year {year}"
            )
        year = check_year(int(title_match["year"]))
    elif year is None:
        raise ImportRefused(
            "no year: the chapter has no title line such as '2024 Trafficking in Persons "
            "Report: Veldoria'; give the year (--year)"
        )
    title = (
        one_line(text[title_line.start : title_line.end])
        if title_line
        else f"{year} Trafficking in Persons Report: {canonical}"
    )
    check_one_line(canonical, "country name")
    check_fits(canonical, Report, "country", "country name")
    check_fits(title, Report, "title", "title")
    check_fits(report_slug(canonical, year), Report, "slug", "slug made from the country name")

    units = body_units(lines, body_start)
    sections = assign_sections(text, view, units)
    recommendations = split_recommendations(text, view, sections[1])
    return ParsedReport(
        title=title,
        title_found=title_line is not None,
        country=canonical,
        year=year,
        tier=tier_of(tier_match),
        text=text,
        sections=sections,
        recommendations=recommendations,
    )


def canonical_country(title: re.Match[str] | None, tier_line: str, given: str | None) -> str:
    """The name stored: the title line's spelling; else the tier line's unless it is in
    capitals; else the name given; else the tier line's in title case."""
    if title and title["country"]:
        return " ".join(title["country"].split())
    if not tier_line.isupper():
        return tier_line
    if given:
        return " ".join(given.split())
    return title_case(tier_line)


def assign_sections(text: str, view: str, units: list[Unit]) -> list[ParsedSection]:
    def paragraph(unit: Unit) -> str:
        return view[unit.span.start : unit.span.end]

    heading_at = [i for i, u in enumerate(units) if u.heading == Section.Kind.RECOMMENDATIONS]
    if len(heading_at) > 1:
        raise ImportRefused("two PRIORITIZED RECOMMENDATIONS headings")
    if heading_at:
        first = heading_at[0] + 1
    else:
        lists = [i for i, u in enumerate(units) if u.heading is None and is_list(paragraph(u))]
        if not lists:
            raise ImportRefused(
                "no recommendations found: no PRIORITIZED RECOMMENDATIONS heading, and no "
                "paragraph of recommendations joined by ' * ', bulleted or numbered"
            )
        first = lists[0]
    summary = [u.span for u in units[: heading_at[0] if heading_at else first] if u.heading is None]
    if not summary:
        raise ImportRefused(
            "no summary: no paragraph between the tier line and the recommendations"
        )

    # Where each later section begins: its heading, or else its opening paragraph.
    starts: list[tuple[int, str]] = []
    seen: set[str] = set()
    for index in range(first, len(units)):
        unit = units[index]
        kind = unit.heading
        if kind is None:
            kind = pillar_opening(paragraph(unit))
            if (
                kind is None
                and Section.Kind.PREVENTION in seen
                and PROFILE_OPENING.match(opening_sentence(paragraph(unit)))
            ):
                kind = Section.Kind.TRAFFICKING_PROFILE
            if kind is None or kind in seen:
                continue
            if starts and starts[-1][0] == index - 1 and units[index - 1].heading == kind:
                continue
        elif kind not in BODY_ORDER:
            raise ImportRefused(f"a {kind} heading after the recommendations: {paragraph(unit)!r}")
        elif kind in seen:
            raise ImportRefused(f"two {kind} headings")
        seen.add(kind)
        starts.append((index, kind))

    found = [kind for _, kind in starts]
    missing = [kind for kind in PILLARS if kind not in found]
    if missing:
        after = units[starts[-1][0] + 1 :] if starts else units[first:]
        openings = [first_words(paragraph(u), 6) for u in after if u.heading is None][:8]
        raise ImportRefused(
            f"sections not found: {', '.join(missing)}; found {', '.join(found) or 'none'}. "
            "A pillar opens with a heading of its own (e.g. 'PROTECTION') or a sentence such as "
            "'The government increased protection efforts.'; the paragraphs after "
            f"{found[-1] if found else 'the recommendations'} open with: "
            + "; ".join(repr(o) for o in openings)
        )
    if found != [kind for kind in BODY_ORDER if kind in found]:
        raise ImportRefused(f"sections out of order: found {', '.join(found)}")

    end_of_recommendations = starts[0][0]
    recommendation_spans = [
        u.span for u in units[first:end_of_recommendations] if u.heading is None
    ]
    if not recommendation_spans:
        raise ImportRefused(
            "no recommendations found: nothing between the "
            f"{'heading' if heading_at else 'summary'} and the {found[0]} section"
        )
    if not heading_at:
        stray = [u for u in units[first:end_of_recommendations] if not is_list(paragraph(u))]
        if stray:
            raise ImportRefused(
                "a paragraph between the recommendations and the "
                f"{found[0]} section is neither: {first_words(paragraph(stray[0]), 10)!r}"
            )
    sections = [
        ParsedSection(Section.Kind.SUMMARY, summary),
        ParsedSection(Section.Kind.RECOMMENDATIONS, recommendation_spans),
    ]
    bounds = [index for index, _ in starts] + [len(units)]
    for (index, kind), end in zip(starts, bounds[1:], strict=True):
        spans = [u.span for u in units[index:end] if u.heading is None]
        if not spans:
            raise ImportRefused(f"the {kind} section has no paragraph")
        sections.append(ParsedSection(kind, spans))
    return sections


def item_spans(view: str, paragraph: Span) -> list[Span]:
    """Each recommendation of one paragraph: split at bullets, numbers that count up from
    1, and " * " separators; a line that starts with neither continues the one before."""
    text = view[paragraph.start : paragraph.end]
    cuts: list[tuple[int, int]] = []
    expected = 1
    for match in LINE_MARKER.finditer(text):
        if match["number"] is not None:
            if int(match["number"]) != expected:
                continue
            expected += 1
        cuts.append((match.start(), match.end()))
    cuts += [(m.start(), m.end()) for m in INLINE_SEPARATOR.finditer(text)]
    cuts.sort()
    bounds = [0]
    for start, end in cuts:
        if start >= bounds[-1]:
            bounds += [start, end]
    bounds.append(len(text))
    spans = []
    for start, end in zip(bounds[::2], bounds[1::2], strict=True):
        piece = text[start:end]
        stripped = piece.strip(" \n")
        if stripped:
            offset = paragraph.start + start + piece.index(stripped)
            spans.append(Span(offset, offset + len(stripped)))
    return spans


def split_recommendations(
    text: str, view: str, section: ParsedSection
) -> list[ParsedRecommendation]:
    spans = [span for paragraph in section.paragraphs for span in item_spans(view, paragraph)]
    found = [one_line(view[s.start : s.end]) for s in spans]
    listed = "; ".join(f"{n}. {first_words(t, 5)!r}" for n, t in enumerate(found[:25], start=1))
    if len(spans) < MIN_RECOMMENDATIONS:
        raise ImportRefused(
            f"no recommendations found: found {len(spans)} where a chapter has at least "
            f"{MIN_RECOMMENDATIONS}, joined by ' * ', bulleted or numbered ({listed or 'nothing'})"
        )
    if len(spans) > MAX_RECOMMENDATIONS:
        raise ImportRefused(
            f"Found {len(spans)} recommendations; a chapter has at most {MAX_RECOMMENDATIONS}: "
            f"the list may include headings or wrapped lines: {listed}"
        )
    for number, item in enumerate(found, start=1):
        problem = None
        if looks_like_heading(item):
            problem = "looks like a heading"
        elif len(item.split()) < MIN_WORDS:
            problem = f"has fewer than {MIN_WORDS} words"
        elif not (item[0].isupper() or item[0].isdigit() or item[0] in "“\"'‘("):
            problem = "starts in the middle of a sentence (a wrapped line?)"
        elif item[-1] not in SENTENCE_END:
            problem = "ends in the middle of a sentence (a wrapped line?)"
        if problem:
            raise ImportRefused(
                f"recommendation {number} of {len(found)} {problem}: {first_words(item, 12)!r}"
            )
    return [
        ParsedRecommendation(number, span, text[span.start : span.end])
        for number, span in enumerate(spans, start=1)
    ]
