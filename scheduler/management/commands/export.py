"""Write every table to a directory as JSON lines, with a signed manifest."""

from django.core.management.base import BaseCommand, CommandError

from scheduler.db import backup
from scheduler.management.exports import signing_key
from scheduler.progress import progress_bars


class Command(BaseCommand):
    help = (
        "Export every DynamoDB table but tokens and failed sign-ins into a new directory, readable by this user "
        "only: one <table>.jsonl per table (each item exactly as stored, encrypted fields still encrypted) and a "
        "manifest.json signed with EXPORT_SIGNING_KEY. Restore with `import --from DIR`."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--out", required=True, metavar="DIR", help="A new (or empty) directory to write the export into."
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar (logs, CI).")

    def handle(self, *args, out: str, no_progress: bool, **options):
        key = signing_key()
        try:
            manifest = backup.export_tables(
                out, signing_key=key, progress=progress_bars(self.stderr, disable=no_progress)
            )
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        for name, table in manifest["tables"].items():
            self.stdout.write(f"{table['items']:>8}  {name}  ({table['tableName']})")
        total = sum(table["items"] for table in manifest["tables"].values())
        self.stdout.write(self.style.SUCCESS(f"export done: {total} items in {len(manifest['tables'])} tables, {out}"))
