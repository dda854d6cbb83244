from django.core.management.base import BaseCommand, CommandError

from recommendations.integrity import integrity_errors
from recommendations.models import EvidenceItem, Report


class Command(BaseCommand):
    help = (
        "Re-check every report text against its SHA-256 and every quote and recommendation "
        "against its report's text at its offsets. Exits non-zero naming each broken item."
    )

    def handle(self, *args: object, **options: object) -> None:
        errors = integrity_errors()
        for error in errors:
            self.stderr.write(f"BROKEN {error}")
        if errors:
            raise CommandError(f"{len(errors)} integrity error(s) found")
        self.stdout.write(
            self.style.SUCCESS(
                f"OK: {Report.objects.count()} report(s), "
                f"{EvidenceItem.objects.count()} evidence item(s) verified verbatim."
            )
        )
