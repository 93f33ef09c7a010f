"""Write every table to a directory as JSON lines, with a signed manifest."""

from django.core.management.base import BaseCommand, CommandError

from scheduler.db import backup
from scheduler.management.exports import signing_key
from scheduler.progress import progress_bars
from scheduler.security import audit

# Who the audit trail names for an export: no user runs it through the API.
EXPORT_ACTOR = audit.Actor("export", None, None)
EXPORT = "export"


class Command(BaseCommand):
    help = (
        "Export every DynamoDB table but tokens and failed sign-ins (and the users' token entries) into a new "
        "directory, readable by this user only, and record the run in the audit trail: one <table>.jsonl per "
        "table (each item exactly as stored, encrypted fields still encrypted) and a manifest.json signed "
        "with EXPORT_SIGNING_KEY. Restore with `import --from DIR`."
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
        # One entry per run (it reads out every patient's data): the tables and how many items each.
        counts = [f"{name}:{table['items']}" for name, table in manifest["tables"].items()]
        audit.record(EXPORT, "export", "*", object_ids=counts, actor=EXPORT_ACTOR)
        for name, table in manifest["tables"].items():
            self.stdout.write(f"{table['items']:>8}  {name}  ({table['tableName']})")
        total = sum(table["items"] for table in manifest["tables"].values())
        self.stdout.write(self.style.SUCCESS(f"export done: {total} items in {len(manifest['tables'])} tables, {out}"))
