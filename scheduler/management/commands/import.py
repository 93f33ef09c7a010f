"""Restore a signed export (`export --out DIR`) into empty tables, and record it in the audit trail."""

from django.core.management.base import BaseCommand, CommandError

from scheduler.db import backup
from scheduler.management.exports import signing_key
from scheduler.progress import progress_bars
from scheduler.security import audit

# Who the audit trail names for an import: no user runs it through the API.
IMPORT_ACTOR = audit.Actor("import", None, None)
IMPORT = "import"


def is_own_entry(table: str, item: dict) -> bool:
    """An audit entry an earlier run of an import wrote about itself: a rerun accepts it beside the
    export's items (raw DynamoDB JSON, as the import compares them)."""
    return (
        table == "audit"
        and item.get("actor", {}).get("S") == IMPORT_ACTOR.username
        and item.get("action", {}).get("S") == IMPORT
    )


class Command(BaseCommand):
    help = (
        "Import an export directory into this environment's tables (by logical name, so another prefix is fine). "
        "The manifest's signature (EXPORT_SIGNING_KEY) and every file's digest are checked, every file read "
        "through and every table checked before anything is written. Tables must be empty, or hold only what an "
        "earlier run of the same import put there: running it again is harmless. Each run is an audit entry."
    )

    def add_arguments(self, parser):
        # Stored under its own name (`from`, a keyword, read from `options`): call_command matches a
        # required option's keyword argument by dest, so call_command("import", **{"from": DIR}) works.
        parser.add_argument("--from", required=True, metavar="DIR", help="The directory an export wrote.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar (logs, CI).")

    def handle(self, *args, no_progress: bool, **options):
        source = options["from"]
        key = signing_key()
        try:
            written = backup.import_tables(
                source,
                signing_key=key,
                progress=progress_bars(self.stderr, disable=no_progress),
                accept_extra=is_own_entry,
            )
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        # One entry per run: the tables it wrote and how many items each (ids and counts, no values).
        counts = [f"{name}:{count}" for name, count in written.items()]
        audit.record(IMPORT, "export", "*", object_ids=counts, actor=IMPORT_ACTOR)
        for name, count in written.items():
            self.stdout.write(f"{count:>8}  {name}")
        self.stdout.write(self.style.SUCCESS(f"import done: {sum(written.values())} items in {len(written)} tables"))
