from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from recommendations.integrity import integrity_errors
from recommendations.models import Organization, Report


class Command(BaseCommand):
    help = (
        "Load a file written by backup_data into an empty, migrated database: all of it or, on "
        "any error, nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("backup", type=Path, help="a file written by backup_data")

    def handle(self, *args: object, backup: Path, **options: object) -> None:
        if not backup.is_file():
            raise CommandError(f"{backup} is not a file")
        if Report.objects.exists() or Organization.objects.exists():
            raise CommandError(
                "the database already holds tracker data; restore into an empty database "
                "(createdb, then migrate) so nothing is mixed or overwritten"
            )
        if get_user_model().objects.exists():
            raise CommandError("the database already has users; restore into an empty database")
        with transaction.atomic():
            try:
                call_command("loaddata", str(backup), verbosity=0)
            except Exception as error:
                raise CommandError(f"could not restore {backup}: {error}") from error
            if errors := integrity_errors():
                raise CommandError("the restored data fails its checks:\n" + "\n".join(errors))
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored {backup}: {Report.objects.count()} report(s), "
                f"{get_user_model().objects.count()} user(s)."
            )
        )
