"""Turn a plain-text TIP country chapter into a Report with sections, paragraphs and
recommendations.

The chapter format (as in `fixtures/sources/tip-2024-norway.txt`): a title line, a
"COUNTRY (Tier N)" line, then paragraphs separated by blank lines: the summary, the
prioritized recommendations in one paragraph separated by " * ", the prosecution, protection
and prevention pillars (each opening with "The government <verb> <pillar> efforts") and the
trafficking profile (opening with "As reported over the past five years").
"""

import re
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.text import slugify

from .models import Pillar, Recommendation, Report, Section, sha256_hex


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
    text: str


@dataclass
class ParsedReport:
    title: str
    country: str
    tier: str
    text: str
    sections: list[ParsedSection]
    recommendations: list[ParsedRecommendation]


TIER_LINE = re.compile(r"^(?P<country>[^\n()]+?) \((?P<tier>Tier [123]|Tier 2 Watch List)\)$")
TIER_VALUES = {
    "Tier 1": Report.Tier.TIER_1,
    "Tier 2": Report.Tier.TIER_2,
    "Tier 2 Watch List": Report.Tier.TIER_2_WATCH_LIST,
    "Tier 3": Report.Tier.TIER_3,
}
PILLAR_OPENINGS = {
    "law enforcement": Section.Kind.PROSECUTION,
    "protection": Section.Kind.PROTECTION,
    "prevention": Section.Kind.PREVENTION,
}
PILLAR_OPENING = re.compile(
    r"^The government (?:\w+ ){1,3}?(?P<pillar>law enforcement|protection|prevention) efforts\b"
)
PROFILE_OPENING = re.compile(r"^As reported over the past five years\b")
SECTION_ORDER = [
    Section.Kind.SUMMARY,
    Section.Kind.RECOMMENDATIONS,
    Section.Kind.PROSECUTION,
    Section.Kind.PROTECTION,
    Section.Kind.PREVENTION,
    Section.Kind.TRAFFICKING_PROFILE,
]
RECOMMENDATION_SEPARATOR = " * "

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
    clause = re.split(r"[,;.]", text, maxsplit=1)[0].strip()
    if len(clause) <= limit:
        return clause
    return clause[: clause.rfind(" ", 0, limit - 1)].rstrip() + "…"


def paragraph_spans(text: str) -> list[Span]:
    """Blocks of non-blank lines, with offsets of their first and last non-space character."""
    spans = []
    for match in re.finditer(r"\S(?:.*?\S)?(?=[^\S\n]*\n[^\S\n]*\n|\s*\Z)", text, flags=re.DOTALL):
        spans.append(Span(match.start(), match.end()))
    return spans


def decode(data: bytes, name: str) -> str:
    if not data.strip():
        raise ImportRefused(f"{name}: the file is empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ImportRefused(
            f"{name}: not UTF-8 text (invalid byte at position {error.start})"
        ) from error
    return text.removeprefix("\ufeff")


def parse_report(text: str, country: str, year: int) -> ParsedReport:
    spans = paragraph_spans(text)
    if len(spans) < 3:
        raise ImportRefused("too short: expected a title, a tier line and paragraphs")
    title = text[spans[0].start : spans[0].end]
    if str(year) not in title:
        raise ImportRefused(f"the title line {title!r} does not name the year {year}")
    tier_match = TIER_LINE.match(text[spans[1].start : spans[1].end])
    if not tier_match:
        raise ImportRefused(
            f"no tier line: expected e.g. '{country.upper()} (Tier 2)' after the title, "
            f"found {text[spans[1].start : spans[1].end][:60]!r}"
        )
    if tier_match["country"].strip().casefold() != country.casefold():
        raise ImportRefused(
            f"the chapter is about {tier_match['country']!r}, not the country {country!r}"
        )

    body = spans[2:]
    sections = assign_sections(text, body)
    recommendations = split_recommendations(text, sections[1])
    return ParsedReport(
        title=title,
        country=country,
        tier=TIER_VALUES[tier_match["tier"]],
        text=text,
        sections=sections,
        recommendations=recommendations,
    )


def section_opening(paragraph: str) -> str | None:
    if match := PILLAR_OPENING.match(paragraph):
        return PILLAR_OPENINGS[match["pillar"]]
    if PROFILE_OPENING.match(paragraph):
        return Section.Kind.TRAFFICKING_PROFILE
    return None


def assign_sections(text: str, body: list[Span]) -> list[ParsedSection]:
    """The first paragraph is the summary; what precedes the first pillar, the recommendations."""
    openings = [section_opening(text[span.start : span.end]) for span in body]
    found = [kind for kind in openings if kind]
    expected = [kind for kind in SECTION_ORDER[2:] if kind in found]
    if found != expected:
        raise ImportRefused(
            f"sections out of order: found {', '.join(found)}; expected {', '.join(expected)}"
        )
    missing = [kind for kind in SECTION_ORDER[2:] if kind not in found]
    if missing:
        raise ImportRefused(
            f"sections not found: {', '.join(missing)} (each pillar opens with "
            "'The government … law enforcement|protection|prevention efforts', the profile "
            "with 'As reported over the past five years')"
        )
    first_pillar = openings.index(SECTION_ORDER[2])
    if first_pillar < 2:
        raise ImportRefused(
            "no recommendations found: no paragraph between the summary and the "
            f"{SECTION_ORDER[2]} section"
        )
    sections = [
        ParsedSection(Section.Kind.SUMMARY, [body[0]]),
        ParsedSection(Section.Kind.RECOMMENDATIONS, body[1:first_pillar]),
    ]
    for span, opened in zip(body[first_pillar:], openings[first_pillar:], strict=True):
        if opened:
            sections.append(ParsedSection(opened, [span]))
        else:
            sections[-1].paragraphs.append(span)
    return sections


def split_recommendations(text: str, section: ParsedSection) -> list[ParsedRecommendation]:
    recommendations: list[ParsedRecommendation] = []
    for paragraph in section.paragraphs:
        position = paragraph.start
        for piece in text[paragraph.start : paragraph.end].split(RECOMMENDATION_SEPARATOR):
            stripped = piece.strip()
            if stripped:
                start = position + piece.index(stripped)
                recommendations.append(
                    ParsedRecommendation(
                        number=len(recommendations) + 1,
                        span=Span(start, start + len(stripped)),
                        text=stripped,
                    )
                )
            position += len(piece) + len(RECOMMENDATION_SEPARATOR)
    if len(recommendations) < 2:
        raise ImportRefused(
            f"no recommendations found: expected recommendations separated by "
            f"{RECOMMENDATION_SEPARATOR!r} in the paragraph after the summary"
        )
    return recommendations


@dataclass
class ImportResult:
    report: Report
    created: bool


def import_report(data: bytes, *, name: str, country: str, year: int) -> ImportResult:
    """Store the chapter; a second import of the same text changes nothing."""
    text = decode(data, name)
    parsed = parse_report(text, country, year)
    slug = slugify(f"{country}-{year}")
    digest = sha256_hex(text)

    existing = Report.objects.filter(slug=slug).first()
    if existing is not None:
        if existing.source_sha256 != digest:
            raise ImportRefused(
                f"report {slug} is already stored with other text "
                f"(SHA-256 {existing.source_sha256[:12]}…, this file {digest[:12]}…); "
                "refusing to replace it"
            )
        return ImportResult(existing, created=False)

    with transaction.atomic():
        report = Report.objects.create(
            slug=slug,
            title=parsed.title,
            country=country,
            year=year,
            tier=parsed.tier,
            source_text=text,
            source_sha256=digest,
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
    return ImportResult(report, created=True)
