"""Reading a chapter's layout: the header, the sections and the recommendations, as offsets
into the stored text (see the package's docstring for the layouts read)."""

import re
from dataclasses import dataclass, field
from itertools import pairwise

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
# Where a chapter has lost its tier line, the summary still says where the country is placed:
# "therefore Veldoria remained on Tier 2", "was upgraded to Tier 1", "was downgraded to Tier 2
# Watch List", "remained a Special Case". A downgrade only threatened ("an otherwise required
# downgrade to Tier 3") is no placement.
PLACEMENT = re.compile(
    r"\b(?:remained|remains|(?:was|is|has\s+been)\s+(?:upgraded|downgraded|placed|moved|"
    r"elevated|raised|lowered)(?:\s+(?:up|down))?)"
    rf"(?:\s+from\s+(?:{TIER_FORMS}))?\s+(?:on|to|at|in)\s+(?P<a>{TIER_FORMS})"
    r"|\b(?:remained|remains|is|was)\s+(?:a\s+)?(?P<b>special\s+case)\b",
    re.IGNORECASE,
)
# "The Government of Veldoria does not fully meet the minimum standards…": the country, when
# nothing else names it (not "the Government of National Accord … remains a Special Case").
GOVERNMENT_OF = re.compile(
    r"^The Government of (?P<country>(?:the )?[A-Z][\w'’.-]*(?: (?:and |of |the |da |de )?"
    r"[A-Z][\w'’.-]*){0,5}) (?:does not |fully )(?:fully )?meets? the minimum standards"
)

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

# A pillar's opening sentence: about the government's efforts, naming one pillar, in its first
# clause ("The government made no discernible anti-trafficking law enforcement efforts, and …").
GOVERNMENT = re.compile(
    r"^(?:The +)?(?:[A-Z][\w'’-]+ +){0,2}(?:[Gg]overnment|[Aa]uthorities|[Rr]egime)\b"
    r"|^The +[A-Z]{2,6}\b"
)
CLAUSE_END = re.compile(r"[,;:(]| but | while | although | despite ")
PILLAR_WORDS = [
    (Section.Kind.PROSECUTION, re.compile(r"law[ -]enforcement|prosecut", re.IGNORECASE)),
    (Section.Kind.PROTECTION, re.compile(r"protect|victim", re.IGNORECASE)),
    (Section.Kind.PREVENTION, re.compile(r"prevent", re.IGNORECASE)),
]
OPENING_WORDS = 16  # in the opening's first clause
PROFILE_OPENING = re.compile(
    r"^(?:As reported|Over|In|During|For) (?:over )?the (?:past|last) \w+ years\b"
    r"|^[^.]{0,60}\btraffickers (?:exploit|have exploited)\b",
)

# Where one recommendation ends and the next begins.
LINE_MARKER = re.compile(
    r"^ *(?:[•▪◦‣](?= *\S)|[*\-–](?= +\S)|\(?(?P<number>\d{1,2})[.)](?= +\S)) *",
    re.MULTILINE,
)
# A number inside a paragraph that lists the recommendations on one line, after a sentence end:
# "…penalties. 2) Amend Article 171(2) …" (counted as line numbers are, so "171(2)" is none).
INLINE_NUMBER = re.compile(r"(?<=[.;!?)”\"’])[ \n]+\(?(?P<number>\d{1,2})[.)][ \n]+(?=[A-Z“\"‘(])")
LIST_NUMBER = re.compile(r"^\(?\d{1,2}[.)] ")
INLINE_SEPARATOR = re.compile(
    r"(?<=\S)[ \n]+[*•▪][ \n]+(?=\S)"
    # A bullet glued to the sentence before it, as some copies have it: "…law.•Ensure …".
    r"|(?<=[.;!?)”\"’])[ \n]*[•▪][ \n]*(?=[A-Z“\"‘(])"
)
# Recommendations run together by a copy that dropped their bullets: "…the statute.Ensure …", a
# sentence end (after a lowercase letter, digit or bracket, so not "U.S.") directly followed by
# a capitalized word. Only ever looked for inside the recommendations.
RUN_TOGETHER = re.compile(r"[a-z0-9)%][.;!?][\"”’]?(?=[A-Z][a-z])")
# A recommendation is an imperative ("Increase…", "Vigorously investigate…"); a sentence that
# opens with one of these words is narrative glued in, not one.
NOT_IMPERATIVE = frozenset(
    re.findall(
        r"\w+",
        "a after although an and as at authorities because but despite during for from government "
        "however in it its officials on over police since that the their there these they this "
        "those while",
    )
)
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


