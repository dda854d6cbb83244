from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommendations.importer import ImportRefused, import_report


class Command(BaseCommand):
    help = "Import a plain-text TIP country chapter as a report (idempotent, all or nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="UTF-8 text file of one country chapter")
        parser.add_argument("--country", required=True, help="e.g. Norway")
        parser.add_argument("--year", required=True, type=int, help="TIP report year, e.g. 2024")
        parser.add_argument(
            "--source", help="where the text came from (default: the file name)", default=None
        )

    def handle(
        self,
        *args: object,
        path: Path,
        country: str,
        year: int,
        source: str | None,
        **options: object,
    ) -> None:
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error.strerror}") from error
        try:
            result = import_report(data, name=source or path.name, country=country, year=year)
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
        else:
            self.stdout.write(f"{report.slug} is already stored with this exact text; unchanged.")
