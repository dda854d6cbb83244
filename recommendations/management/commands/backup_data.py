import hashlib
import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommendations.backup import write_backup


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
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                write_backup(stream)
            os.replace(partial, output)
        finally:
            Path(partial).unlink(missing_ok=True)
        digest = hashlib.sha256(output.read_bytes()).hexdigest()
        self.stdout.write(f"Wrote {output} ({output.stat().st_size:,} bytes, SHA-256 {digest}).")
