import hashlib
import os
import tempfile
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

# Recreated by `migrate`, or not worth keeping (sessions, login throttling records); the data
# versions must never be restored: the old tokens would make pages cached since valid again.
EXCLUDED = [
    "contenttypes",
    "auth.permission",
    "sessions",
    "axes",
    "recommendations.DataVersion",
]


class Command(BaseCommand):
    help = (
        "Write everything the tracker holds (reports, evidence, assessments, comments, snapshots, "
        "users, organizations, the audit trail) to one JSON file; restore it with restore_data."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("output", type=Path, help="the backup file to write, e.g. backup.json")

    def handle(self, *args: object, output: Path, **options: object) -> None:
        if output.is_dir():
            raise CommandError(f"{output} is a directory; give a file name")
        if not output.parent.is_dir():
            raise CommandError(f"{output.parent} does not exist")
        # Written beside the target, then renamed: a failed backup never leaves half a file.
        handle, partial = tempfile.mkstemp(dir=output.parent, prefix=".backup-", suffix=".json")
        os.close(handle)
        try:
            call_command(
                "dumpdata",
                format="exact-json",
                exclude=EXCLUDED,
                natural_foreign=True,
                natural_primary=True,
                indent=1,
                output=partial,
                verbosity=0,
            )
            os.replace(partial, output)
        finally:
            Path(partial).unlink(missing_ok=True)
        digest = hashlib.sha256(output.read_bytes()).hexdigest()
        self.stdout.write(f"Wrote {output} ({output.stat().st_size:,} bytes, SHA-256 {digest}).")
