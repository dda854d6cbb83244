from pathlib import Path

from django.conf import settings
from django.core import serializers
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Model

from recommendations.models import (
    EvidenceItem,
    EvidenceLink,
    Paragraph,
    Recommendation,
    Report,
    ReviewCycle,
    Section,
)


def serialize(objects: list) -> str:
    text = serializers.serialize("json", objects, indent=2, ensure_ascii=False)
    return text.rstrip("\n") + "\n"


def canonical_files() -> dict[str, str]:
    """File name → content of every canonical fixture, in a stable order."""
    files = {"review_cycles.json": serialize(list(ReviewCycle.objects.order_by("pk")))}
    for report in Report.objects.order_by("slug"):
        objects: list[Model] = [report]
        for model in (Section, Paragraph, Recommendation, EvidenceItem):
            objects += list(model.objects.filter(report=report).order_by("pk"))
        objects += list(EvidenceLink.objects.filter(evidence__report=report).order_by("pk"))
        files[f"{report.slug}.json"] = serialize(objects)
    return files


class Command(BaseCommand):
    help = (
        "Write the canonical fixtures (reports with sections, paragraphs, recommendations, "
        "evidence; review cycles) deterministically, so admin edits can be committed back."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output-dir", type=Path, default=Path(settings.BASE_DIR) / "fixtures")
        parser.add_argument(
            "--check",
            action="store_true",
            help="Write nothing; exit non-zero if the files on disk differ from the database.",
        )

    def handle(self, *args: object, output_dir: Path, check: bool, **options: object) -> None:
        files = canonical_files()
        if check:
            stale = [
                name
                for name, content in files.items()
                if not (output_dir / name).is_file()
                or (output_dir / name).read_text(encoding="utf-8") != content
            ]
            if stale:
                raise CommandError(f"fixtures differ from the database: {', '.join(stale)}")
            self.stdout.write(self.style.SUCCESS(f"{len(files)} fixture file(s) up to date."))
            return
        output_dir.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            (output_dir / name).write_text(content, encoding="utf-8", newline="\n")
            self.stdout.write(f"wrote {output_dir / name}")
