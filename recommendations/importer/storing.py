"""The preview of a parsed chapter, and storing it as a report: refused again here whatever
the database would refuse, so that a previewed chapter can be stored."""

from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction

from ..lineage import propose_lineage
from ..models import Lineage, Recommendation, Report, Section, sha256_hex
from .layout import ParsedReport, draft_pillar, draft_short_title, parse_report
from .text import (
    ImportRefused,
    check_fits,
    check_source_name,
    country_key,
    decode,
    first_words,
    one_line,
    report_slug,
)


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