def read_header(lines: list[Line | None]) -> tuple[Line | None, re.Match[str] | None, int]:
    """The optional title line, the tier line's match (None when the chapter has none: web
    copies often lose it), and the index of the first line after them."""
    filled = [(index, line) for index, line in enumerate(lines) if line is not None]
    if not filled:
        raise ImportRefused("the file is empty")
    title = filled[0][1] if TITLE_LINE.match(filled[0][1].text) else None
    if title and len(filled) == 1:
        raise ImportRefused("the chapter has a title line and nothing else")
    position = 1 if title else 0
    index, tier_line = filled[position]
    tier_match = TIER_LINE.match(" ".join(tier_line.text.split()))
    if not tier_match and position + 1 < len(filled) and is_running_head(tier_line.text):
        # A PDF's running head, the country's name, above the tier line ("VALDORNE").
        after, next_line = filled[position + 1]
        if found := TIER_LINE.match(" ".join(next_line.text.split())):
            return title, found, after + 1
    return title, tier_match, index + 1 if tier_match else index


def is_running_head(text: str) -> bool:
    """A short line of a name alone: no sentence, no more than six words."""
    return len(text.split()) <= 6 and text[-1:] not in SENTENCE_END and not TITLE_LINE.match(text)


def tier_of(match: re.Match[str]) -> str:
    return tier_named(match["a"] or match["b"])


def tier_given(written: str) -> str:
    """A tier as a person gives it ("TIER_2_WATCH_LIST", "Tier 2 Watch List", "tier 3",
    "special case"); ImportRefused naming the forms when it is none of them."""
    flat = " ".join(written.replace("_", " ").split())
    if re.fullmatch(TIER_FORMS, flat, re.IGNORECASE):
        return tier_named(flat)
    raise ImportRefused(
        f"no such tier: {written!r}; give one of "
        + ", ".join(repr(str(label)) for label in Report.Tier.labels)
    )


def tier_named(written: str) -> str:
    """The tier a form such as "Tier 2 Watch List", "tier two" or "Special Case" names."""
    form = " ".join(written.casefold().split())
    if form.startswith("special"):
        return Report.Tier.SPECIAL_CASE
    digits = re.search(r"[123]|one|two|three", form)
    number = TIER_NUMBERS[digits[0] if digits else ""]
    if "watch" in form:
        if number != "2":
            raise ImportRefused(f"no such tier: {written!r}")
        return Report.Tier.TIER_2_WATCH_LIST
    return {"1": Report.Tier.TIER_1, "2": Report.Tier.TIER_2, "3": Report.Tier.TIER_3}[number]


def body_units(lines: list[Line | None], start: int) -> list[Unit]:
    """Headings and paragraphs after the tier line. Paragraphs are blocks of lines between
    blank lines; with no blank line at all between them, or in a block of long lines that each
    end a sentence, every line is a paragraph."""
    body = lines[start:]
    while body and body[0] is None:
        body.pop(0)
    while body and body[-1] is None:
        body.pop()
    by_line = None not in body
    units: list[Unit] = []
    block: list[Line] = []

    def close() -> None:
        if len(block) > 1 and lines_are_paragraphs(block):
            units.extend(Unit(Span(line.start, line.end), None) for line in block)
        elif block:
            units.append(Unit(Span(block[0].start, block[-1].end), None))
        block.clear()

    for line in body:
        if line is None:
            close()
            continue
        flat = " ".join(line.text.split())
        if TITLE_LINE.match(flat) or TIER_LINE.match(flat):
            raise ImportRefused(
                f"a second title or tier line, {first_words(flat, 10)!r}, after the chapter's "
                "own: two chapters pasted together? Import one chapter at a time"
            )
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


PARAGRAPH_LINE = 150  # characters: longer than any hard-wrapped line


def lines_are_paragraphs(block: list[Line]) -> bool:
    """Whether each line of a block is a paragraph of its own, as in a copy from a web page
    that keeps a blank line here and there: long lines, each ending a sentence, none a
    list item. Hard-wrapped lines are short, and their breaks fall mid-sentence."""
    return max(len(line.text) for line in block) > PARAGRAPH_LINE and all(
        line.text[-1] in SENTENCE_END and not LINE_MARKER.match(line.text) for line in block
    )


def opening_sentence(paragraph: str) -> str:
    text = " ".join(paragraph.split())
    return re.split(r"(?<=\.) ", text, maxsplit=1)[0]


def pillar_opening(paragraph: str) -> str | None:
    """The pillar a paragraph opens, by its first sentence's first clause: the government's
    (or the authorities') efforts, naming the pillar ("The government maintained efforts to
    protect victims.", "The government made no discernible anti-trafficking law enforcement
    efforts, and …")."""
    clause = CLAUSE_END.split(opening_sentence(paragraph), maxsplit=1)[0]
    if not GOVERNMENT.match(clause) or "effort" not in clause:
        return None
    if len(clause.split()) > OPENING_WORDS:
        return None
    found = [(m.start(), kind) for kind, words in PILLAR_WORDS if (m := words.search(clause))]
    return min(found)[1] if found else None


