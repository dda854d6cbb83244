from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommendations.backup import BackupError, read_backup, restore, tables_holding_data
from recommendations.models import Report


class Command(BaseCommand):
    help = (
        "Load a file written by backup_data into an empty, migrated database, every row with "
        "its id: all of it or, on any error, nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("backup", type=Path, help="a file written by backup_data")

    def handle(self, *args: object, backup: Path, **options: object) -> None:
        if not backup.is_file():
            raise CommandError(f"{backup} is not a file")
        if holding := tables_holding_data():
            raise CommandError(
                f"the database already holds tracker data ({', '.join(holding)}); restore into "
                "an empty database (createdb, then migrate) so nothing is mixed or overwritten"
            )
        try:
            restore(read_backup(backup))
        except BackupError as error:
            raise CommandError(f"could not restore {backup}: {error}") from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored {backup}: {Report.objects.count()} report(s), "
                f"{get_user_model().objects.count()} user(s)."
            )
        )
