"""Rewrite the index keys of items written before the sparse indexes were sharded and byCountryDay
existed; then, on request, drop the index that byCountryDay replaces."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from appointments.models import UNPUBLISHED, Appointment, Event
from scheduler import db
from scheduler.db import tables
from scheduler.progress import progress_bars

# Indexes a table made before keeps until `--drop-old-indexes` (never bootstrap: a listing still
# reading it on an older release would fail).
OLD_INDEXES = {Appointment: ("byCountry",)}
PAGE = 200


class Command(BaseCommand):
    help = (
        "Give every appointment and unpublished event the index keys this release writes: the sparse keys "
        "in their sharded form (pending#<n>, due#<n>, unpublished#<n> over SPARSE_INDEX_SHARDS) and countryDay "
        "(byCountryDay). Run `bootstrap` first (it adds byCountryDay). Safe to run again and to stop: each item "
        "is updated on its own, only if it has not changed since it was read, and its version stays. Run it "
        "once more after the last process of the previous release has stopped, then set "
        "SPARSE_INDEX_LEGACY_KEYS=false. Also run it after changing SPARSE_INDEX_SHARDS or COUNTRY_DAY_SHARDS."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-progress", action="store_true", help="No progress bar (logs, CI).")
        parser.add_argument(
            "--drop-old-indexes",
            action="store_true",
            help="After a backfill that left nothing behind, delete the appointments' old byCountry index.",
        )

    def handle(self, *args, no_progress: bool, drop_old_indexes: bool, **options):
        self.no_progress = no_progress
        missing = self._missing_indexes()
        if missing:
            raise CommandError(f"Missing indexes: {', '.join(missing)}; run `python manage.py bootstrap` first.")
        changed, skipped = self._backfill_appointments()
        self.stdout.write(f"appointments: {changed} rewritten, {skipped} changed meanwhile (run again)")
        events_changed, events_skipped = self._backfill_events()
        self.stdout.write(f"events: {events_changed} rewritten, {events_skipped} changed meanwhile (run again)")
        if skipped or events_skipped:
            if drop_old_indexes:
                raise CommandError("Some items changed while they were rewritten: run again before dropping indexes.")
            return
        self.stdout.write(self.style.SUCCESS("Every item carries this release's index keys."))
        if drop_old_indexes:
            self._drop_old_indexes()

    def _missing_indexes(self) -> list[str]:
        missing = []
        for model in (Appointment, Event):
            present = tables.index_statuses(model.Meta.table_name)
            missing += [f"{model.Meta.table_name}.{name}" for name in model._indexes if name not in present]
        return missing

    def _scan(self, model, **kwargs):
        """Every raw item of the model's table, page by page (nothing decrypted)."""
        total = model.count()  # DynamoDB's item count, refreshed about every six hours: a guide only
        bar = progress_bars(self.stderr, disable=self.no_progress)(model.__name__, total)
        for item in db.scan_raw(model.Meta.table_name, page_size=PAGE, **kwargs):
            bar.update(1)
            yield item
        bar.close()

    def _backfill_appointments(self) -> tuple[int, int]:
        changed = skipped = 0
        names = {"pendingKey": Appointment.pending_key, "reminderKey": Appointment.reminder_key}
        names["countryDay"] = Appointment.country_day
        for raw in self._scan(Appointment):
            # Only the attributes the keys follow from, so nothing encrypted is read.
            keys_of = Appointment(
                raw["appointmentId"]["S"],
                state=raw.get("state", {}).get("S"),
                country_id=raw.get("countryId", {}).get("S"),
                appointment_date=Appointment.appointment_date.deserialize(raw["appointmentDate"]["S"])
                if "appointmentDate" in raw
                else None,
                next_reminder_at=Appointment.next_reminder_at.deserialize(raw["nextReminderAt"]["S"])
                if "nextReminderAt" in raw
                else None,
            )
            wanted = dict(zip(names, keys_of.index_keys(), strict=True))
            actions = [
                names[name].set(value) if value is not None else names[name].remove()
                for name, value in wanted.items()
                if raw.get(name, {}).get("S") != value
            ]
            if not actions:
                continue
            # The version every write raises: the update happens only if nothing was written since the
            # scan read the item. The version stays (the record's content does not change).
            version = raw.get("version", {}).get("N")
            condition = Appointment.version == int(version) if version else Appointment.version.does_not_exist()
            if db.update_keeping_version(Appointment, raw["appointmentId"]["S"], actions, condition=condition):
                changed += 1
            else:
                skipped += 1
        return changed, skipped

    def _backfill_events(self) -> tuple[int, int]:
        changed = skipped = 0
        only_unpublished = {
            "FilterExpression": "attribute_exists(#k)",
            "ExpressionAttributeNames": {"#k": "unpublishedKey"},
        }
        for raw in self._scan(Event, **only_unpublished):
            event_id, current = raw["eventId"]["S"], raw["unpublishedKey"]["S"]
            wanted = db.shard_key(UNPUBLISHED, event_id, settings.SPARSE_INDEX_SHARDS)
            if current == wanted:
                continue
            # Events have no version; the key itself is the condition (publishing removes it).
            condition = Event.unpublished_key == current
            if db.update_keeping_version(Event, event_id, [Event.unpublished_key.set(wanted)], condition=condition):
                changed += 1
            else:
                skipped += 1
        return changed, skipped

    def _drop_old_indexes(self) -> None:
        for model, names in OLD_INDEXES.items():
            for name in names:
                if tables.drop_index(model, name):
                    self.stdout.write(self.style.SUCCESS(f"dropped index {name} of table {model.Meta.table_name}"))
                else:
                    self.stdout.write(f"index {name} of table {model.Meta.table_name} was already gone")