def is_list(paragraph: str) -> bool:
    """A paragraph of recommendations: bulleted, numbered, joined by " * ", or run together
    into imperative sentences with no separator at all."""
    if LINE_MARKER.match(paragraph) or INLINE_SEPARATOR.search(paragraph):
        return True
    pieces = run_together(paragraph)
    return len(pieces) >= MIN_RECOMMENDATIONS and all(
        reads_as_recommendation(paragraph[start:end]) for start, end in pieces
    )


def almost_run_together(paragraphs: list[str]) -> str:
    """For a refusal: a paragraph that is mostly recommendations run together, and the
    sentence in it that is not one."""
    for text in paragraphs:
        pieces = [text[start:end] for start, end in run_together(text)]
        odd = [piece for piece in pieces if not reads_as_recommendation(piece)]
        if len(pieces) >= MIN_RECOMMENDATIONS and len(odd) < len(pieces) / 2:
            return (
                f"; the paragraph {first_words(text, 6)!r} runs sentences together as "
                f"recommendations are, but {first_words(odd[0], 8)!r} does not read as one"
            )
    return ""


def run_together(text: str) -> list[tuple[int, int]]:
    """The sentences of recommendations that follow each other with no separator."""
    cuts = [found.end() for found in RUN_TOGETHER.finditer(text)]
    bounds = [0, *cuts, len(text)]
    return [(start, end) for start, end in pairwise(bounds) if start < end]


def reads_as_recommendation(text: str) -> bool:
    """An imperative sentence: it opens with a capitalized word that is not an article, a
    preposition or a subject, and ends as a sentence does."""
    words = one_line(text).split(" ")
    first = words[0].strip("“\"'‘(").casefold()
    return (
        len(words) >= MIN_WORDS
        and words[0][:1].isupper()
        and first not in NOT_IMPERATIVE
        and not first.endswith("ed")
        and one_line(text)[-1] in SENTENCE_END
    )


def looks_like_heading(text: str) -> bool:
    flat = one_line(text)
    letters = [c for c in flat if c.isalpha()]
    capitals = len(letters) > 1 and all(c.isupper() for c in letters)
    return heading_kind(flat) is not None or flat.endswith(":") or capitals


def parse_report(
    text: str, country: str | None = None, year: int | None = None, tier: str | None = None
) -> ParsedReport:
    """The chapter's structure, with offsets into `stored_text(text)` (returned as `text`).
    `country`, `year` and `tier` (a Report.Tier value), when given, must agree with the
    chapter; they stand in for what it does not say."""
    text = stored_text(text)
    check_plain_text(text)
    view = text.translate(VIEW)
    lines = lines_of(view)
    title_line, tier_match, body_start = read_header(lines)
    title_match = TITLE_LINE.match(" ".join(title_line.text.split())) if title_line else None
    titled = (
        " ".join(title_match["country"].split()) if title_match and title_match["country"] else None
    )

    tier_line_country = without_running_head(tier_match["country"]) if tier_match else None
    if titled and tier_line_country and country_key(titled) != country_key(tier_line_country):
        raise ImportRefused(f"the title names {titled!r} but the tier line {tier_line_country!r}")
    named = tier_line_country or titled
    if named is None:
        named = country or country_in_summary(view, lines, body_start)
    if named is None:
        raise ImportRefused(
            "no country: the chapter has no tier line such as 'VELDORIA (Tier 2)', no title "
            "line naming it, and no 'The Government of …' sentence; give the country (--country)"
        )
    if country is not None and country_key(country) != country_key(named):
        raise ImportRefused(f"the chapter is about {named!r}, not the country {country!r}")
    canonical = canonical_country(titled, named, country)
    if tier_match is None:
        body_start = skip_country_line(lines, body_start, canonical)

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
        tier=chapter_tier(view, tier_match, sections[0], tier),
        text=text,
        sections=sections,
        recommendations=recommendations,
    )


def without_running_head(name: str) -> str:
    """The tier line's country, without a running head run into it ("DENMARK DENMARK")."""
    words = name.split()
    half = len(words) // 2
    if len(words) % 2 == 0 and words[:half] == words[half:]:
        words = words[:half]
    return " ".join(words)


def country_in_summary(view: str, lines: list[Line | None], start: int) -> str | None:
    """The country the summary's "The Government of …" names, for a chapter with neither a
    tier line nor a title line."""
    first = next((line for line in lines[start:] if line is not None), None)
    found = GOVERNMENT_OF.search(first.text) if first else None
    if found is None:
        return None
    name = " ".join(found["country"].split())
    return name[:1].upper() + name[1:]


