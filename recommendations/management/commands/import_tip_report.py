import re
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommendations.importer import (
    IMPORT_MAX_BYTES,
    ImportRefused,
    decode,
    existing_report,
    parse_report,
    preview_lines,
    read_chapter,
    store,
    tier_given,
)


def four_digit_year(value: str) -> int:
    """argparse type: refuse "24" or "20245" with a message instead of a database error."""
    if not re.fullmatch(r"\d{4}", value.strip()) or not 2000 <= int(value) <= 2100:
        raise CommandError(f"--year must have four digits, 2000 to 2100, not {value!r}")
    return int(value)


class Command(BaseCommand):
    help = (
        "Import a plain-text TIP country chapter as a report (idempotent, all or nothing). "
        "Country, year and tier are read from the chapter; when given, they must agree with it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "path",
            type=Path,
            help=f"UTF-8 text file of one country chapter, at most {IMPORT_MAX_BYTES // 1024} KB",
        )
        parser.add_argument("--country", default=None, help="e.g. Norway (checked if given)")
        parser.add_argument(
            "--year", default=None, type=str, help="TIP report year, e.g. 2024 (checked if given)"
        )
        parser.add_argument(
            "--tier",
            default=None,
            help="e.g. 'Tier 2 Watch List', for a chapter that says no tier (checked if given)",
        )
        parser.add_argument(
            "--source", help="where the text came from (default: the file name)", default=None
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="print what would be imported and write nothing",
        )

    def handle(
        self,
        *args: object,
        path: Path,
        country: str | None,
        year: str | int | None,
        tier: str | None,
        source: str | None,
        dry_run: bool,
        **options: object,
    ) -> None:
        checked_year = None if year is None else four_digit_year(str(year))
        try:
            checked_tier = None if tier is None else tier_given(tier)
        except ImportRefused as error:
            raise CommandError(f"--tier: {error}") from error
        try:
            data = read_chapter(path)
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error.strerror}") from error
        except ImportRefused as error:
            raise CommandError(f"refused to import {path}: {error}") from error
        name = source or path.name
        try:
            parsed = parse_report(decode(data, name), country, checked_year, checked_tier)
            if dry_run:
                existing = existing_report(parsed)
                self.stdout.write("\n".join(preview_lines(parsed)))
                state = (
                    f"{existing.slug} is already stored with this exact text."
                    if existing
                    else "Dry run: nothing written."
                )
                self.stdout.write(state)
                return
            result = store(parsed, name=name)
        except ImportRefused as error:
            raise CommandError(f"refused to import {path}: {error}") from error
        report = result.report
        if result.created:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Imported {report.slug}: {report.get_tier_display()}, "
                    f"{report.sections.count()} sections, {report.paragraphs.count()} paragraphs, "
                    f"{report.recommendations.count()} recommendations."
                )
            )
            if summary := result.lineage_summary():
                self.stdout.write(
                    f"Against the previous year: {summary} (proposed; confirm in admin, Lineages)."
                )
        else:
            self.stdout.write(f"{report.slug} is already stored with this exact text; unchanged.")
