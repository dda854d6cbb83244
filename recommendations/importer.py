"""Turn a plain-text TIP country chapter into a Report with sections, paragraphs and
recommendations.

The stored text is the uploaded text with exactly two changes: a leading byte-order mark is
removed, and CRLF and CR line endings become LF (`stored_text`). Everything else — non-breaking
and other Unicode spaces, hard-wrapped lines, bullets, headings — is kept, and every offset the
parser returns slices the stored text exactly. The parser reads a *view* of the text of the same
length in which every Unicode space is a plain space and every other line break a newline, so
offsets found in the view are offsets in the stored text.

Layouts read (docs/design.md, "Importing a chapter"): an optional title line
("2024 Trafficking in Persons Report: Norway"); a tier line ("NORWAY (Tier 2)",
"NORWAY: Tier 2", "(Special Case)"); the summary in one or more paragraphs; the prioritized
recommendations joined by " * ", bulleted (•, -, *, ▪) or numbered, after an optional
"PRIORITIZED RECOMMENDATIONS:" heading; the prosecution, protection and prevention pillars, each
found by a heading on its own line ("PROSECUTION", any case) or by its opening sentence ("The
government increased law enforcement efforts."); and an optional trafficking profile. Paragraphs
are separated by blank lines, or by single newlines when the text has no blank line at all.
Headings are never paragraphs or recommendations. A result that is not plausible is refused
with `ImportRefused`, naming what was found, rather than stored wrong; so is one the database
would refuse (a control character, a name longer than its column, a slug already taken), before
the preview, so that a previewed chapter can be stored.
"""

import os
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.db import models, transaction
from django.utils.text import slugify

from .lineage import propose_lineage
from .models import Lineage, Pillar, Recommendation, Report, Section, sha256_hex
from .validators import code_point, first_control_character


class ImportRefused(Exception):
    """The input cannot become a report; the message names the problem."""


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


# The longest chapters are about 100 KB; the previewed text must also fit in admin's confirming
# POST (DATA_UPLOAD_MAX_MEMORY_SIZE) after URL-encoding.
IMPORT_MAX_BYTES = 256 * 1024

MIN_RECOMMENDATIONS = 2
MAX_RECOMMENDATIONS = 20
MIN_WORDS = 4

# Spaces and line breaks as the parser sees them; each maps to one character, so offsets hold.
SPACES = "\t\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
SPACES += "\u200b\u202f\u205f\u3000\ufeff"
LINE_BREAKS = "\v\f\x1c\x1d\x1e\x85\u2028\u2029"
VIEW = str.maketrans({**dict.fromkeys(SPACES, " "), **dict.fromkeys(LINE_BREAKS, "\n")})

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

# Control characters a chapter may not hold: all but tab and line feed (carriage returns are
# line endings, made line feeds before this is checked). PostgreSQL cannot store NUL, and the
# others garble exports, mail and terminals.
CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

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


def one_line(text: str) -> str:
    """Text with every run of whitespace one space, for messages and previews."""
    return " ".join(text.translate(VIEW).split())


def first_words(text: str, count: int = 8) -> str:
    words = one_line(text).split(" ")
    return " ".join(words[:count]) + (" …" if len(words) > count else "")


def country_key(name: str) -> str:
    """What two spellings of one country share: no accents, case, apostrophe style, "The"."""
    plain = unicodedata.normalize("NFKD", name.translate(VIEW))
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    plain = re.sub(r"[’‘`´ʼ]", "'", plain).casefold()
    return re.sub(r"^the ", "", " ".join(plain.split()))


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


def check_year(year: int) -> int:
    if not 2000 <= year <= 2100:
        raise ImportRefused(f"the year must have four digits, 2000 to 2100, not {year}")
    return year


def too_large(name: str, size: int) -> ImportRefused:
    return ImportRefused(
        f"{name}: {size:,} bytes; a chapter is at most {IMPORT_MAX_BYTES // 1024} KB"
    )