def skip_country_line(lines: list[Line | None], start: int, country: str) -> int:
    """A copy without its tier line may keep the country's name as a line of its own."""
    index = next((i for i in range(start, len(lines)) if lines[i] is not None), start)
    line = lines[index] if index < len(lines) else None
    if line is not None and country_key(line.text.rstrip(":")) == country_key(country):
        return index + 1
    return start


def chapter_tier(
    view: str, tier_match: re.Match[str] | None, summary: ParsedSection, given: str | None
) -> str:
    """The tier: the tier line's, the summary's placement sentence's, the one given; all that
    are there must agree, and one must be there."""
    placed: dict[str, str] = {}
    for span in summary.paragraphs:
        for found in PLACEMENT.finditer(view[span.start : span.end]):
            placed.setdefault(tier_named(found["a"] or found["b"]), one_line(found[0]))
    if len(placed) > 1:
        raise ImportRefused(
            "the summary places the country on more than one tier: "
            + "; ".join(repr(sentence) for sentence in placed.values())
        )
    sources = []
    if tier_match is not None:
        sources.append((tier_of(tier_match), f"the tier line {one_line(tier_match[0])!r}"))
    sources += [(tier, f"the summary's {sentence!r}") for tier, sentence in placed.items()]
    if given:
        if given not in Report.Tier.values:
            raise ImportRefused(f"no such tier: {given!r}")
        sources.append((given, f"the tier given ({Report.Tier(given).label})"))
    if not sources:
        raise ImportRefused(
            "no tier: no tier line such as 'VELDORIA (Tier 2)' and no sentence in the summary "
            "such as 'therefore Veldoria remained on Tier 2'; give the tier (--tier)"
        )
    if len({tier for tier, _ in sources}) > 1:
        raise ImportRefused(
            "the tier is not clear: "
            + ", ".join(f"{where} says {Report.Tier(tier).label}" for tier, where in sources)
        )
    return sources[0][0]


def canonical_country(title: str | None, tier_line: str, given: str | None) -> str:
    """The name stored: the title line's spelling; else the tier line's unless it is in
    capitals; else the name given; else the tier line's in title case."""
    if title:
        return title
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
                "paragraph of recommendations joined by ' * ', bulleted, numbered or run "
                "together" + almost_run_together([paragraph(u) for u in units if not u.heading])
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


def item_spans(view: str, paragraph: Span, numbering: list[int]) -> list[Span]:
    """Each recommendation of one paragraph: split at bullets, numbers that count up from
    1 (`numbering` holds the next one, across the section's paragraphs: a copy with one
    numbered recommendation per line), " * " separators, and sentences run together with no
    separator ("…statute.Ensure …"); a line that starts with none of them continues the one
    before."""
    text = view[paragraph.start : paragraph.end]
    cuts: list[tuple[int, int]] = []
    markers = sorted(
        [*LINE_MARKER.finditer(text), *INLINE_NUMBER.finditer(text)], key=lambda m: m.start()
    )
    for match in markers:
        if match["number"] is not None:
            if int(match["number"]) != numbering[0]:
                continue
            numbering[0] += 1
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
            for inner_start, inner_end in run_together(stripped):
                sentence = stripped[inner_start:inner_end]
                lead = len(sentence) - len(sentence.lstrip(" \n"))
                spans.append(
                    Span(offset + inner_start + lead, offset + inner_start + len(sentence.rstrip()))
                )
    return spans


def split_recommendations(
    text: str, view: str, section: ParsedSection
) -> list[ParsedRecommendation]:
    numbering = [1]
    spans = [
        span for paragraph in section.paragraphs for span in item_spans(view, paragraph, numbering)
    ]
    found = [one_line(view[s.start : s.end]) for s in spans]
    # Whether a recommendation was cut from the one before or after it at a run-together
    # sentence end: then it must read as a recommendation itself, or narrative was glued in.
    glued = [
        (index > 0 and spans[index - 1].end == span.start)
        or (index + 1 < len(spans) and spans[index + 1].start == span.end)
        for index, span in enumerate(spans)
    ]
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
        elif LIST_NUMBER.match(item):
            problem = "starts with a list number out of order"
        elif len(item.split()) < MIN_WORDS:
            problem = f"has fewer than {MIN_WORDS} words"
        elif not (item[0].isupper() or item[0].isdigit() or item[0] in "“\"'‘("):
            problem = "starts in the middle of a sentence (a wrapped line?)"
        elif item[-1] not in SENTENCE_END:
            problem = "ends in the middle of a sentence (a wrapped line?)"
        elif glued[number - 1] and not reads_as_recommendation(item):
            problem = (
                "does not read as a recommendation (an imperative), yet was run together with "
                "the one before or after it"
            )
        if problem:
            raise ImportRefused(
                f"recommendation {number} of {len(found)} {problem}: {first_words(item, 12)!r}"
            )
    return [
        ParsedRecommendation(number, span, text[span.start : span.end])
        for number, span in enumerate(spans, start=1)
    ]