def read_chapter(path: Path) -> bytes:
    """The file's bytes, refused before it is read whole when it is larger than a chapter can be
    (IMPORT_MAX_BYTES, admin's limit too). OSError when it cannot be read."""
    with path.open("rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size > IMPORT_MAX_BYTES:
            raise too_large(path.name, size)
        # A pipe reports no size, and a file may grow: never read more than one byte too many.
        data = file.read(IMPORT_MAX_BYTES + 1)
    if len(data) > IMPORT_MAX_BYTES:
        raise too_large(path.name, max(size, len(data)))
    return data


def max_length(model: type[models.Model], field_name: str) -> int:
    column = model._meta.get_field(field_name)
    assert isinstance(column, models.CharField) and column.max_length is not None
    return column.max_length


def check_fits(value: str, model: type[models.Model], field_name: str, what: str) -> None:
    """Refuse a value longer than the column it is stored in."""
    limit = max_length(model, field_name)
    if len(value) > limit:
        raise ImportRefused(
            f"the {what} is {len(value)} characters long, {first_words(value, 8)!r}; "
            f"a {model._meta.model_name}'s {field_name} holds at most {limit}"
        )


def check_one_line(value: str, what: str) -> None:
    if (character := first_control_character(value)) is not None:
        raise ImportRefused(
            f"the {what} {value!r} contains the control character {code_point(character)}"
        )


def check_source_name(name: str) -> None:
    """The name stored as the report's source name (the file's name, or --source)."""
    check_one_line(name, "source name")
    check_fits(name, Report, "source_name", "source name")


def check_plain_text(text: str) -> None:
    """Refuse a control character (CONTROL_CHARACTER), saying where it is."""
    found = CONTROL_CHARACTER.search(text)
    if found is None:
        return
    line = text.count("\n", 0, found.start()) + 1
    column = found.start() - text.rfind("\n", 0, found.start())
    raise ImportRefused(
        f"the control character {code_point(found[0])} on line {line}, column {column}: "
        "a chapter is plain text, with no control characters but line breaks and tabs"
    )


def report_slug(country: str, year: int) -> str:
    return slugify(f"{country}-{year}")


def decode(data: bytes, name: str) -> str:
    """The chapter's text; `name`, stored as its source name, is checked too."""
    check_source_name(name)
    if not data.strip():
        raise ImportRefused(f"{name}: the file is empty")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ImportRefused(
            f"{name}: not UTF-8 text (invalid byte at position {error.start})"
        ) from error


def stored_text(text: str) -> str:
    """The text as stored: without a leading byte-order mark, with LF line endings only."""
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def paragraph_spans(text: str) -> list[Span]:
    """Blocks of non-blank lines, with offsets of their first and last non-space character."""
    view = text.translate(VIEW)
    spans = []
    for match in re.finditer(r"\S(?:.*?\S)?(?=[^\S\n]*\n[^\S\n]*\n|\s*\Z)", view, flags=re.DOTALL):
        spans.append(Span(match.start(), match.end()))
    return spans


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


@dataclass(frozen=True)
class SectionPreview:
    label: str
    paragraphs: int
    opening: str


@dataclass(frozen=True)
class Preview:
    """What an import would store, for `--dry-run` and the admin's preview page."""

    title: str
    title_found: bool
    country: str
    year: int
    tier: str
    sections: list[SectionPreview]
    recommendations: list[tuple[int, str]]


def preview(parsed: ParsedReport) -> Preview:
    return Preview(
        title=parsed.title,
        title_found=parsed.title_found,
        country=parsed.country,
        year=parsed.year,
        tier=str(Report.Tier(parsed.tier).label),
        sections=[
            SectionPreview(
                str(Section.Kind(section.kind).label),
                len(section.paragraphs),
                first_words(parsed.text[section.span.start : section.span.end]),
            )
            for section in parsed.sections
        ],
        recommendations=[(item.number, one_line(item.text)) for item in parsed.recommendations],
    )


def preview_lines(parsed: ParsedReport) -> list[str]:
    shown = preview(parsed)
    title = shown.title if shown.title_found else f"{shown.title} (no title line; made up)"
    lines = [
        f"Title: {title}",
        f"Country: {shown.country}",
        f"Year: {shown.year}",
        f"Tier: {shown.tier}",
        "Sections:",
    ]
    lines += [
        f"  {s.label} ({s.paragraphs} paragraph{'s' * (s.paragraphs != 1)}): {s.opening}"
        for s in shown.sections
    ]
    lines.append(f"Recommendations ({len(shown.recommendations)}):")
    lines += [f"  {number}. {text}" for number, text in shown.recommendations]
    return lines


@dataclass
class ImportResult:
    report: Report
    created: bool
    lineage: list[Lineage] = field(default_factory=list)

    def lineage_summary(self) -> str:
        """How the recommendations relate to the previous year's, in words ("" for a first
        year)."""
        if not self.lineage:
            return ""
        counts = Counter(lineage.get_change_display().lower() for lineage in self.lineage)
        return ", ".join(f"{count} {change}" for change, count in sorted(counts.items()))


def existing_report(parsed: ParsedReport) -> Report | None:
    """The stored report of this country and year, if any; refused when its text differs, or,
    when there is none, when the new report's slug is already another report's."""
    key = country_key(parsed.country)
    existing = next(
        (r for r in Report.objects.filter(year=parsed.year) if country_key(r.country) == key),
        None,
    )
    if existing is None:
        check_new_slug(parsed)
    elif existing.source_sha256 != sha256_hex(parsed.text):
        raise ImportRefused(
            f"report {existing.slug} is already stored with other text "
            f"(SHA-256 {existing.source_sha256[:12]}…, this file {sha256_hex(parsed.text)[:12]}…); "
            "refusing to replace it"
        )
    return existing


def check_new_slug(parsed: ParsedReport) -> None:
    """Two spellings the importer tells apart can share a slug ("Saint-Lucerne", "Saint
    Lucerne"); the slug is unique, so the second is refused."""
    country = stored_country(parsed)
    slug = report_slug(country, parsed.year)
    check_fits(slug, Report, "slug", "slug made from the country name")
    taken = Report.objects.filter(slug=slug).first()
    if taken is not None:
        raise ImportRefused(
            f"the slug {slug!r}, made from the country name {country!r}, is already the slug "
            f"of the report of {taken.country!r} {taken.year}; if they are one country, spell "
            f"it {taken.country!r} in the chapter"
        )


def stored_country(parsed: ParsedReport) -> str:
    """The spelling of this country in reports already stored, so that every year's report and
    the organizations of the country name it alike; else the chapter's."""
    key = country_key(parsed.country)
    for name in Report.objects.values_list("country", flat=True).distinct():
        if country_key(name) == key:
            return name
    return parsed.country


def import_report(
    data: bytes, *, name: str, country: str | None = None, year: int | None = None
) -> ImportResult:
    """Store the chapter; a second import of the same text changes nothing."""
    parsed = parse_report(decode(data, name), country, year)
    return store(parsed, name=name)


def store(parsed: ParsedReport, *, name: str) -> ImportResult:
    check_source_name(name)
    with transaction.atomic():
        existing = existing_report(parsed)
        if existing is not None:
            return ImportResult(existing, created=False)
        country = stored_country(parsed)
        report = Report.objects.create(
            slug=report_slug(country, parsed.year),
            title=parsed.title,
            country=country,
            year=parsed.year,
            tier=parsed.tier,
            source_text=parsed.text,
            source_sha256=sha256_hex(parsed.text),
            source_name=name,
        )
        paragraph_position = 0
        for position, parsed_section in enumerate(parsed.sections, start=1):
            section = Section.objects.create(
                report=report,
                kind=parsed_section.kind,
                position=position,
                start_offset=parsed_section.span.start,
                end_offset=parsed_section.span.end,
            )
            for span in parsed_section.paragraphs:
                paragraph_position += 1
                report.paragraphs.create(
                    section=section,
                    position=paragraph_position,
                    start_offset=span.start,
                    end_offset=span.end,
                )
        Recommendation.objects.bulk_create(
            Recommendation(
                report=report,
                number=item.number,
                text=item.text,
                short_title=draft_short_title(item.text),
                pillar=draft_pillar(item.text),
                start_offset=item.span.start,
                end_offset=item.span.end,
            )
            for item in parsed.recommendations
        )
        # Lineage to the country's previous year, and from its next year when a year in
        # between arrives late: proposed here, confirmed by a coordinator in admin.
        lineage = propose_lineage(report)
        later = (
            Report.objects.filter(country=report.country, year__gt=report.year)
            .order_by("year")
            .first()
        )
        if later is not None:
            propose_lineage(later)
    return ImportResult(report, created=True, lineage=lineage)
